"""Reference tables for the Portsmouth demo population (see ``demo.py``).

Everything here is fictional except the public names and ODS codes of the two NHS trusts and
the council, the hospital sites and the street names. GP practice names and codes are invented
(the codes are ODS-shaped, in the J82 Hampshire range, and must not be taken for real ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.fhir import terms

REFERENCE_DATE = date(2026, 11, 1)

ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
GMC_SYSTEM = "https://fhir.hl7.org.uk/Id/gmc-number"
NMC_SYSTEM = "https://fhir.hl7.org.uk/Id/nmc-number"
# Every demo resource also carries this identifier, so a reload can create it conditionally.
DEMO_SYSTEM = "https://onestory.example.nhs.uk/Id/demo-resource"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = terms.ACT_CODE
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"


@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    ods_code: str | None
    org_type: str  # organization-type code: prov | govt
    line: str
    district: str  # the neighbourhood the address is in
    postcode: str


ACUTE_TRUST = OrgSpec(
    "acute", "Portsmouth Hospitals University NHS Trust", "RHU", "prov",
    "Queen Alexandra Hospital, Southwick Hill Road", "Cosham", "PO6 3LY",
)  # fmt: skip
COMMUNITY_TRUST = OrgSpec(
    "community", "Solent NHS Trust", "R1C", "prov",
    "St Mary's Community Health Campus, Milton Road", "Milton", "PO3 6DW",
)  # fmt: skip
COUNCIL = OrgSpec(
    "council", "Portsmouth City Council", None, "govt", "Civic Offices, Guildhall Square",
    "Portsmouth", "PO1 2AL",
)  # fmt: skip

GP_PRACTICES: tuple[OrgSpec, ...] = (
    OrgSpec("gp-southsea", "Southsea Green Medical Centre", "J82901", "prov",
            "14 Elm Grove", "Southsea", "PO5 1JG"),
    OrgSpec("gp-fratton", "Fratton Park Surgery", "J82902", "prov",
            "220 Fratton Road", "Fratton", "PO1 5HH"),
    OrgSpec("gp-cosham", "Cosham Health Practice", "J82903", "prov",
            "41 High Street", "Cosham", "PO6 3AX"),
    OrgSpec("gp-drayton", "Drayton Lane Surgery", "J82904", "prov",
            "8 Drayton Lane", "Drayton", "PO6 1HG"),
    OrgSpec("gp-paulsgrove", "Paulsgrove Family Doctors", "J82905", "prov",
            "2 Allaway Avenue", "Paulsgrove", "PO6 4QP"),
    OrgSpec("gp-landport", "Landport Community Practice", "J82906", "prov",
            "17 Arundel Street", "Landport", "PO1 1NR"),
    OrgSpec("gp-milton", "Milton and Eastney Medical Group", "J82907", "prov",
            "301 Milton Road", "Milton", "PO4 8PR"),
)  # fmt: skip


@dataclass(frozen=True)
class LocationSpec:
    key: str
    name: str
    org_key: str
    line: str
    postcode: str
    hospital: bool


LOCATIONS: tuple[LocationSpec, ...] = (
    LocationSpec("qa", "Queen Alexandra Hospital", "acute", "Southwick Hill Road, Cosham",
                 "PO6 3LY", True),
    LocationSpec("st-marys", "St Mary's Community Health Campus", "community", "Milton Road",
                 "PO3 6DW", False),
)  # fmt: skip


@dataclass(frozen=True)
class StaffSpec:
    """A kind of practitioner: where they work, what they do and their registration body."""

    kind: str
    role_code: str  # practitioner-role code
    role_text: str
    registration_system: str


GP = StaffSpec("gp", "doctor", "General practitioner", GMC_SYSTEM)
COMMUNITY_NURSE = StaffSpec("nurse", "nurse", "Community nurse", NMC_SYSTEM)
CASE_MANAGER = StaffSpec("case-manager", "nurse", "Case manager", NMC_SYSTEM)
GERIATRICIAN = StaffSpec("geriatrician", "doctor", "Consultant geriatrician", GMC_SYSTEM)

# (street, neighbourhood, postcode district); the street names are real Portsmouth streets.
STREETS: tuple[tuple[str, str, str], ...] = (
    ("Albert Road", "Southsea", "PO5"), ("Elm Grove", "Southsea", "PO5"),
    ("Marmion Road", "Southsea", "PO5"), ("Lawrence Road", "Southsea", "PO5"),
    ("Fratton Road", "Fratton", "PO1"), ("Lake Road", "Landport", "PO1"),
    ("Arundel Street", "Landport", "PO1"), ("Queen Street", "Portsea", "PO1"),
    ("Kingston Road", "North End", "PO2"), ("London Road", "North End", "PO2"),
    ("Stubbington Avenue", "North End", "PO2"), ("Powerscourt Road", "North End", "PO2"),
    ("Copnor Road", "Copnor", "PO3"), ("Tangier Road", "Baffins", "PO3"),
    ("Baffins Road", "Baffins", "PO3"), ("Highland Road", "Eastney", "PO4"),
    ("Eastney Road", "Eastney", "PO4"), ("Winter Road", "Milton", "PO4"),
    ("Goldsmith Avenue", "Milton", "PO4"), ("Locksway Road", "Milton", "PO4"),
    ("Northern Road", "Cosham", "PO6"), ("Medina Road", "Cosham", "PO6"),
    ("Havant Road", "Drayton", "PO6"), ("Drayton Lane", "Drayton", "PO6"),
    ("Allaway Avenue", "Paulsgrove", "PO6"), ("Marsden Road", "Paulsgrove", "PO6"),
)  # fmt: skip

# The practice people in a neighbourhood usually register with; others pick at random.
NEIGHBOURHOOD_PRACTICE: dict[str, str] = {
    "Southsea": "gp-southsea", "Fratton": "gp-fratton", "Landport": "gp-landport",
    "Portsea": "gp-landport", "Cosham": "gp-cosham", "Drayton": "gp-drayton",
    "Paulsgrove": "gp-paulsgrove", "Eastney": "gp-milton", "Milton": "gp-milton",
    "Baffins": "gp-milton", "Copnor": "gp-fratton", "North End": "gp-cosham",
}  # fmt: skip

# Given names by sex and generation: people born before about 1960 and after.
OLDER_FEMALE = (
    "Margaret", "Jean", "Patricia", "Barbara", "Joan", "Sheila", "Brenda", "Doreen",
    "Maureen", "Eileen", "Valerie", "Pauline", "Sylvia", "Irene", "Christine", "Shirley",
)  # fmt: skip
OLDER_MALE = (
    "John", "David", "Michael", "Peter", "Robert", "Brian", "Kenneth", "Alan", "Derek",
    "Terence", "Raymond", "Roy", "Keith", "Colin", "Dennis", "Anthony",
)  # fmt: skip
YOUNGER_FEMALE = (
    "Emma", "Sarah", "Laura", "Charlotte", "Amy", "Rebecca", "Gemma", "Hannah", "Aisha",
    "Priya", "Agnieszka", "Shamima",
)  # fmt: skip
YOUNGER_MALE = (
    "James", "Daniel", "Thomas", "Matthew", "Ryan", "Liam", "Mohammed", "Anil", "Tomasz",
    "Wei", "Callum", "Jordan",
)  # fmt: skip
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Hughes", "Edwards", "Turner", "Cooper", "Hill", "Ward",
    "Harris", "Baker", "Price", "Moore", "King", "Ahmed", "Hussain", "Rahman", "Patel", "Chen",
    "Nowak", "Gurung",
)  # fmt: skip


@dataclass(frozen=True)
class ConditionSpec:
    code: str  # SNOMED CT concept id
    display: str
    weight_older: int  # relative likelihood for people aged 65 and over
    weight_younger: int  # ... and for younger adults
    frailty: int  # how much it adds to the crude frailty score used to pick admissions


CONDITIONS: tuple[ConditionSpec, ...] = (
    ConditionSpec("38341003", "Hypertensive disorder, systemic arterial", 30, 10, 0),
    ConditionSpec("44054006", "Diabetes mellitus type 2", 15, 8, 1),
    ConditionSpec("396275006", "Osteoarthritis", 18, 3, 1),
    ConditionSpec("49436004", "Atrial fibrillation", 10, 1, 1),
    ConditionSpec("709044004", "Chronic kidney disease", 10, 1, 1),
    ConditionSpec("13645005", "Chronic obstructive lung disease", 8, 3, 2),
    ConditionSpec("84114007", "Heart failure", 7, 1, 2),
    ConditionSpec("15188001", "Hearing loss", 12, 1, 1),
    ConditionSpec("193570009", "Cataract", 10, 1, 0),
    ConditionSpec("35489007", "Depressive disorder", 6, 10, 1),
    ConditionSpec("48694002", "Anxiety", 4, 10, 0),
    ConditionSpec("195967001", "Asthma", 4, 10, 0),
    ConditionSpec("26929004", "Alzheimer's disease", 6, 0, 3),
    ConditionSpec("129839007", "At risk for falls", 8, 0, 2),
    ConditionSpec("161898004", "Falls", 6, 0, 3),
    ConditionSpec("69896004", "Rheumatoid arthritis", 3, 2, 1),
    ConditionSpec("64859006", "Osteoporosis", 7, 1, 1),
    ConditionSpec("230690007", "Cerebrovascular accident", 4, 0, 2),
    ConditionSpec("49049000", "Parkinson's disease", 2, 0, 2),
    ConditionSpec("165232002", "Urinary incontinence", 6, 1, 2),
    ConditionSpec("40930008", "Hypothyroidism", 5, 3, 0),
)

DIABETES = "44054006"
HYPERTENSION = "38341003"
ATRIAL_FIBRILLATION = "49436004"
