"""Pre-filling a Questionnaire for one person: the QuestionnaireResponse ``$populate`` returns.

The response mirrors the Questionnaire's items (display items aside, one repetition of each
group). Each question takes its answers from the first of these that knows something:

1. its ``initialExpression``: FHIRPath over ``%patient``, ``%questionnaire``, ``%resource`` (the
   response being built), ``%qitem``, the launch contexts and the named variables of the
   Questionnaire and of the enclosing items (``application/x-fhir-query`` variables are
   searches of this record, each a searchset Bundle);
2. its ``code`` with an ``observationLinkPeriod``: the newest final Observation of the person
   with that code, if it is no older than the period;
3. the person's previous answer to the same question (same linkId, in their newest completed
   response to the same canonical Questionnaire) when its type still fits, unless the item
   says previous answers are not to be offered.

A question nothing is known about is left unanswered: nothing is invented. Every answer
carries the ``prefill-source`` extension (kind, and the resource it came from). What could not
be used (an expression that failed, a value of the wrong type) becomes a warning issue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from services.record.sdc.answers import fits_as_is, typed_answer
from services.record.sdc.extensions import (
    FHIR_QUERY,
    FHIRPATH,
    Expression,
    initial_expression,
    launch_contexts,
    observation_link_period,
    offers_previous_answer,
    prefill_source,
    variables,
)
from services.record.sdc.observations import latest_search, observed_value, period_start
from services.record.sdc.previous import answers_by_link_id, previous_search
from services.record.sdc.queries import QueryError, searchset, split, substitute
from services.record.sdc.sources import resources_read, sources_of
from shared.errors import FhirError
from shared.fhir.fhirpath import FhirPathError, evaluate, variables_named

# Searches one $populate may run for variables and linked Observations: a Questionnaire sent
# inline must not turn one request into thousands of queries.
MAX_SEARCHES = 60


@dataclass(frozen=True, slots=True)
class Found:
    """One page of a search: the resources that matched, those included, and whether more
    matched than the page holds."""

    matches: list[dict[str, Any]]
    included: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


Search = Callable[[str, list[tuple[str, str]]], Awaitable[Found]]


@dataclass(frozen=True, slots=True)
class PopulateInput:
    questionnaire: dict[str, Any]
    patient: dict[str, Any]
    now: datetime
    stored_id: str | None = None  # the Questionnaire's id in this record; None if sent inline
    contexts: dict[str, Any] = field(default_factory=dict)  # other launch contexts, by name


@dataclass(frozen=True, slots=True)
class Populated:
    response: dict[str, Any]
    issues: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Previous:
    answers: dict[str, list[dict[str, Any]]]
    reference: str


class Populator:
    """One run of $populate. ``search`` runs a search of the record; ``permits`` says whether
    the caller may read a resource type (a source it may not read is left out, with a warning).
    """

    def __init__(
        self, asked: PopulateInput, *, search: Search, permits: Callable[[str], bool], base_url: str
    ) -> None:
        self.asked = asked
        self.search = search
        self.permits = permits
        self.base_url = base_url
        self.issues: list[dict[str, Any]] = []
        self.response = _header(asked)
        self.previous: _Previous | None = None
        self.searches = 0

    async def populate(self) -> Populated:
        questionnaire = self.asked.questionnaire
        environment = self._launch_environment()
        environment = await self._with_variables(questionnaire, environment, "Questionnaire")
        self.previous = await self._previous_answers()
        items = await self._items(questionnaire.get("item"), environment, offer_previous=True)
        if items:
            self.response["item"] = items
        return Populated(self.response, self.issues)

    # --- Environment -----------------------------------------------------------------------

    def _launch_environment(self) -> dict[str, Any]:
        declared = {c.name for c in launch_contexts(self.asked.questionnaire)}
        environment: dict[str, Any] = {name: None for name in declared}
        for name, content in self.asked.contexts.items():
            if name in declared:
                environment[name] = content
            else:
                self._warn(
                    "not-supported",
                    f"The launch context '{name}' is not one this Questionnaire declares; ignored",
                    "Parameters.parameter",
                )
        environment.update(
            patient=self.asked.patient,
            questionnaire=self.asked.questionnaire,
            resource=self.response,
        )
        return environment

    async def _with_variables(
        self, element: dict[str, Any], environment: dict[str, Any], where: str
    ) -> dict[str, Any]:
        """The environment with ``element``'s variables added, each seeing those before it."""
        for variable in variables(element):
            assert variable.name is not None
            value = await self._variable(variable, environment, where)
            environment = {**environment, variable.name: value}
        return environment

    async def _variable(self, variable: Expression, environment: dict[str, Any], where: str) -> Any:
        """The variable's value; None (the empty collection) when it cannot be worked out."""
        try:
            if variable.language == FHIRPATH:
                return evaluate(variable.expression, self.response, environment)
            if variable.language == FHIR_QUERY:
                return await self._query(variable.expression, environment, where)
        except (FhirPathError, QueryError) as error:
            self._warn("processing", f"The variable %{variable.name} failed: {error}", where)
            return None
        except FhirError as error:  # a search the record refuses (an unknown parameter, say)
            self._warn("processing", f"The variable %{variable.name}: {error.diagnostics}", where)
            return None
        self._warn(
            "not-supported",
            f"The variable %{variable.name} is in {variable.language}; only {FHIRPATH} and "
            f"{FHIR_QUERY} are supported",
            where,
        )
        return None

    async def _query(self, query: str, environment: dict[str, Any], where: str) -> Any:
        concrete = substitute(query, lambda text: evaluate(text, self.response, environment))
        resource_type, params = split(concrete)
        if not self.permits(resource_type):
            raise QueryError(f"the caller may not search {resource_type}")
        if not self._budget_allows():
            raise QueryError(f"more than {MAX_SEARCHES} searches in one $populate")
        found = await self.search(resource_type, params)
        if found.more:
            self._warn(
                "too-costly",
                f"The search {query!r} found more than one page; only the first is used",
                where,
            )
        return searchset(found.matches, found.included, self.base_url)

    # --- Items -----------------------------------------------------------------------------

    async def _items(
        self, items: Any, environment: dict[str, Any], *, offer_previous: bool
    ) -> list[dict[str, Any]]:
        built = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("type") != "display" and item.get("linkId"):
                built.append(await self._item(item, environment, offer_previous))
        return built

    async def _item(
        self, item: dict[str, Any], environment: dict[str, Any], offer_previous: bool
    ) -> dict[str, Any]:
        where = f"Questionnaire.repeat(item).where(linkId='{item['linkId']}')"
        environment = await self._with_variables(item, {**environment, "qitem": item}, where)
        offer_previous = offer_previous and offers_previous_answer(item)
        built: dict[str, Any] = {k: item[k] for k in ("linkId", "definition", "text") if k in item}
        children = await self._items(item.get("item"), environment, offer_previous=offer_previous)
        answers = []
        if item.get("type") != "group":
            answers = await self._answers(item, environment, offer_previous, where)
        if answers:
            built["answer"] = [{**a, "item": children} if children else a for a in answers]
        elif children:
            built["item"] = children
        return built

    async def _answers(
        self, item: dict[str, Any], environment: dict[str, Any], offer_previous: bool, where: str
    ) -> list[dict[str, Any]]:
        answers = self._from_expression(item, environment, where)
        if not answers:
            answers = await self._from_observation(item, where)
        if not answers and offer_previous:
            answers = self._from_previous(item, where)
        return answers

    def _from_expression(
        self, item: dict[str, Any], environment: dict[str, Any], where: str
    ) -> list[dict[str, Any]]:
        expression = initial_expression(item)
        if expression is None:
            return []
        if expression.language != FHIRPATH:
            self._warn("not-supported", f"initialExpression in {expression.language}", where)
            return []
        try:
            values = evaluate(expression.expression, self.response, environment)
        except FhirPathError as error:
            self._warn("processing", f"The initialExpression failed: {error}", where)
            return []
        read = resources_read(environment, variables_named(expression.expression))
        return self._typed(item, values, lambda v: sources_of(v, read), "expression", where)

    async def _from_observation(self, item: dict[str, Any], where: str) -> list[dict[str, Any]]:
        period, codes = observation_link_period(item), item.get("code")
        coded = [c for c in codes if isinstance(c, dict) and c.get("code")] if codes else []
        if period is None or not coded or not self._may_read("Observation"):
            return []
        try:
            since = period_start(period, self.asked.now)
        except ValueError as error:
            self._warn("processing", f"The observationLinkPeriod cannot be used: {error}", where)
            return []
        if not self._budget_allows():
            self._warn("too-costly", f"More than {MAX_SEARCHES} searches; not looked up", where)
            return []
        patient_id = self.asked.patient["id"]
        found = await self.search("Observation", latest_search(patient_id, coded, since))
        if not found.matches:
            return []
        observation = found.matches[0]
        value = observed_value(observation)
        if value is None:
            return []
        reference = f"Observation/{observation['id']}"
        return self._typed(item, [value], lambda _: [reference], "observation", where)

    def _from_previous(self, item: dict[str, Any], where: str) -> list[dict[str, Any]]:
        if self.previous is None:
            return []
        given = self.previous.answers.get(item["linkId"], [])
        fitted = [fits_as_is(item, answer) for answer in given]
        fitting = [answer for answer in fitted if answer is not None]
        if len(fitting) < len(given):
            self._warn(
                "processing",
                f"A previous answer in {self.previous.reference} no longer fits this question "
                f"(a {item.get('type')}); left out",
                where,
            )
        if not item.get("repeats"):
            fitting = fitting[:1]
        source = prefill_source("previous-answer", [self.previous.reference])
        return [{"extension": [source], **a} for a in fitting]

    async def _previous_answers(self) -> _Previous | None:
        url = self.asked.questionnaire.get("url")
        if not isinstance(url, str) or not self._may_read("QuestionnaireResponse"):
            return None
        params = previous_search(self.asked.patient["id"], url, self.asked.stored_id)
        found = await self.search("QuestionnaireResponse", params)
        if not found.matches:
            return None
        latest = found.matches[0]
        return _Previous(answers_by_link_id(latest), f"QuestionnaireResponse/{latest['id']}")

    # --- Answers and issues ----------------------------------------------------------------

    def _typed(
        self,
        item: dict[str, Any],
        values: list[Any],
        source_for: Callable[[Any], list[str]],
        kind: str,
        where: str,
    ) -> list[dict[str, Any]]:
        """The values as answers of the item's type, each saying where it came from."""
        if not item.get("repeats") and len(values) > 1:
            self._warn(
                "processing",
                f"{len(values)} values for a question that takes one; the first is offered",
                where,
            )
            values = values[:1]
        answers: list[dict[str, Any]] = []
        seen: set[bytes] = set()
        for value in values:
            answer = typed_answer(item, value)
            if answer is None:
                self._warn("value", _mismatch(item, value, kind), where)
                continue
            key = orjson.dumps(answer, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen.add(key)
                answers.append({"extension": [prefill_source(kind, source_for(value))], **answer})
        return answers

    def _budget_allows(self) -> bool:
        self.searches += 1
        return self.searches <= MAX_SEARCHES

    def _may_read(self, resource_type: str) -> bool:
        if self.permits(resource_type):
            return True
        diagnostics = f"The caller may not read {resource_type}; it was not used to pre-fill"
        if not any(issue["diagnostics"] == diagnostics for issue in self.issues):
            self._warn("forbidden", diagnostics, "Questionnaire")
        return False

    def _warn(self, code: str, diagnostics: str, where: str) -> None:
        self.issues.append(
            {"severity": "warning", "code": code, "diagnostics": diagnostics, "expression": [where]}
        )


def _header(asked: PopulateInput) -> dict[str, Any]:
    questionnaire = asked.questionnaire
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    url, version = questionnaire.get("url"), questionnaire.get("version")
    if isinstance(url, str):
        response["questionnaire"] = f"{url}|{version}" if isinstance(version, str) else url
    response["status"] = "in-progress"
    response["subject"] = {"reference": f"Patient/{asked.patient['id']}"}
    response["authored"] = asked.now.isoformat(timespec="seconds").replace("+00:00", "Z")
    return response


def _mismatch(item: dict[str, Any], value: Any, kind: str) -> str:
    shown = orjson.dumps(value, default=str).decode()
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"The {kind} gave {shown}, which does not answer a {item.get('type')} question; left out"
