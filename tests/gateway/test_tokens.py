"""Bearer tokens at the front door: what is refused (401), what a token's scopes allow (403
otherwise), in each scope form: system/, user/ and patient/, v2 .cruds subsets and v1 .read/.write.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
import pytest

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, patient, unique
from tests.support.gateway import (
    about_me,
    by,
    create,
    episode_of_care,
    matches,
    new_person,
    new_staff,
    resident_token,
    wait_for_audit,
)
from tests.support.services import RunningService

BadToken = Callable[[DevIssuer, DevIssuer], str]


def _claims(issuer: DevIssuer, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "intruder",
        "client_id": "intruder-app",
        "scope": "system/*.cruds",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(changes)
    return claims


def _forged(issuer: DevIssuer, stranger: DevIssuer) -> str:
    """Claims the trusted key signed it (its kid) but a stranger's key did."""
    key = stranger.signing_key()
    kid = issuer.signing_key().kid
    return jwt.encode(_claims(issuer), key.private_key, algorithm="RS256", headers={"kid": kid})


def _unsigned(issuer: DevIssuer, stranger: DevIssuer) -> str:
    kid = issuer.signing_key().kid
    return jwt.encode(_claims(issuer), None, algorithm="none", headers={"kid": kid})


BAD_TOKENS: dict[str, tuple[BadToken, str]] = {
    "another issuer's key": (
        lambda issuer, stranger: stranger.issue(scope="system/*.cruds"),
        "key the issuer does not publish",
    ),
    "bad signature": (_forged, "signature does not verify"),
    "unsigned (alg none)": (_unsigned, "algorithm is not accepted"),
    "wrong issuer": (
        lambda issuer, _: issuer.issue(scope="system/*.cruds", extra={"iss": "https://evil"}),
        "not issued by",
    ),
    "wrong audience": (
        lambda issuer, _: issuer.issue(
            scope="system/*.cruds", extra={"aud": "https://other.example/fhir"}
        ),
        "not meant for this server",
    ),
    "expired": (
        lambda issuer, _: issuer.issue(scope="system/*.cruds", lifetime_seconds=-120),
        "expired",
    ),
    "not yet valid": (
        lambda issuer, _: issuer.issue(
            scope="system/*.cruds",
            extra={"nbf": int(time.time()) + 600, "iat": int(time.time()) + 600},
        ),
        "not valid yet",
    ),
    "not a JWT": (lambda issuer, _: "not-a.real-token", "not a well-formed JWT"),
}


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory, issuer: DevIssuer) -> DevIssuer:
    """A development issuer the gateway has never heard of (same names, other keys)."""
    folder: Path = tmp_path_factory.mktemp("stranger")
    return DevIssuer(folder, issuer.issuer, issuer.audience, environment="test")


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_given_unacceptable_token_when_searching_then_401_with_reason(
    case: str,
    gateway: RunningService,
    issuer: DevIssuer,
    stranger: DevIssuer,
) -> None:
    make, reason = BAD_TOKENS[case]
    async with gateway_client(gateway, make(issuer, stranger)) as client:
        answer = await client.get("Patient", params={"family": unique()})
    assert answer.status_code == 401, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert reason in outcome["issue"][0]["diagnostics"]
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and "invalid_token" in challenge


async def test_given_es256_token_when_reading_then_accepted(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await create(front_door, patient())
    token = issuer.issue(scope="system/Patient.rs", client_id="es256-app", algorithm="ES256")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    async with gateway_client(gateway, token) as client:
        answer = await client.get(f"Patient/{person['id']}")
    assert answer.status_code == 200, answer.text


async def test_given_token_without_the_scope_when_reading_then_403_naming_it_and_audited(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await create(front_door, patient())
    client_id = unique("labs-app-")
    token = issuer.issue(scope="system/Observation.rs", subject=client_id, client_id=client_id)
    async with gateway_client(gateway, token) as client:
        answer = await client.get(f"Patient/{person['id']}")
    assert answer.status_code == 403, answer.text
    assert "read Patient" in answer.json()["issue"][0]["diagnostics"]
    await wait_for_audit(front_door, person["id"], by(client_id, outcome="4"))


async def test_given_token_with_only_openid_scopes_when_searching_then_403(
    gateway: RunningService, issuer: DevIssuer
) -> None:
    token = issuer.issue(scope="openid fhirUser launch", fhir_user="Practitioner/x")
    async with gateway_client(gateway, token) as client:
        answer = await client.get("Observation", params={"code": unique()})
    assert answer.status_code == 403, answer.text


# --- each scope form: what it lets a caller do, and what it does not ------------------------

# What each scope lets a caller do (True) and refuses with 403 (False). patient/ scopes act for
# the person, user/ scopes for a member of staff with a legitimate relationship with the person
# (their care manager), system/ scopes for a service.
SCOPES: dict[str, dict[str, bool]] = {
    "system/Patient.r": {"read Patient": True, "search Patient": False, "create Patient": False},
    "system/Patient.rs": {"search Patient": True, "read Observation": False},
    "system/Patient.c": {"create Patient": True, "read Patient": False},
    "system/Patient.u": {"update Patient": True, "create Patient": False},
    "system/Observation.d": {"read Observation": False, "delete Observation": True},
    "system/*.read": {
        "read Observation": True,
        "search Observation": True,
        "create Observation": False,
    },
    "system/*.write": {
        "read Patient": False,
        "search Patient": False,
        "create Observation": True,
        "update Patient": True,
        "delete Observation": True,
    },
    "user/Patient.r": {"read Patient": True, "read Observation": False},
    "user/Observation.rs": {
        "read Patient": False,
        "read Observation": True,
        "search Observation": True,
        "create Observation": False,
    },
    "user/Observation.cu": {"create Observation": True, "search Observation": False},
    "user/*.read": {"read Patient": True, "search Observation": True, "update Patient": False},
    "user/*.write": {
        "read Observation": False,
        "create Observation": True,
        "delete Observation": True,
    },
    "user/*.cruds": {"update Patient": True, "search Patient": True},
    "patient/Observation.rs": {
        "read Patient": False,
        "read Observation": True,
        "search Observation": True,
    },
    "patient/Patient.r": {"read Patient": True, "search Patient": False},
    "patient/*.read": {"search Patient": True, "create QuestionnaireResponse": False},
    "patient/*.write": {"read Observation": False, "create QuestionnaireResponse": True},
    "patient/QuestionnaireResponse.c": {
        "create Observation": False,
        "create QuestionnaireResponse": True,
    },
    "patient/*.cruds": {"update Patient": True, "delete Observation": True},
}


async def _act(client: httpx.AsyncClient, action: str, patient_id: str, obs_id: str) -> int:
    mine = f"Patient/{patient_id}"
    calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "read Patient": lambda: client.get(mine),
        "search Patient": lambda: client.get("Patient", params={"_id": patient_id}),
        "create Patient": lambda: client.post("Patient", json=patient()),
        "update Patient": lambda: client.put(mine, json=patient(id=patient_id, given="Peggy")),
        "read Observation": lambda: client.get(f"Observation/{obs_id}"),
        "search Observation": lambda: client.get("Observation", params={"subject": mine}),
        "create Observation": lambda: client.post("Observation", json=observation(patient_id)),
        "delete Observation": lambda: client.delete(f"Observation/{obs_id}"),
        "create QuestionnaireResponse": lambda: client.post(
            "QuestionnaireResponse", json=about_me(patient_id)
        ),
    }
    answer = await calls[action]()
    if answer.status_code not in (200, 201, 204, 403):
        raise AssertionError(f"{action}: {answer.status_code} {answer.text}")
    if action.startswith("search") and answer.status_code == 200:
        assert matches(answer.json()), f"{action} found nothing it was allowed to"
    return answer.status_code


@pytest.mark.parametrize("scope", list(SCOPES))
async def test_given_scope_when_acting_then_allowed_only_what_it_grants(
    scope: str,
    front_door: httpx.AsyncClient,
    gateway: RunningService,
    issuer: DevIssuer,
) -> None:
    person = await new_person(front_door)
    if scope.startswith("patient/"):
        token = resident_token(issuer, person.id, scope=scope)
    elif scope.startswith("user/"):
        staff = await new_staff(front_door, issuer, scope=scope)
        await create(front_door, episode_of_care(person.id, care_manager=staff.reference))
        token = staff.token
    else:
        token = issuer.issue(scope=scope, client_id=unique("service-"))
    outcomes = {}
    async with gateway_client(gateway, token) as client:
        for action in SCOPES[scope]:  # deletes come last
            outcomes[action] = await _act(client, action, person.id, person.observation["id"])
    expected = {a: ("allowed" if ok else "403") for a, ok in SCOPES[scope].items()}
    assert {a: ("403" if s == 403 else "allowed") for a, s in outcomes.items()} == expected
