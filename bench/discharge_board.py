"""How fast the discharge hub's board answers with many people waiting, against a running
OneStory (the board is OneStory's own view; it needs the discharge service behind the gateway).

Loads ``--episodes`` people in hospital, each with an inpatient stay and a D2A episode on a
random pathway and state before discharge (some with a delay), in transaction Bundles through
the gateway, then times ``--calls`` calls of ``GET /discharge/board`` (its first page, with the
counts over everyone waiting and the assessments due and overdue).

    python -m bench.discharge_board --base http://127.0.0.1:8080/fhir --token "$TOKEN" \\
        --episodes 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.fhir import terms
from shared.nhs_number import NHS_NUMBER_SYSTEM, generate

RESULTS = Path(__file__).parent / "results"
BATCH = 30  # people per transaction: 90 entries
Resource = dict[str, Any]


def person(rng: random.Random, now: datetime, taken: set[str]) -> list[Resource]:
    """A patient (with an NHS number not in ``taken``), their stay and their D2A episode, as
    transaction entries."""
    patient, stay, episode = (f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(3))
    admitted = now - timedelta(days=rng.randint(3, 40))
    ready = admitted + timedelta(days=rng.randint(1, 2))
    pathway = rng.choice(["0", "1", "1", "2", "3"])
    state = rng.choice(["identified", "pathway-proposed", "pathway-agreed", "awaiting-capacity"])
    extensions: list[Resource] = [
        {"url": terms.D2A_STATE_EXTENSION, "valueCoding": terms.coding(terms.D2A_STATE, state)},
        {"url": terms.DISCHARGE_READY_EXTENSION, "valueDateTime": ready.isoformat()},
    ]
    if state != "identified":
        extensions.append(
            {
                "url": terms.D2A_PATHWAY_EXTENSION,
                "valueCoding": terms.coding(terms.D2A_PATHWAY, pathway),
            }
        )
    if state == "awaiting-capacity":
        reason = rng.choice(sorted(terms.D2A_DELAY_REASONS))
        extensions.append(
            {
                "url": terms.D2A_DELAY_EXTENSION,
                "extension": [
                    {"url": "reason", "valueCoding": terms.coding(terms.D2A_DELAY_REASON, reason)},
                    {"url": "start", "valueDateTime": ready.isoformat()},
                ],
            }
        )
    d2a = terms.coding(terms.EPISODE_TYPE, terms.DISCHARGE_TO_ASSESS)
    ward = f"Ward {rng.choice('ABCDEFGH')}{rng.randint(1, 9)}"
    return [
        _post(
            patient,
            {
                "resourceType": "Patient",
                "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": _new_number(rng, taken)}],
                "name": [{"family": f"Bench{rng.randrange(10**6)}", "given": ["Ward"]}],
                # Spread as a city's are: registration compares a new person with everyone
                # born on the same day, about 60 people a day in 2 million.
                "birthDate": (
                    date(1925, 1, 1) + timedelta(days=rng.randrange(365 * 40))
                ).isoformat(),
            },
        ),
        _post(
            episode,
            {
                "resourceType": "EpisodeOfCare",
                "status": "active",
                "type": [{"coding": [d2a]}],
                "patient": {"reference": patient},
                "period": {"start": ready.isoformat()},
                "extension": extensions,
            },
        ),
        _post(
            stay,
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {"system": terms.ACT_CODE, "code": "IMP"},
                "subject": {"reference": patient},
                "period": {"start": admitted.isoformat()},
                "episodeOfCare": [{"reference": episode}],
                "location": [{"location": {"display": ward}}],
            },
        ),
    ]


def _new_number(rng: random.Random, taken: set[str]) -> str:
    while (number := generate(rng)) in taken:
        pass
    taken.add(number)
    return number


def _post(full_url: str, resource: Resource) -> Resource:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


async def load(client: httpx.AsyncClient, episodes: int, seed: int) -> float:
    rng, now, taken = random.Random(seed), datetime.now(UTC), set[str]()
    started = time.perf_counter()
    for first in range(0, episodes, BATCH):
        count = min(BATCH, episodes - first)
        entries = [e for _ in range(count) for e in person(rng, now, taken)]
        answer = await client.post(
            "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
        )
        answer.raise_for_status()
        print(f"\rloaded {first + BATCH:,} of {episodes:,}", end="", flush=True)
    print()
    return time.perf_counter() - started


async def load_only(base: str, token: str, episodes: int, seed: int = 7) -> float:
    """Put ``episodes`` people on the board (for the harness, which times it with the rest)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    async with httpx.AsyncClient(
        base_url=base.rstrip("/") + "/", headers=headers, timeout=600
    ) as client:
        return await load(client, episodes, seed)


async def time_board(client: httpx.AsyncClient, board: str, calls: int) -> list[float]:
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        answer = await client.get(board)
        answer.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-load", action="store_true", help="measure what is there already")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/fhir+json"}
    board = args.base.rstrip("/").removesuffix("/fhir") + "/discharge/board"
    async with httpx.AsyncClient(
        base_url=args.base.rstrip("/") + "/", headers=headers, timeout=600
    ) as client:
        loading = 0.0 if args.no_load else await load(client, args.episodes, args.seed)
        waiting = (await client.get(board)).json()["total_waiting"]
        timings = await time_board(client, board, args.calls)
    result = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "base": args.base,
        "episodes_loaded": 0 if args.no_load else args.episodes,
        "load_seconds": round(loading, 1),
        "people_waiting_on_the_board": waiting,
        "board_ms": {
            "median": round(statistics.median(timings), 1),
            "p95": round(sorted(timings)[max(0, int(len(timings) * 0.95) - 1)], 1),
            "calls": len(timings),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "discharge_board.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
