"""Authentication and authorisation helpers: SMART scopes, bearer-token verification, the
development token issuer, and FastAPI/ASGI glue so every service can verify tokens itself.

Import from the submodules (``shared.auth.scopes``, ``shared.auth.tokens``, ...); this package
re-exports only the names most callers need.
"""

from shared.auth.scopes import Scope, allows, parse_scopes
from shared.auth.tokens import Principal, TokenVerifier, bearer_token

__all__ = ["Principal", "Scope", "TokenVerifier", "allows", "bearer_token", "parse_scopes"]
