"""Load the synthetic Portsmouth population into any FHIR R4 server, in transaction Bundles.

    python -m bench.load --base http://127.0.0.1:8080/fhir --token "$TOKEN" --residents 1000
    python -m bench.load --base ... --token ... --resources 1000000

The directory goes first, then ``--concurrency`` Bundles of residents at a time, each a few
hundred entries of conditional creates (loading the same seed twice adds nothing). A progress
line shows resources loaded and the rate; the totals go to bench/results/load-LABEL.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import population
from bench.report import save

Resource = dict[str, Any]


@dataclass
class Progress:
    """Resources sent and created so far, shown on one line as they grow."""

    total: int
    started: float = field(default_factory=time.perf_counter)
    sent: int = 0
    created: int = 0

    def add(self, sent: int, created: int) -> None:
        self.sent += sent
        self.created += created
        width = 30
        done = round(width * min(1.0, self.sent / max(1, self.total)))
        print(
            f"\r[{'#' * done}{'.' * (width - done)}] {self.sent:,}/~{self.total:,} resources"
            f"  {self.rate():,.0f}/s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def rate(self) -> float:
        return self.sent / max(self.seconds(), 1e-9)


async def post_bundle(client: httpx.AsyncClient, bundle: Resource) -> list[Resource]:
    """The response entries of one transaction; any refusal stops the load with its reason."""
    answer = await client.post("", content=orjson.dumps(bundle))
    if answer.status_code != 200:
        raise SystemExit(f"\nThe server refused a Bundle ({answer.status_code}): {answer.text}")
    entries: list[Resource] = answer.json().get("entry", [])
    return entries


async def load(
    client: httpx.AsyncClient, residents: int, *, seed: int, concurrency: int
) -> dict[str, Any]:
    """Load the directory and ``residents`` people; what was loaded, and how fast."""
    bundle, directory = population.directory_bundle(seed)
    answered = await post_bundle(client, bundle)
    locations = {
        entry["fullUrl"]: _literal(answer["response"]["location"])
        for entry, answer in zip(bundle["entry"], answered, strict=True)
    }
    directory = population.resolved(directory, locations)
    progress = Progress(total=residents * population.RESOURCES_PER_RESIDENT)
    bundles = population.resident_bundles(directory, residents, seed=seed)
    await asyncio.gather(*(_worker(client, bundles, progress) for _ in range(concurrency)))
    print(file=sys.stderr)
    return {
        "residents": residents,
        "resources_sent": progress.sent + len(bundle["entry"]),
        "resources_created": progress.created,
        "seconds": round(progress.seconds(), 1),
        "resources_per_second": round(progress.rate()),
        "concurrency": concurrency,
    }


async def _worker(
    client: httpx.AsyncClient, bundles: Iterator[Resource], progress: Progress
) -> None:
    for bundle in bundles:  # the generator is shared: each Bundle goes to one worker
        answered = await post_bundle(client, bundle)
        created = sum(a["response"]["status"].startswith("201") for a in answered)
        progress.add(len(bundle["entry"]), created)


def _literal(location: str) -> str:
    """``Type/id`` from a response location (absolute, perhaps with ``/_history/n``)."""
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    return f"{parts[-2]}/{parts[-1]}"


def client_for(base: str, token: str, timeout: float = 600) -> httpx.AsyncClient:
    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(base_url=base.rstrip("/") + "/", headers=headers, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", required=True, help="FHIR base URL (the gateway's /fhir)")
    parser.add_argument("--token", default="", help="bearer token with system/*.cruds")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--residents", type=int, help="how many people (default 1,000)")
    size.add_argument("--resources", type=int, help="about how many resources in all")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=4, help="Bundles in flight")
    parser.add_argument("--label", default="run", help="names the results: load-LABEL.json")
    args = parser.parse_args(argv)
    residents = args.residents or 1000
    if args.resources:
        residents = max(1, args.resources // population.RESOURCES_PER_RESIDENT)

    async def run() -> dict[str, Any]:
        async with client_for(args.base, args.token) as client:
            return await load(client, residents, seed=args.seed, concurrency=args.concurrency)

    figures = save(
        f"load-{args.label}", {"base": args.base, "seed": args.seed, **asyncio.run(run())}
    )
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
