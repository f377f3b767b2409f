"""Patient matching: string and date similarity, the evidence, the grades, and ranking on a
synthetic Portsmouth population with the mistakes registration makes."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.record import demo_data
from services.record.identity.candidates import candidate_searches
from services.record.identity.demographics import demographics
from services.record.identity.scoring import (
    CERTAIN_SCORE,
    POSSIBLE_WEIGHT,
    PROBABLE_WEIGHT,
    Match,
    score,
)
from services.record.identity.similarity import (
    compare_dates,
    edit_distance,
    jaro_winkler,
    name_similarity,
    outward_code,
    phone_key,
    postcode_key,
)
from shared.nhs_number import NHS_NUMBER_SYSTEM, generate
from tests.support import people

Patient = dict[str, Any]
seeds = st.integers(min_value=0, max_value=2**32)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
COMMON_SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Ahmed")


def compare(asked: Patient, held: Patient) -> Match:
    return score(demographics(asked), demographics(held))


def anonymous(person: Patient) -> Patient:
    """The person as registration knows them: no NHS number."""
    return {k: v for k, v in person.items() if k != "identifier"}


# --- Similarity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("martha", "marhta", 0.961), ("dwayne", "duane", 0.840), ("dixon", "dicksonx", 0.813)],
)
def test_jaro_winkler_known_values(a: str, b: str, expected: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=0.001)


@given(names, names)
def test_jaro_winkler_is_symmetric_and_between_0_and_1(a: str, b: str) -> None:
    assert jaro_winkler(a, b) == pytest.approx(jaro_winkler(b, a))
    assert 0.0 <= jaro_winkler(a, b) <= 1.0
    assert jaro_winkler(a, a) == 1.0


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("kitten", "sitting", 3), ("smith", "simth", 1), ("smith", "smith", 0), ("", "abc", 3)],
)
def test_edit_distance_known_values(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


@given(seeds, names.filter(lambda n: len(n) >= 3))
def test_one_typo_is_one_edit_and_a_near_match(seed: int, name: str) -> None:
    mistyped = people.typo(random.Random(seed), name).lower()
    assert edit_distance(name, mistyped) == 1
    assert 0.8 <= name_similarity(name, mistyped) < 1.0


def test_only_the_same_name_is_fully_similar() -> None:
    assert name_similarity("smith jones", "smithjones") == 1.0
    assert name_similarity("smith", "smith jones") < 1.0
    assert name_similarity("wei", "wie") == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("a", "b", "outcome"),
    [
        ("1950-03-12", "1950-03-12", "exact"),
        ("1950-03-12", "1950-12-03", "transposed"),
        ("1950-03-12", "1950-03-13", "one-digit"),
        ("1950-03-12", "1960-03-12", "one-digit"),
        ("1950", "1950-03-12", "partial"),
        ("1950-03", "1951-03-12", "different"),
        ("1950-03-12", "1951-04-12", "different"),
        ("1950-03-03", "1950-03-03", "exact"),
    ],
)
def test_birth_dates_compare_as_people_mistype_them(a: str, b: str, outcome: str) -> None:
    assert compare_dates(a, b) == outcome
    assert compare_dates(b, a) == outcome


def test_postcodes_and_phones_are_normalised() -> None:
    assert postcode_key(" po4 0le") == "PO40LE"
    assert outward_code("PO40LE") == "PO4"
    assert outward_code("PO160AB") == "PO16"
    assert phone_key("+44 (0)7700 900123") == phone_key("07700 900123") == "7700900123"
    assert phone_key("900123") == ""


# --- Reading a Patient ---------------------------------------------------------------------


def test_demographics_fold_names_and_keep_only_valid_nhs_numbers() -> None:
    person = demographics(
        {
            "resourceType": "Patient",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9000000001"}],
            "name": [{"family": "  Ŝmith-Jones ", "given": ["Zoë"]}, {"text": "Ann de la Mer"}],
            "gender": "unknown",
            "address": [{"postalCode": "PO5 1aa", "use": "old"}, {"postalCode": "po4 0le"}],
            "telecom": [{"system": "email", "value": "a@b.uk"}, {"value": "023 9282 2444"}],
        }
    )
    assert person.nhs_number is None
    assert [(n.family, n.given) for n in person.names] == [
        ("smith jones", ("zoe",)),
        ("mer", ("ann", "de", "la")),
    ]
    assert person.gender is None
    assert person.postcodes == ("PO40LE", "PO51AA")
    assert person.phones == ("2392822444",)


# --- Grades --------------------------------------------------------------------------------


@pytest.fixture
def margaret() -> Patient:
    return people.resident(
        random.Random(7),
        family="Thompson",
        given="Margaret",
        gender="female",
        birth_date=date(1941, 6, 14),
        postcode="PO4 0LE",
    )


Change = Callable[[Patient], None]


def _set(path: str, value: Any) -> Change:
    def change(person: Patient) -> None:
        if path == "family":
            person["name"][0]["family"] = value
        elif path == "given":
            person["name"][0]["given"] = [value]
        elif path == "postcode":
            person["address"] = [{"postalCode": value}]
        else:
            person[path] = value

    return change


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([], "certain"),
        ([_set("family", "THOMPSON"), _set("given", "margaret")], "certain"),
        ([_set("family", "Thomson")], "probable"),
        ([_set("given", "Margret")], "probable"),
        ([_set("family", "Margaret"), _set("given", "Thompson")], "probable"),
        ([_set("birthDate", "1941-06-15")], "probable"),
        ([_set("postcode", "PO4 9ZZ")], "probable"),
        ([_set("postcode", "PO6 3AB"), _set("telecom", [])], "probable"),
        ([_set("gender", "male")], "probable"),
        ([_set("birthDate", "1941-14-06")], "probable"),
        ([_set("family", "Thomson"), _set("postcode", "PO6 3AB"), _set("telecom", [])],
         "probable"),
        ([_set("postcode", "PO6 3AB"), _set("telecom", []), _set("birthDate", "1941-06-17")],
         "possible"),
        ([_set("family", "Thomson"), _set("postcode", "PO6 3AB"), _set("telecom", []),
          _set("birthDate", "1941-06-17")], "possible"),
        ([_set("family", "Baker"), _set("given", "Jean"), _set("birthDate", "1952-01-30")],
         "certainly-not"),
    ],
)  # fmt: skip
def test_grades_without_an_nhs_number(
    margaret: Patient, changes: list[Change], expected: str
) -> None:
    asked = anonymous(copy.deepcopy(margaret))
    for change in changes:
        change(asked)
    assert compare(asked, margaret).grade == expected


def test_the_same_nhs_number_is_certain_even_with_other_details_wrong(margaret: Patient) -> None:
    asked = copy.deepcopy(margaret)
    _set("family", "Tompson")(asked)
    _set("postcode", "SO14 7DU")(asked)
    match = compare(asked, margaret)
    assert match.grade == "certain"
    assert match.score >= CERTAIN_SCORE
    assert match.outcome("nhs-number") == "agree"


def test_the_same_nhs_number_on_someone_quite_different_is_only_probable(
    margaret: Patient,
) -> None:
    asked = copy.deepcopy(margaret)
    for change in (
        _set("family", "Baker"),
        _set("given", "Jean"),
        _set("birthDate", "1980-01-30"),
        _set("postcode", "PO6 3AB"),
        _set("telecom", []),
    ):
        change(asked)
    assert compare(asked, margaret).grade == "probable"


def test_another_valid_nhs_number_is_certainly_not(margaret: Patient) -> None:
    asked = copy.deepcopy(margaret)
    asked["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": "9000000009"}]
    match = compare(asked, margaret)
    assert (match.grade, match.score) == ("certainly-not", 0.0)
    assert match.worth_reporting  # a look-alike a clerk should see ruled out


def test_the_evidence_says_what_matched(margaret: Patient) -> None:
    asked = anonymous(copy.deepcopy(margaret))
    _set("family", "Thomson")(asked)
    _set("postcode", "PO4 9ZZ")(asked)
    outcomes = {e.feature: e.outcome for e in compare(asked, margaret).evidence}
    assert outcomes == {
        "family": "typo",
        "given": "agree",
        "birthDate": "exact",
        "gender": "agree",
        "postcode": "outward",
        "phone": "agree",
    }


# --- Properties ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(seeds, st.sampled_from(people.TYPOS), st.sampled_from(people.MISTAKES))
def test_never_certain_without_nhs_number_when_a_detail_is_mistyped(
    seed: int, mistype: people.Mistake, other: people.Mistake
) -> None:
    assume(other is not mistype)  # swapping the names twice puts them right again
    rng = random.Random(seed)
    person = people.resident(rng)
    asked = anonymous(copy.deepcopy(person))
    mistype(rng, asked)
    other(rng, asked)
    # Two mistakes on one field can undo each other (a digit changed, then changed back).
    assume(asked != anonymous(copy.deepcopy(person)))
    match = compare(asked, person)
    assert match.grade != "certain"
    assert match.score < CERTAIN_SCORE


@settings(max_examples=300)
@given(seeds, st.sampled_from(people.MISTAKES))
def test_one_mistake_without_nhs_number_is_at_least_possible(
    seed: int, mistake: people.Mistake
) -> None:
    rng = random.Random(seed)
    person = people.resident(rng)
    asked = anonymous(copy.deepcopy(person))
    mistake(rng, asked)
    assert compare(asked, person).grade in ("certain", "probable", "possible")


@settings(max_examples=500)
@given(
    seeds,
    st.sampled_from(COMMON_SURNAMES),
    st.sampled_from(("female", "male")),
    st.integers(min_value=1925, max_value=2005),
    st.integers(min_value=0, max_value=364),
    st.integers(min_value=0, max_value=364),
    st.booleans(),
)
def test_namesakes_born_the_same_year_are_not_probable(
    seed: int, family: str, gender: str, year: int, day_a: int, day_b: int, nearby: bool
) -> None:
    assume(day_a != day_b)
    rng = random.Random(seed)
    first = people.resident(
        rng, family=family, gender=gender, birth_date=date(year, 1, 1) + timedelta(day_a)
    )
    given_name = first["name"][0]["given"][0]
    district = first["address"][0]["postalCode"].split()[0] if nearby else None
    second = people.resident(
        rng,
        family=family,
        given=given_name,
        gender=gender,
        birth_date=date(year, 1, 1) + timedelta(day_b),
        postcode=people.postcode(rng, district),
    )
    assume(people.postcode_of(first) != people.postcode_of(second))
    assume(people.phone_of(first) != people.phone_of(second))
    match = compare(anonymous(first), second)
    assert match.grade not in ("certain", "probable"), match
    assert match.weight < PROBABLE_WEIGHT


@given(seeds)
def test_scores_stay_in_their_grade_band(seed: int) -> None:
    rng = random.Random(seed)
    asked, held = people.resident(rng), people.resident(rng)
    if rng.random() < 0.5:
        asked = anonymous(asked)
    match = compare(asked, held)
    assert 0.0 <= match.score <= 1.0
    if match.grade == "certain":
        assert match.score >= CERTAIN_SCORE
    elif match.grade in ("probable", "possible"):
        assert match.score < CERTAIN_SCORE
        assert match.weight >= POSSIBLE_WEIGHT


@given(seeds)
def test_the_nhs_number_decides_when_both_have_one(seed: int) -> None:
    rng = random.Random(seed)
    person = people.resident(rng)
    same = copy.deepcopy(person)
    people.family_typo(rng, same)
    assert compare(same, person).grade == "certain"
    other = copy.deepcopy(person)
    other["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": generate(rng)}]
    assume(people.nhs_of(other) != people.nhs_of(person))
    assert compare(other, person).grade == "certainly-not"


# --- Ranking on a synthetic population -----------------------------------------------------


def ranking_accuracy(seed: int, mistakes: Callable[[random.Random, Patient], None]) -> float:
    """How often the true person is strictly first among 200 residents, when asked about
    without an NHS number and with ``mistakes`` made."""
    population = people.population(200, seed)
    held = [demographics(p) for p in population]
    rng = random.Random(seed + 1)
    first = 0
    for position, person in enumerate(population):
        asked = anonymous(copy.deepcopy(person))
        mistakes(rng, asked)
        asking = demographics(asked)
        ranked = sorted(
            ((score(asking, h), i) for i, h in enumerate(held)),
            key=lambda pair: (pair[0].score, pair[0].weight),
            reverse=True,
        )
        (best, best_at), (runner_up, _) = ranked[0], ranked[1]
        strictly = (best.score, best.weight) > (runner_up.score, runner_up.weight)
        first += best_at == position and strictly
    return first / len(population)


def two_random_mistakes(rng: random.Random, person: Patient) -> None:
    for mistake in rng.sample(people.MISTAKES, 2):
        mistake(rng, person)


def moved_without_phone_and_a_typo(rng: random.Random, person: Patient) -> None:
    people.moved(rng, person)
    people.no_phone(rng, person)
    rng.choice(people.TYPOS)(rng, person)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mistakes", [two_random_mistakes, moved_without_phone_and_a_typo])
def test_the_true_person_ranks_first_in_at_least_95_percent(
    seed: int, mistakes: Callable[[random.Random, Patient], None]
) -> None:
    assert ranking_accuracy(seed, mistakes) >= 0.95


def test_the_population_uses_the_demo_names() -> None:
    population = people.population(200, 1)
    surnames = {p["name"][0]["family"] for p in population}
    assert surnames <= set(demo_data.SURNAMES)
    assert len({people.nhs_of(p) for p in population}) == 200


# --- Candidate searches --------------------------------------------------------------------


def test_candidate_searches_cover_each_kind_of_mistake(margaret: Patient) -> None:
    searches = candidate_searches(demographics(margaret))
    nhs = people.nhs_of(margaret)
    assert searches == [
        [("identifier", f"{NHS_NUMBER_SYSTEM}|{nhs}")],
        [("birthdate", "1941-06-14")],
        [("family", "tho"), ("birthdate", "1941")],
        [("family", "mar"), ("birthdate", "1941")],
        [("family", "tho"), ("address-postalcode", "PO4")],
        [("address-postalcode", "PO4 0LE")],
    ]


def test_a_transposable_date_is_searched_both_ways() -> None:
    searches = candidate_searches(demographics({"birthDate": "1950-03-12"}))
    assert searches == [[("birthdate", "1950-03-12")], [("birthdate", "1950-12-03")]]


def test_without_a_birth_date_the_family_prefix_is_narrowed_by_the_given_name() -> None:
    patient = {"name": [{"family": "O'Brien", "given": ["Siobhán"]}]}
    assert candidate_searches(demographics(patient)) == [[("family", "obr"), ("given", "sio")]]
