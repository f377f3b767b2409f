"""Which FHIR interaction a request is, and the SMART permission it needs (c r u d s)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.fhir.validation import is_resource_type

PUBLIC_PATHS = frozenset({"metadata"})


@dataclass(frozen=True, slots=True)
class Interaction:
    """``kind`` is the FHIR interaction code (read, vread, search-type, create, ...), or
    "operation" with ``operation`` set ("$validate")."""

    kind: str
    permission: str  # one of c r u d s; "" when the interaction needs no resource permission
    resource_type: str | None = None
    resource_id: str | None = None
    operation: str | None = None

    @property
    def writes(self) -> bool:
        return self.permission in ("c", "u", "d")


_TYPE_LEVEL = {
    "GET": ("search-type", "s"),
    "POST": ("create", "c"),
    "PUT": ("update", "u"),
    "PATCH": ("patch", "u"),
    "DELETE": ("delete", "d"),
}
_INSTANCE_LEVEL = {
    "GET": ("read", "r"),
    "HEAD": ("read", "r"),
    "PUT": ("update", "u"),
    "PATCH": ("patch", "u"),
    "DELETE": ("delete", "d"),
}
# Operations that only read, whatever the method they are called with.
_READ_OPERATIONS = frozenset(
    {"$validate", "$everything", "$summary", "$match", "$status", "$populate"}
)


def classify(method: str, segments: list[str]) -> Interaction:
    """The interaction of ``method`` on the path segments after /fhir."""
    if not segments:
        if method == "POST":
            return Interaction("transaction", "")
        return Interaction("search-system", "s")
    head = segments[0]
    if head == "_history":
        return Interaction("history-system", "s")
    if head in PUBLIC_PATHS:
        return Interaction("capabilities", "")
    if head.startswith("$"):
        return Interaction("operation", _operation_permission(method, head), operation=head)
    if not is_resource_type(head):
        return Interaction("unknown", "")
    return _on_type(method, head, segments[1:])


def _on_type(method: str, resource_type: str, rest: list[str]) -> Interaction:
    if not rest:
        kind, permission = _TYPE_LEVEL.get(method, ("unknown", ""))
        return Interaction(kind, permission, resource_type)
    if rest[0] == "_search":
        return Interaction("search-type", "s", resource_type)
    if rest[0] == "_history":
        return Interaction("history-type", "s", resource_type)
    if rest[0].startswith("$"):
        permission = _operation_permission(method, rest[0])
        return Interaction("operation", permission, resource_type, operation=rest[0])
    resource_id = rest[0]
    if len(rest) == 1:
        kind, permission = _INSTANCE_LEVEL.get(method, ("unknown", ""))
        return Interaction(kind, permission, resource_type, resource_id)
    if rest[1] == "_history":
        kind = "vread" if len(rest) > 2 else "history-instance"
        return Interaction(kind, "r", resource_type, resource_id)
    if rest[1].startswith("$"):
        permission = _operation_permission(method, rest[1])
        return Interaction("operation", permission, resource_type, resource_id, rest[1])
    return Interaction("unknown", "", resource_type, resource_id)


def _operation_permission(method: str, operation: str) -> str:
    if method in ("GET", "HEAD") or operation in _READ_OPERATIONS:
        return "r"
    return "u"
