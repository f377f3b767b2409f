"""OneStory's own code systems, canonical URLs and the outside codes the services agree on:
the one place that knows them. Services write these codes; the gateway and the record read
them (the DSR label that keeps the register private, the episode types that tell a caseload
from a discharge, the sections of a patient summary).
"""

from __future__ import annotations

from typing import Any

BASE = "https://onestory.example.nhs.uk"


def code_system(name: str) -> str:
    return f"{BASE}/CodeSystem/{name}"


def structure_definition(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


def questionnaire(name: str) -> str:
    return f"{BASE}/Questionnaire/{name}"


LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# Encounters: the class (inpatient IMP, emergency EMER...), an emergency (priority EM) and
# where an admission came from (admitSource emd: the emergency department).
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"

# --- Security labels ------------------------------------------------------------------------
# Everything on the dynamic support register carries this label in meta.security: the gateway
# shows it only to the DSR team and the person's own keyworker and team (their DSR CareTeam).
SECURITY_LABEL = code_system("security-label")
DSR_LABEL = {"system": SECURITY_LABEL, "code": "dsr", "display": "Dynamic support register"}
DSR_TEAM_ROLE = "dsr-lead"  # the realm role of the register's own team

# --- Episodes of care: which service's list a person is on ------------------------------------
EPISODE_TYPE = code_system("episode-type")
PROACTIVE_CASE_MANAGEMENT = "proactive-case-management"
DISCHARGE_TO_ASSESS = "discharge-to-assess"
DYNAMIC_SUPPORT_REGISTER = "dynamic-support-register"

# Discharge to assess: the pathway (0-3) and the state of the journey, on the D2A episode.
D2A_PATHWAY = code_system("d2a-pathway")
D2A_STATE = code_system("d2a-state")
D2A_PATHWAY_EXTENSION = structure_definition("d2a-pathway")
D2A_STATE_EXTENSION = structure_definition("d2a-state")
D2A_PATHWAYS = {
    "0": "Pathway 0: home with no new support",
    "1": "Pathway 1: home with new support",
    "2": "Pathway 2: community bed with rehabilitation",
    "3": "Pathway 3: 24-hour bedded care",
}
D2A_STATES = {
    "identified": "No criteria to reside",
    "pathway-proposed": "Pathway proposed",
    "pathway-agreed": "Pathway agreed",
    "awaiting-capacity": "Awaiting capacity (care, bed or equipment)",
    "discharged": "Discharged",
    "assessment-in-progress": "Assessment in progress",
    "assessment-complete": "Assessment complete",
    "closed": "Closed",
}

# The discharge ready date (no longer meets the criteria to reside) on the D2A episode, the
# journey's history (each state with when and who) and the delays with their coded reasons.
DISCHARGE_READY_EXTENSION = structure_definition("discharge-ready-date")  # valueDateTime
CRITERIA_CHECKED_EXTENSION = structure_definition("criteria-to-reside-checked")  # valueDateTime
CRITERIA_CHECKED_EXTENSION = structure_definition("criteria-to-reside-checked")  # valueDateTime
D2A_HISTORY_EXTENSION = structure_definition("d2a-history")  # state, at, by (complex)
D2A_DELAY_EXTENSION = structure_definition("d2a-delay")  # reason, start, end (complex)
CRITERIA_TO_RESIDE = {"system": code_system("d2a-observation"), "code": "meets-criteria-to-reside"}
D2A_DELAY_REASON = code_system("d2a-delay-reason")
D2A_DELAY_REASONS = {
    "care-package": "Awaiting a package of care at home",
    "care-home": "Awaiting a care home placement",
    "community-bed": "Awaiting a community bed",
    "equipment": "Awaiting equipment or adaptations",
    "assessment": "Awaiting an assessment",
    "patient-family-choice": "Patient or family choice",
    "housing": "Awaiting housing",
    "transport": "Awaiting transport",
    "medicines": "Awaiting medicines to take home",
    "safeguarding": "Safeguarding concerns",
    "funding": "Awaiting a funding decision",
    "legal": "Mental capacity or legal process",
}
D2A_ASSESSMENT_TASK = "d2a-assessment"  # the assessment after discharge (TASK_CODE)

# The DSR rating, as the outcome of the register's RiskAssessment; the rating now is also kept
# on the register's EpisodeOfCare.
RAG_RATING = code_system("dsr-rag-rating")
DSR_RATING_EXTENSION = structure_definition("dsr-rating")  # valueCoding RAG_RATING
DSR_RISK_ASSESSMENT = {"system": code_system("risk-assessment"), "code": "dsr-rag-rating"}
RAG_RATINGS = {
    "red": "Red: high risk of admission now",
    "amber": "Amber: high risk of admission if support is not put in place soon",
    "green": "Green: risks are managed at home",
    "blue": "Blue: already an inpatient",
}

# Frailty: the electronic Frailty Index (a RiskAssessment whose code is the SNOMED CT "Frailty
# index score", 713636003) with its band as prediction.qualitativeRisk; the Clinical Frailty
# Scale (1-9) is a clinician's Observation.
EFI_SCORE = "713636003"
CLINICAL_FRAILTY_SCALE = "763264000"
FRAILTY_BAND = code_system("efi-band")
# R4 has no code search on RiskAssessment: an eFI is found by its band (prediction.qualitativeRisk,
# the search parameter "risk"), any code of the band system.
EFI_RISK = ("risk", f"{code_system('efi-band')}|")
FRAILTY_BANDS = {
    "fit": "Fit (eFI up to 0.12)",
    "mild": "Mild frailty (eFI 0.13 to 0.24)",
    "moderate": "Moderate frailty (eFI 0.25 to 0.36)",
    "severe": "Severe frailty (eFI above 0.36)",
}

# Proactive case management: the neighbourhood team (a CareTeam) serves GP practices
# (extension on the CareTeam); its case managers (participant role) each carry a caseload
# capacity in weighted points and may be away for a period (extensions on the participant).
CASELOAD_ROLE = code_system("caseload-role")
CASE_MANAGER = "case-manager"
SERVES_PRACTICE_EXTENSION = structure_definition("serves-practice")  # valueReference
CASELOAD_CAPACITY_EXTENSION = structure_definition("caseload-capacity")  # valueInteger
AWAY_EXTENSION = structure_definition("away")  # valuePeriod
# On the caseload EpisodeOfCare: the band the person weighs, and why they left.
FRAILTY_BAND_EXTENSION = structure_definition("frailty-band")  # valueCoding FRAILTY_BAND
LEAVING_REASON = code_system("caseload-leaving-reason")
LEAVING_REASON_EXTENSION = structure_definition("caseload-leaving-reason")  # valueCoding
LEAVING_REASONS = {
    "died": "Died",
    "moved": "Moved away",
    "no-longer-needed": "No longer needs proactive case management",
    "declined": "Declined",
}
TOUCHPOINT_TASK = "touchpoint"  # a planned contact by the case manager (TASK_CODE)
ADMISSION_ALERT_TASK = "admission-alert"  # a person on the caseload was admitted or in ED

# An organisation's team that coordinates care over time (a neighbourhood team, the discharge
# hub): CareTeam.category, with no subject.
CARE_COORDINATION_TEAM = {
    "system": LOINC,
    "code": "LA28865-6",
    "display": "Longitudinal care-coordination focused care team",
}

# A stay in a mental health inpatient unit: Encounter.type (searchable; the register watches).
ENCOUNTER_TYPE = code_system("encounter-type")
MENTAL_HEALTH_ADMISSION = "mental-health-admission"

# Triage of a referral at the single point of access: the Task whose focus is the referral.
TASK_CODE = code_system("task-code")
TRIAGE_TASK = "triage"

# Where the single point of access sends a referral: the route a triage decision names, and
# the type of the HealthcareService that takes it (HealthcareService.type).
TRIAGE_ROUTE = code_system("triage-route")
TRIAGE_ROUTES = {
    "emergency": "Emergency: advised 999 or the emergency department",
    "urgent-community-response": "Urgent community response (2-hour)",
    "discharge-hub": "Hospital discharge hub",
    "proactive-case-management": "Proactive case management",
    "dynamic-support-register": "Dynamic support register team",
    "wellbeing": "Wellbeing and voluntary services (signposting)",
    "clinical-review": "Single point of access clinical triage",
}
PRESENTING_PROBLEM = code_system("presenting-problem")
# Where a HealthcareService takes referrals from (extensions on HealthcareService).
ELIGIBLE_AGE_EXTENSION = structure_definition("eligible-age")  # valueRange, in years
ELIGIBLE_POSTCODE_EXTENSION = structure_definition("eligible-postcode-district")  # valueString
FALLBACK_EXTENSION = structure_definition("fallback-for-route")  # valueCoding TRIAGE_ROUTE

# Referrals: the door a referral came in by (an extension on the ServiceRequest, R4 has no
# element for it) and the service it asks for (ServiceRequest.code), which triage routes to.
REFERRAL_CHANNEL = code_system("referral-channel")
REFERRAL_CHANNEL_EXTENSION = structure_definition("referral-channel")
REFERRAL_CHANNELS = {
    "telephone": "Telephone",
    "111": "NHS 111",
    "walk-in": "Walk-in",
    "online": "Online",
    "gp": "GP",
    "ambulance": "Ambulance service",
    "hospital": "Hospital",
    "social-care": "Social care",
    "self": "Self-referral",
    "carer": "Carer",
}
# A ServiceRequest is a referral to the single point of access when its category is the SNOMED
# CT "Patient referral" (as in the Booking and Referral Standard): triage takes only these.
REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
REFERRAL_SERVICE = code_system("referral-service")
REFERRAL_SERVICES = {
    "urgent-community-response": "Urgent community response (2-hour)",
    "community-nursing": "Community nursing",
    "reablement": "Reablement",
    "falls-prevention": "Falls prevention",
    "memory-assessment": "Memory assessment",
    "care-act-assessment": "Care Act needs assessment",
}

# --- Pre-filled answers (Questionnaire/$populate) -----------------------------------------------
PREFILL_SOURCE = structure_definition("prefill-source")  # kind + a source per resource drawn on
OFFER_PREVIOUS_ANSWER = structure_definition("offer-previous-answer")  # false: ask afresh

# --- Questionnaires the services share --------------------------------------------------------
ABOUT_ME = questionnaire("about-me")  # "about me" and "what matters to me", in the person's words

# --- Sections of a patient summary ------------------------------------------------------------
SUMMARY_SECTION = code_system("summary-section")


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def has_coding(concept: Any, system: str, code: str) -> bool:
    """Does a CodeableConcept (or a list of them) hold ``system|code``?"""
    concepts = concept if isinstance(concept, list) else [concept]
    return any(
        isinstance(c, dict)
        and any(
            isinstance(found, dict) and found.get("system") == system and found.get("code") == code
            for found in c.get("coding") or []
        )
        for c in concepts
    )


def has_label(resource: dict[str, Any], label: dict[str, Any]) -> bool:
    """Does the resource carry this security label in meta.security?"""
    security = (resource.get("meta") or {}).get("security") or []
    return any(
        isinstance(s, dict)
        and s.get("system") == label["system"]
        and s.get("code") == label["code"]
        for s in security
    )
