"""The development token issuer, its key files and rotation, the settings that point at it, and
the ``onestory token`` command.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest

from shared.auth import devissuer
from shared.auth.devissuer import DevIssuer
from shared.auth.tokens import TokenVerifier
from shared.cli import main
from shared.settings import Settings

ISSUER = "http://127.0.0.1:8080/auth"
AUDIENCE = "http://127.0.0.1:8080/fhir"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def dev(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path, ISSUER, AUDIENCE, environment="test")


def test_given_a_new_data_folder_when_started_then_private_keys_are_kept_owner_only(
    dev: DevIssuer, tmp_path: Path
) -> None:
    folder = tmp_path / "dev-issuer"
    pems = sorted(path.name for path in folder.glob("*.pem"))

    assert pems == ["ES256-0001.pem", "RS256-0001.pem"]
    assert all(mode(folder / name) == 0o600 for name in pems)
    assert mode(folder) == 0o700


def test_given_a_started_issuer_when_its_jwks_is_read_then_it_has_public_signing_keys_only(
    dev: DevIssuer,
) -> None:
    keys = dev.jwks()["keys"]

    assert sorted((key["kty"], key["alg"], key["use"]) for key in keys) == [
        ("EC", "ES256", "sig"),
        ("RSA", "RS256", "sig"),
    ]
    assert all(key["kid"] and "d" not in key for key in keys)
    assert json.loads(dev.jwks_path.read_text()) == dev.jwks()
    assert dev.jwks_url.startswith("file:///") and dev.jwks_url.endswith("/jwks.json")


def test_given_keys_on_disk_when_started_again_then_they_are_reused(
    dev: DevIssuer, tmp_path: Path
) -> None:
    again = DevIssuer(tmp_path, ISSUER, AUDIENCE, environment="development")

    assert again.jwks() == dev.jwks()


@pytest.mark.parametrize("environment", ["production", "staging", ""])
def test_given_an_environment_other_than_development_or_test_then_the_issuer_refuses(
    tmp_path: Path, environment: str
) -> None:
    with pytest.raises(RuntimeError, match="off outside development and test"):
        DevIssuer(tmp_path, ISSUER, AUDIENCE, environment=environment)

    assert not (tmp_path / "dev-issuer").exists()


def test_given_claims_when_issued_then_the_token_carries_them(dev: DevIssuer) -> None:
    token = dev.issue(
        scope="patient/*.rs",
        subject="resident-1",
        patient="pat-1",
        fhir_user="Patient/pat-1",
        organization="Organization/pcc",
        lifetime_seconds=120,
        extra={"purpose": "test"},
    )

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["kid"] == dev.signing_key("RS256").kid
    assert header["typ"] == "at+jwt"
    assert claims["exp"] - claims["iat"] == 120
    assert {k: claims[k] for k in ("iss", "aud", "sub", "client_id", "scope")} == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "resident-1",
        "client_id": "onestory-dev",
        "scope": "patient/*.rs",
    }
    assert (claims["patient"], claims["fhirUser"], claims["organization"]) == (
        "pat-1",
        "Patient/pat-1",
        "Organization/pcc",
    )
    assert claims["purpose"] == "test"


def test_given_an_unsupported_algorithm_when_issuing_then_it_is_refused(dev: DevIssuer) -> None:
    with pytest.raises(ValueError, match="RS256, ES256 only"):
        dev.issue(scope="user/*.rs", algorithm="HS256")


def test_given_a_rotation_then_the_new_key_signs_and_the_old_stays_published(
    dev: DevIssuer,
) -> None:
    old = dev.signing_key("RS256").kid

    new = dev.rotate("RS256")

    published = {key["kid"] for key in json.loads(dev.jwks_path.read_text())["keys"]}
    assert new != old
    assert {old, new} <= published
    assert jwt.get_unverified_header(dev.issue(scope="user/*.rs"))["kid"] == new


def test_given_a_removed_key_then_it_is_no_longer_published(dev: DevIssuer) -> None:
    old = dev.signing_key("ES256").kid
    dev.rotate("ES256")

    dev.remove(old)

    assert old not in {key["kid"] for key in dev.jwks()["keys"]}
    assert len(dev.jwks()["keys"]) == 2


def test_given_the_last_key_of_an_algorithm_removed_then_a_fresh_one_is_made(
    dev: DevIssuer,
) -> None:
    old = dev.signing_key("RS256").kid

    dev.remove(old)

    assert dev.signing_key("RS256").kid != old


def test_given_default_settings_then_the_jwks_url_is_the_dev_issuers_file(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, environment="test")

    issuer = DevIssuer.from_settings(settings)

    assert settings.effective_jwks_url() == issuer.jwks_url
    assert devissuer.FOLDER_NAME in issuer.jwks_url
    assert (issuer.issuer, issuer.audience) == (settings.auth_issuer, settings.auth_audience)


def test_given_a_configured_jwks_url_then_it_is_used() -> None:
    settings = Settings(environment="production", auth_jwks_url="https://kc.test/certs")

    assert settings.effective_jwks_url() == "https://kc.test/certs"


def test_given_production_without_a_jwks_url_then_settings_refuse_to_guess() -> None:
    with pytest.raises(ValueError, match="ONESTORY_AUTH_JWKS_URL"):
        Settings(environment="production").effective_jwks_url()


async def test_given_the_token_command_then_it_prints_a_token_the_verifier_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_ENVIRONMENT", raising=False)
    monkeypatch.delenv("ONESTORY_AUTH_JWKS_URL", raising=False)
    arguments = ["--patient", "p1", "--user", "Practitioner/9", "--organization", "Organization/o"]

    status = main(["token", "--scope", "user/*.cruds", *arguments, "--lifetime", "60"])

    token = capsys.readouterr().out.strip()
    settings = Settings()
    verifier = TokenVerifier(
        settings.auth_issuer, settings.auth_audience, settings.effective_jwks_url()
    )
    principal = await verifier.verify(token)
    assert status == 0
    assert (principal.patient, principal.fhir_user) == ("p1", "Practitioner/9")
    assert principal.organization == "Organization/o"
    assert principal.allows("Patient", "d") is not None


def test_given_production_when_the_token_command_runs_then_it_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_ENVIRONMENT", "production")

    status = main(["token", "--scope", "system/*.cruds"])

    output = capsys.readouterr()
    assert status == 2
    assert output.out == ""
    assert "off outside development and test" in output.err
    assert not (tmp_path / "dev-issuer").exists()


def test_given_an_invalid_scope_when_the_token_command_runs_then_it_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))

    status = main(["token", "--scope", "user/Patient.sr"])

    assert status == 0
    assert "'user/Patient.sr' is not a valid SMART scope" in capsys.readouterr().err
