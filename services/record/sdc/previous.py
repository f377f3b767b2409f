"""The person's previous answers: the newest completed (or amended) QuestionnaireResponse to the
same Questionnaire, whatever its version, read by linkId. Pure: the search parameters and the
reading; the engine runs the search and decides which answers still fit.
"""

from __future__ import annotations

from typing import Any

ANSWERED_STATUSES = "completed,amended"


def previous_search(
    patient_id: str, canonical_url: str, questionnaire_id: str | None
) -> list[tuple[str, str]]:
    """The search for the person's newest finished response to this Questionnaire, named by
    its canonical URL or (as some clients write it) by its id in this record."""
    named = [canonical_url] + ([f"Questionnaire/{questionnaire_id}"] if questionnaire_id else [])
    return [
        ("subject", f"Patient/{patient_id}"),
        ("questionnaire", ",".join(named)),
        ("status", ANSWERED_STATUSES),
        ("_sort", "-authored,-_lastUpdated"),
        ("_count", "1"),
    ]


def answers_by_link_id(response: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each linkId's answers, at any depth (in groups or under answers); the first time a
    linkId appears wins, so a repeated group offers back its first repetition."""
    found: dict[str, list[dict[str, Any]]] = {}
    _collect(response.get("item"), found)
    return found


def _collect(items: Any, found: dict[str, list[dict[str, Any]]]) -> None:
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        answers = [a for a in item.get("answer") or [] if isinstance(a, dict)]
        link_id = item.get("linkId")
        if isinstance(link_id, str) and answers and link_id not in found:
            found[link_id] = answers
        _collect(item.get("item"), found)
        for answer in answers:
            _collect(answer.get("item"), found)
