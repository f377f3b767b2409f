"""The development token issuer: signs SMART access tokens for the embedded default and tests.

Its keys (an RSA 2048 key for RS256 and an EC P-256 key for ES256) are generated on first use
and kept as PEM files (mode 0600) in ``<data dir>/dev-issuer``, with the public ``jwks.json``
beside them, so services can verify its tokens with ``file://<data dir>/dev-issuer/jwks.json``.
It refuses to exist outside the development and test environments.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

if TYPE_CHECKING:
    from shared.settings import Settings

FOLDER_NAME = "dev-issuer"
ALLOWED_ENVIRONMENTS = frozenset({"development", "test"})
ALGORITHMS = ("RS256", "ES256")
_KEY_FILE = re.compile(r"^(?P<alg>RS256|ES256)-(?P<seq>\d{4})\.pem$")
# RFC 7638: the members of each key type that make up its thumbprint.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    sequence: int
    private_key: PrivateKey
    path: Path

    def public_jwk(self) -> dict[str, Any]:
        jwk = _public_jwk(self.private_key)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


class DevIssuer:
    """Signs tokens with keys kept in ``data_dir / "dev-issuer"``; never in production."""

    def __init__(self, data_dir: Path, issuer: str, audience: str, *, environment: str) -> None:
        if environment not in ALLOWED_ENVIRONMENTS:
            raise RuntimeError("The development token issuer is off outside development and test")
        self.folder = Path(data_dir) / FOLDER_NAME
        self.issuer = issuer
        self.audience = audience
        self._keys: list[SigningKey] = []
        self._prepare()

    @classmethod
    def from_settings(cls, settings: Settings) -> DevIssuer:
        return cls(
            settings.data_dir,
            settings.auth_issuer,
            settings.auth_audience,
            environment=settings.environment,
        )

    @property
    def jwks_path(self) -> Path:
        return self.folder / "jwks.json"

    @property
    def jwks_url(self) -> str:
        return self.jwks_path.resolve().as_uri()

    def jwks(self) -> dict[str, Any]:
        """The public keys, every one still kept (the newest of each algorithm signs)."""
        return {"keys": [key.public_jwk() for key in self._keys]}

    def signing_key(self, algorithm: str = "RS256") -> SigningKey:
        """The key that signs new tokens with ``algorithm``: the newest one."""
        if algorithm not in ALGORITHMS:
            raise ValueError(f"The development issuer signs with {', '.join(ALGORITHMS)} only")
        return max((k for k in self._keys if k.algorithm == algorithm), key=lambda k: k.sequence)

    def issue(
        self,
        *,
        scope: str,
        subject: str = "dev-user",
        client_id: str = "onestory-dev",
        patient: str | None = None,
        fhir_user: str | None = None,
        organization: str | None = None,
        lifetime_seconds: int = 3600,
        algorithm: str = "RS256",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A signed access token; ``extra`` claims are added last (and may override)."""
        key = self.signing_key(algorithm)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        context = {"patient": patient, "fhirUser": fhir_user, "organization": organization}
        claims.update({name: value for name, value in context.items() if value is not None})
        claims.update(extra or {})
        headers = {"kid": key.kid, "typ": "at+jwt"}
        return jwt.encode(claims, key.private_key, algorithm=algorithm, headers=headers)

    def rotate(self, algorithm: str = "RS256") -> str:
        """Add a new signing key for ``algorithm`` and answer its kid; older keys stay published."""
        sequence = self.signing_key(algorithm).sequence + 1
        while not _create_key(self.folder, algorithm, sequence):
            sequence += 1  # another process rotated at the same moment
        self._prepare()
        return self.signing_key(algorithm).kid

    def remove(self, kid: str) -> None:
        """Delete a key and stop publishing it (a fresh one is made if it was the last)."""
        for key in self._keys:
            if key.kid == kid:
                key.path.unlink(missing_ok=True)
        self._prepare()

    def _prepare(self) -> None:
        """Make sure every algorithm has a key, load them all, and publish jwks.json."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self._keys = _load_keys(self.folder)
        missing = set(ALGORITHMS) - {key.algorithm for key in self._keys}
        for algorithm in sorted(missing):
            _create_key(self.folder, algorithm, 1)
        if missing:
            self._keys = _load_keys(self.folder)
        published = json.dumps(self.jwks(), indent=2).encode()
        if not self.jwks_path.exists() or self.jwks_path.read_bytes() != published:
            _write_atomically(self.jwks_path, published)


def _load_keys(folder: Path) -> list[SigningKey]:
    keys = []
    for path in sorted(folder.glob("*.pem")):
        match = _KEY_FILE.match(path.name)
        if match is None:
            continue
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            continue
        sequence = int(match["seq"])
        keys.append(SigningKey(_thumbprint(private), match["alg"], sequence, private, path))
    return keys


def _create_key(folder: Path, algorithm: str, sequence: int) -> bool:
    """Write a new key as ``<alg>-<seq>.pem``; False if that file already exists."""
    private: PrivateKey
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = folder / f".{algorithm}-{sequence:04d}.{uuid.uuid4().hex}.tmp"
    _write_private(temporary, pem)
    try:
        os.link(temporary, folder / f"{algorithm}-{sequence:04d}.pem")  # atomic, never overwrites
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.chmod(path, 0o600)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(content)
    try:
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _thumbprint(private: PrivateKey) -> str:
    """The RFC 7638 JWK thumbprint of the public key, used as its kid."""
    jwk = _public_jwk(private)
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _public_jwk(private: PrivateKey) -> dict[str, Any]:
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(public, as_dict=True)
    return ECAlgorithm.to_jwk(public, as_dict=True)
