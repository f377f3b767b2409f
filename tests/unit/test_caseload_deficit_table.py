"""The eFI deficit table as data: every fault refused with the file, the place and the fault,
and SNOMED CT concept ids checked by their check digit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.caseload.deficits import (
    DEFICIT_TABLE,
    DeficitTableError,
    is_snomed_concept_id,
    load_deficits,
    parse_deficits,
)

TABLE = load_deficits()
all_codes = sorted(code for d in TABLE.deficits for code in d.codes)
TODAY = date(2026, 11, 15)
NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


# --- Reading the table: every fault refused, naming the file, the place and the fault ----------

Change = Callable[[dict[str, Any]], None]
SHIPPED: dict[str, Any] = yaml.safe_load(DEFICIT_TABLE.read_text(encoding="utf-8"))


def _deficit(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda table: next(d for d in table["deficits"] if d["id"] == name)


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Change:
    return lambda table: path(table).__setitem__(key, value)


def _drop(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Change:
    return lambda table: path(table).pop(key)


def _top(table: dict[str, Any]) -> dict[str, Any]:
    return table


def _bands(table: dict[str, Any]) -> dict[str, Any]:
    return table["bands"]  # type: ignore[no-any-return]


FALLS, DIABETES = _deficit("falls"), _deficit("diabetes")
BROKEN: list[tuple[str, Change, str]] = [
    ("an unknown key", _set(_top, "colour", "blue"), "unknown key colour; allowed: version"),
    ("no version", _drop(_top, "version"), "missing version"),
    ("a version as a number", _set(_top, "version", 2026.1), "version: expected text, got 2026.1"),
    ("no deficits", _drop(_top, "deficits"), "missing deficits"),
    ("deficits not a list", _set(_top, "deficits", {}), "deficits: expected a list of deficits"),
    ("35 deficits", lambda t: t["deficits"].pop(), "exactly 36 deficits, this table has 35"),
    (
        "37 deficits",
        lambda t: t["deficits"].append({"id": "extra", "display": "X", "codes": ["404684003"]}),
        "exactly 36 deficits, this table has 37",
    ),
    (
        "a deficit twice",
        lambda t: t["deficits"].__setitem__(1, {**FALLS(t), "codes": ["404684003"]}),
        "deficit 10 (falls).id: 'falls' is already the id of a deficit",
    ),
    (
        "a code in two deficits",
        _set(FALLS, "codes", ["161898004", "44054006"]),
        "deficit 10 (falls).codes: 44054006 is already a code of diabetes",
    ),
    (
        "a code twice in a deficit",
        _set(FALLS, "codes", ["161898004", "161898004"]),
        "deficit 10 (falls).codes: lists 161898004 more than once",
    ),
    (
        "a code YAML read as a number",
        _set(FALLS, "codes", [161898004]),
        "deficit 10 (falls).codes[0]: expected a SNOMED CT concept id as text, got 161898004 "
        "(int) (quote it)",
    ),
    (
        "a mistyped code",
        _set(FALLS, "codes", ["161898005"]),
        "codes[0]: '161898005' is not a SNOMED CT concept id",
    ),
    (
        "a description id, not a concept id",
        _set(FALLS, "codes", ["161898011"]),
        "'161898011' is not a SNOMED CT concept id",
    ),
    ("no codes", _set(FALLS, "codes", []), "falls).codes: expected a non-empty list"),
    ("an unknown deficit key", _set(FALLS, "weight", 2), "(falls): unknown key weight"),
    ("no display", _drop(FALLS, "display"), "deficit 10 (falls): missing display"),
    (
        "codes and a medicine count",
        _set(FALLS, "medicines_at_least", 5),
        "(falls): needs exactly one of codes (a condition) or medicines_at_least",
    ),
    (
        "neither codes nor a medicine count",
        _drop(FALLS, "codes"),
        "(falls): needs exactly one of codes",
    ),
    (
        "an id not in hyphenated lower case",
        _set(DIABETES, "id", "Diabetes_Mellitus"),
        "must be lower-case words joined by hyphens",
    ),
    (
        "no polypharmacy threshold",
        _set(_deficit("polypharmacy"), "medicines_at_least", 0),
        "(polypharmacy).medicines_at_least: 0 is out of range (1 or more)",
    ),
    ("bands out of order", _set(_bands, "mild", 0.1), "bands.mild: must be above fit (0.12)"),
    ("a band of 1 or more", _set(_bands, "moderate", 1.2), "bands.moderate: 1.2 must be between"),
    ("a band of 0", _set(_bands, "fit", 0), "bands.fit: 0 must be between 0 and 1"),
    ("a band as text", _set(_bands, "fit", "low"), "bands.fit: expected a number, got 'low'"),
    ("a band as yes/no", _set(_bands, "fit", True), "bands.fit: expected a number, got True"),
    ("a band missing", _drop(_bands, "mild"), "bands: missing mild"),
    ("a limit for severe", _set(_bands, "severe", 0.5), "bands: unknown key severe"),
    ("a negative minimum age", _set(_top, "minimum_age", -1), "minimum_age: -1 is out of range"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=n) for n, c, m in BROKEN])
def test_given_a_table_with_a_fault_when_loaded_then_refused_naming_file_place_and_fault(
    tmp_path: Path, change: Change, message: str
) -> None:
    document = copy.deepcopy(SHIPPED)
    change(document)
    path = tmp_path / "efi-deficits.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(DeficitTableError) as refused:
        load_deficits(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_given_the_shipped_table_rewritten_when_loaded_then_it_is_the_same_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "efi-deficits.yaml"
    path.write_text(yaml.safe_dump(SHIPPED), encoding="utf-8")
    table = load_deficits(path)
    assert (table.deficits, table.band_limits, table.version) == (
        TABLE.deficits,
        TABLE.band_limits,
        TABLE.version,
    )


def test_given_a_yaml_syntax_error_when_loaded_then_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "efi-deficits.yaml"
    path.write_text('version: "1"\ndeficits:\n  - id: a\n    display: x: y\n', encoding="utf-8")
    with pytest.raises(DeficitTableError, match=r"not valid YAML: .*\(line 4, column 15\)"):
        load_deficits(path)


def test_given_a_key_given_twice_when_loaded_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "efi-deficits.yaml"
    text = DEFICIT_TABLE.read_text(encoding="utf-8")
    path.write_text(text.replace("  fit: 0.12\n", "  fit: 0.12\n  fit: 0.1\n"), encoding="utf-8")
    with pytest.raises(DeficitTableError, match="the key 'fit' is given twice"):
        load_deficits(path)


def test_given_no_file_when_loaded_then_refused_saying_so(tmp_path: Path) -> None:
    with pytest.raises(DeficitTableError, match="cannot read the deficit table"):
        load_deficits(tmp_path / "missing.yaml")


def test_given_an_empty_document_when_parsed_then_refused_naming_the_source() -> None:
    with pytest.raises(DeficitTableError, match=r"^here: expected a mapping with version"):
        parse_deficits(None, source="here")


# --- SNOMED CT concept ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("38341003", True),
        ("248171000000108", True),  # UK extension concept
        ("38341004", False),  # check digit wrong
        ("038341003", False),  # leading zero
        ("12345", False),  # too short
        ("161898011", False),  # a description id's partition (01)
        ("3834100", False),
    ],
)
def test_given_an_identifier_then_only_a_well_formed_concept_id_passes(
    code: str, valid: bool
) -> None:
    assert is_snomed_concept_id(code) is valid


@given(st.sampled_from(all_codes), st.data())
def test_given_a_concept_id_with_one_digit_mistyped_then_it_fails(code: str, data: Any) -> None:
    position = data.draw(st.integers(0, len(code) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    assert not is_snomed_concept_id(code[:position] + digit + code[position + 1 :])


@given(st.sampled_from(all_codes), st.data())
def test_given_a_concept_id_with_two_digits_swapped_then_it_fails(code: str, data: Any) -> None:
    position = data.draw(st.integers(0, len(code) - 2))
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert swapped == code or not is_snomed_concept_id(swapped)
