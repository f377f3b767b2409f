"""Behaviour of ``shared.fhir.queryparser.parse_search``: criteria, values, result parameters
and the strict / lenient handling of parameters the server does not know."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import FhirError
from shared.fhir.queryparser import parse_search
from shared.fhir.queryvalues import escape
from shared.fhir.searchparams import params_for
from shared.fhir.searchquery import Criterion, HasCriterion, SearchQuery, SearchValue

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def search(resource_type: str | None, *params: tuple[str, str], strict: bool = True) -> SearchQuery:
    return parse_search(resource_type, list(params), strict=strict)


def only(query: SearchQuery) -> Criterion:
    (criterion,) = query.criteria
    assert isinstance(criterion, Criterion)
    return criterion


def refused(resource_type: str | None, *params: tuple[str, str], strict: bool = True) -> FhirError:
    with pytest.raises(FhirError) as caught:
        parse_search(resource_type, list(params), strict=strict)
    assert caught.value.status == 400
    return caught.value


# --- plain criteria -----------------------------------------------------------------------


def test_given_string_param_then_one_criterion_with_the_value() -> None:
    criterion = only(search("Patient", ("family", "Smith")))
    assert criterion.param.code == "family"
    assert criterion.values == (SearchValue(parts=("Smith",)),)
    assert criterion.modifier is None


def test_given_repeated_name_then_one_criterion_each_anded() -> None:
    query = search("Patient", ("given", "Ann"), ("given", "Bea"))
    assert [c.values[0].text for c in query.criteria if isinstance(c, Criterion)] == ["Ann", "Bea"]


def test_given_commas_then_values_are_ored_in_order() -> None:
    criterion = only(search("Patient", ("given", "Ann,Bea,Cy")))
    assert [v.text for v in criterion.values] == ["Ann", "Bea", "Cy"]


def test_given_escaped_comma_and_pipe_then_they_are_literal() -> None:
    criterion = only(search("Patient", ("family", r"a\,b\|c\$d\\e")))
    assert criterion.values == (SearchValue(parts=("a,b|c$d\\e",)),)


def test_given_backslash_before_other_character_then_it_is_kept() -> None:
    assert only(search("Patient", ("family", r"a\nb"))).values[0].text == r"a\nb"


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("http://loinc.org|1234-5", ("http://loinc.org", "1234-5")),
        ("|1234-5", ("", "1234-5")),
        ("http://loinc.org|", ("http://loinc.org", "")),
        ("1234-5", ("1234-5",)),
        (r"a\|b|c", ("a|b", "c")),
    ],
)
def test_given_token_value_then_split_on_unescaped_pipe(raw: str, parts: tuple[str, ...]) -> None:
    assert only(search("Observation", ("code", raw))).values == (SearchValue(parts=parts),)


def test_given_token_with_three_parts_then_400_suggests_escaping() -> None:
    error = refused("Observation", ("code", "a|b|c"))
    assert "'code'" in error.diagnostics and "\\|" in error.diagnostics


def test_given_lone_pipe_then_400() -> None:
    assert "'code'" in refused("Observation", ("code", "|")).diagnostics


def test_given_token_text_modifier_then_pipe_is_not_a_separator() -> None:
    criterion = only(search("Observation", ("code:text", "a|b")))
    assert criterion.modifier == "text"
    assert criterion.values == (SearchValue(parts=("a|b",)),)


def test_given_string_value_with_pipe_then_one_part() -> None:
    assert only(search("Patient", ("name", "a|b"))).values[0].parts == ("a|b",)


def test_given_empty_value_then_400_names_parameter_even_when_lenient() -> None:
    assert "'family'" in refused("Patient", ("family", ""), strict=False).diagnostics


def test_given_empty_value_between_commas_then_400() -> None:
    assert "'family'" in refused("Patient", ("family", "a,,b")).diagnostics


# --- prefixes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "prefix", "text"),
    [
        ("2020", "eq", "2020"),
        ("ge2020-01", "ge", "2020-01"),
        ("lt2020-01-01T10:00:00Z", "lt", "2020-01-01T10:00:00Z"),
        ("sa2020-01-01T10:00+01:00", "sa", "2020-01-01T10:00+01:00"),
    ],
)
def test_given_date_with_prefix_then_prefix_is_taken(raw: str, prefix: str, text: str) -> None:
    value = only(search("Patient", ("birthdate", raw))).values[0]
    assert (value.prefix, value.text) == (prefix, text)


@pytest.mark.parametrize(
    "raw", ["2020-13", "2020-02-30", "yesterday", "ge", "gex2020", "2020-01-01T25:00Z", "20"]
)
def test_given_bad_date_then_400_names_parameter_even_when_lenient(raw: str) -> None:
    error = refused("Patient", ("birthdate", raw), strict=False)
    assert "'birthdate'" in error.diagnostics and raw in error.diagnostics


def test_given_prefix_on_string_param_then_it_is_part_of_the_value() -> None:
    value = only(search("Patient", ("family", "gt5"))).values[0]
    assert (value.prefix, value.text) == ("eq", "gt5")


@pytest.mark.parametrize("raw", ["ne-3", "gt.5", "le1e3", "ap+2"])
def test_given_number_with_prefix_and_sign_then_prefix_is_taken(raw: str) -> None:
    value = only(search("RiskAssessment", ("probability", raw))).values[0]
    assert value.prefix == raw[:2] and value.text == raw[2:]


@pytest.mark.parametrize(
    "raw", ["five", "gt", "1,5x", "NaN", "Infinity", "1_000", "xx5", "1e9999999", "\u0661"]
)
def test_given_bad_number_then_400_names_parameter(raw: str) -> None:
    assert "'probability'" in refused("RiskAssessment", ("probability", raw)).diagnostics


@pytest.mark.parametrize(
    ("raw", "prefix", "parts"),
    [
        ("5.4", "eq", ("5.4",)),
        ("le5.4|http://unitsofmeasure.org|mg", "le", ("5.4", "http://unitsofmeasure.org", "mg")),
        ("gt5.4||mg", "gt", ("5.4", "", "mg")),
    ],
)
def test_given_quantity_then_prefix_and_parts(
    raw: str, prefix: str, parts: tuple[str, ...]
) -> None:
    value = only(search("Observation", ("value-quantity", raw))).values[0]
    assert (value.prefix, value.parts) == (prefix, parts)


@pytest.mark.parametrize("raw", ["5|mg", "abc||mg", "5|a|b|c"])
def test_given_malformed_quantity_then_400(raw: str) -> None:
    assert "'value-quantity'" in refused("Observation", ("value-quantity", raw)).diagnostics


# --- modifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [
        ("Patient", "family:exact"),
        ("Patient", "family:contains"),
        ("Patient", "gender:not"),
        ("Patient", "birthdate:missing"),
        ("Observation", "value-quantity:missing"),
        ("RiskAssessment", "probability:missing"),
        ("ValueSet", "url:below"),
        ("ValueSet", "url:above"),
        ("Observation", "subject:missing"),
    ],
)
def test_given_allowed_modifier_then_it_is_kept(resource_type: str, name: str) -> None:
    value = "true" if name.endswith(":missing") else "x"
    criterion = only(search(resource_type, (name, value)))
    assert criterion.modifier == name.split(":")[1]


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [
        ("Patient", "gender:above"),
        ("Patient", "gender:below"),
        ("Patient", "gender:in"),
        ("Patient", "gender:not-in"),
        ("Patient", "family:text"),
        ("Patient", "birthdate:exact"),
    ],
)
def test_given_unsupported_fhir_modifier_then_400_not_supported(
    resource_type: str, name: str
) -> None:
    error = refused(resource_type, (name, "x"), strict=False)
    assert "not supported" in error.diagnostics and name.split(":")[0] in error.diagnostics


def test_given_made_up_modifier_then_400_lists_the_allowed_ones() -> None:
    error = refused("Patient", ("family:fuzzy", "x"), strict=False)
    assert ":fuzzy" in error.diagnostics and ":exact" in error.diagnostics


def test_given_empty_modifier_then_400() -> None:
    assert "'family:'" in refused("Patient", ("family:", "x")).diagnostics


@pytest.mark.parametrize("raw", ["yes", "1", "TRUE"])
def test_given_missing_with_non_boolean_then_400(raw: str) -> None:
    assert "true or false" in refused("Patient", ("birthdate:missing", raw)).diagnostics


def test_given_of_type_on_identifier_then_three_parts() -> None:
    criterion = only(search("Patient", ("identifier:of-type", "http://t|MR|123")))
    assert criterion.values[0].parts == ("http://t", "MR", "123")


def test_given_of_type_with_two_parts_then_400() -> None:
    assert "'identifier:of-type'" in refused("Patient", ("identifier:of-type", "MR|1")).diagnostics


def test_given_of_type_on_non_identifier_token_then_400() -> None:
    assert "identifier" in refused("Patient", ("gender:of-type", "a|b|c")).diagnostics


# --- references and chains -----------------------------------------------------------------


def test_given_reference_type_modifier_then_target_type_not_modifier() -> None:
    criterion = only(search("Observation", ("subject:Patient", "123")))
    assert (criterion.target_type, criterion.modifier) == ("Patient", None)
    assert criterion.values == (SearchValue(parts=("123",)),)


def test_given_reference_type_modifier_outside_targets_then_400_lists_targets() -> None:
    error = refused("Observation", ("subject:Medication", "1"))
    assert "'subject'" in error.diagnostics and "Patient" in error.diagnostics


def test_given_reference_identifier_modifier_then_system_and_value() -> None:
    criterion = only(search("Observation", ("subject:identifier", "sys|42")))
    assert criterion.modifier == "identifier"
    assert criterion.values[0].parts == ("sys", "42")


def test_given_chain_with_type_modifier_then_chained_criterion_on_target() -> None:
    criterion = only(search("Observation", ("subject:Patient.identifier", "sys|1")))
    assert criterion.param.code == "subject" and criterion.target_type == "Patient"
    assert criterion.values == ()
    assert criterion.chain is not None
    assert criterion.chain.param.resource_type == "Patient"
    assert criterion.chain.values[0].parts == ("sys", "1")


def test_given_chain_on_single_target_reference_then_no_type_needed() -> None:
    criterion = only(search("Observation", ("patient.name", "smith")))
    assert criterion.target_type == "Patient"
    assert criterion.chain is not None and criterion.chain.param.code == "name"


def test_given_chain_with_modifier_on_the_chained_param_then_kept() -> None:
    criterion = only(search("Observation", ("subject:Patient.name:exact", "Smith")))
    assert criterion.chain is not None and criterion.chain.modifier == "exact"


def test_given_chain_on_multi_target_reference_without_type_then_400_lists_targets() -> None:
    error = refused("Observation", ("subject.name", "x"))
    assert "'subject'" in error.diagnostics
    assert all(t in error.diagnostics for t in ("Group", "Device", "Patient", "Location"))


def test_given_chain_from_non_reference_then_400() -> None:
    assert "reference" in refused("Patient", ("name.family", "x"), strict=False).diagnostics


def test_given_chain_to_unknown_param_when_strict_then_400_names_it() -> None:
    error = refused("Observation", ("patient.shoe-size", "x"))
    assert "'shoe-size'" in error.diagnostics and "Patient" in error.diagnostics


def test_given_chain_to_unknown_param_when_lenient_then_ignored() -> None:
    query = search("Observation", ("patient.shoe-size", "x"), strict=False)
    assert query.criteria == () and query.ignored == ("patient.shoe-size",)


def test_given_two_level_chain_then_400_not_supported() -> None:
    error = refused("Observation", ("patient.organization.name", "x"))
    assert "not supported" in error.diagnostics


def test_given_chain_with_non_type_modifier_then_400() -> None:
    assert "resource type" in refused("Observation", ("subject:missing.name", "x")).diagnostics


def test_given_chain_ending_in_dot_then_400() -> None:
    assert "'patient.'" in refused("Observation", ("patient.", "x")).diagnostics


# --- _has ------------------------------------------------------------------------------------


def test_given_has_then_referring_type_reference_and_criterion() -> None:
    (has,) = search("Patient", ("_has:Observation:patient:code", "1234-5")).criteria
    assert isinstance(has, HasCriterion)
    assert (has.resource_type, has.reference.code) == ("Observation", "patient")
    assert isinstance(has.criterion, Criterion) and has.criterion.param.code == "code"


def test_given_has_with_modifier_on_the_inner_param_then_kept() -> None:
    (has,) = search("Patient", ("_has:Observation:patient:code:not", "x")).criteria
    assert isinstance(has, HasCriterion) and isinstance(has.criterion, Criterion)
    assert has.criterion.modifier == "not"


def test_given_nested_has_then_has_inside_has() -> None:
    name = "_has:Observation:patient:_has:AuditEvent:entity:agent"
    (has,) = search("Patient", (name, "Practitioner/1")).criteria
    assert isinstance(has, HasCriterion) and isinstance(has.criterion, HasCriterion)
    assert has.criterion.resource_type == "AuditEvent"


@pytest.mark.parametrize(
    "name", ["_has", "_has:Observation", "_has:Observation:patient", "_has:Observation::code"]
)
def test_given_incomplete_has_then_400_shows_the_form(name: str) -> None:
    assert "_has:Type:reference:parameter" in refused("Patient", (name, "x")).diagnostics


def test_given_has_with_unknown_type_then_400() -> None:
    assert "'Nope'" in refused("Patient", ("_has:Nope:patient:code", "x")).diagnostics


def test_given_has_with_non_reference_then_400() -> None:
    assert "'code'" in refused("Patient", ("_has:Observation:code:code", "x")).diagnostics


def test_given_has_whose_reference_never_points_at_searched_type_then_400() -> None:
    error = refused("Medication", ("_has:Observation:patient:code", "x"))
    assert "never refers to Medication" in error.diagnostics


def test_given_has_with_unknown_inner_param_when_lenient_then_ignored() -> None:
    name = "_has:Observation:patient:shoe-size"
    assert search("Patient", (name, "x"), strict=False).ignored == (name,)


# --- unknown and unsupported parameters ----------------------------------------------------


def test_given_unknown_parameter_when_strict_then_400_names_it() -> None:
    error = refused("Patient", ("foo", "bar"))
    assert error.diagnostics == "Unknown search parameter 'foo' for Patient"


def test_given_unknown_parameter_when_lenient_then_dropped_and_listed() -> None:
    query = search("Patient", ("foo", "1"), ("family", "x"), ("foo:exact", "2"), strict=False)
    assert [c.param.code for c in query.criteria if isinstance(c, Criterion)] == ["family"]
    assert query.ignored == ("foo", "foo:exact")


def test_given_same_unknown_parameter_twice_when_lenient_then_listed_once() -> None:
    assert search("Patient", ("foo", "1"), ("foo", "2"), strict=False).ignored == ("foo",)


@pytest.mark.parametrize(
    "name", ["_text", "_content", "_list", "_query", "_filter", "_contained", "_containedType"]
)
def test_given_unsupported_parameter_when_strict_then_400_not_supported(name: str) -> None:
    error = refused("Patient", (name, "x"))
    assert f"'{name}'" in error.diagnostics and "not supported" in error.diagnostics


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [("Observation", "code-value-quantity"), ("Location", "near"), ("Patient", "_text")],
)
def test_given_unsupported_parameter_when_lenient_then_ignored(
    resource_type: str, name: str
) -> None:
    assert search(resource_type, (name, "x"), strict=False).ignored == (name,)


def test_given_composite_parameter_when_strict_then_400_not_supported() -> None:
    error = refused("Observation", ("code-value-quantity", "a$5"))
    assert "'code-value-quantity'" in error.diagnostics and "not supported" in error.diagnostics


@pytest.mark.parametrize("name", ["_format", "_pretty"])
def test_given_http_layer_parameter_then_silently_ignored(name: str) -> None:
    assert search("Patient", (name, "json")) == SearchQuery(resource_type="Patient")


def test_given_unknown_resource_type_then_400() -> None:
    assert "'Nope'" in refused("Nope", ("_id", "1")).diagnostics


def test_given_bad_value_on_known_param_when_lenient_then_still_400() -> None:
    refused("Patient", ("birthdate", "soon"), strict=False)


# --- searches across all types -------------------------------------------------------------


def test_given_system_search_then_common_parameters_and_types() -> None:
    query = search(None, ("_id", "1"), ("_lastUpdated", "gt2020"), ("_type", "Patient,Group"))
    assert query.resource_type is None
    assert [c.param.code for c in query.criteria if isinstance(c, Criterion)] == [
        "_id",
        "_lastUpdated",
    ]
    assert query.types == ("Patient", "Group")


def test_given_system_search_with_type_parameter_then_unknown() -> None:
    error = refused(None, ("name", "x"))
    assert error.diagnostics == "Unknown search parameter 'name' for a search across all types"


def test_given_system_search_with_has_when_lenient_then_ignored() -> None:
    query = search(None, ("_has:Observation:patient:code", "x"), strict=False)
    assert query.ignored == ("_has:Observation:patient:code",)


def test_given_type_parameter_on_type_search_then_400() -> None:
    assert "'_type'" in refused("Patient", ("_type", "Patient")).diagnostics


def test_given_unknown_type_in_type_parameter_then_400_names_it() -> None:
    assert "Nope" in refused(None, ("_type", "Patient,Nope")).diagnostics


# --- result parameters ---------------------------------------------------------------------


def test_given_sort_then_keys_in_order_with_direction() -> None:
    query = search("Patient", ("_sort", "family,-birthdate,_id,-_lastUpdated"))
    assert [(k.param.code, k.descending) for k in query.sort] == [
        ("family", False),
        ("birthdate", True),
        ("_id", False),
        ("_lastUpdated", True),
    ]


@pytest.mark.parametrize("raw", ["shoe-size", "family,", "-", "family:exact", "_text"])
def test_given_sort_by_unknown_parameter_then_400_even_when_lenient(raw: str) -> None:
    assert "'_sort'" in refused("Patient", ("_sort", raw), strict=False).diagnostics


@pytest.mark.parametrize(
    ("raw", "count"), [("0", 0), ("20", 20), ("1000", 1000), ("5000", 1000), ("00000000007", 7)]
)
def test_given_count_then_kept_up_to_the_cap(raw: str, count: int) -> None:
    assert search("Patient", ("_count", raw)).count == count


def test_given_huge_count_then_capped_not_crashing() -> None:
    assert search("Patient", ("_count", "9" * 10_000)).count == 1000


@pytest.mark.parametrize("raw", ["ten", "-1", "1.5", " 5"])
def test_given_count_not_a_whole_number_then_400(raw: str) -> None:
    assert "'_count'" in refused("Patient", ("_count", raw)).diagnostics


def test_given_count_twice_then_400() -> None:
    assert "only once" in refused("Patient", ("_count", "1"), ("_count", "2")).diagnostics


def test_given_modifier_on_result_parameter_then_400() -> None:
    assert "'_count'" in refused("Patient", ("_count:exact", "1")).diagnostics


def test_given_cursor_then_kept_as_is() -> None:
    assert search("Patient", ("_cursor", "abc,|$=")).cursor == "abc,|$="


@pytest.mark.parametrize("total", ["none", "estimate", "accurate"])
def test_given_total_then_kept(total: str) -> None:
    assert search("Patient", ("_total", total)).total == total


@pytest.mark.parametrize("summary", ["true", "false", "text", "data", "count"])
def test_given_summary_then_kept(summary: str) -> None:
    assert search("Patient", ("_summary", summary)).summary == summary


@pytest.mark.parametrize(("name", "raw"), [("_total", "all"), ("_summary", "yes")])
def test_given_bad_total_or_summary_then_400_lists_choices(name: str, raw: str) -> None:
    error = refused("Patient", (name, raw), strict=False)
    assert f"'{name}'" in error.diagnostics and f"not '{raw}'" in error.diagnostics


def test_given_elements_then_names_kept() -> None:
    assert search("Patient", ("_elements", "identifier, name")).elements == ("identifier", "name")


@pytest.mark.parametrize("raw", ["identifier,", "na me", "Patient.name"])
def test_given_bad_elements_then_400(raw: str) -> None:
    assert "'_elements'" in refused("Patient", ("_elements", raw)).diagnostics


def test_given_include_then_source_param_and_target() -> None:
    query = search(
        "Observation",
        ("_include", "Observation:subject"),
        ("_include", "Observation:subject:Patient"),
    )
    assert [(i.source_type, i.param.code, i.target_type) for i in query.includes] == [
        ("Observation", "subject", None),
        ("Observation", "subject", "Patient"),
    ]


def test_given_include_from_another_type_then_400_suggests_iterate() -> None:
    error = refused("Observation", ("_include", "Encounter:subject"))
    assert "'_include=Encounter:subject'" in error.diagnostics and "iterate" in error.diagnostics


def test_given_include_iterate_from_another_type_then_accepted() -> None:
    (include,) = search("Observation", ("_include:iterate", "Patient:organization")).includes
    assert include.iterate and not include.reverse and include.source_type == "Patient"


def test_given_revinclude_then_reverse_include() -> None:
    (include,) = search("Patient", ("_revinclude", "Observation:subject")).includes
    assert include.reverse and include.source_type == "Observation"


def test_given_revinclude_that_never_points_at_searched_type_then_400() -> None:
    assert (
        "never refers" in refused("Medication", ("_revinclude", "Observation:patient")).diagnostics
    )


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("*", "not supported"),
        ("Observation:*", "not supported"),
        ("Observation", "Type:parameter"),
        ("Observation:subject:Patient:x", "Type:parameter"),
        ("Observation:code", "not a reference"),
        ("Observation:nope", "not a reference"),
        ("Observation:subject:Medication", "never refers"),
        ("Observation:subject:Nope", "never refers"),
        ("Nope:subject", "unknown resource type"),
    ],
)
def test_given_malformed_include_then_400_explains(raw: str, fragment: str) -> None:
    error = refused("Observation", ("_include", raw), strict=False)
    assert "'_include" in error.diagnostics and fragment in error.diagnostics


def test_given_system_search_include_outside_types_then_400() -> None:
    error = refused(None, ("_include", "Observation:subject"), ("_type", "Patient"))
    assert "_type" in error.diagnostics


def test_given_include_with_other_modifier_then_400() -> None:
    assert ":recurse" in refused("Patient", ("_include:recurse", "Patient:link")).diagnostics


# --- properties ------------------------------------------------------------------------------

VALUE_TEXT = st.text(alphabet=st.sampled_from("ab ,|$\\é1"), min_size=1, max_size=8)


@given(st.lists(VALUE_TEXT, min_size=1, max_size=5))
def test_escaped_string_values_round_trip(values: list[str]) -> None:
    raw = ",".join(escape(v) for v in values)
    criterion = only(search("Patient", ("family", raw)))
    assert [v.parts for v in criterion.values] == [(v,) for v in values]


@given(st.lists(st.tuples(VALUE_TEXT | st.just(""), VALUE_TEXT), min_size=1, max_size=4))
def test_escaped_token_parts_round_trip(values: list[tuple[str, str]]) -> None:
    raw = ",".join(f"{escape(system)}|{escape(code)}" for system, code in values)
    criterion = only(search("Observation", ("code", raw)))
    assert [v.parts for v in criterion.values] == values


@given(
    st.sampled_from(("", *PREFIXES)),
    st.decimals(allow_nan=False, allow_infinity=False),
)
def test_numbers_take_any_prefix(prefix: str, number: Decimal) -> None:
    value = only(search("RiskAssessment", ("probability", f"{prefix}{number}"))).values[0]
    assert value.prefix == (prefix or "eq")
    assert Decimal(value.text) == number


def _date_texts() -> st.SearchStrategy[str]:
    days = st.dates(min_value=date(1, 1, 1))
    zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(0))])
    moments = st.datetimes(min_value=datetime(1, 1, 2), timezones=zones)
    return st.one_of(
        days.map(lambda d: d.isoformat()[:4]),
        days.map(lambda d: d.isoformat()[:7]),
        days.map(date.isoformat),
        moments.map(lambda m: m.isoformat()),
        moments.map(lambda m: m.isoformat(timespec="minutes")),
        moments.map(lambda m: m.isoformat().replace("+00:00", "Z")),
    )


@given(st.sampled_from(("", *PREFIXES)), _date_texts())
def test_dates_take_any_prefix(prefix: str, text: str) -> None:
    value = only(search("Patient", ("birthdate", f"{prefix}{text}"))).values[0]
    assert (value.prefix, value.text) == (prefix or "eq", text)


NAME_PIECES = st.sampled_from(
    [
        *("_has", "_include", "_sort", "_count", "_type", "_id", "iterate", "missing"),
        *("subject", "patient", "code", "name", "identifier", "Patient", "Observation"),
        *(":", ".", "x", ""),
    ]
)
KNOWN_NAMES = st.builds(
    lambda code, suffix: code + suffix,
    st.sampled_from(sorted(params_for("Observation"))),
    st.sampled_from(["", ":missing", ":Patient", ":not", ":text", ":exact", ".name", ":of-type"]),
)
GARBAGE_NAMES = st.one_of(
    st.text(max_size=20),
    st.lists(NAME_PIECES, max_size=8).map("".join),
    st.lists(NAME_PIECES, max_size=8).map(":".join),
    KNOWN_NAMES,
)
GARBAGE_VALUES = st.one_of(
    st.text(max_size=20), st.text(alphabet=st.sampled_from("ge2019-0T:Z,|\\$.1"), max_size=20)
)


@given(
    st.sampled_from(["Patient", "Observation", None]),
    st.lists(st.tuples(GARBAGE_NAMES, GARBAGE_VALUES), max_size=4),
    st.booleans(),
)
def test_garbage_never_crashes(
    resource_type: str | None, params: list[tuple[str, str]], strict: bool
) -> None:
    try:
        query = parse_search(resource_type, params, strict=strict)
    except FhirError as error:
        assert error.status == 400 and error.diagnostics
    else:
        assert isinstance(query, SearchQuery)
