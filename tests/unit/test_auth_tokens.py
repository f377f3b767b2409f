"""Bearer-token verification: signatures, issuer, audience, time claims, algorithms, key rotation.

Keys come from the development issuer; the verifier reads them from its file:// JWKS, or from an
issuer's HTTPS endpoint simulated with httpx.MockTransport (the issuer is a third party).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.devissuer import DevIssuer
from shared.auth.scopes import Scope
from shared.auth.tokens import MAX_TOKEN_CHARS, TokenVerifier, bearer_token
from shared.errors import FhirError

ISSUER = "https://auth.test/realms/onestory"
AUDIENCE = "https://onestory.test/fhir"
JWKS_URL = "https://auth.test/realms/onestory/certs"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """The issuer's JWKS endpoint over HTTP, counting fetches and able to fail."""

    def __init__(self, dev: DevIssuer) -> None:
        self.dev = dev
        self.fetches = 0
        self.failing = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.failing:
            return httpx.Response(503, text="down for maintenance")
        return httpx.Response(200, json=self.dev.jwks())

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevIssuer:
    return DevIssuer(tmp_path_factory.mktemp("auth"), ISSUER, AUDIENCE, environment="test")


@pytest.fixture
def fresh_dev(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path, ISSUER, AUDIENCE, environment="test")


@pytest.fixture
def verifier(dev: DevIssuer) -> TokenVerifier:
    return TokenVerifier(ISSUER, AUDIENCE, dev.jwks_url)


def sign(dev: DevIssuer, claims: dict[str, Any], algorithm: str = "RS256") -> str:
    key = dev.signing_key(algorithm)
    return jwt.encode(claims, key.private_key, algorithm=algorithm, headers={"kid": key.kid})


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "exp": now + 600, "iat": now}
    return {**claims, **changes}


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(claims)}."


async def refusal(verifier: TokenVerifier, token: str) -> FhirError:
    with pytest.raises(FhirError) as caught:
        await verifier.verify(token)
    error = caught.value
    assert error.status == 401
    assert error.code == "login"
    challenge = error.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert token not in error.diagnostics and token not in challenge
    return error


async def test_given_a_valid_rs256_token_when_verified_then_the_principal_carries_its_claims(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(
        scope="user/*.rs openid fhirUser",
        subject="alice",
        client_id="team-app",
        fhir_user="Practitioner/123",
        organization="Organization/abc",
    )

    principal = await verifier.verify(token)

    assert principal.subject == "alice"
    assert principal.client_id == "team-app"
    assert principal.scopes == (Scope("user", "*", frozenset("rs")),)
    assert principal.other_scopes == {"openid", "fhirUser"}
    assert principal.fhir_user == "Practitioner/123"
    assert principal.organization == "Organization/abc"
    assert principal.patient is None
    assert principal.claims["iss"] == ISSUER
    assert principal.allows("Observation", "s") is not None
    assert principal.allows("Observation", "c") is None


async def test_given_a_patient_token_when_verified_then_the_patient_claim_is_carried(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="patient/*.rs launch/patient", patient="pat-42")

    principal = await verifier.verify(token)

    assert principal.patient == "pat-42"
    assert principal.scopes[0].context == "patient"


async def test_given_an_es256_token_when_verified_then_it_is_accepted(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="system/*.cruds", algorithm="ES256")

    principal = await verifier.verify(token)

    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert principal.allows("Task", "c") is not None


async def test_given_a_token_signed_by_another_key_when_verified_then_401_says_signature(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = dev.signing_key("RS256").kid
    token = jwt.encode(good_claims(), impostor, algorithm="RS256", headers={"kid": kid})

    error = await refusal(verifier, token)

    assert error.diagnostics == "The token's signature does not verify"


async def test_given_a_tampered_payload_when_verified_then_401_says_signature(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    header, _, signature = dev.issue(scope="patient/*.rs", patient="a").split(".")
    forged_claims = good_claims(scope="system/*.cruds")
    payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()

    error = await refusal(verifier, f"{header}.{payload}.{signature}")

    assert error.diagnostics == "The token's signature does not verify"


async def test_given_a_token_from_another_issuer_when_verified_then_401_names_the_issuer(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"iss": "https://elsewhere.test"})

    error = await refusal(verifier, token)

    assert error.diagnostics == f"The token was not issued by {ISSUER}"


async def test_given_a_token_for_another_audience_when_verified_then_401_names_the_audience(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"aud": "https://other.test/fhir"})

    error = await refusal(verifier, token)

    assert error.diagnostics == f"The token is not meant for this server (audience {AUDIENCE})"


async def test_given_an_audience_list_naming_this_server_when_verified_then_it_is_accepted(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"aud": ["https://other.test", AUDIENCE]})

    assert (await verifier.verify(token)).subject == "dev-user"


async def test_given_expired_token_when_verified_then_401_says_expired(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"exp": int(time.time()) - 120})

    error = await refusal(verifier, token)

    assert error.diagnostics == "The token has expired"
    assert 'error_description="The token has expired"' in error.headers["WWW-Authenticate"]


async def test_given_a_token_just_past_expiry_when_verified_then_the_leeway_accepts_it(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"exp": int(time.time()) - 5})

    assert (await verifier.verify(token)).subject == "dev-user"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_given_a_token_not_yet_valid_when_verified_then_401_says_not_valid_yet(
    dev: DevIssuer, verifier: TokenVerifier, claim: str
) -> None:
    token = dev.issue(scope="user/*.rs", extra={claim: int(time.time()) + 600})

    error = await refusal(verifier, token)

    assert error.diagnostics.startswith("The token is not valid yet")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
async def test_given_a_token_without_a_required_claim_when_verified_then_401_names_it(
    dev: DevIssuer, verifier: TokenVerifier, claim: str
) -> None:
    claims = good_claims()
    del claims[claim]

    error = await refusal(verifier, sign(dev, claims))

    assert error.diagnostics == f"The token has no '{claim}' claim"


async def test_given_alg_none_when_verified_then_401_says_algorithm_not_accepted(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = unsigned({"alg": "none", "kid": dev.signing_key().kid}, good_claims())

    error = await refusal(verifier, token)

    assert error.diagnostics == "The token's signing algorithm is not accepted; use RS256, ES256"


async def test_given_an_hs256_token_when_verified_then_401_says_algorithm_not_accepted(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    secret = "a shared secret that is long enough for HMAC-SHA256"
    headers = {"kid": dev.signing_key().kid}
    token = jwt.encode(good_claims(), secret, algorithm="HS256", headers=headers)

    error = await refusal(verifier, token)

    assert "signing algorithm is not accepted" in error.diagnostics


def test_given_a_symmetric_algorithm_when_a_verifier_is_built_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        TokenVerifier(ISSUER, AUDIENCE, JWKS_URL, algorithms=("RS256", "HS256"))


async def test_given_an_algorithm_not_matching_the_key_when_verified_then_401(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    ec_key = dev.signing_key("ES256").private_key
    headers = {"kid": dev.signing_key("RS256").kid}
    token = jwt.encode(good_claims(), ec_key, algorithm="ES256", headers=headers)

    error = await refusal(verifier, token)

    assert error.diagnostics == "The token's signing algorithm does not match its key"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jwt", "The token is not a well-formed JWT"),
        ("a.b.c", "The token is not a well-formed JWT"),
        ("x" * (MAX_TOKEN_CHARS + 1), f"The token is longer than {MAX_TOKEN_CHARS} characters"),
    ],
)
async def test_given_a_malformed_token_when_verified_then_401_says_so(
    verifier: TokenVerifier, token: str, reason: str
) -> None:
    error = await refusal(verifier, token)

    assert error.diagnostics == reason


async def test_given_a_token_without_kid_when_verified_then_401_says_no_key_id(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = jwt.encode(good_claims(), dev.signing_key().private_key, algorithm="RS256")

    error = await refusal(verifier, token)

    assert error.diagnostics == "The token has no key id (kid) in its header"


async def test_given_scopes_as_an_scp_list_when_verified_then_they_are_read(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    token = sign(dev, good_claims(scp=["user/Patient.rs", "openid"]))

    principal = await verifier.verify(token)

    assert principal.scopes == (Scope("user", "Patient", frozenset("rs")),)
    assert principal.other_scopes == {"openid"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scope": 7}, "The token's scope claim must be a space-separated string"),
        ({"patient": 42}, "The token's patient claim must be a non-empty string"),
        ({"fhirUser": ""}, "The token's fhirUser claim must be a non-empty string"),
        ({"sub": None}, "The token names neither a subject (sub) nor a client (client_id)"),
    ],
)
async def test_given_a_smart_claim_of_the_wrong_shape_when_verified_then_401_names_it(
    dev: DevIssuer, verifier: TokenVerifier, changes: dict[str, Any], reason: str
) -> None:
    claims = {k: v for k, v in good_claims(**changes).items() if v is not None}

    error = await refusal(verifier, sign(dev, claims))

    assert error.diagnostics == reason


async def test_given_a_client_credentials_token_when_verified_then_azp_names_the_client(
    dev: DevIssuer, verifier: TokenVerifier
) -> None:
    claims = good_claims(azp="triage-service", scope="system/*.cruds")
    del claims["sub"]

    principal = await verifier.verify(sign(dev, claims))

    assert principal.client_id == "triage-service"
    assert principal.subject == "triage-service"


async def test_given_unknown_kid_when_the_issuer_rotates_then_the_new_key_is_picked_up(
    fresh_dev: DevIssuer,
) -> None:
    clock = Clock()
    verifier = TokenVerifier(ISSUER, AUDIENCE, fresh_dev.jwks_url, clock=clock)
    old_token = fresh_dev.issue(scope="user/*.rs")
    await verifier.verify(old_token)
    fresh_dev.rotate("RS256")
    new_token = fresh_dev.issue(scope="user/*.rs")
    clock.now += 9
    await refusal(verifier, new_token)  # the keys were fetched under 10 s ago
    clock.now += 1

    principal = await verifier.verify(new_token)

    assert principal.subject == "dev-user"
    assert (await verifier.verify(old_token)).subject == "dev-user"
    assert len(verifier.keys.key_ids) == 3


async def test_given_a_flood_of_unknown_kids_when_verified_then_the_issuer_is_asked_rarely(
    dev: DevIssuer,
) -> None:
    clock, issuer = Clock(), Issuer(dev)
    async with issuer.client() as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, JWKS_URL, http=http, clock=clock)
        forged = [sign_with_kid(dev, f"made-up-{n}") for n in range(50)]
        for token in forged:
            error = await refusal(verifier, token)
        clock.now += 10
        for token in forged:
            await refusal(verifier, token)

    assert issuer.fetches == 2
    assert error.diagnostics.endswith("a key the issuer does not publish (made-up-49)")


def sign_with_kid(dev: DevIssuer, kid: str) -> str:
    key = dev.signing_key("RS256").private_key
    return jwt.encode(good_claims(), key, algorithm="RS256", headers={"kid": kid})


async def test_given_an_https_jwks_when_verified_then_keys_are_fetched_once_and_cached(
    dev: DevIssuer,
) -> None:
    clock, issuer = Clock(), Issuer(dev)
    async with issuer.client() as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, JWKS_URL, http=http, clock=clock)
        for algorithm in ("RS256", "ES256", "RS256"):
            await verifier.verify(dev.issue(scope="user/*.rs", algorithm=algorithm))
        clock.now += 300
        await verifier.verify(dev.issue(scope="user/*.rs"))

    assert issuer.fetches == 2  # the first use, then once the cache was 300 s old


async def test_given_the_issuer_down_at_first_use_when_verified_then_503_not_401(
    dev: DevIssuer,
) -> None:
    issuer = Issuer(dev)
    issuer.failing = True
    async with issuer.client() as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, JWKS_URL, http=http, clock=Clock())
        with pytest.raises(FhirError) as caught:
            await verifier.verify(dev.issue(scope="user/*.rs"))

    assert caught.value.status == 503
    assert caught.value.diagnostics.startswith("The token issuer's signing keys could not be")


async def test_given_the_issuer_down_after_keys_were_loaded_when_verified_then_cached_keys_serve(
    dev: DevIssuer,
) -> None:
    clock, issuer = Clock(), Issuer(dev)
    async with issuer.client() as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, JWKS_URL, http=http, clock=clock)
        await verifier.verify(dev.issue(scope="user/*.rs"))
        issuer.failing = True
        clock.now += 301

        principal = await verifier.verify(dev.issue(scope="user/*.rs"))

    assert principal.subject == "dev-user"
    assert issuer.fetches == 2


async def test_given_a_removed_key_when_the_cache_expires_then_its_tokens_are_refused(
    fresh_dev: DevIssuer,
) -> None:
    clock = Clock()
    verifier = TokenVerifier(ISSUER, AUDIENCE, fresh_dev.jwks_url, clock=clock)
    old_kid = fresh_dev.signing_key().kid
    old_token = fresh_dev.issue(scope="user/*.rs")
    await verifier.verify(old_token)
    fresh_dev.rotate()
    fresh_dev.remove(old_kid)
    clock.now += 300

    error = await refusal(verifier, old_token)

    assert "does not publish" in error.diagnostics


async def test_given_a_missing_jwks_file_when_verified_then_503(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.json").as_uri()
    verifier = TokenVerifier(ISSUER, AUDIENCE, url)

    with pytest.raises(FhirError) as caught:
        await verifier.verify(unsigned({"alg": "RS256", "kid": "k"}, good_claims()))

    assert caught.value.status == 503


async def test_given_a_jwks_with_a_shared_secret_key_when_loaded_then_that_key_is_ignored(
    tmp_path: Path,
) -> None:
    secret = "a shared secret that is long enough for HMAC-SHA256"
    k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    jwks = {"keys": [{"kty": "oct", "kid": "secret", "k": k}]}
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    verifier = TokenVerifier(ISSUER, AUDIENCE, (tmp_path / "jwks.json").as_uri())
    token = jwt.encode(good_claims(), secret, algorithm="HS256", headers={"kid": "secret"})

    await refusal(verifier, token)
    await verifier.keys.refresh()

    assert verifier.keys.key_ids == frozenset()


def test_given_an_unsupported_jwks_url_when_a_verifier_is_built_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="https://, http:// or file://"):
        TokenVerifier(ISSUER, AUDIENCE, "ftp://auth.test/jwks.json")


def test_given_a_bearer_header_when_read_then_the_token_is_answered() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer abc.def-_ghi") == "abc.def-_ghi"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_given_no_authorization_header_when_read_then_401_with_a_bearer_challenge(
    header: str | None,
) -> None:
    with pytest.raises(FhirError) as caught:
        bearer_token(header)

    assert caught.value.status == 401
    assert caught.value.code == "login"
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"])
def test_given_a_malformed_authorization_header_when_read_then_401_invalid_request(
    header: str,
) -> None:
    with pytest.raises(FhirError) as caught:
        bearer_token(header)

    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert "dXNlcjpwYXNz" not in caught.value.diagnostics


async def test_given_cold_verifier_when_many_tokens_arrive_at_once_then_all_wait_for_one_fetch(
    dev: DevIssuer,
) -> None:
    verifier = TokenVerifier(ISSUER, AUDIENCE, dev.jwks_url)
    tokens = [sign(dev, good_claims(sub=f"u{n}")) for n in range(20)]
    principals = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert [p.subject for p in principals] == [f"u{n}" for n in range(20)]


async def test_given_a_remembered_token_when_its_key_is_withdrawn_then_it_works_only_a_minute(
    fresh_dev: DevIssuer,
) -> None:
    clock = Clock()
    verifier = TokenVerifier(ISSUER, AUDIENCE, fresh_dev.jwks_url, clock=clock, remember_seconds=60)
    old_kid = fresh_dev.signing_key().kid
    token = fresh_dev.issue(scope="user/*.rs")
    await verifier.verify(token)
    fresh_dev.rotate()
    fresh_dev.remove(old_kid)

    clock.now += 59
    remembered = await verifier.verify(token)
    clock.now += 301
    error = await refusal(verifier, token)

    assert remembered.scopes == (Scope("user", "*", frozenset("rs")),)
    assert "does not publish" in error.diagnostics
