"""How likely a candidate Patient is the person searched for: a score in 0..1, a FHIR
match grade, and the evidence behind both.

Each feature both records hold adds a weight, in the manner of Fellegi and Sunter: roughly
log2 of how much likelier the observed agreement is for the same person than for two people
in a city of about 200,000. A feature either record lacks adds nothing.

=============  =============================================  ==========
feature        outcome                                        weight
=============  =============================================  ==========
NHS number     agree / disagree (both valid, so not a typo)   +20 / rule
family name    agree; typo (Jaro-Winkler 0.80..0.99, scaled)  +7; 0..+7
               disagree                                       -4
given name     agree; typo (as above); bare initial           +5; 0..+5; +1.5
               disagree                                       -3
names swapped  given and family the wrong way round           both -0.5
birth date     exact; day/month transposed; one digit off     +12; +5; +4
               agree as far as the less precise goes          +2
               different                                      -6
gender         agree / disagree ("other", "unknown" ignored)  +1 / -4
postcode       exact; same outward code (PO4); different      +9; +2; -1
phone          last ten digits agree / differ                 +8 / -1
=============  =============================================  ==========

Grades, first rule that applies:

- **certainly-not**: both NHS numbers are valid and differ (Modulus 11 catches every single
  digit error and adjacent transposition, so two valid numbers are two people);
- **certain**: the NHS numbers agree, and the rest does not outweigh it (demographic weight
  >= 0; otherwise probable, for a person to check); or, without NHS numbers to compare,
  family name, given name, birth date, postcode and gender all present and exactly equal
  (after folding case and accents). A typo, a swap, a transposed date or a postcode that only
  shares its outward code is never certain;
- **probable**: total weight >= 22. Same name, same birth date and gender reach it (25);
  same names and birth year, however the dates are alike, and the same outward code do not
  (at most 7 + 5 + 5 + 1 + 2 = 20);
- **possible**: total weight >= 10;
- **certainly-not**: below 10.

The score is ``1 / (1 + exp(-(weight - 16) / 4))`` (0.82 at weight 22, 0.18 at weight 10),
held inside its grade's band so that ordering by score orders by grade: certain >= 0.95,
probable 0.82..0.949, possible 0.18..0.82, certainly-not below 0.18, and 0 for an NHS
number conflict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from services.record.identity.demographics import Demographics, PersonName
from services.record.identity.similarity import (
    compare_dates,
    initial_matches,
    name_similarity,
    outward_code,
)

Grade = Literal["certain", "probable", "possible", "certainly-not"]
GRADES: tuple[Grade, ...] = ("certain", "probable", "possible", "certainly-not")

NHS_AGREE = 20.0
FAMILY = (7.0, -4.0)  # agree, disagree
GIVEN = (5.0, -3.0)
INITIAL = 1.5
SWAP_PENALTY = 0.5  # on each of the two names
TYPO_FLOOR = 0.80  # Jaro-Winkler below this is a different name
BIRTH_DATE = {"exact": 12.0, "transposed": 5.0, "one-digit": 4.0, "partial": 2.0}
BIRTH_DATE_DIFFERENT = -6.0
GENDER = (1.0, -4.0)
POSTCODE = {"exact": 9.0, "outward": 2.0, "different": -1.0}
PHONE = (8.0, -1.0)

PROBABLE_WEIGHT = 22.0
POSSIBLE_WEIGHT = 10.0
_CENTRE, _SPREAD = 16.0, 4.0
CERTAIN_SCORE = 0.95
_BELOW_CERTAIN = 0.949
_EXACT = {"family": "agree", "given": "agree", "birthDate": "exact", "postcode": "exact"}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One feature compared: ``feature`` is nhs-number, family, given, birthDate, gender,
    postcode or phone; ``outcome`` says how it compared (agree, typo, swapped, ...)."""

    feature: str
    outcome: str
    weight: float


@dataclass(frozen=True, slots=True)
class Match:
    score: float  # 0..1, rounded to 4 places
    grade: Grade
    weight: float
    evidence: tuple[Evidence, ...]

    def outcome(self, feature: str) -> str | None:
        return next((e.outcome for e in self.evidence if e.feature == feature), None)

    @property
    def worth_reporting(self) -> bool:
        """Certain, probable or possible; or a look-alike (possible or better on demographics)
        that the NHS number rules out, which a registration clerk should see."""
        if self.grade != "certainly-not":
            return True
        return self.outcome("nhs-number") == "disagree" and self.weight >= POSSIBLE_WEIGHT


def score(searched: Demographics, candidate: Demographics) -> Match:
    """How well ``candidate`` (a record) matches ``searched`` (the person asked about)."""
    evidence = [
        *_nhs_number(searched, candidate),
        *_names(searched.names, candidate.names),
        *_birth_date(searched, candidate),
        *_gender(searched, candidate),
        *_postcode(searched, candidate),
        *_phone(searched, candidate),
    ]
    weight = round(sum(e.weight for e in evidence), 4)
    grade = _grade(evidence, weight)
    return Match(_score(weight, grade, evidence), grade, weight, tuple(evidence))


def _grade(evidence: list[Evidence], weight: float) -> Grade:
    outcomes = {e.feature: e.outcome for e in evidence}
    nhs = outcomes.get("nhs-number")
    if nhs == "disagree":
        return "certainly-not"
    if nhs == "agree":
        return "certain" if weight - NHS_AGREE >= 0 else "probable"
    exact = all(outcomes.get(f) == o for f, o in _EXACT.items())
    if exact and outcomes.get("gender") == "agree":
        return "certain"
    if weight >= PROBABLE_WEIGHT:
        return "probable"
    return "possible" if weight >= POSSIBLE_WEIGHT else "certainly-not"


def _score(weight: float, grade: Grade, evidence: list[Evidence]) -> float:
    if any(e.feature == "nhs-number" and e.outcome == "disagree" for e in evidence):
        return 0.0
    value = 1 / (1 + math.exp(-(weight - _CENTRE) / _SPREAD))
    if grade == "certain":
        value = max(value, CERTAIN_SCORE)
    elif grade == "probable":
        value = min(value, _BELOW_CERTAIN)
    return round(value, 4)


# --- Features ------------------------------------------------------------------------------


def _nhs_number(searched: Demographics, candidate: Demographics) -> list[Evidence]:
    if searched.nhs_number is None or candidate.nhs_number is None:
        return []
    if searched.nhs_number == candidate.nhs_number:
        return [Evidence("nhs-number", "agree", NHS_AGREE)]
    return [Evidence("nhs-number", "disagree", 0.0)]


def _names(searched: Iterable[PersonName], candidate: Iterable[PersonName]) -> list[Evidence]:
    """The best reading over every pair of names (a maiden name still counts), either way
    round."""
    best: list[Evidence] = []
    best_weight = -math.inf
    for asked in searched:
        for held in candidate:
            for option in (_name_pair(asked, held), _swapped(asked, held)):
                option_weight = sum(e.weight for e in option)
                if option and option_weight > best_weight:
                    best, best_weight = option, option_weight
    return best


def _name_pair(asked: PersonName, held: PersonName) -> list[Evidence]:
    evidence = []
    if asked.family and held.family:
        similarity = name_similarity(asked.family, held.family)
        evidence.append(_graded("family", similarity, FAMILY))
    if asked.given and held.given:
        evidence.append(_given(asked.given, held.given))
    return evidence


def _swapped(asked: PersonName, held: PersonName) -> list[Evidence]:
    """Family and first given name the wrong way round ("Ahmed Rahman" / "Rahman Ahmed")."""
    if not (asked.family and asked.given and held.family and held.given):
        return []
    family = _graded("family", name_similarity(asked.family, held.given[0]), FAMILY)
    given = _graded("given", name_similarity(asked.given[0], held.family), GIVEN)
    if "disagree" in (family.outcome, given.outcome):
        return []
    return [
        Evidence("family", "swapped", family.weight - SWAP_PENALTY),
        Evidence("given", "swapped", given.weight - SWAP_PENALTY),
    ]


def _given(asked: tuple[str, ...], held: tuple[str, ...]) -> Evidence:
    """First given names compared; any other pairing (a middle name used as the first) is
    at best a near match."""
    best = _graded("given", name_similarity(asked[0], held[0]), GIVEN)
    for i, a in enumerate(asked):
        for j, h in enumerate(held):
            if initial_matches(a, h) and best.weight < INITIAL:
                best = Evidence("given", "initial", INITIAL)
            elif i or j:
                other = _graded("given", name_similarity(a, h) * 0.95, GIVEN)
                best = other if other.weight > best.weight else best
    return best


def _graded(feature: str, similarity: float, weights: tuple[float, float]) -> Evidence:
    agree, disagree = weights
    if similarity >= 1.0:
        return Evidence(feature, "agree", agree)
    if similarity >= TYPO_FLOOR:
        share = (similarity - TYPO_FLOOR) / (1 - TYPO_FLOOR)
        return Evidence(feature, "typo", round(agree * share, 4))
    return Evidence(feature, "disagree", disagree)


def _birth_date(searched: Demographics, candidate: Demographics) -> list[Evidence]:
    if searched.birth_date is None or candidate.birth_date is None:
        return []
    outcome = compare_dates(searched.birth_date, candidate.birth_date)
    return [Evidence("birthDate", outcome, BIRTH_DATE.get(outcome, BIRTH_DATE_DIFFERENT))]


def _gender(searched: Demographics, candidate: Demographics) -> list[Evidence]:
    if searched.gender is None or candidate.gender is None:
        return []
    agree, disagree = GENDER
    if searched.gender == candidate.gender:
        return [Evidence("gender", "agree", agree)]
    return [Evidence("gender", "disagree", disagree)]


def _postcode(searched: Demographics, candidate: Demographics) -> list[Evidence]:
    if not searched.postcodes or not candidate.postcodes:
        return []
    pairs = [(a, b) for a in searched.postcodes for b in candidate.postcodes]
    if any(a == b for a, b in pairs):
        outcome = "exact"
    elif any(outward_code(a) and outward_code(a) == outward_code(b) for a, b in pairs):
        outcome = "outward"
    else:
        outcome = "different"
    return [Evidence("postcode", outcome, POSTCODE[outcome])]


def _phone(searched: Demographics, candidate: Demographics) -> list[Evidence]:
    if not searched.phones or not candidate.phones:
        return []
    agree, disagree = PHONE
    if set(searched.phones) & set(candidate.phones):
        return [Evidence("phone", "agree", agree)]
    return [Evidence("phone", "disagree", disagree)]
