"""The Portsmouth demo population: valid FHIR, deterministic and internally consistent."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from services.record import demo
from services.record.demo import demo_bundle
from services.record.demo_data import REFERENCE_DATE, STREETS
from services.record.demo_directory import neighbourhood_districts
from services.triage.directory import choose_service, postcode_district
from shared.fhir import terms
from shared.fhir.dates import LONDON
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid

Resource = dict[str, Any]


@cache
def _default_json() -> str:
    return json.dumps(demo_bundle(), sort_keys=True)


@pytest.fixture
def bundle() -> Resource:
    """The default bundle (built once; each test gets its own copy)."""
    result: Resource = json.loads(_default_json())
    return result


def _resources(bundle: Resource, resource_type: str) -> list[Resource]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def _references(node: object) -> list[str]:
    """Every Reference.reference anywhere inside ``node``."""
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def _age(birth_date: str) -> int:
    born = date.fromisoformat(birth_date)
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day)
    return REFERENCE_DATE.year - born.year - before_birthday


def test_is_a_transaction_bundle(bundle: Resource) -> None:
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    get_fhir_model_class("Bundle").model_validate(bundle)


def test_every_resource_validates_against_r4b(bundle: Resource) -> None:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_entry_is_a_conditional_post_with_a_urn_uuid(bundle: Resource) -> None:
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        request = entry["request"]
        assert request["method"] == "POST"
        assert request["url"] == entry["resource"]["resourceType"]
        assert request["ifNoneExist"].startswith("identifier=")
        assert "id" not in entry["resource"]


def test_patients_are_created_conditionally_on_their_nhs_number(bundle: Resource) -> None:
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            nhs = _nhs_number(entry["resource"])
            assert entry["request"]["ifNoneExist"] == f"identifier={NHS_NUMBER_SYSTEM}|{nhs}"


def test_the_same_seed_gives_the_same_bundle() -> None:
    assert demo_bundle(patients=12, seed=7) == demo_bundle(patients=12, seed=7)
    assert json.dumps(demo_bundle(), sort_keys=True) == _default_json()


def test_a_different_seed_gives_a_different_population() -> None:
    first = {_nhs_number(p) for p in _resources(demo_bundle(patients=10, seed=1), "Patient")}
    second = {_nhs_number(p) for p in _resources(demo_bundle(patients=10, seed=2), "Patient")}
    assert first != second


def test_at_least_fifty_patients_by_default(bundle: Resource) -> None:
    assert len(_resources(bundle, "Patient")) >= 50


def test_patient_count_is_configurable() -> None:
    assert len(_resources(demo_bundle(patients=5), "Patient")) == 5


def test_nhs_numbers_are_valid_and_unique(bundle: Resource) -> None:
    numbers = [_nhs_number(patient) for patient in _resources(bundle, "Patient")]
    assert all(is_valid(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)


def test_every_urn_uuid_reference_resolves(bundle: Resource) -> None:
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    references = _references([entry["resource"] for entry in bundle["entry"]])
    assert references
    assert all(ref.startswith("urn:uuid:") for ref in references)
    assert set(references) <= full_urls


def test_most_patients_are_older_people(bundle: Resource) -> None:
    ages = [_age(patient["birthDate"]) for patient in _resources(bundle, "Patient")]
    older = sum(age >= 65 for age in ages)
    assert older >= 0.6 * len(ages)
    assert older < len(ages), "some younger adults too"
    assert all(18 <= age <= 100 for age in ages)


def test_patients_live_in_portsmouth_with_a_registered_practice(bundle: Resource) -> None:
    practices = {
        entry["fullUrl"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Organization"
        and entry["resource"]["name"] not in _NOT_PRACTICES
    }
    for patient in _resources(bundle, "Patient"):
        address = patient["address"][0]
        assert address["city"] == "Portsmouth"
        assert address["postalCode"].split()[0] in {"PO1", "PO2", "PO3", "PO4", "PO5", "PO6"}
        assert patient["telecom"][0]["value"].startswith("07700 900")
        assert patient["generalPractitioner"][0]["reference"] in practices


_NOT_PRACTICES = {
    "Portsmouth Hospitals University NHS Trust",
    "Solent NHS Trust",
    "Portsmouth City Council",
    "South Central Ambulance Service NHS Foundation Trust",
    "Portsmouth Community Wellbeing Network",
}


def test_the_partner_organisations_are_present(bundle: Resource) -> None:
    names = {org["name"] for org in _resources(bundle, "Organization")}
    assert names >= _NOT_PRACTICES
    assert 5 <= len(names - _NOT_PRACTICES) <= 8


def test_each_patient_has_one_to_six_conditions(bundle: Resource) -> None:
    per_patient = Counter(c["subject"]["reference"] for c in _resources(bundle, "Condition"))
    patients = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert all(1 <= per_patient[urn] <= 6 for urn in patients)
    for condition in _resources(bundle, "Condition"):
        assert condition["code"]["coding"][0]["system"] == "http://snomed.info/sct"


def test_diabetics_have_hba1c_results(bundle: Resource) -> None:
    diabetics = {
        c["subject"]["reference"]
        for c in _resources(bundle, "Condition")
        if c["code"]["coding"][0]["code"] == "44054006"
    }
    tested = {
        o["subject"]["reference"]
        for o in _resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "4548-4"
    }
    assert diabetics
    assert tested == diabetics


def test_observations_are_final_and_within_the_last_two_years(bundle: Resource) -> None:
    for observation in _resources(bundle, "Observation"):
        assert observation["status"] == "final"
        when = date.fromisoformat(observation["effectiveDateTime"][:10])
        assert 0 <= (REFERENCE_DATE - when).days <= 2 * 366


def test_encounter_classes_and_emergency_admissions(bundle: Resource) -> None:
    encounters = _resources(bundle, "Encounter")
    classes = Counter(e["class"]["code"] for e in encounters)
    assert set(classes) == {"AMB", "HH", "EMER", "IMP"}
    for encounter in encounters:
        if encounter["status"] == "in-progress":  # in hospital now, on discharge to assess
            assert encounter["class"]["code"] == "IMP"
            assert encounter["episodeOfCare"]
            assert "end" not in encounter["period"]
            continue
        assert encounter["status"] == "finished"
        assert encounter["period"]["start"] < encounter["period"]["end"]
        assert date.fromisoformat(encounter["period"]["end"][:10]) <= REFERENCE_DATE


def _nhs_number(patient: Resource) -> str:
    value: str = next(
        identifier["value"]
        for identifier in patient["identifier"]
        if identifier["system"] == NHS_NUMBER_SYSTEM
    )
    return value


# --- Care coordination: what the services know about the residents ----------------------------

_SHOWCASE_NHS_NUMBER = "9992985887"  # the README's example person (Pauline Jones)
_SHOWCASE_CASE_MANAGER_NMC = "49J6969U"  # ... and her case manager (Ms Laura Evans)


def _by_url(bundle: Resource, resource_type: str | None = None) -> dict[str, Resource]:
    return {
        entry["fullUrl"]: entry["resource"]
        for entry in bundle["entry"]
        if resource_type in (None, entry["resource"]["resourceType"])
    }


def _episodes(bundle: Resource, episode_type: str) -> list[Resource]:
    return [
        episode
        for episode in _resources(bundle, "EpisodeOfCare")
        if terms.has_coding(episode["type"], terms.EPISODE_TYPE, episode_type)
    ]


def _extension(resource: Resource, url: str) -> Resource:
    value: Resource = next(e["valueCoding"] for e in resource["extension"] if e["url"] == url)
    return value


def test_the_demo_holds_every_kind_of_care_coordination_fact(bundle: Resource) -> None:
    counts = Counter(entry["resource"]["resourceType"] for entry in bundle["entry"])
    for kind in ("ServiceRequest", "Task", "CarePlan", "Goal", "RelatedPerson", "Consent"):
        assert counts[kind] >= 5, kind
    assert counts["QuestionnaireResponse"] >= 10
    assert counts["RiskAssessment"] == counts["Flag"] >= 3
    assert len(_episodes(bundle, terms.PROACTIVE_CASE_MANAGEMENT)) >= 10
    assert len(_episodes(bundle, terms.DISCHARGE_TO_ASSESS)) >= 4
    assert len(_episodes(bundle, terms.DYNAMIC_SUPPORT_REGISTER)) >= 3
    team_names = {team.get("name", "") for team in _resources(bundle, "CareTeam")}
    assert sum("integrated neighbourhood team" in name for name in team_names) == 3


def test_every_referral_is_open_with_its_channel_and_one_triage_task(bundle: Resource) -> None:
    triage = [t for t in _resources(bundle, "Task") if terms.has_coding(t["code"], *_TRIAGE)]
    focused = Counter(task["focus"]["reference"] for task in triage)
    referrals = _by_url(bundle, "ServiceRequest")
    for urn, referral in referrals.items():
        assert (referral["status"], referral["intent"]) == ("active", "order")
        channel = _extension(referral, terms.REFERRAL_CHANNEL_EXTENSION)
        assert channel["system"] == terms.REFERRAL_CHANNEL
        assert channel["code"] in terms.REFERRAL_CHANNELS
        assert referral["code"]["coding"][0]["code"] in terms.REFERRAL_SERVICES
        assert referral["requester"] and referral["performer"] and referral["reasonCode"]
        assert focused[urn] == 1
    for task in triage:
        focus = referrals[task["focus"]["reference"]]
        assert task["for"] == focus["subject"]
        assert task["owner"] == focus["performer"][0]
        assert task["status"] in {"accepted", "in-progress", "completed"}
        assert task["businessStatus"]["text"].startswith("Routed to ")
        assert ("restriction" in task) == (focus["priority"] == "urgent")


_TRIAGE = (terms.TASK_CODE, terms.TRIAGE_TASK)


def test_urgent_community_response_is_due_within_two_hours(bundle: Resource) -> None:
    urgent = [t for t in _resources(bundle, "Task") if t["priority"] == "urgent"]
    assert urgent
    for task in urgent:
        authored = datetime.fromisoformat(task["authoredOn"])
        due = datetime.fromisoformat(task["restriction"]["period"]["end"])
        assert due - authored == timedelta(hours=2)
        assert "urgent community response (2-hour)" in task["businessStatus"]["text"]


def test_caseload_people_have_a_case_manager_a_team_and_a_plan_in_their_words(
    bundle: Resource,
) -> None:
    resources = _by_url(bundle)
    plans = {p["subject"]["reference"]: p for p in _resources(bundle, "CarePlan")}
    for episode in _episodes(bundle, terms.PROACTIVE_CASE_MANAGEMENT):
        assert episode["status"] == "active" and episode["period"]["start"]
        manager = resources[episode["careManager"]["reference"]]
        team = resources[episode["team"][0]["reference"]]
        members = {p["member"]["reference"] for p in team["participant"]}
        assert episode["careManager"]["reference"] in members
        assert manager["resourceType"] == "Practitioner" and team["status"] == "active"
        plan = plans[episode["patient"]["reference"]]
        assert (plan["status"], plan["intent"]) == ("active", "plan")
        assert plan["author"] == episode["careManager"]
        assert plan["activity"] and plan["title"]
        for goal_ref in plan["goal"]:
            goal = resources[goal_ref["reference"]]
            assert goal["lifecycleStatus"] == "active"
            assert goal["expressedBy"] == goal["subject"] == episode["patient"]
            assert goal["description"]["text"].startswith(("To ", "Not "))


def test_discharge_to_assess_episodes_carry_pathway_and_state(bundle: Resource) -> None:
    stays = {
        e["episodeOfCare"][0]["reference"]: e
        for e in _resources(bundle, "Encounter")
        if e.get("episodeOfCare")
    }
    in_hospital = {"identified", "pathway-proposed", "pathway-agreed", "awaiting-capacity"}
    episodes = _by_url(bundle, "EpisodeOfCare").items()
    d2a = [(urn, e) for urn, e in episodes if e in _episodes(bundle, terms.DISCHARGE_TO_ASSESS)]
    urgently_referred = {
        r["subject"]["reference"]
        for r in _resources(bundle, "ServiceRequest")
        if r["priority"] == "urgent"
    }
    assert d2a
    for urn, episode in d2a:
        state = _extension(episode, terms.D2A_STATE_EXTENSION)
        assert (state["system"], state["code"] in terms.D2A_STATES) == (terms.D2A_STATE, True)
        if state["code"] != "identified":
            pathway = _extension(episode, terms.D2A_PATHWAY_EXTENSION)
            assert pathway["code"] in terms.D2A_PATHWAYS
        assert episode["status"] == "active"
        assert episode["careManager"]["display"]
        stay = stays[urn]
        assert (stay["status"] == "in-progress") == (state["code"] in in_hospital)
        if state["code"] in in_hospital:
            assert episode["patient"]["reference"] not in urgently_referred, "on the ward"


def test_everything_on_the_register_carries_the_dsr_label(bundle: Resource) -> None:
    labelled = [
        e["resource"] for e in bundle["entry"] if terms.has_label(e["resource"], terms.DSR_LABEL)
    ]
    register = {
        e["patient"]["reference"] for e in _episodes(bundle, terms.DYNAMIC_SUPPORT_REGISTER)
    }
    kinds = Counter(resource["resourceType"] for resource in labelled)
    assert kinds == {kind: len(register) for kind in _REGISTER_KINDS}
    for resource in labelled:
        assert _references(resource) and register & set(_references(resource))
    for episode in _episodes(bundle, terms.DYNAMIC_SUPPORT_REGISTER):
        assert terms.has_label(episode, terms.DSR_LABEL)
    for assessment in _resources(bundle, "RiskAssessment"):
        assert assessment["code"]["coding"][0]["code"] == terms.DSR_RISK_ASSESSMENT["code"]
        outcome = assessment["prediction"][0]["outcome"]["coding"][0]
        assert outcome["system"] == terms.RAG_RATING and outcome["code"] in terms.RAG_RATINGS
        assert assessment["prediction"][0]["rationale"]


_REGISTER_KINDS = ("EpisodeOfCare", "RiskAssessment", "CareTeam", "Flag", "Consent")


def test_the_register_is_for_younger_adults_with_autism_or_a_learning_disability(
    bundle: Resource,
) -> None:
    resources = _by_url(bundle)
    diagnosed = {
        c["subject"]["reference"]
        for c in _resources(bundle, "Condition")
        if c["code"]["coding"][0]["code"] in {"408856003", "110359009"}
    }
    for episode in _episodes(bundle, terms.DYNAMIC_SUPPORT_REGISTER):
        patient = episode["patient"]["reference"]
        assert _age(resources[patient]["birthDate"]) < 50
        assert patient in diagnosed


def test_sharing_choices_never_keep_out_the_persons_own_practice_or_teams(
    bundle: Resource,
) -> None:
    resources = _by_url(bundle)
    partners = {
        urn
        for urn, r in resources.items()
        if r["resourceType"] == "Organization" and r["name"] in _NOT_PRACTICES
    }
    choices = [c for c in _resources(bundle, "Consent") if c["provision"].get("provision")]
    assert choices
    for consent in choices:
        assert consent["status"] == "active" and consent["provision"]["type"] == "permit"
        own_practice = resources[consent["patient"]["reference"]]["generalPractitioner"][0]
        for deny in consent["provision"]["provision"]:
            assert deny["type"] == "deny"
            assert deny.get("actor") or deny.get("securityLabel")
            for actor in deny.get("actor", []):
                assert actor["reference"]["reference"] != own_practice["reference"]
                if actor["reference"]["reference"] in partners:
                    assert deny.get("securityLabel"), "a partner is kept from labelled data only"


def test_carers_are_related_people_with_a_drama_number(bundle: Resource) -> None:
    for carer in _resources(bundle, "RelatedPerson"):
        systems = {c["system"] for concept in carer["relationship"] for c in concept["coding"]}
        assert systems == {"http://terminology.hl7.org/CodeSystem/v3-RoleCode", _SNOMED}
        assert carer["telecom"][0]["value"].startswith("07700 900")
        assert carer["name"][0]["given"]


_SNOMED = "http://snomed.info/sct"


def test_about_me_is_in_the_persons_own_words(bundle: Resource) -> None:
    for answer in _resources(bundle, "QuestionnaireResponse"):
        assert answer["questionnaire"] == terms.ABOUT_ME
        assert answer["status"] == "completed"
        assert answer["author"] == answer["subject"]
        link_ids = [item["linkId"] for item in answer["item"]]
        assert link_ids == ["about-me", "what-matters"]
        for item in answer["item"]:
            words = item["answer"][0]["valueString"]
            assert words and "{" not in words, "every placeholder filled in"


def test_the_readme_person_has_everything_and_is_on_the_readme_case_managers_caseload(
    bundle: Resource,
) -> None:
    resources = _by_url(bundle)
    patient = next(
        urn
        for urn, r in resources.items()
        if r["resourceType"] == "Patient" and _nhs_number(r) == _SHOWCASE_NHS_NUMBER
    )
    caseload = next(
        e
        for e in _episodes(bundle, terms.PROACTIVE_CASE_MANAGEMENT)
        if e["patient"]["reference"] == patient
    )
    manager = resources[caseload["careManager"]["reference"]]
    assert manager["identifier"][0]["value"] == _SHOWCASE_CASE_MANAGER_NMC
    about = [r for r in resources.values() if patient in _references(r)]
    kinds = Counter(r["resourceType"] for r in about)
    assert kinds["ServiceRequest"] >= 1 and kinds["CarePlan"] == 1
    assert kinds["RelatedPerson"] >= 1 and kinds["QuestionnaireResponse"] == 1
    assert any(r in _episodes(bundle, terms.DISCHARGE_TO_ASSESS) for r in about), (
        "a discharge to assess episode"
    )


# --- The directory of services triage routes to ---------------------------------------------


def _services(bundle: Resource) -> list[Resource]:
    return _resources(bundle, "HealthcareService")


def _taking(bundle: Resource, route: str) -> list[Resource]:
    return [s for s in _services(bundle) if terms.has_coding(s["type"], terms.TRIAGE_ROUTE, route)]


def test_every_route_but_emergency_has_an_active_service_provided_by_a_demo_organisation(
    bundle: Resource,
) -> None:
    organisations = _by_url(bundle, "Organization")
    for route in terms.TRIAGE_ROUTES:
        services = _taking(bundle, route)
        assert bool(services) is (route != "emergency"), route  # 999/ED is advice only
        for service in services:
            assert service["active"] is True and service["name"] and service["availableTime"]
            assert service["providedBy"]["reference"] in organisations
    for service in _services(bundle):
        get_fhir_model_class("HealthcareService").model_validate(service)


def test_the_spa_is_open_round_the_clock_and_the_fallback_for_every_route(
    bundle: Resource,
) -> None:
    (spa,) = _taking(bundle, "clinical-review")
    fallback_for = {
        e["valueCoding"]["code"] for e in spa["extension"] if e["url"] == terms.FALLBACK_EXTENSION
    }
    assert fallback_for == set(terms.TRIAGE_ROUTES)
    week = [datetime(2026, 11, 2, tzinfo=LONDON) + timedelta(minutes=50 * n) for n in range(202)]
    for route in terms.TRIAGE_ROUTES:
        for at in week:
            routing = choose_service(_services(bundle), route=route, age=None, postcode=None, at=at)
            assert routing.service is not None, (route, at)


def test_urgent_community_response_takes_adults_8_to_8_and_the_spa_catches_the_night(
    bundle: Resource,
) -> None:
    def route(at: datetime) -> str:
        chosen = choose_service(
            _services(bundle), route="urgent-community-response", age=84, postcode="PO4 8PR", at=at
        ).service
        assert chosen is not None
        return str(chosen["name"])

    sunday = datetime(2026, 11, 1, tzinfo=LONDON)
    assert route(sunday.replace(hour=8)) == "Urgent community response (2-hour)"
    assert route(sunday.replace(hour=19, minute=59)) == "Urgent community response (2-hour)"
    assert route(sunday.replace(hour=20)) == "Single point of access clinical triage"


def test_each_residents_district_has_exactly_one_neighbourhood_team(bundle: Resource) -> None:
    districts = neighbourhood_districts()
    covered = [district for team in districts.values() for district in team]
    assert sorted(covered) == sorted({district for _, _, district in STREETS})
    monday_morning = datetime(2026, 11, 2, 10, tzinfo=LONDON)
    for patient in _resources(bundle, "Patient"):
        postcode = patient["address"][0]["postalCode"]
        routing = choose_service(
            _services(bundle),
            route=terms.PROACTIVE_CASE_MANAGEMENT,
            age=_age(patient["birthDate"]),
            postcode=postcode,
            at=monday_morning,
        )
        assert routing.service is not None and not routing.fallback
        eligible = {
            e["valueString"]
            for e in routing.service["extension"]
            if e["url"] == terms.ELIGIBLE_POSTCODE_EXTENSION
        }
        assert postcode_district(postcode) in eligible


def test_the_services_come_last_so_a_reload_keeps_every_earlier_identifier(
    bundle: Resource, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    first = kinds.index("Organization", kinds.index("HealthcareService") - 1)
    assert set(kinds[first + 1 :]) == {"HealthcareService"}
    monkeypatch.setattr(demo, "add_healthcare_services", lambda builder, directory: None)
    before = json.loads(json.dumps(demo.demo_bundle()))
    assert bundle["entry"][:first] == before["entry"]
