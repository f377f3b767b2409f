"""``Patient/$merge`` and ``Patient/$unmerge`` against the real record (both engines), and
once through the gateway."""

from __future__ import annotations

import httpx
import pytest

from services.record.merging.provenance import LIFECYCLE
from shared.auth.devissuer import DevIssuer
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import observation, unique
from tests.support.merging import (
    PREVIEW,
    chart,
    links,
    merge,
    names,
    out,
    pair,
    parameters,
    patient_references,
    person,
    read,
    ref,
    unmerge,
    where,
)
from tests.support.search import base_of, create, fresh_nhs_number, search
from tests.support.services import RunningService

# --- Merging ---------------------------------------------------------------------------------


async def test_given_two_records_when_merged_then_every_reference_moves_and_history_keeps_the_old(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    sent = pair(sid, tid)

    answer = await merge(fhir, sent)

    assert answer["resourceType"] == "Parameters"
    assert out(answer, "input") == sent
    result = out(answer, "result")
    assert result["id"] == tid and ("replaces", f"Patient/{sid}") in links(result)
    summary = out(answer, "outcome")["issue"][0]["diagnostics"]
    assert f"{len(made.moved)} resources (8 references)" in summary
    for label, created in made.moved.items():
        now = await read(fhir, where(made, label))
        assert now["meta"]["versionId"] == "2", label
        assert not any(names(r, sid) for r in patient_references(now)), label
        then = await read(fhir, f"{where(made, label)}/_history/1")
        assert patient_references(then) == patient_references(created), label
    task = await read(fhir, where(made, "task"))
    assert task["for"] == ref(tid)
    assert task["extension"][0]["valueReference"] == ref(tid)
    team = await read(fhir, where(made, "careteam"))
    assert team["subject"] == ref(tid) and team["participant"][0]["member"] == ref(tid)
    assert made.untouched is not None
    untouched = await read(fhir, f"Observation/{made.untouched['id']}")
    assert untouched["meta"]["versionId"] == "1"


async def test_given_a_merge_then_the_source_reads_inactive_and_replaced_by_the_target(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))

    source = await read(fhir, f"Patient/{sid}")
    target = await read(fhir, f"Patient/{tid}")

    assert source["active"] is False
    assert links(source) == [("replaced-by", f"Patient/{tid}")]
    assert links(target) == [("replaces", f"Patient/{sid}")]
    assert (await read(fhir, f"Patient/{sid}/_history/1"))["active"] is True


async def test_given_a_merge_then_search_finds_the_moved_resources_under_the_target_only(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))

    under_target = await search(
        fhir, "Observation", {"subject": f"Patient/{tid}", "_total": "accurate"}
    )
    under_source = await search(
        fhir, "Observation", {"subject": f"Patient/{sid}", "_total": "accurate"}
    )

    found = {e["resource"]["id"] for e in under_target.get("entry", [])}
    assert {made.moved["observation"]["id"], made.moved["absolute"]["id"]} <= found
    assert under_target["total"] == 3
    assert under_source["total"] == 0


async def test_given_a_merge_then_a_provenance_pairs_each_version_written_with_the_one_before(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))

    bundle = await search(fhir, "Provenance", {"entity": f"Patient/{sid}"})
    (provenance,) = [e["resource"] for e in bundle["entry"]]

    assert provenance["activity"]["coding"][0] == {
        "system": LIFECYCLE,
        "code": "merge",
        "display": "Merge Record Lifecycle Event",
    }
    targets = {t["reference"] for t in provenance["target"]}
    entities = {e["what"]["reference"] for e in provenance["entity"]}
    assert {e["role"] for e in provenance["entity"]} == {"source"}
    for label in made.moved:
        assert f"{where(made, label)}/_history/2" in targets
        assert f"{where(made, label)}/_history/1" in entities
    assert {f"Patient/{sid}/_history/2", f"Patient/{tid}/_history/2"} <= targets
    assert provenance["agent"], "the caller (here the token's subject) is named"


async def test_given_a_merge_then_everything_on_the_target_holds_the_moved_record(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))

    bundle = await read(fhir, f"Patient/{tid}/$everything")

    found = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert {where(made, label) for label in made.moved} <= found


async def test_given_preview_when_merging_then_the_answer_is_as_if_done_and_nothing_is_written(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]

    answer = await merge(fhir, pair(sid, tid, PREVIEW))

    assert ("replaces", f"Patient/{sid}") in links(out(answer, "result"))
    summary = out(answer, "outcome")["issue"][0]["diagnostics"]
    assert "nothing was written" in summary and f"{len(made.moved)} resources" in summary
    for label in made.moved:
        assert (await read(fhir, where(made, label)))["meta"]["versionId"] == "1", label
    assert (await read(fhir, f"Patient/{sid}"))["active"] is True
    assert "link" not in await read(fhir, f"Patient/{tid}")
    provenances = await search(fhir, "Provenance", {"entity": f"Patient/{sid}"})
    assert provenances.get("entry", []) == []


async def test_given_identifiers_and_a_result_patient_when_merging_then_they_are_used(
    fhir: httpx.AsyncClient,
) -> None:
    source = await create(fhir, person(nhs=await fresh_nhs_number(fhir)))
    target = await create(fhir, person(nhs=await fresh_nhs_number(fhir)))
    reading = await create(fhir, observation(source["id"]))
    result = {
        **target,
        "identifier": [*target["identifier"], {**source["identifier"][0], "use": "old"}],
        "link": [{"other": ref(source["id"]), "type": "replaces"}],
    }

    answer = await merge(
        fhir,
        parameters(
            {"name": "source-patient-identifier", "valueIdentifier": source["identifier"][0]},
            {"name": "target-patient-identifier", "valueIdentifier": target["identifier"][0]},
            {"name": "result-patient", "resource": result},
        ),
    )

    merged = out(answer, "result")
    assert merged["meta"]["versionId"] == "2"
    assert merged["identifier"][1]["use"] == "old"
    assert (await read(fhir, f"Observation/{reading['id']}"))["subject"] == ref(target["id"])


# --- Refusals ------------------------------------------------------------------------------


async def test_given_malformed_requests_when_merging_then_400(fhir: httpx.AsyncClient) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    for body in (
        {"resourceType": "Patient"},
        pair(sid, tid, {"name": "colour", "valueString": "blue"}),
        parameters({"name": "target-patient", "valueReference": ref(tid)}),
        parameters({"name": "source-patient", "valueReference": ref(sid)}),
    ):
        answer = await merge(fhir, body, 400)
        assert answer["resourceType"] == "OperationOutcome"
    malformed = await fhir.post("Patient/$merge", content=b'{"resourceType": "Param')
    assert malformed.status_code == 400
    assert (await read(fhir, where(made, "observation")))["meta"]["versionId"] == "1"


async def test_given_records_unfit_to_merge_then_422_and_nothing_changes(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    inactive = await create(fhir, person(active=False))
    other = await create(fhir, person())
    await merge(fhir, pair(other["id"], tid))  # other is now merged into the target
    mrn = {"system": "https://example.nhs.uk/mrn", "value": unique("mrn")}
    for _ in range(2):
        await create(fhir, person(identifier=[mrn]))

    for body in (
        pair(sid, sid),
        pair(other["id"], sid),  # the source was already merged
        pair(sid, other["id"]),  # the target was merged into another
        pair(sid, inactive["id"]),
        parameters(
            {"name": "source-patient-identifier", "valueIdentifier": mrn},
            {"name": "target-patient", "valueReference": ref(tid)},
        ),
        parameters(
            {"name": "source-patient", "valueReference": ref(sid)},
            {"name": "target-patient", "valueReference": ref(tid)},
            {"name": "result-patient", "resource": {**made.target, "active": True}},
        ),
    ):
        answer = await merge(fhir, body, 422)
        assert answer["issue"][0]["severity"] == "error"

    assert (await read(fhir, where(made, "observation")))["meta"]["versionId"] == "1"
    assert (await read(fhir, f"Patient/{sid}"))["meta"]["versionId"] == "1"


async def test_given_an_unknown_patient_when_merging_then_404(fhir: httpx.AsyncClient) -> None:
    made = await chart(fhir)
    answer = await merge(fhir, pair(made.source["id"], unique("nobody")), 404)
    assert answer["issue"][0]["code"] == "not-found"
    await merge(fhir, pair(unique("nobody"), made.target["id"]), 404)


async def test_given_a_write_that_fails_midway_then_the_whole_merge_is_rolled_back(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    # The Provenance is written last, after every resource has been moved: an invalid one
    # (here from the caller's header) fails the merge at its very end.
    broken = '{"resourceType": "Provenance", "agent": [{"who": {"display": "x"}}], "policy": 7}'

    await merge(fhir, pair(sid, tid), 422, **{"X-Provenance": broken})

    for label in made.moved:
        assert (await read(fhir, where(made, label)))["meta"]["versionId"] == "1", label
    assert (await read(fhir, f"Patient/{sid}"))["active"] is True
    assert "link" not in await read(fhir, f"Patient/{tid}")


async def test_given_a_token_that_cannot_update_everything_then_403(
    record: RunningService, issuer: DevIssuer
) -> None:
    token = issuer.issue(scope="system/Patient.cruds", subject="registration", client_id="reg")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    async with httpx.AsyncClient(base_url=record.base + "/", headers=headers) as narrow:
        for operation in ("Patient/$merge", "Patient/$unmerge"):
            response = await narrow.post(operation, json=pair("a", "b"))
            assert response.status_code == 403, response.text


# --- Un-merging ----------------------------------------------------------------------------


async def test_given_a_merge_in_error_when_unmerged_then_references_return_and_later_edits_stay(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))
    edited = await read(fhir, where(made, "observation"))
    edited["valueQuantity"]["value"] = 99
    assert (await fhir.put(where(made, "observation"), json=edited)).status_code == 200
    third = await create(fhir, person())
    corrected = await read(fhir, where(made, "condition"))
    corrected["subject"] = ref(third["id"])  # it was neither of them: the correction stays
    corrected["note"] = [{"text": "recorded against the wrong person"}]
    assert (await fhir.put(where(made, "condition"), json=corrected)).status_code == 200

    answer = await unmerge(fhir, pair(sid, tid))

    assert out(answer, "source")["id"] == sid and out(answer, "result")["id"] == tid
    for label, created in made.moved.items():
        if label == "condition":
            continue
        now = await read(fhir, where(made, label))
        assert [r.split("/")[-1] for r in patient_references(now)] == [
            r.split("/")[-1] for r in patient_references(created)
        ], label
    observation_now = await read(fhir, where(made, "observation"))
    assert observation_now["valueQuantity"]["value"] == 99
    assert observation_now["meta"]["versionId"] == "4"
    merged_then = await read(fhir, f"{where(made, 'observation')}/_history/2")
    assert merged_then["subject"] == ref(tid)
    condition_now = await read(fhir, where(made, "condition"))
    assert condition_now["subject"] == ref(third["id"])
    assert condition_now["meta"]["versionId"] == "3"
    source = await read(fhir, f"Patient/{sid}")
    assert source["active"] is True and "link" not in source
    assert "link" not in await read(fhir, f"Patient/{tid}")


async def test_given_an_unmerge_then_it_is_recorded_and_cannot_be_done_twice(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await unmerge(fhir, pair(sid, tid), 409)  # never merged
    await merge(fhir, pair(sid, tid))
    await unmerge(fhir, pair(tid, sid), 409)  # the other way round was never merged

    await unmerge(fhir, pair(sid, tid))

    again = await unmerge(fhir, pair(sid, tid), 409)
    assert "already undone" in again["issue"][0]["diagnostics"]
    bundle = await search(
        fhir, "Provenance", {"entity": f"Patient/{sid}", "_sort": "-_lastUpdated"}
    )
    codes = [e["resource"]["activity"]["coding"][0]["code"] for e in bundle["entry"]]
    assert codes == ["unmerge", "merge"]
    await merge(fhir, pair(sid, tid))  # the two records can be merged again
    await unmerge(fhir, pair(sid, tid))


async def test_given_preview_when_unmerging_then_nothing_is_written(
    fhir: httpx.AsyncClient,
) -> None:
    made = await chart(fhir)
    sid, tid = made.source["id"], made.target["id"]
    await merge(fhir, pair(sid, tid))

    answer = await unmerge(fhir, pair(sid, tid, PREVIEW))

    assert out(answer, "source")["active"] is True
    assert (await read(fhir, f"Patient/{sid}"))["active"] is False
    assert (await read(fhir, where(made, "task")))["for"] == ref(tid)
    await unmerge(fhir, pair(sid, tid))  # the preview left the merge to undo


async def test_given_unmerge_bad_input_then_400_404_422(fhir: httpx.AsyncClient) -> None:
    made = await chart(fhir)
    sid = made.source["id"]
    await unmerge(fhir, parameters({"name": "source-patient", "valueReference": ref(sid)}), 400)
    await unmerge(fhir, pair(sid, unique("nobody")), 404)
    await unmerge(fhir, pair(sid, sid), 422)


# --- The CapabilityStatement and the gateway ---------------------------------------------------


async def test_given_metadata_then_merge_and_unmerge_are_listed(fhir: httpx.AsyncClient) -> None:
    statement = await read(fhir, "metadata")
    (patient_entry,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    operations = {o["name"]: o["definition"] for o in patient_entry["operation"]}
    assert operations["merge"] == "http://hl7.org/fhir/OperationDefinition/Patient-merge"
    assert "unmerge" in operations


async def test_given_a_service_through_the_gateway_when_merging_then_provenance_names_it(
    front_door: httpx.AsyncClient, fhir: httpx.AsyncClient
) -> None:
    source = await create(fhir, person(nhs=await fresh_nhs_number(fhir)))
    target = await create(fhir, person(nhs=await fresh_nhs_number(fhir)))
    gateway_base = base_of(front_door)
    # Written straight to the record with the gateway's address: stored absolute, as sent.
    reading = await create(
        fhir,
        {
            **observation(source["id"]),
            "subject": {"reference": f"{gateway_base}/Patient/{source['id']}"},
        },
    )
    assert reading["subject"]["reference"].startswith(gateway_base)

    response = await front_door.post("Patient/$merge", json=pair(source["id"], target["id"]))

    assert response.status_code == 200, response.text
    moved = await read(fhir, f"Observation/{reading['id']}")
    assert moved["subject"] == ref(target["id"])
    bundle = await search(fhir, "Provenance", {"entity": f"Patient/{source['id']}"})
    (provenance,) = [e["resource"] for e in bundle["entry"]]
    assert "test-suite" in str(provenance["agent"])
    assert NHS_NUMBER_SYSTEM in str(out(response.json(), "result")["identifier"])


@pytest.mark.parametrize("operation", ["Patient/$merge", "Patient/$unmerge"])
async def test_given_a_body_that_is_not_json_fhir_then_415(
    fhir: httpx.AsyncClient, operation: str
) -> None:
    response = await fhir.post(operation, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
