"""What the benchmark sends: request lines and bodies made from the residents it found."""

from __future__ import annotations

from urllib.parse import unquote

from bench import workload
from shared.fhir.validation import validate

PEOPLE = workload.Sample(
    ids=["p1", "p2", "p3"],
    nhs_numbers=["9990000018", "9990000026", "9990000034"],
    families=["Smith", "Smyth", "Jones"],
)
BASE = "http://127.0.0.1:8080/fhir"


def test_given_a_base_when_lines_are_made_then_they_are_paths_under_it() -> None:
    reads = workload.reads(BASE, PEOPLE)
    by_identifier = workload.by_identifier(BASE, PEOPLE)

    assert reads == ["/fhir/Patient/p1", "/fhir/Patient/p2", "/fhir/Patient/p3"]
    assert unquote(by_identifier[0]) == (
        "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018"
    )


def test_given_family_names_when_prefixes_are_made_then_each_three_letters_once() -> None:
    assert workload.by_name_prefix(BASE, PEOPLE) == [
        "/fhir/Patient?family=Jon",
        "/fhir/Patient?family=Smi",
        "/fhir/Patient?family=Smy",
    ]


def test_given_a_seed_when_date_ranges_are_made_then_each_is_one_week() -> None:
    lines = workload.by_date_range(BASE)

    assert lines == workload.by_date_range(BASE)
    assert all(line.startswith("/fhir/Encounter?date=ge") and "&date=lt" in line for line in lines)


def test_given_residents_when_a_transaction_is_made_then_it_has_100_valid_entries() -> None:
    bundle = workload.consultations(PEOPLE, 100, seed=1)
    full_urls = {e["fullUrl"] for e in bundle["entry"] if "fullUrl" in e}

    assert len(bundle["entry"]) == 100
    for entry in bundle["entry"]:
        validate(entry["resource"])
        encounter = entry["resource"].get("encounter", {}).get("reference")
        assert encounter is None or encounter in full_urls


def test_given_a_long_story_when_made_then_one_person_has_every_resource() -> None:
    bundle = workload.a_long_story(200)
    person = bundle["entry"][0]["fullUrl"]

    assert len(bundle["entry"]) == 200
    assert all(e["resource"]["subject"]["reference"] == person for e in bundle["entry"][1:])


def test_given_a_resident_when_referred_then_the_referral_and_intake_are_valid() -> None:
    bundle = workload.referral("p1")

    for entry in bundle["entry"]:
        validate(entry["resource"])
    assert (
        bundle["entry"][1]["resource"]["basedOn"][0]["reference"] == bundle["entry"][0]["fullUrl"]
    )


def test_given_residents_when_heart_rates_are_made_then_each_is_a_valid_observation() -> None:
    observations = workload.heart_rates(PEOPLE, 20)

    for observation in observations:
        validate(observation)
    assert {o["subject"]["reference"] for o in observations} <= {
        "Patient/p1",
        "Patient/p2",
        "Patient/p3",
    }


def test_given_people_waiting_when_made_then_each_is_valid_and_has_their_own_nhs_number() -> None:
    import random
    from datetime import UTC, datetime

    from bench.discharge_board import person
    from shared.nhs_number import is_valid

    rng, now, taken = random.Random(1), datetime.now(UTC), set[str]()
    people = [person(rng, now, taken) for _ in range(300)]

    numbers = [entries[0]["resource"]["identifier"][0]["value"] for entries in people]
    assert len(set(numbers)) == 300 and all(is_valid(n) for n in numbers)
    assert len({entries[0]["resource"]["birthDate"] for entries in people}) > 250
    for entries in people:
        for entry in entries:
            validate(entry["resource"])
