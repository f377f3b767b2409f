"""The triage decision table and ``decide``: every route reached by the referral it is for, red
flags over everything, the same answer every time, and a table with a fault refused by name."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.record.questionnaires import shipped
from services.triage.conditions import AnswerMeets, Combined, Condition, Includes
from services.triage.facts import ReferralFacts
from services.triage.rules import (
    DecisionTable,
    DecisionTableError,
    decide,
    load_table,
    parse_table,
)
from shared.fhir.terms import REFERRAL_CHANNELS, REFERRAL_SERVICES, TRIAGE_ROUTES

TABLE_PATH = Path(__file__).parents[2] / "services" / "triage" / "decision-table.yaml"
TABLE = load_table(TABLE_PATH)
UCR_PROBLEMS = [
    "fall",
    "decompensated-frailty",
    "reduced-function",
    "palliative-crisis",
    "urgent-equipment",
    "confusion-delirium",
    "urgent-catheter-care",
    "urgent-diabetes-care",
]
PROBLEMS = [*UCR_PROBLEMS, "other"]
RED_FLAGS = [
    f"red-flag-{flag}" for flag in ("chest-pain", "stroke", "head-injury", "fracture", "sepsis")
]
UCR, HUB = "urgent-community-response", "discharge-hub"
DSR, PCM = "dynamic-support-register", "proactive-case-management"


def facts(*problems: str, **known: Any) -> ReferralFacts:
    return ReferralFacts(problems=frozenset(problems), **known)


def answered(link_id: str, *values: Any) -> ReferralFacts:
    return ReferralFacts(answers={link_id: values})


# --- The scenario table: one referral per route, and the doors they come in by ----------------


@dataclass(frozen=True)
class Scenario:
    name: str
    facts: ReferralFacts
    route: str
    priority: str
    minutes: int | None
    fired: tuple[str, ...]


def scenario(name: str, referral: ReferralFacts, *expected: Any) -> Any:
    return pytest.param(Scenario(name, referral, *expected), id=name)


SCENARIOS = [
    scenario(
        "chest pain by telephone: 999",
        facts("other", channel="telephone", red_flags=frozenset({"red-flag-chest-pain"})),
        *("emergency", "stat", None, ("red-flag",)),
    ),
    scenario(
        "fall with a suspected fracture by ambulance: 999, not UCR",
        facts("fall", channel="ambulance", red_flags=frozenset({"red-flag-fracture"})),
        *("emergency", "stat", None, ("red-flag",)),
    ),
    *[
        scenario(
            f"{problem} by GP: 2-hour response",
            facts(problem, channel="gp", age=81),
            *(UCR, "urgent", 120, (f"ucr-{problem}",)),
        )
        for problem in UCR_PROBLEMS
    ],
    scenario(
        "fall referred by the hospital: UCR first, the discharge need recorded",
        facts("fall", channel="hospital"),
        *(UCR, "urgent", 120, ("ucr-fall", "discharge-hospital-referral")),
    ),
    scenario(
        "reduced function 3 days after discharge: the discharge hub, urgent",
        facts("reduced-function", channel="gp", discharged_days_ago=3),
        *(HUB, "urgent", 240, ("discharge-reduced-function",)),
    ),
    scenario(
        "reduced function 20 days after discharge: the 2-hour response",
        facts("reduced-function", channel="carer", discharged_days_ago=20),
        *(UCR, "urgent", 120, ("ucr-reduced-function",)),
    ),
    scenario(
        "hospital referral with no urgent problem: the discharge hub",
        facts("other", channel="hospital", discharged_days_ago=0),
        *(HUB, "routine", 240, ("discharge-hospital-referral",)),
    ),
    scenario(
        "on the dynamic support register: the DSR team",
        facts("other", channel="social-care", on_register=True, learning_disability_or_autism=True),
        *(DSR, "urgent", 1440, ("dsr-on-register",)),
    ),
    scenario(
        "autism and new confusion: UCR comes, the DSR team's rule is recorded",
        facts("confusion-delirium", channel="carer", learning_disability_or_autism=True),
        *(
            UCR,
            "urgent",
            120,
            ("ucr-confusion-delirium", "dsr-learning-disability-autism-confusion"),
        ),
    ),
    scenario(
        "on the register with a fall: the 2-hour response first",
        facts("fall", channel="telephone", on_register=True),
        *(UCR, "urgent", 120, ("ucr-fall", "dsr-on-register")),
    ),
    scenario(
        "severe frailty (eFI), nothing urgent: proactive case management",
        facts("other", channel="gp", frailty="severe", age=88),
        *(PCM, "routine", 10080, ("pcm-frailty",)),
    ),
    scenario(
        "Clinical Frailty Scale 6 by social care: proactive case management",
        facts(channel="social-care", clinical_frailty_scale=6),
        *(PCM, "routine", 10080, ("pcm-frailty",)),
    ),
    scenario(
        "three long-term conditions: proactive case management",
        facts(
            "other",
            channel="online",
            answers={"known-conditions": ("44054006", "195967001", "13645005")},
        ),
        *(PCM, "routine", 10080, ("pcm-complex-conditions",)),
    ),
    scenario(
        "already on a caseload and frail: their own team, both reasons",
        facts("other", channel="walk-in", frailty="moderate", on_caseload=True),
        *(PCM, "routine", 10080, ("pcm-frailty", "pcm-on-caseload")),
    ),
    scenario(
        "frail and falling, from the hospital: UCR over the hub and the caseload",
        facts("fall", channel="hospital", frailty="severe"),
        *(UCR, "urgent", 120, ("ucr-fall", "discharge-hospital-referral", "pcm-frailty")),
    ),
    scenario(
        "fit, self-referred, nothing urgent: wellbeing signposting",
        facts("other", channel="self", frailty="fit", age=42),
        *("wellbeing", "routine", None, ("wellbeing-low-needs",)),
    ),
    scenario(
        "CFS 2 online: wellbeing signposting",
        facts(channel="online", clinical_frailty_scale=2),
        *("wellbeing", "routine", None, ("wellbeing-low-needs",)),
    ),
    scenario(
        "UCR asked for with no UCR condition: a clinician checks",
        facts("other", channel="gp", requested_service="urgent-community-response"),
        *("clinical-review", "urgent", 240, ("ucr-requested-without-condition",)),
    ),
    scenario(
        "fit but a service asked for: not signposted, a clinician triages",
        facts("other", channel="gp", frailty="fit", requested_service="community-nursing"),
        *("clinical-review", "routine", 240, ()),
    ),
    scenario(
        "nothing known by 111: a clinician triages",
        facts("other", channel="111"),
        *("clinical-review", "routine", 240, ()),
    ),
]


@pytest.mark.parametrize("case", SCENARIOS)
def test_given_a_referral_when_decided_then_it_goes_where_the_table_says(case: Scenario) -> None:
    decision = decide(TABLE, case.facts)
    assert (decision.route, decision.priority) == (case.route, case.priority)
    assert decision.respond_within_minutes == case.minutes
    assert decision.fired == case.fired
    assert decision.table_version == TABLE.version == "2026.11.1"
    by_id = {rule.id: rule.reason for rule in TABLE.rules}
    assert decision.reasons == (tuple(by_id[i] for i in case.fired) or (TABLE.default_reason,))


@pytest.mark.parametrize("channel", sorted(set(REFERRAL_CHANNELS) - {"hospital"}))
def test_given_a_fall_when_it_comes_by_any_door_then_the_same_2_hour_response(
    channel: str,
) -> None:
    decision = decide(TABLE, facts("fall", channel=channel))
    assert (decision.route, decision.respond_within_minutes) == (UCR, 120)
    assert decision.fired == ("ucr-fall",)


@pytest.mark.parametrize("channel", sorted(REFERRAL_CHANNELS))
def test_given_a_red_flag_when_it_comes_by_any_door_then_999_advice(channel: str) -> None:
    decision = decide(TABLE, facts(channel=channel, red_flags=frozenset({"red-flag-sepsis"})))
    assert decision.route == "emergency"
    assert decision.advice == "Call 999 / go to the emergency department"


def test_given_the_scenarios_then_every_route_is_reached_and_every_rule_fires() -> None:
    decisions = [decide(TABLE, case.values[0].facts) for case in SCENARIOS]
    assert {d.route for d in decisions} == set(TRIAGE_ROUTES)
    assert {rule for d in decisions for rule in d.fired} == {rule.id for rule in TABLE.rules}


def test_given_the_shipped_table_then_it_names_only_what_the_intake_form_asks() -> None:
    (intake,) = [q for q in shipped() if q["id"] == "referral-intake"]
    items = {item["linkId"]: item for item in _items(intake["item"])}
    problems = {o["valueCoding"]["code"] for o in items["presenting-problems"]["answerOption"]}
    named = [node for rule in TABLE.rules for node in _nodes(rule.when)]
    for node in named:
        if isinstance(node, Includes) and node.codes is not None:
            assert node.codes <= (problems if node.field == "problems" else set(items))
        if isinstance(node, AnswerMeets):
            assert node.link_id in items
    assert set(problems) == {*PROBLEMS}
    assert {link for link in items if link.startswith("red-flag-")} == set(RED_FLAGS)


def _items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _items(item.get("item", []))


def _nodes(condition: Condition) -> Iterator[Condition]:
    yield condition
    if isinstance(condition, Combined):
        for inner in condition.conditions:
            yield from _nodes(inner)


# --- Properties over any referral -------------------------------------------------------------

any_facts = st.builds(
    ReferralFacts,
    channel=st.none() | st.sampled_from(sorted(REFERRAL_CHANNELS)),
    problems=st.frozensets(st.sampled_from(PROBLEMS)),
    red_flags=st.frozensets(st.sampled_from(RED_FLAGS)),
    answers=st.dictionaries(
        st.sampled_from(["known-conditions", "reason", "carer-aware"]),
        st.lists(st.text(max_size=5) | st.booleans() | st.integers(), max_size=4).map(tuple),
    ),
    requested_service=st.none() | st.sampled_from(sorted(REFERRAL_SERVICES)),
    age=st.none() | st.integers(0, 110),
    frailty=st.none() | st.sampled_from(["fit", "mild", "moderate", "severe"]),
    clinical_frailty_scale=st.none() | st.integers(1, 9),
    on_caseload=st.booleans(),
    on_register=st.booleans(),
    learning_disability_or_autism=st.booleans(),
    discharged_days_ago=st.none() | st.integers(0, 400),
)


@given(any_facts, st.frozensets(st.sampled_from(RED_FLAGS), min_size=1))
def test_given_any_referral_when_a_red_flag_is_yes_then_emergency_over_everything(
    referral: ReferralFacts, red_flags: frozenset[str]
) -> None:
    decision = decide(TABLE, replace(referral, red_flags=red_flags))
    assert (decision.route, decision.priority) == ("emergency", "stat")
    assert decision.fired == ("red-flag",)
    assert decision.advice == "Call 999 / go to the emergency department"


@given(any_facts)
def test_given_any_referral_then_the_decision_is_the_same_every_time_and_explained(
    referral: ReferralFacts,
) -> None:
    decision = decide(TABLE, referral)
    assert decide(TABLE, copy.deepcopy(referral)) == decision
    assert decide(load_table(TABLE_PATH), referral) == decision
    order = [rule.id for rule in TABLE.rules]
    assert list(decision.fired) == sorted(decision.fired, key=order.index)
    assert len(decision.reasons) == max(len(decision.fired), 1)
    assert decision.route in TRIAGE_ROUTES
    assert (decision.route == "emergency") == bool(referral.red_flags)


# --- Deadlines, stopping and precedence -------------------------------------------------------


def test_given_deadline_overrides_when_decided_then_configuration_beats_the_table() -> None:
    overrides = {UCR: 90, "clinical-review": 60, "wellbeing": 20160}
    assert decide(TABLE, facts("fall"), overrides).respond_within_minutes == 90
    assert decide(TABLE, facts("other"), overrides).respond_within_minutes == 60
    wellbeing = facts(frailty="fit")
    assert decide(TABLE, wellbeing, overrides).respond_within_minutes == 20160
    assert decide(TABLE, wellbeing).respond_within_minutes is None
    assert TABLE.deadline(HUB, overrides) == 240


def test_given_an_override_for_an_unknown_route_when_decided_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown routes: hospital-at-home"):
        decide(TABLE, facts("fall"), {"hospital-at-home": 60})
    with pytest.raises(ValueError, match="whole minutes"):
        decide(TABLE, facts("fall"), {UCR: 0})


def test_given_a_rule_with_its_own_deadline_then_it_beats_route_default_and_override() -> None:
    table = parse_table(_table(_rule("palliative", {"problem": "palliative-crisis"}, minutes=60)))
    decision = decide(table, facts("palliative-crisis"), {UCR: 90})
    assert decision.respond_within_minutes == 60


def test_given_a_stopping_rule_when_it_fires_then_it_decides_and_later_rules_are_not_tried() -> (
    None
):
    document = _table(
        _rule("a-fall", {"problem": "fall"}),
        _rule("signpost", {"problem": "other"}, route="wellbeing", priority="routine", stops=True),
        _rule("frail", {"fact": {"name": "frailty", "equals": "severe"}}, route=PCM),
    )
    decision = decide(parse_table(document), facts("fall", "other", frailty="severe"))
    assert (decision.route, decision.fired) == ("wellbeing", ("a-fall", "signpost"))


def test_given_two_rules_for_the_winning_route_then_the_most_urgent_gives_the_priority() -> None:
    document = _table(
        _rule("routine-fall", {"problem": "fall"}, priority="routine"),
        _rule("asap-fall", {"problem": "fall"}, priority="asap", advice="Stay with them"),
    )
    decision = decide(parse_table(document), facts("fall"))
    assert (decision.priority, decision.advice) == ("asap", "Stay with them")


@pytest.mark.parametrize(
    ("condition", "referral", "holds"),
    [
        ({"fact": {"name": "age", "ge": 65, "lt": 90}}, facts(age=65), True),
        ({"fact": {"name": "age", "ge": 65, "lt": 90}}, facts(age=90), False),
        ({"fact": {"name": "age", "ge": 65}}, facts(), False),
        ({"not": {"fact": {"name": "age", "ge": 65}}}, facts(), True),
        ({"fact": {"name": "age", "present": False}}, facts(), True),
        ({"fact": {"name": "channel", "in": ["111", "gp"]}}, facts(channel="111"), True),
        ({"fact": {"name": "on_caseload", "is": True}}, facts(on_caseload=True), True),
        ({"any": [{"problem": "fall"}, {"red_flag": "red-flag-stroke"}]}, facts("fall"), True),
        ({"all": [{"problem": "fall"}, {"problem_in": ["other"]}]}, facts("fall"), False),
        (
            {"red_flag_in": ["red-flag-stroke"]},
            facts(red_flags=frozenset({"red-flag-stroke"})),
            True,
        ),
        (
            {"answer": {"link_id": "carer-aware", "equals": True}},
            answered("carer-aware", True),
            True,
        ),
        ({"answer": {"link_id": "carer-aware", "equals": True}}, answered("carer-aware", 1), False),
        ({"answer": {"link_id": "weight", "ge": 40, "lt": 45}}, answered("weight", 50, 42.5), True),
        ({"answer": {"link_id": "weight", "ge": 40, "lt": 45}}, answered("weight", 50, 39), False),
        ({"answer": {"link_id": "weight", "present": False}}, facts(), True),
        ({"answer": {"link_id": "weight", "count_ge": 2}}, answered("weight", 50, 39), True),
        ({"answer": {"link_id": "weight", "in": ["a", "b"]}}, answered("weight", "b"), True),
    ],
)
def test_given_a_condition_when_tested_then_it_holds_as_the_language_says(
    condition: dict[str, Any], referral: ReferralFacts, holds: bool
) -> None:
    decision = decide(parse_table(_table(_rule("tested", condition))), referral)
    assert (decision.fired == ("tested",)) is holds


# --- Tables with a fault: refused, and the message says where and what -----------------------


def _rule(rule_id: str, when: Any, **outcome: Any) -> dict[str, Any]:
    rule = {"id": rule_id, "reason": f"Because {rule_id}.", "when": when}
    rule |= {"route": outcome.pop("route", UCR), "priority": outcome.pop("priority", "urgent")}
    if "minutes" in outcome:
        outcome["respond_within_minutes"] = outcome.pop("minutes")
    return rule | outcome


def _table(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2026.1.0",
        "default_route": "clinical-review",
        "default_priority": "routine",
        "default_reason": "Nothing matched.",
        "deadlines_minutes": {route: 120 for route in TRIAGE_ROUTES},
        "precedence": list(TRIAGE_ROUTES),
        "rules": list(rules) or [_rule("first-rule", {"problem": "fall"})],
    }


Change = Callable[[dict[str, Any]], object]


def _first_rule(**changes: Any) -> Change:
    return lambda table: table["rules"][0].update(changes)


BROKEN: list[tuple[str, Change, str]] = [
    ("no version", lambda t: t.pop("version"), ": missing version"),
    (
        "version as a number",
        lambda t: t.update(version=2026.1),
        "version: expected text, got 2026.1",
    ),
    ("an unknown top-level key", lambda t: t.update(colour="blue"), "unknown key colour; allowed:"),
    ("an empty table", lambda t: t.clear(), ": missing version, default_route"),
    (
        "an unknown default route",
        lambda t: t.update(default_route="gp"),
        "default_route: unknown route 'gp'",
    ),
    (
        "an unknown default priority",
        lambda t: t.update(default_priority="soon"),
        "unknown priority 'soon'",
    ),
    (
        "a route without a deadline",
        lambda t: t["deadlines_minutes"].pop("wellbeing"),
        "deadlines_minutes: missing wellbeing",
    ),
    (
        "a deadline of no minutes",
        lambda t: t["deadlines_minutes"].update(wellbeing=0),
        "deadlines_minutes.wellbeing: 0 is out of range (1 or more)",
    ),
    (
        "a deadline for an unknown route",
        lambda t: t["deadlines_minutes"].update(gp=10),
        "deadlines_minutes: unknown key gp",
    ),
    (
        "a route twice in precedence",
        lambda t: t["precedence"].append("wellbeing"),
        "precedence: names wellbeing more than once",
    ),
    (
        "a route left out of precedence",
        lambda t: t["precedence"].remove("emergency"),
        "precedence: must list every route: it leaves out emergency",
    ),
    ("no rules", lambda t: t.update(rules=[]), "rules: expected a non-empty list, got []"),
    (
        "an unknown route in a rule",
        _first_rule(route="hospital-at-home"),
        "rule 1 (first-rule).route: unknown route 'hospital-at-home'",
    ),
    (
        "an unknown priority in a rule",
        _first_rule(priority="high"),
        "rule 1 (first-rule).priority: unknown priority 'high'",
    ),
    (
        "an unknown key in a rule",
        _first_rule(stop=True),
        "rule 1 (first-rule): unknown key stop; allowed: id, reason",
    ),
    (
        "a rule without a reason",
        lambda t: t["rules"][0].pop("reason"),
        "rule 1 (first-rule): missing reason",
    ),
    (
        "an empty reason",
        _first_rule(reason="  "),
        "rule 1 (first-rule).reason: expected text, got '  '",
    ),
    (
        "a rule id that is not a slug",
        _first_rule(id="First Rule"),
        "rule 1 (First Rule).id: 'First Rule' must be lower-case words",
    ),
    (
        "stops as text",
        _first_rule(stops="yes"),
        "rule 1 (first-rule).stops: expected true or false, got 'yes' (str)",
    ),
    (
        "a rule deadline of no minutes",
        _first_rule(respond_within_minutes=0),
        "respond_within_minutes: 0 is out of range",
    ),
    (
        "a rule deadline as text",
        _first_rule(respond_within_minutes="2h"),
        "respond_within_minutes: expected a whole number, got '2h' (str)",
    ),
    (
        "the same id twice",
        lambda t: t["rules"].append(copy.deepcopy(t["rules"][0])),
        "rule 2 (first-rule).id: 'first-rule' is already the id of rule 1",
    ),
    (
        "an unknown condition",
        _first_rule(when={"problems": "fall"}),
        "rule 1 (first-rule).when: unknown condition 'problems'; use one of: all, any, not",
    ),
    (
        "two conditions in one",
        _first_rule(when={"problem": "fall", "red_flag_any": True}),
        "when: a condition is a mapping with exactly one of",
    ),
    ("an empty all", _first_rule(when={"all": []}), "when.all: expected a non-empty list"),
    (
        "a condition that is text",
        _first_rule(when={"not": "fall"}),
        "when.not: a condition is a mapping",
    ),
    (
        "an unknown fact",
        _first_rule(when={"fact": {"name": "agee", "ge": 65}}),
        "when.fact.name: unknown fact 'agee' (str); known: channel",
    ),
    (
        "a fact with no test",
        _first_rule(when={"fact": {"name": "age"}}),
        "when.fact: needs at least one test: equals, in, present, ge",
    ),
    (
        "a number as text",
        _first_rule(when={"fact": {"name": "age", "ge": "sixty"}}),
        "when.fact.ge: expected a whole number, got 'sixty' (str)",
    ),
    (
        "a score out of its range",
        _first_rule(when={"fact": {"name": "clinical_frailty_scale", "ge": 50}}),
        "when.fact.ge: 50 is out of range (1 to 9)",
    ),
    (
        "an ordering on a yes/no fact",
        _first_rule(when={"fact": {"name": "on_register", "ge": 1}}),
        "when.fact: unknown test 'ge' here; use one of: is",
    ),
    (
        "an unknown channel",
        _first_rule(when={"fact": {"name": "channel", "equals": "fax"}}),
        "when.fact.equals: unknown channel code 'fax' (str); known: telephone",
    ),
    (
        "a channel YAML read as a number",
        _first_rule(when={"fact": {"name": "channel", "in": [111]}}),
        "when.fact.in[0]: unknown channel code 111 (int) (quote it)",
    ),
    (
        "an unknown eFI band",
        _first_rule(when={"fact": {"name": "frailty", "in": ["frail"]}}),
        "unknown frailty code 'frail' (str); known: fit, mild, moderate, severe",
    ),
    (
        "red_flag_any false",
        _first_rule(when={"red_flag_any": False}),
        "when.red_flag_any: must be true",
    ),
    (
        "an answer without a link id",
        _first_rule(when={"answer": {"equals": "x"}}),
        "when.answer: missing link_id",
    ),
    (
        "an answer without a test",
        _first_rule(when={"answer": {"link_id": "reason"}}),
        "when.answer: needs at least one test",
    ),
    (
        "an answer ordering on text",
        _first_rule(when={"answer": {"link_id": "weight", "ge": "heavy"}}),
        "when.answer.ge: expected a number, got 'heavy' (str)",
    ),
    (
        "a nested fault",
        _first_rule(
            when={"all": [{"problem": "fall"}, {"not": {"fact": {"name": "age", "gte": 1}}}]}
        ),
        "rule 1 (first-rule).when.all[1].not.fact: unknown test 'gte'",
    ),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=n) for n, c, m in BROKEN])
def test_given_a_table_with_a_fault_when_loaded_then_refused_naming_file_place_and_fault(
    tmp_path: Path, change: Change, message: str
) -> None:
    document = _table()
    change(document)
    path = tmp_path / "decision-table.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(DecisionTableError) as refused:
        load_table(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_given_the_valid_base_table_when_loaded_then_it_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "decision-table.yaml"
    path.write_text(yaml.safe_dump(_table()), encoding="utf-8")
    table = load_table(path)
    assert isinstance(table, DecisionTable)
    assert (table.version, table.source, [r.id for r in table.rules]) == (
        "2026.1.0",
        str(path),
        ["first-rule"],
    )


def test_given_a_yaml_syntax_error_when_loaded_then_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "decision-table.yaml"
    path.write_text('version: "1"\nrules:\n  - id: a\n    reason: x: y\n', encoding="utf-8")
    with pytest.raises(DecisionTableError, match=r"not valid YAML: .*\(line 4, column 14\)"):
        load_table(path)


def test_given_a_key_given_twice_when_loaded_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "decision-table.yaml"
    text = yaml.safe_dump(_table(), sort_keys=False)
    path.write_text(text.replace("  route: ", "  route: wellbeing\n  route: ", 1), encoding="utf-8")
    with pytest.raises(DecisionTableError, match="the key 'route' is given twice"):
        load_table(path)


def test_given_no_file_when_loaded_then_refused_saying_so(tmp_path: Path) -> None:
    with pytest.raises(DecisionTableError, match="cannot read the decision table"):
        load_table(tmp_path / "missing.yaml")


def test_given_an_empty_file_when_loaded_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "decision-table.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DecisionTableError, match="expected a mapping with version"):
        load_table(path)


@pytest.mark.parametrize(
    "name",
    [f.name for f in fields(ReferralFacts) if f.name not in ("problems", "red_flags", "answers")],
)
def test_given_any_fact_of_a_referral_then_a_rule_may_test_it(name: str) -> None:
    test = {"is": True} if isinstance(getattr(ReferralFacts(), name), bool) else {"present": True}
    parse_table(_table(_rule("tested", {"fact": {"name": name, **test}})))
