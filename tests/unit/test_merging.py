"""The pure rules of Patient/$merge and $unmerge: rewriting references, diffing versions and
putting changes back, the Patient link rules, the Parameters and the Provenance."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.record.merging.diffing import MISSING, Change, changes, revert, same, value_at
from services.record.merging.linking import (
    check_mergeable,
    check_result_patient,
    merged_source,
    merged_target,
    replaced_by,
    unmerged_source,
    unmerged_target,
)
from services.record.merging.parameters import merge_request, unmerge_request
from services.record.merging.provenance import (
    LIFECYCLE,
    activity_of,
    lifecycle_provenance,
    starting_versions,
    written_versions,
)
from services.record.merging.rewriting import Redirect, redirect
from shared.errors import FhirError
from shared.storage.rows import StoredResource

BASE = "https://onestory.example/fhir"
TO = Redirect("old", "new", BASE, target_version=4)


# --- Rewriting references ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/old", "Patient/new"),
        (f"{BASE}/Patient/old", f"{BASE}/Patient/new"),
        ("Patient/old/_history/2", "Patient/new/_history/4"),
        (f"{BASE}/Patient/old/_history/2", f"{BASE}/Patient/new/_history/4"),
    ],
)
def test_given_a_reference_to_the_source_then_it_names_the_target_in_the_same_form(
    reference: str, expected: str
) -> None:
    assert TO.apply(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/older",
        "Patient/ol",
        "Group/old",
        "https://elsewhere.example/fhir/Patient/old",
        "#old",
        "urn:uuid:0b4f0b0e-8f0e-4a53-9d34-8b7c1c0a0d11",
        "Patient/old/_history/",
        "Patient/new",
    ],
)
def test_given_a_reference_to_anything_else_then_it_is_left_alone(reference: str) -> None:
    assert TO.apply(reference) is None


def test_given_no_target_version_then_a_versioned_reference_loses_its_version() -> None:
    assert Redirect("old", "new").apply("Patient/old/_history/3") == "Patient/new"


def test_given_references_deep_in_a_resource_then_every_one_is_moved_and_nothing_else() -> None:
    task = {
        "resourceType": "Task",
        "id": "t1",
        "for": {"reference": "Patient/old", "display": "Patient/old"},
        "owner": {"reference": "Practitioner/old"},
        "extension": [
            {"url": "https://x.example/about", "valueReference": {"reference": "Patient/old"}}
        ],
        "input": [
            {"type": {"text": "who"}, "valueReference": {"reference": f"{BASE}/Patient/old"}}
        ],
        "contained": [
            {
                "resourceType": "Group",
                "id": "g",
                "member": [{"entity": {"reference": "Patient/old"}}],
            }
        ],
        "note": [{"text": "reference Patient/old"}],
    }
    original = copy.deepcopy(task)

    moved, count = redirect(task, TO)

    assert count == 4
    assert task == original, "the input is not modified"
    assert moved["for"] == {"reference": "Patient/new", "display": "Patient/old"}
    assert moved["owner"] == {"reference": "Practitioner/old"}
    assert moved["extension"][0]["valueReference"] == {"reference": "Patient/new"}
    assert moved["input"][0]["valueReference"] == {"reference": f"{BASE}/Patient/new"}
    assert moved["contained"][0]["member"][0]["entity"] == {"reference": "Patient/new"}
    assert moved["note"] == original["note"]
    assert all(change.path[-1] == "reference" for change in changes(original, moved))


def test_given_a_care_team_with_both_patients_then_only_the_source_moves() -> None:
    team = {
        "resourceType": "CareTeam",
        "subject": {"reference": "Patient/new"},
        "participant": [{"member": {"reference": "Patient/old"}}],
    }
    moved, count = redirect(team, TO)
    assert count == 1
    assert moved["subject"] == {"reference": "Patient/new"}
    assert moved["participant"][0]["member"] == {"reference": "Patient/new"}


# --- Diffing and putting back --------------------------------------------------------------

json_leaves = st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab/", max_size=3)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=3)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.sampled_from(["a", "b", "c", "meta"]), json_values, max_size=4)


@given(json_objects, json_objects)
def test_given_any_two_versions_then_putting_back_every_change_gives_the_first(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    done = changes(before, after)
    restored, paths = revert(after, done)
    assert same(restored, before)
    assert len(paths) == len(done)


@given(json_objects)
def test_given_the_same_version_twice_then_there_are_no_changes(version: dict[str, Any]) -> None:
    assert changes(version, copy.deepcopy(version)) == []


def test_given_meta_ignored_then_only_the_content_changes_are_found() -> None:
    before = {"meta": {"versionId": "1"}, "subject": {"reference": "Patient/a"}}
    after = {"meta": {"versionId": "2"}, "subject": {"reference": "Patient/b"}}
    assert changes(before, after, ignoring=frozenset({"meta"})) == [
        Change(("subject", "reference"), "Patient/a", "Patient/b")
    ]


def test_given_an_element_changed_again_since_then_it_is_kept() -> None:
    before = {"subject": {"reference": "Patient/a"}, "performer": [{"reference": "Patient/a"}]}
    after = {"subject": {"reference": "Patient/b"}, "performer": [{"reference": "Patient/b"}]}
    current = {
        "subject": {"reference": "Patient/c"},
        "performer": [{"reference": "Patient/b"}],
        "note": [{"text": "added since"}],
    }

    restored, paths = revert(current, changes(before, after))

    assert restored == {
        "subject": {"reference": "Patient/c"},
        "performer": [{"reference": "Patient/a"}],
        "note": [{"text": "added since"}],
    }
    assert paths == [("performer", 0, "reference")]
    assert current["performer"] == [{"reference": "Patient/b"}], "the input is not modified"


def test_given_an_element_removed_since_then_it_is_not_put_back() -> None:
    done = [Change(("subject", "reference"), "Patient/a", "Patient/b")]
    assert revert({"status": "final"}, done) == ({"status": "final"}, [])


def test_given_an_added_element_then_putting_back_removes_it() -> None:
    done = changes({"a": 1}, {"a": 1, "active": False})
    assert done == [Change(("active",), MISSING, False)]
    assert revert({"a": 1, "active": False}, done) == ({"a": 1}, [("active",)])


def test_given_json_values_then_true_is_not_one_and_one_is_not_one_point_zero() -> None:
    assert not same(True, 1)
    assert not same(1, 1.0)
    assert same({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert changes({"a": 1}, {"a": True}) == [Change(("a",), 1, True)]


def test_given_a_path_then_value_at_finds_it_or_says_missing() -> None:
    document = {"a": [{"b": 1}]}
    assert value_at(document, ("a", 0, "b")) == 1
    assert value_at(document, ("a", 1, "b")) is MISSING
    assert value_at(document, ("a", "b")) is MISSING


# --- The patients --------------------------------------------------------------------------


def patient(patient_id: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": patient_id, **extra}


def _link(patient_id: str, link_type: str) -> dict[str, Any]:
    return {"other": {"reference": f"Patient/{patient_id}"}, "type": link_type}


def test_given_a_merge_then_source_is_inactive_and_replaced_and_target_replaces() -> None:
    source = merged_source(patient("s", active=True, link=[_link("x", "seealso")]), "t")
    target = merged_target(patient("t"), "s")

    assert source["active"] is False
    assert source["link"] == [_link("x", "seealso"), _link("t", "replaced-by")]
    assert replaced_by(source) == "t"
    assert target["link"] == [_link("s", "replaces")]
    assert merged_target(target, "s") == target, "a replaces link is not added twice"


def test_given_an_unmerge_then_active_and_links_are_as_before_the_merge() -> None:
    before = patient("s", link=[_link("x", "seealso")])
    after_merge = merged_source(before, "t")

    assert unmerged_source(after_merge, before, "t") == before
    kept_active = unmerged_source(after_merge, patient("s", active=True), "t")
    assert kept_active["active"] is True
    target = merged_target(patient("t", link=[_link("y", "seealso")]), "s")
    assert unmerged_target(target, "s") == patient("t", link=[_link("y", "seealso")])
    assert unmerged_target(merged_target(patient("t"), "s"), "s") == patient("t")


@pytest.mark.parametrize(
    ("source", "target", "says"),
    [
        (patient("a"), patient("a"), "same record"),
        (patient("a"), patient("b", active=False), "inactive"),
        (merged_source(patient("a"), "z"), patient("b"), "already merged into Patient/z"),
        (patient("a"), merged_source(patient("b"), "z"), "merge into Patient/z instead"),
    ],
)
def test_given_records_unfit_to_merge_then_422_says_why(
    source: dict[str, Any], target: dict[str, Any], says: str
) -> None:
    with pytest.raises(FhirError) as raised:
        check_mergeable(source, target)
    assert raised.value.status == 422
    assert says in raised.value.diagnostics


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (patient("other", link=[_link("s", "replaces")]), "keep the target's id"),
        (patient("t"), "'replaces' to Patient/s"),
        (patient("t", active=False, link=[_link("s", "replaces")]), "must not be inactive"),
        (patient("t", link=[_link("s", "replaces")]), "lost the target's identifier"),
    ],
)
def test_given_an_unfit_result_patient_then_422_says_why(result: dict[str, Any], says: str) -> None:
    with pytest.raises(FhirError) as raised:
        check_result_patient(result, target_id="t", source_id="s", identifiers=[("urn:x", "9")])
    assert raised.value.status == 422
    assert says in raised.value.diagnostics


# --- Parameters ----------------------------------------------------------------------------


def parameters(*given: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(given)}


def test_given_references_and_identifiers_then_the_merge_request_has_them() -> None:
    asked = merge_request(
        parameters(
            {"name": "source-patient", "valueReference": {"reference": f"{BASE}/Patient/s"}},
            {
                "name": "source-patient-identifier",
                "valueIdentifier": {"system": "urn:x", "value": "1"},
            },
            {"name": "target-patient-identifier", "valueIdentifier": {"value": "2"}},
            {
                "name": "target-patient-identifier",
                "valueIdentifier": {"system": "urn:y", "value": "3"},
            },
            {"name": "preview", "valueBoolean": True},
        ),
        BASE,
    )
    assert asked.source.patient_id == "s"
    assert asked.source.identifiers == (("urn:x", "1"),)
    assert asked.target.patient_id is None
    assert asked.target.identifiers == ((None, "2"), ("urn:y", "3"))
    assert asked.preview is True
    assert asked.result_patient is None


_SOURCE = {"name": "source-patient", "valueReference": {"reference": "Patient/s"}}
_TARGET = {"name": "target-patient", "valueReference": {"reference": "Patient/t"}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"resourceType": "Patient"}, "takes a Parameters resource"),
        ([], "takes a Parameters resource"),
        (parameters(_TARGET), "'source-patient'"),
        (parameters(_SOURCE), "'target-patient'"),
        (parameters(_SOURCE, _TARGET, {"name": "colour", "valueString": "blue"}), "not 'colour'"),
        (parameters(_SOURCE, _SOURCE, _TARGET), "given twice"),
        (parameters(_SOURCE, _TARGET, {"name": "preview", "valueString": "yes"}), "valueBoolean"),
        (parameters(_SOURCE, _TARGET, {"name": "preview", "valueBoolean": "yes"}), "valueBoolean"),
        (
            parameters(
                {"name": "source-patient", "valueReference": {"reference": "Group/s"}}, _TARGET
            ),
            "must refer to a Patient",
        ),
        (
            parameters(
                {
                    "name": "source-patient",
                    "valueReference": {"reference": "https://x.example/Patient/s"},
                },
                _TARGET,
            ),
            "must refer to a Patient",
        ),
        (parameters({"name": "source-patient", "valueReference": {}}, _TARGET), "reference"),
        (
            parameters(
                {"name": "source-patient-identifier", "valueIdentifier": {"system": "urn:x"}},
                _TARGET,
            ),
            "needs a value",
        ),
        (
            parameters(
                _SOURCE, _TARGET, {"name": "result-patient", "resource": {"resourceType": "Group"}}
            ),
            "must hold a Patient",
        ),
    ],
)
def test_given_malformed_merge_parameters_then_400_says_what(body: Any, says: str) -> None:
    with pytest.raises(FhirError) as raised:
        merge_request(body, BASE)
    assert raised.value.status == 400
    assert says in raised.value.diagnostics


def test_given_unmerge_parameters_then_both_ids_are_required_as_references() -> None:
    asked = unmerge_request(parameters(_SOURCE, _TARGET), BASE)
    assert (asked.source_id, asked.target_id, asked.preview) == ("s", "t", False)
    for body in (
        parameters(_SOURCE),
        parameters(
            _SOURCE, {"name": "target-patient-identifier", "valueIdentifier": {"value": "1"}}
        ),
        parameters(
            _SOURCE, {"name": "target-patient", "valueReference": {"identifier": {"value": "1"}}}
        ),
    ):
        with pytest.raises(FhirError) as raised:
            unmerge_request(body, BASE)
        assert raised.value.status == 400


# --- Provenance ----------------------------------------------------------------------------


def stored(resource_type: str, resource_id: str, version: int) -> StoredResource:
    return StoredResource(1, resource_type, resource_id, version, 0, False, "{}")


def test_given_a_merge_provenance_then_its_versions_read_back() -> None:
    caller = {"resourceType": "Provenance", "recorded": "2026-01-01T00:00:00Z", "agent": [{}]}
    provenance = lifecycle_provenance(
        caller,
        activity="merge",
        written=[stored("Patient", "s", 3), stored("Observation", "o", 2)],
        started_from=[stored("Patient", "s", 2), stored("Observation", "o", 1)],
    )

    assert activity_of(provenance) == "merge"
    assert provenance["activity"]["coding"][0]["system"] == LIFECYCLE
    assert provenance["agent"] == [{}]
    assert provenance["target"] == [
        {"reference": "Patient/s/_history/3"},
        {"reference": "Observation/o/_history/2"},
    ]
    assert {e["role"] for e in provenance["entity"]} == {"source"}
    assert written_versions(provenance) == {("Patient", "s"): 3, ("Observation", "o"): 2}
    assert starting_versions(provenance) == {("Patient", "s"): 2, ("Observation", "o"): 1}
    assert activity_of(caller) is None
