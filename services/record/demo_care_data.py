"""Reference tables for the demo population's care-coordination facts (see ``demo_care.py``):
the neighbourhood teams, the extra staff, referral reasons, carers and what people say in their
own words. All of it is fictional.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.record.demo_data import GMC_SYSTEM, NMC_SYSTEM, ConditionSpec, StaffSpec

DISCHARGE_COORDINATOR = StaffSpec(
    "discharge-coordinator", "nurse", "Discharge coordinator", NMC_SYSTEM
)
LD_KEYWORKER = StaffSpec("keyworker", "nurse", "Learning disability nurse, keyworker", NMC_SYSTEM)
LD_PSYCHIATRIST = StaffSpec(
    "psychiatrist", "doctor", "Consultant psychiatrist (learning disability)", GMC_SYSTEM
)

# The ambulance trust, which also runs NHS 111 for Hampshire and the Isle of Wight: the
# requester of referrals that come in by 111 or by ambulance.
AMBULANCE_TRUST_NAME = "South Central Ambulance Service NHS Foundation Trust"
AMBULANCE_TRUST_ODS = "RYE"

# LOINC answer code for a care team that coordinates care over time.
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CAREGIVER = ("133932002", "Caregiver")  # SNOMED CT: how a RelatedPerson is marked as a carer
PATIENT_CONSENT = ("59284-0", "Patient Consent")  # LOINC category of a Consent


@dataclass(frozen=True)
class NeighbourhoodTeam:
    key: str
    name: str
    practices: tuple[str, ...]  # the GP practices (and so the people) the team serves


NEIGHBOURHOOD_TEAMS: tuple[NeighbourhoodTeam, ...] = (
    NeighbourhoodTeam("north", "Portsmouth North integrated neighbourhood team",
                      ("gp-cosham", "gp-drayton", "gp-paulsgrove")),
    NeighbourhoodTeam("central", "Portsmouth Central integrated neighbourhood team",
                      ("gp-fratton", "gp-landport")),
    NeighbourhoodTeam("south", "Portsmouth South integrated neighbourhood team",
                      ("gp-southsea", "gp-milton")),
)  # fmt: skip


@dataclass(frozen=True)
class ReferralReason:
    service: str  # a code of terms.REFERRAL_SERVICE
    text: str
    finding: tuple[str, str] | None  # SNOMED CT code and display, where one fits
    priority: str
    channels: tuple[str, ...]  # the doors such a referral usually comes in by


URGENT_REASONS: tuple[ReferralReason, ...] = (
    ReferralReason("urgent-community-response",
                   "Fell at home without serious injury and could not get up unaided",
                   ("161898004", "Falls"), "urgent", ("111", "ambulance", "carer")),
    ReferralReason("urgent-community-response",
                   "Off legs and not managing at home since a chest infection",
                   ("248279007", "Frailty"), "urgent", ("gp", "carer", "telephone")),
    ReferralReason("urgent-community-response", "New confusion since yesterday, possible delirium",
                   ("2776000", "Delirium"), "urgent", ("111", "carer", "gp")),
    ReferralReason("urgent-community-response", "Urinary catheter blocked since this morning",
                   None, "urgent", ("telephone", "111")),
)  # fmt: skip

ROUTINE_REASONS: tuple[ReferralReason, ...] = (
    ReferralReason("community-nursing", "Leg ulcer dressings twice a week", None, "routine",
                   ("gp", "hospital")),
    ReferralReason("falls-prevention",
                   "Two falls in six months: strength and balance programme",
                   ("129839007", "At risk for falls"), "routine", ("gp", "self", "online")),
    ReferralReason("memory-assessment", "More forgetful over six months; family worried",
                   ("386807006", "Memory impairment"), "routine", ("gp", "carer")),
    ReferralReason("care-act-assessment",
                   "Carer no longer able to manage alone: needs assessment", None, "routine",
                   ("carer", "social-care", "online", "walk-in")),
)  # fmt: skip

REABLEMENT = ReferralReason(
    "reablement", "Help to wash, dress and get about again after a hospital stay", None,
    "routine", ("hospital",),
)  # fmt: skip

# Where triage routes each service's referrals ("team:" a CareTeam, "org:" an organisation;
# the neighbourhood team is the person's own) and how the triage Task says so.
ROUTING: dict[str, tuple[str, str]] = {
    "urgent-community-response": (
        "team:ucr", "Routed to urgent community response (2-hour)"),
    "community-nursing": (
        "team:neighbourhood", "Routed to community nursing in the neighbourhood team"),
    "reablement": ("org:council", "Routed to reablement (adult social care)"),
    "falls-prevention": ("org:community", "Routed to the falls prevention service"),
    "memory-assessment": ("org:community", "Routed to the memory assessment service"),
    "care-act-assessment": (
        "org:council", "Routed to adult social care for a Care Act needs assessment"),
}  # fmt: skip


@dataclass(frozen=True)
class CarerKind:
    code: str  # v3-RoleCode
    display: str
    sex: str
    generation: str  # "same" as the person (spouse, friend), "younger" (child), "older" (parent)
    same_family: bool
    partner_of: str | None = None  # a spouse is the partner of someone of this sex


OLDER_PERSONS_CARERS: tuple[tuple[CarerKind, int], ...] = (
    (CarerKind("WIFE", "wife", "female", "same", True, "male"), 30),
    (CarerKind("HUSB", "husband", "male", "same", True, "female"), 25),
    (CarerKind("DAUC", "daughter", "female", "younger", False), 30),
    (CarerKind("SONC", "son", "male", "younger", True), 20),
    (CarerKind("FRND", "unrelated friend", "female", "same", False), 10),
    (CarerKind("NBOR", "neighbor", "male", "younger", False), 8),
)
YOUNGER_PERSONS_CARERS: tuple[tuple[CarerKind, int], ...] = (
    (CarerKind("MTH", "mother", "female", "older", True), 3),
    (CarerKind("FTH", "father", "male", "older", True), 1),
)

# Goals and "about me" in the person's own words; {street} and {neighbourhood} are theirs.
OLDER_GOALS = (
    "To keep walking to the shops on {street}",
    "To stay in my own home in {neighbourhood}",
    "Not to go back into hospital this winter",
    "To manage the stairs so I can sleep in my own bed",
    "To keep going to the lunch club at the community centre",
    "To have a bath on my own again",
    "To see my grandchildren on Sundays",
    "To feel less lonely in the evenings",
)
OLDER_ABOUT_ME = (
    "I have lived on {street} for over forty years. I worked in the dockyard until I retired.",
    "I grew up in {neighbourhood}. I was a school cook for thirty years and I love my garden.",
    "I drove the number 7 bus for most of my working life. I like the radio and a crossword.",
    "I was a nurse at St Mary's. My cat Smudge keeps me company.",
    "I came to Portsmouth with the Navy and never left. I like a walk along the seafront.",
)
OLDER_WHAT_MATTERS = (
    "Staying in my own home, and not having to tell every new person my whole story again.",
    "Being able to get to the shops and the church on my own.",
    "My family knowing what is going on, and one person I can ring who knows me.",
    "Keeping my independence. I don't want to go into a home.",
    "Getting out of the house and seeing people. The days are long on my own.",
)
# The register's people: their diagnoses, each with how a person with them might describe
# themselves.
AUTISM = ConditionSpec("408856003", "Autistic disorder", 0, 0, 0)
LEARNING_DISABILITY = ConditionSpec("110359009", "Intellectual disability", 0, 0, 0)
DSR_PROFILES: tuple[tuple[tuple[ConditionSpec, ...], str], ...] = (
    ((AUTISM,),
     "I am autistic. I like trains and I know the timetables from Portsmouth Harbour by heart."),
    ((LEARNING_DISABILITY,),
     "I have a learning disability. I live with my family in {neighbourhood}. I like music."),
    ((AUTISM, LEARNING_DISABILITY),
     "I am autistic and I have a learning disability. Loud places and change make me anxious."),
)  # fmt: skip
YOUNGER_WHAT_MATTERS = (
    "Having the same support workers who know me. Being told about changes before they happen.",
    "Staying at home with my family, not going back into hospital.",
    "Going to college and having my own flat one day.",
)

# Care and support plan activities: what the plan offers, how often, and who provides it.
PLAN_ACTIVITIES: tuple[tuple[str, str, int, str], ...] = (
    ("Phone call from my case manager", "wk", 1, "case-manager"),
    ("Home visit from my case manager to review how things are going", "mo", 1, "case-manager"),
    ("Medication review with the practice pharmacist", "mo", 6, "gp"),
    ("Strength and balance exercises with the community therapy team", "wk", 1, "nurse"),
    ("Check on skin and continence at home by the community nurse", "wk", 2, "nurse"),
)

# The register: each rating with why, and the action plan that goes with it.
DSR_ASSESSMENTS: dict[str, tuple[str, str]] = {
    "red": (
        "Escalating distress at home since the day service closed; two crisis calls this "
        "month and the family carer is exhausted.",
        "Community C(E)TR this week; intensive support team visiting daily; short break "
        "offered to the family.",
    ),
    "amber": (
        "Moving to a new supported living placement next month; risk of the placement "
        "breaking down without a transition plan.",
        "Transition plan agreed with the new provider; keyworker to visit weekly; community "
        "C(E)TR booked.",
    ),
    "green": (
        "Settled with consistent support; risks are managed at home.",
        "Keep the current support package; review on the register each month.",
    ),
    "blue": (
        "Admitted to a mental health hospital out of area in September.",
        "Post-admission C(E)TR held; discharge planning with the home team started.",
    ),
}
DSR_RATINGS = ("red", "amber", "amber", "green", "blue")

# Sensitive information a person may keep from others (v3 ActCode security labels).
MENTAL_HEALTH_LABEL = ("PSY", "psychiatry disorder information sensitivity")
SEXUAL_HEALTH_LABEL = ("SEX", "sexuality and reproductive health information sensitivity")
