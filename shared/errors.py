"""The one error type of OneStory: a FHIR OperationOutcome with its HTTP status.

Code anywhere raises ``FhirError``; the HTTP layer turns it into the response. Nothing else
should build an error response by hand.
"""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    """A failure a client can act on, answered as an OperationOutcome."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str = "invalid",
        severity: str = "error",
        expression: list[str] | None = None,
        issues: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.severity = severity
        self.expression = expression
        self.issues = issues or []
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        """The OperationOutcome: the given issues, or one made from the diagnostics."""
        if self.issues:
            return {"resourceType": "OperationOutcome", "issue": self.issues}
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = self.expression
        return {"resourceType": "OperationOutcome", "issue": [issue]}


def bad_request(diagnostics: str, **kwargs: Any) -> FhirError:
    return FhirError(400, diagnostics, **kwargs)


def not_found(diagnostics: str) -> FhirError:
    return FhirError(404, diagnostics, code="not-found")


def conflict(diagnostics: str) -> FhirError:
    return FhirError(409, diagnostics, code="conflict")


def unprocessable(diagnostics: str, **kwargs: Any) -> FhirError:
    return FhirError(422, diagnostics, code=kwargs.pop("code", "processing"), **kwargs)


def outcome(severity: str, code: str, diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome with one issue, for informational answers (not failures)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
