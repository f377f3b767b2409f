"""The SDC and OneStory extensions a populatable Questionnaire carries, and reading them.

The one place that knows their canonical URLs. Readers are lenient: an extension that is
malformed reads as absent, and the engine reports what it could not use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.fhir.terms import OFFER_PREVIOUS_ANSWER, PREFILL_SOURCE

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
INITIAL_EXPRESSION = SDC + "sdc-questionnaire-initialExpression"
OBSERVATION_LINK_PERIOD = SDC + "sdc-questionnaire-observationLinkPeriod"
LAUNCH_CONTEXT = SDC + "sdc-questionnaire-launchContext"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
FHIRPATH = "text/fhirpath"
FHIR_QUERY = "application/x-fhir-query"

# OneStory's own (their URLs live in shared/fhir/terms.py):
# - PREFILL_SOURCE, on a pre-filled answer: ``kind`` (valueCode expression | observation |
#   previous-answer) and one ``source`` (valueReference) per resource the answer drew on;
# - OFFER_PREVIOUS_ANSWER, on an item (or group) whose previous answers must not be offered
#   back (valueBoolean false): consent, red flags and the reason for this referral are asked
#   afresh every time.


@dataclass(frozen=True, slots=True)
class Expression:
    """An SDC Expression: ``name`` (for variables), ``language`` and the ``expression`` text."""

    language: str
    expression: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """A context the Questionnaire asks to be launched with: ``patient`` of type Patient."""

    name: str
    types: tuple[str, ...]


def _extensions(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    found = element.get("extension")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict) and e.get("url") == url]


def _expression(extension: dict[str, Any]) -> Expression | None:
    value = extension.get("valueExpression")
    if not isinstance(value, dict):
        return None
    language, text, name = value.get("language"), value.get("expression"), value.get("name")
    if not isinstance(language, str) or not isinstance(text, str):
        return None
    return Expression(language, text, name if isinstance(name, str) else None)


def variables(element: dict[str, Any]) -> list[Expression]:
    """The named ``variable`` expressions of a Questionnaire or an item, in order."""
    found = (_expression(e) for e in _extensions(element, VARIABLE))
    return [e for e in found if e is not None and e.name]


def initial_expression(item: dict[str, Any]) -> Expression | None:
    found = _extensions(item, INITIAL_EXPRESSION)
    return _expression(found[0]) if found else None


def observation_link_period(item: dict[str, Any]) -> dict[str, Any] | None:
    """The Duration an Observation may be old and still pre-fill ``item``; None if none."""
    found = _extensions(item, OBSERVATION_LINK_PERIOD)
    value = found[0].get("valueDuration") if found else None
    return value if isinstance(value, dict) else None


def offers_previous_answer(item: dict[str, Any]) -> bool:
    found = _extensions(item, OFFER_PREVIOUS_ANSWER)
    return not (found and found[0].get("valueBoolean") is False)


def launch_contexts(questionnaire: dict[str, Any]) -> list[LaunchContext]:
    """The launch contexts the Questionnaire declares (``patient``, ``user``, ...)."""
    declared = []
    for extension in _extensions(questionnaire, LAUNCH_CONTEXT):
        name = types = None
        parts = [p for p in extension.get("extension") or [] if isinstance(p, dict)]
        for part in parts:
            if part.get("url") == "name":
                coding = part.get("valueCoding")
                name = coding.get("code") if isinstance(coding, dict) else part.get("valueId")
            elif part.get("url") == "type" and isinstance(part.get("valueCode"), str):
                types = (*(types or ()), part["valueCode"])
        if isinstance(name, str):
            declared.append(LaunchContext(name, types or ()))
    return declared


def prefill_source(kind: str, references: Sequence[str]) -> dict[str, Any]:
    """The extension saying where a pre-filled answer came from: every resource it drew on,
    so that the gateway can withhold an answer drawn from anything the caller may not see."""
    parts: list[dict[str, Any]] = [{"url": "kind", "valueCode": kind}]
    parts += [{"url": "source", "valueReference": {"reference": r}} for r in references]
    return {"url": PREFILL_SOURCE, "extension": parts}
