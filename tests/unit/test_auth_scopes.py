"""SMART on FHIR scopes: every v2 and v1 form, non-resource scopes, and which scope grants what."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth.scopes import (
    PERMISSION_ORDER,
    Scope,
    allows,
    invalid_scopes,
    other_scopes,
    parse_scope,
    parse_scopes,
    read_scopes,
)

contexts = st.sampled_from(["patient", "user", "system"])
resource_types = st.sampled_from(["Patient", "Observation", "Task", "ServiceRequest", "*"])
permissions = st.sampled_from(list(PERMISSION_ORDER))
permission_subsets = st.sets(permissions, min_size=1).map(
    lambda chosen: "".join(p for p in PERMISSION_ORDER if p in chosen)
)
V1_TO_V2 = {"read": "rs", "write": "cud", "*": "cruds"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("patient/Observation.rs", Scope("patient", "Observation", frozenset("rs"))),
        ("user/*.cruds", Scope("user", "*", frozenset("cruds"))),
        ("system/Task.cud", Scope("system", "Task", frozenset("cud"))),
        ("user/Patient.r", Scope("user", "Patient", frozenset("r"))),
        ("patient/*.s", Scope("patient", "*", frozenset("s"))),
        ("user/Patient.read", Scope("user", "Patient", frozenset("rs"))),
        ("user/Patient.write", Scope("user", "Patient", frozenset("cud"))),
        ("system/*.*", Scope("system", "*", frozenset("cruds"))),
        ("patient/*.read", Scope("patient", "*", frozenset("rs"))),
    ],
)
def test_given_each_scope_form_when_parsed_then_context_type_and_permissions_are_read(
    text: str, expected: Scope
) -> None:
    assert parse_scope(text) == expected


def test_given_a_v2_query_suffix_when_parsed_then_the_restriction_is_kept_in_order() -> None:
    text = "patient/Observation.rs?category=http://hl7.org/cs|laboratory&status=final"

    scope = parse_scope(text)

    assert scope is not None
    assert scope.permissions == frozenset("rs")
    assert scope.query == (("category", "http://hl7.org/cs|laboratory"), ("status", "final"))
    assert str(scope) == text


@pytest.mark.parametrize(
    "text",
    [
        "user/Patient.sr",  # v2 letters out of order
        "user/Patient.rr",  # repeated
        "user/Patient.x",  # unknown permission
        "user/Patient.",  # no permissions
        "user/Patient",  # no dot
        "user/patient.rs",  # resource types start with a capital
        "admin/Patient.rs",  # unknown context
        "user/Patient.read?status=final",  # queries exist only in v2
        "user/Observation.rs?",  # empty query
        "user/Observation.rs?novalue",  # query without a value
        "user/Pat-ient.rs",
    ],
)
def test_given_a_malformed_resource_scope_when_parsed_then_it_grants_nothing(text: str) -> None:
    assert parse_scope(text) is None
    assert parse_scopes(f"openid {text}") == ()


def test_given_mixed_scopes_when_read_then_resource_other_and_invalid_are_kept_apart() -> None:
    text = "openid fhirUser launch launch/patient offline_access online_access user/*.rs user/X.sr"

    parsed = read_scopes(text)

    assert parsed.resource == (Scope("user", "*", frozenset("rs")),)
    assert parsed.other == {
        "openid",
        "fhirUser",
        "launch",
        "launch/patient",
        "offline_access",
        "online_access",
    }
    assert parsed.invalid == ("user/X.sr",)
    assert other_scopes(text) == parsed.other
    assert invalid_scopes(text) == ("user/X.sr",)


def test_given_only_non_resource_scopes_when_checked_then_no_data_access_is_granted() -> None:
    scopes = parse_scopes("openid fhirUser launch/patient offline_access")

    assert allows(scopes, resource_type="Patient", permission="r") is None


def test_given_extra_whitespace_when_parsed_then_every_scope_is_found() -> None:
    assert len(parse_scopes("  user/Patient.r\tuser/Task.c\n system/*.s  ")) == 3


@pytest.mark.parametrize("context", ["patient", "user", "system"])
def test_given_each_context_when_checked_then_the_granting_scope_is_answered(context: str) -> None:
    scopes = parse_scopes(f"{context}/Observation.rs")

    granted = allows(scopes, resource_type="Observation", permission="s")

    assert granted is not None
    assert granted.context == context
    assert allows(scopes, resource_type="Observation", permission="c") is None
    assert allows(scopes, resource_type="Patient", permission="r") is None


def test_given_scopes_in_several_contexts_when_checked_then_the_most_permissive_wins() -> None:
    scopes = parse_scopes("patient/*.rs user/Observation.r system/Observation.read")

    granted = allows(scopes, resource_type="Observation", permission="r")

    assert granted == Scope("system", "Observation", frozenset("rs"))
    assert allows(scopes[:2], resource_type="Observation", permission="r") == scopes[1]


def test_given_restricted_and_unrestricted_scopes_when_checked_then_unrestricted_wins() -> None:
    scopes = parse_scopes("user/Observation.rs?category=laboratory user/*.rs")

    granted = allows(scopes, resource_type="Observation", permission="r")

    assert granted == Scope("user", "*", frozenset("rs"))


def test_given_a_wildcard_type_when_checked_then_every_resource_type_is_covered() -> None:
    scopes = parse_scopes("user/*.cruds")

    for resource_type, permission in itertools.product(["Patient", "Task"], PERMISSION_ORDER):
        assert allows(scopes, resource_type=resource_type, permission=permission) == scopes[0]


def test_given_an_unknown_permission_when_checked_then_it_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown permission"):
        allows((), resource_type="Patient", permission="read")


@given(contexts, resource_types, permission_subsets)
def test_given_any_valid_permission_subset_when_parsed_then_it_round_trips(
    context: str, resource_type: str, letters: str
) -> None:
    text = f"{context}/{resource_type}.{letters}"

    scope = parse_scope(text)

    assert scope is not None
    assert scope.permissions == frozenset(letters)
    assert str(scope) == text


@given(contexts, resource_types, st.sampled_from(sorted(V1_TO_V2)), resource_types, permissions)
def test_given_v1_and_v2_equivalents_when_checked_then_they_grant_the_same(
    context: str, resource_type: str, v1: str, asked_type: str, permission: str
) -> None:
    old = parse_scopes(f"{context}/{resource_type}.{v1}")
    new = parse_scopes(f"{context}/{resource_type}.{V1_TO_V2[v1]}")

    granted_old = allows(old, resource_type=asked_type, permission=permission)
    granted_new = allows(new, resource_type=asked_type, permission=permission)

    assert granted_old == granted_new
