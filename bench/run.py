"""The OneStory benchmark: every phase of the performance targets, against any FHIR R4 server.

    python -m bench.run --base http://127.0.0.1:8080/fhir --token "$TOKEN" \\
        [--direct http://127.0.0.1:8081/fhir] [--seconds 15] [--connections 32]

Throughput phases run under wrk (32 connections); latency phases (a 100-entry transaction,
$everything of a person with 200 resources, the discharge board, subscription delivery, the
triage decision) are timed one at a time. With ``--direct``, the read, search and create
phases run against that base too (the record without the gateway), to show what the gateway
costs. The people asked about are found by searching the server, so load some first
(``python -m bench.load``). Prints a table, writes bench/results/bench-LABEL.json and
regenerates the measured table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from bench import performance_doc, processes, subscription_latency, workload, wrk
from bench.load import client_for
from bench.report import save

Figures = dict[str, Any]

# The phases wrk drives: name, what it is, and how its request lines are made.
THROUGHPUT = (
    ("read", "read a Patient by id", workload.reads),
    ("search-identifier", "Patient by NHS number", workload.by_identifier),
    ("search-name-prefix", "Patient by family name prefix (3 letters)", workload.by_name_prefix),
    ("search-date-range", "Encounters in a week", lambda base, _: workload.by_date_range(base)),
    ("search-include", "a person's Conditions, _include the Patient", workload.with_include),
)
LATENCY_CALLS = 30


async def measure(args: argparse.Namespace) -> Figures:
    async with client_for(args.base, args.token, timeout=120) as client:
        people = await workload.sample(client, args.people)
        watch = processes.Watch()
        phases: Figures = {}
        for base, where in ((args.base, ""), *(((args.direct, "direct "),) if args.direct else ())):
            for name, what, lines in THROUGHPUT:
                phases[where + name] = _wrk(args, base, what, lines(base, people))
            bodies = [orjson.dumps(o).decode() for o in workload.heart_rates(people, 20_000)]
            phases[where + "create"] = _wrk(
                args,
                base,
                "create an Observation",
                bodies,
                post_to=f"{workload.prefix_of(base)}/Observation",
            )
        phases["transaction-100"] = await _timed(
            "a 100-entry transaction (10 consultations)",
            lambda n: _transaction(client, people, n),
        )
        phases["everything-200"] = await _everything(client)
        phases["summary"] = await _timed(
            "Patient/$summary", lambda n: _get(client, f"Patient/{people.ids[n]}/$summary")
        )
        phases["discharge-board"] = await _timed(
            "the discharge board's first page, with its counts",
            lambda n: _get(
                client, args.base.rstrip("/").removesuffix("/fhir") + "/discharge/board"
            ),
        )
        phases["triage-decision"] = await _timed(
            "from a referral's commit to its triage decision",
            lambda n: _triage(client, people.ids[n]),
            calls=10,
        )
        _settle()
        phases["subscription-delivery"] = await subscription_latency.measure(
            args.base, args.token, count=200, concurrency=4
        )
        size = await _size(client)
    return {
        "command": " ".join(["python -m bench.run", *_shown(sys.argv[1:])]),
        "base": args.base,
        "direct": args.direct,
        "connections": args.connections,
        "seconds_per_phase": args.seconds,
        "data": size,
        "phases": phases,
        "resident_memory_mb": watch.stop(),
        "services_here": sorted(processes.services()),
    }


def _wrk(
    args: argparse.Namespace, base: str, what: str, lines: list[str], **kwargs: Any
) -> Figures:
    _settle()
    print(f"  {what} ({base})...", file=sys.stderr, flush=True)
    return {
        "what": what,
        **wrk.run(
            base, args.token, lines, connections=args.connections, seconds=args.seconds, **kwargs
        ),
    }


async def _timed(
    what: str, call: Callable[[int], Awaitable[float | None]], calls: int = LATENCY_CALLS
) -> Figures:
    """``calls`` calls one after another; their milliseconds, or why it was not measured."""
    _settle()
    print(f"  {what}...", file=sys.stderr, flush=True)
    timings = []
    for n in range(calls):
        try:
            taken = await call(n)
        except _Unsupported as refused:
            return {"what": what, "not_measured": str(refused)}
        if taken is not None:
            timings.append(taken)
    timings.sort()
    return {
        "what": what,
        "calls": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 1),
        "max_ms": round(timings[-1], 1),
    }


def _settle() -> None:
    """Before a phase: until what the last one left behind is done (local servers only)."""
    waited = processes.wait_until_quiet()
    if waited > 5:
        print(f"  (waited {waited:.0f} s for the services to finish earlier work)", file=sys.stderr)


class _Unsupported(Exception):
    """The server does not offer what a phase measures."""


async def _get(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    answer = await client.get(url)
    taken = (time.perf_counter() - started) * 1000
    if answer.status_code >= 400:
        raise _Unsupported(f"GET {url.split('?')[0]} answered {answer.status_code}")
    return taken


async def _transaction(client: httpx.AsyncClient, people: workload.Sample, n: int) -> float:
    body = orjson.dumps(workload.consultations(people, 100, seed=n))
    started = time.perf_counter()
    answer = await client.post("", content=body)
    taken = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise _Unsupported(f"the transaction answered {answer.status_code}: {answer.text[:300]}")
    return taken


async def _everything(client: httpx.AsyncClient) -> Figures:
    story = workload.a_long_story(200)
    answer = await client.post("", content=orjson.dumps(story))
    answer.raise_for_status()
    person = answer.json()["entry"][0]["response"]["location"].split("/")[1]
    return await _timed(
        "Patient/$everything for a person with 200 resources",
        lambda n: _get(client, f"Patient/{person}/$everything?_count=1000"),
    )


async def _triage(client: httpx.AsyncClient, person: str) -> float:
    """Refer a resident; the time until the single point of access has routed the referral."""
    answer = await client.post("", content=orjson.dumps(workload.referral(person)))
    if answer.status_code != 200:
        raise _Unsupported(f"the referral answered {answer.status_code}")
    committed = time.perf_counter()
    request = answer.json()["entry"][0]["response"]["location"].split("/_history")[0]
    deadline = committed + 30
    while time.perf_counter() < deadline:
        found = await client.get("Task", params={"focus": request, "_summary": "count"})
        if found.status_code == 200 and found.json().get("total", 0) > 0:
            return (time.perf_counter() - committed) * 1000
        await asyncio.sleep(0.02)
    raise _Unsupported("no triage Task appeared within 30 s (no single point of access?)")


async def _size(client: httpx.AsyncClient) -> Figures:
    """How many resources the server holds, by type, for the main types the population has."""
    counts = {}
    for kind in (
        "Patient",
        "Observation",
        "Encounter",
        "Condition",
        "EpisodeOfCare",
        "ServiceRequest",
        "Task",
        "AuditEvent",
    ):
        answer = await client.get(kind, params={"_summary": "count"})
        if answer.status_code == 200:
            counts[kind] = answer.json().get("total", 0)
    return {"by_type": counts, "total_of_these": sum(counts.values())}


def _shown(argv: list[str]) -> list[str]:
    """The command line with the token replaced by a variable."""
    shown = list(argv)
    for i, arg in enumerate(shown[:-1]):
        if arg == "--token":
            shown[i + 1] = '"$TOKEN"'
    return shown


def table(figures: Figures) -> str:
    lines = [f"{'phase':<28} {'per second':>12} {'p50 ms':>9} {'p95 ms':>9}  what"]
    for name, phase in figures["phases"].items():
        if "not_measured" in phase:
            lines.append(
                f"{name:<28} {'-':>12} {'-':>9} {'-':>9}  not measured: {phase['not_measured']}"
            )
            continue
        rate = f"{phase['per_second']:,.0f}" if "per_second" in phase else ""
        p50 = phase.get("p50_ms", phase.get("median_ms"))
        what = phase.get("what", phase.get("measurement", ""))
        lines.append(f"{name:<28} {rate:>12} {p50:>9} {phase['p95_ms']:>9}  {what}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", required=True, help="FHIR base URL to measure (the gateway)")
    parser.add_argument("--token", default="", help="bearer token with system/*.cruds")
    parser.add_argument("--direct", help="a second FHIR base for the same phases (the record)")
    parser.add_argument("--seconds", type=int, default=15, help="per wrk phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--people", type=int, default=2000, help="residents to ask about")
    parser.add_argument("--label", default="run", help="names the results: bench-LABEL.json")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)
    figures = save(f"bench-{args.label}", asyncio.run(measure(args)))
    print(table(figures))
    if not args.no_docs:
        performance_doc.regenerate(figures, load=f"load-{args.label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
