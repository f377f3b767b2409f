"""The pure parts of a patient summary: which section a fact goes in, the line a person
reads, where it came from, and the narrative's escaping."""

from __future__ import annotations

from typing import Any

from gateway.summary.document import Gathered, latest_provenance, source_of, summary_document
from gateway.summary.narrative import Line, describe, page, section_div
from gateway.summary.sections import section_of, sort_into_sections
from shared.fhir import terms

Resource = dict[str, Any]


def rating(rag: str, when: str, rid: str) -> Resource:
    return {
        "resourceType": "RiskAssessment",
        "id": rid,
        "status": "final",
        "code": {"coding": [terms.DSR_RISK_ASSESSMENT]},
        "occurrenceDateTime": when,
        "prediction": [{"outcome": {"coding": [terms.coding(terms.RAG_RATING, rag, rag.title())]}}],
    }


def episode(kind: str) -> Resource:
    return {
        "resourceType": "EpisodeOfCare",
        "id": kind,
        "status": "active",
        "type": [{"coding": [terms.coding(terms.EPISODE_TYPE, kind)]}],
    }


def test_given_each_kind_of_fact_then_its_section() -> None:
    assert section_of({"resourceType": "Condition"}) == "problems"
    assert section_of(episode(terms.PROACTIVE_CASE_MANAGEMENT)) == "caseload"
    assert section_of(episode(terms.DISCHARGE_TO_ASSESS)) == "discharge"
    assert section_of(episode(terms.DYNAMIC_SUPPORT_REGISTER)) == "dsr"
    assert section_of(rating("red", "2026-01-01", "r")) == "dsr"
    assert (
        section_of({"resourceType": "CarePlan", "meta": {"security": [terms.DSR_LABEL]}}) == "dsr"
    )
    assert section_of({"resourceType": "Patient"}) is None
    refuted = {
        "resourceType": "AllergyIntolerance",
        "verificationStatus": {"coding": [{"code": "refuted"}]},
    }
    assert section_of(refuted) is None


def test_given_several_register_ratings_then_only_the_newest_is_shown() -> None:
    facts = [rating("red", "2026-01-01", "old"), rating("amber", "2026-06-01", "new")]

    assert [f["id"] for f in sort_into_sections(facts)["dsr"]] == ["new"]


def test_given_observations_then_newest_first() -> None:
    facts = [
        {"resourceType": "Observation", "id": i, "effectiveDateTime": d}
        for i, d in (("a", "2026-01-02"), ("b", "2026-03-01"), ("c", "2025-12-31"))
    ]

    assert [f["id"] for f in sort_into_sections(facts)["results"]] == ["b", "a", "c"]


def test_given_a_blood_pressure_then_both_components_are_read() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Blood pressure"},
        "effectiveDateTime": "2026-10-01T09:30:00Z",
        "component": [
            {"code": {"text": "Systolic"}, "valueQuantity": {"value": 128, "unit": "mmHg"}},
            {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 82, "unit": "mmHg"}},
        ],
    }

    assert describe(observation, {}) == (
        "Blood pressure: 128 mmHg / 82 mmHg",
        "final",
        "2026-10-01",
    )


def test_given_a_provenance_then_the_source_names_author_organisation_and_date() -> None:
    fact = {"resourceType": "Condition", "id": "c1", "recorder": {"reference": "Practitioner/x"}}
    older = {
        "recorded": "2026-01-01T00:00:00Z",
        "target": [{"reference": "Condition/c1/_history/1"}],
        "agent": [{"who": {"reference": "Practitioner/old"}}],
    }
    newer = {
        "recorded": "2026-02-01T00:00:00Z",
        "target": [{"reference": "Condition/c1/_history/2"}],
        "agent": [
            {
                "type": {"coding": [{"code": "author"}]},
                "who": {"reference": "Practitioner/p"},
                "onBehalfOf": {"reference": "Organization/o"},
            }
        ],
    }
    names = {"Practitioner/p": "Ann Patel", "Organization/o": "Solent NHS Trust"}

    latest = latest_provenance([newer, older])

    assert source_of(fact, latest, names) == "Ann Patel, Solent NHS Trust, 2026-02-01"


def test_given_no_provenance_then_the_resources_own_attribution() -> None:
    fact = {
        "resourceType": "Condition",
        "id": "c1",
        "recorder": {"reference": "Practitioner/x"},
        "meta": {"lastUpdated": "2026-03-04T05:06:07Z"},
    }

    assert source_of(fact, {}, {"Practitioner/x": "Dr X"}) == "Dr X, 2026-03-04"


def test_given_markup_in_a_fact_then_the_narrative_escapes_it() -> None:
    div = section_div([Line("<b>bold</b> & co", "active", "2026-01-01", "")], "nothing")

    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in div and "<b>" not in div


def test_given_a_document_then_every_section_entry_is_in_the_bundle_and_the_page_reads_it() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"family": "Smith", "given": ["Ann"]}],
    }
    facts = [
        {"resourceType": "Condition", "id": "c", "code": {"text": "Asthma"}},
        {
            "resourceType": "RelatedPerson",
            "id": "r",
            "name": [{"family": "Smith", "given": ["Jo"]}],
        },
    ]

    document = summary_document(
        Gathered(patient, facts),
        base_url="https://x/fhir",
        generated="2026-11-22T10:00:00Z",
        document_id="d",
    )

    composition = document["entry"][0]["resource"]
    held = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in document["entry"]}
    cited = {e["reference"] for s in composition["section"] for e in s.get("entry", [])}
    assert cited == {"Condition/c", "RelatedPerson/r"} <= held
    html = page(composition)
    assert "<h2>Problems</h2>" in html and "Asthma" in html and "Jo Smith" in html
    assert composition["title"] == "Patient summary: Ann Smith"
