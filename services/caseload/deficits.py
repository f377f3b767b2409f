"""The electronic Frailty Index's deficit table (``efi-deficits.yaml``: versioned data) and
its reader, which refuses a table with anything wrong in it, naming the file, the place and the
fault. Which SNOMED CT concepts evidence which of the 36 deficits (Clegg et al. 2016), the age
the eFI starts at, and the band limits are data, not code.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shared.datafile import (
    DataFileError,
    Invalid,
    read_keys,
    read_text,
    read_whole,
    read_yaml,
    shown,
)
from shared.fhir.terms import code_system

DEFICIT_COUNT = 36  # Clegg et al. 2016
BANDS = ("fit", "mild", "moderate", "severe")  # the keys of FRAILTY_BANDS, mildest first
DEFICIT_TABLE = Path(__file__).with_name("efi-deficits.yaml")
EFI_DEFICIT_TABLE = code_system("efi-deficit-table")  # RiskAssessment.method: the table version


class DeficitTableError(DataFileError):
    """The deficit table cannot be used; the message names the file, the place and the fault."""


# --- The deficit table ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deficit:
    id: str  # lower-case words joined by hyphens: "memory-and-cognitive-problems"
    display: str
    codes: frozenset[str] = frozenset()  # SNOMED CT concepts that evidence it on a Condition
    medicines_at_least: int | None = None  # polypharmacy: present with this many medicines


@dataclass(frozen=True, slots=True)
class DeficitTable:
    version: str
    minimum_age: int  # in whole years
    band_limits: Mapping[str, Fraction]  # the highest score in each band but the last
    deficits: tuple[Deficit, ...]
    description: str | None = None
    source: str = ""  # where the table was read from
    _by_code: Mapping[str, Deficit] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {code: deficit for deficit in self.deficits for code in deficit.codes}
        object.__setattr__(self, "_by_code", MappingProxyType(index))

    def deficit_of(self, code: str) -> Deficit | None:
        """The deficit a SNOMED CT concept evidences, if any."""
        return self._by_code.get(code)

    def band(self, score: Fraction) -> str:
        """The band of an exact score: the first whose limit it does not exceed."""
        for band, limit in self.band_limits.items():
            if score <= limit:
                return band
        return BANDS[-1]


# --- Reading the table: every fault named with its file and place -----------------------------


def load_deficits(path: str | Path = DEFICIT_TABLE) -> DeficitTable:
    """Read and check a deficit table file; DeficitTableError says what is wrong and where."""
    source = str(path)
    document = read_yaml(path, "deficit table", DeficitTableError)
    return parse_deficits(document, source=source)


def parse_deficits(document: object, *, source: str = "deficit table") -> DeficitTable:
    """Check a deficit table already read into Python objects (``load_deficits`` reads a file)."""
    required = ("version", "minimum_age", "bands", "deficits")
    try:
        body = _keys(document, "", required=required, optional=("description",))
        described = "description" in body
        return DeficitTable(
            version=read_text(body["version"], "version"),
            minimum_age=read_whole(body["minimum_age"], "minimum_age", 0, 130),
            band_limits=_band_limits(body["bands"], "bands"),
            deficits=_deficits(body["deficits"], "deficits"),
            description=read_text(body["description"], "description") if described else None,
            source=source,
        )
    except Invalid as invalid:
        raise DeficitTableError(f"{source}: {invalid}") from None


def _band_limits(value: object, where: str) -> Mapping[str, Fraction]:
    bands = BANDS[:-1]  # the last band is open: everything above the one before it
    body = _keys(value, where, required=bands, optional=())
    limits = {band: _limit(body[band], f"{where}.{band}") for band in bands}
    for lower, higher in itertools.pairwise(bands):
        if limits[higher] <= limits[lower]:
            raise Invalid(f"{where}.{higher}", f"must be above {lower} ({body[lower]})")
    return MappingProxyType(limits)


def _deficits(value: object, where: str) -> tuple[Deficit, ...]:
    if not isinstance(value, list):
        raise Invalid(where, f"expected a list of deficits, got {shown(value)}")
    deficits: list[Deficit] = []
    owners: dict[str, str] = {}  # SNOMED CT code -> the deficit it evidences
    for position, item in enumerate(value, start=1):
        named = item.get("id") if isinstance(item, dict) else None
        place = f"deficit {position}" + (f" ({named})" if isinstance(named, str) else "")
        deficit = _deficit(item, place)
        if any(earlier.id == deficit.id for earlier in deficits):
            raise Invalid(f"{place}.id", f"{deficit.id!r} is already the id of a deficit")
        for code in sorted(deficit.codes):
            if code in owners:
                raise Invalid(f"{place}.codes", f"{code} is already a code of {owners[code]}")
            owners[code] = deficit.id
        deficits.append(deficit)
    if len(deficits) != DEFICIT_COUNT:
        fault = f"the eFI has exactly {DEFICIT_COUNT} deficits, this table has {len(deficits)}"
        raise Invalid(where, fault)
    return tuple(deficits)


def _deficit(value: object, where: str) -> Deficit:
    body = _keys(value, where, required=("id", "display"), optional=_EVIDENCE)
    if ("codes" in body) == ("medicines_at_least" in body):
        raise Invalid(where, "needs exactly one of codes (a condition) or medicines_at_least")
    deficit_id = read_text(body["id"], f"{where}.id")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", deficit_id):
        raise Invalid(f"{where}.id", f"{deficit_id!r} must be lower-case words joined by hyphens")
    if "codes" in body:
        codes = _codes(body["codes"], f"{where}.codes")
        return Deficit(deficit_id, read_text(body["display"], f"{where}.display"), codes)
    at_least = read_whole(body["medicines_at_least"], f"{where}.medicines_at_least", 1, None)
    return Deficit(
        deficit_id, read_text(body["display"], f"{where}.display"), frozenset(), at_least
    )


_EVIDENCE = ("codes", "medicines_at_least")


def _codes(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise Invalid(where, f"expected a non-empty list of SNOMED CT codes, got {shown(value)}")
    codes = [_snomed_code(item, f"{where}[{index}]") for index, item in enumerate(value)]
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        raise Invalid(where, f"lists {', '.join(twice)} more than once")
    return frozenset(codes)


def _snomed_code(value: object, where: str) -> str:
    if not isinstance(value, str):
        hint = " (quote it)" if isinstance(value, int) and not isinstance(value, bool) else ""
        raise Invalid(where, f"expected a SNOMED CT concept id as text, got {shown(value)}{hint}")
    if not is_snomed_concept_id(value):
        raise Invalid(where, f"{value!r} is not a SNOMED CT concept id (mistyped?)")
    return value


def _limit(value: object, where: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(where, f"expected a number, got {shown(value)}")
    limit = Fraction(str(value))  # 0.12 exactly, not the nearest binary float
    if not 0 < limit < 1:
        raise Invalid(where, f"{value} must be between 0 and 1")
    return limit


# --- SNOMED CT identifiers: a concept's partition and its Verhoeff check digit ----------------

_VERHOEFF_D = (
    "0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
    "5987604321", "6598710432", "7659821043", "8765932104", "9876543210",
)  # fmt: skip
_VERHOEFF_P = (
    "0123456789", "1576283094", "5803796142", "8916043527",
    "9453126870", "4286573901", "2793806415", "7046913258",
)  # fmt: skip


def is_snomed_concept_id(code: str) -> bool:
    """6 to 18 digits, no leading zero, a concept partition (00 core, 10 extension) and a
    valid Verhoeff check digit: a mistyped concept id fails."""
    if not re.fullmatch(r"[1-9][0-9]{5,17}", code) or code[-3:-1] not in ("00", "10"):
        return False
    check = 0
    for position, digit in enumerate(reversed(code)):
        check = int(_VERHOEFF_D[check][int(_VERHOEFF_P[position % 8][int(digit)])])
    return check == 0


def _keys(
    value: object, where: str, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> Mapping[Any, Any]:
    return read_keys(value, where, required=list(required), allowed=list(required + optional))
