"""The measured table in docs/performance.md, written from the benchmark's figures and judged
against the performance targets. Only the part between the markers is rewritten; the rest of
the page (what bounds each figure, the profiles) is written by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import RESULTS

DOC = Path(__file__).parent.parent / "docs" / "performance.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"


@dataclass(frozen=True)
class Target:
    figure: str  # per_second, p50_ms or p95_ms
    at_least: float | None = None
    at_most: float | None = None

    def met(self, value: float) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        return self.at_most is not None and value <= self.at_most

    def __str__(self) -> str:
        unit = "/s" if self.figure == "per_second" else " ms"
        label = {"per_second": "", "p50_ms": "median ", "p95_ms": "p95 "}[self.figure]
        if self.at_least is not None:
            return f"{label}>= {self.at_least:,.0f}{unit}"
        return f"{label}<= {self.at_most:,.0f}{unit}"


_FAST = Target("p95_ms", at_most=50)  # reads and searches
TARGETS: dict[str, tuple[Target, ...]] = {
    "create": (Target("per_second", at_least=500),),
    "read": (Target("per_second", at_least=2000), _FAST),
    "search-identifier": (Target("per_second", at_least=1300), _FAST),
    "search-name-prefix": (Target("per_second", at_least=500), _FAST),
    "search-date-range": (_FAST,),
    "search-include": (_FAST,),
    "transaction-100": (Target("p50_ms", at_most=300),),
    "everything-200": (Target("p50_ms", at_most=100),),
    "discharge-board": (Target("p50_ms", at_most=200),),
    "subscription-delivery": (Target("p95_ms", at_most=500),),
}
LOAD_TARGET = Target("per_second", at_least=2000)
MEMORY_LIMIT_MB = 250


def rows(figures: dict[str, Any]) -> list[str]:
    lines = [
        "| phase | what | per second | median ms | p95 ms | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, phase in figures["phases"].items():
        what = phase.get("what") or phase.get("measurement", "")
        if "not_measured" in phase:
            lines.append(f"| {name} | {what} | | | | | not measured: {phase['not_measured']} |")
            continue
        phase = {**phase, "p50_ms": phase.get("p50_ms", phase.get("median_ms"))}
        rate = f"{phase['per_second']:,.0f}" if "per_second" in phase else ""
        targets = TARGETS.get(name, ())
        judged = [(str(t), "yes" if t.met(phase[t.figure]) else "**no**") for t in targets]
        failed = phase.get("bad_status", 0) + phase.get("errors", 0)
        if failed:  # a fast error is no answer: nothing about this phase is met
            judged = [
                (target, f"**no**: {failed:,} of {phase['requests']:,} failed")
                for target, _ in judged or [("", "")]
            ]
        lines.append(
            f"| {name} | {what} | {rate} | {phase['p50_ms']} | {phase['p95_ms']} | "
            f"{'; '.join(t for t, _ in judged)} | {'; '.join(m for _, m in judged)} |"
        )
    return lines


def section(figures: dict[str, Any], load: dict[str, Any] | None) -> str:
    data = figures["data"]
    counts = ", ".join(f"{kind} {n:,}" for kind, n in data["by_type"].items())
    out = [
        BEGIN,
        "<!-- Written by `python -m bench.run`; edit bench/performance_doc.py, not this table. -->",
        "",
        f"Measured {figures['measured']} on {figures['machine']}, against `{figures['base']}`"
        + (f" (and directly `{figures['direct']}`)" if figures.get("direct") else "")
        + f", {figures['connections']} connections, {figures['seconds_per_phase']} s a phase.",
        f"Data: {data['total_of_these']:,} resources of the main types ({counts}).",
        *(
            [f"Services running: {', '.join(figures['services_here'])}."]
            if figures.get("services_here")
            else []
        ),
        "",
        f"    {figures['command']}",
        "",
        *rows(figures),
        "",
    ]
    if load:
        rate = load["resources_per_second"]
        met = "yes" if LOAD_TARGET.met(rate) else "**no**"
        out.append(
            f"Bulk load (`python -m bench.load`, {load['concurrency']} Bundles in flight): "
            f"{load['resources_sent']:,} resources for {load['residents']:,} residents in "
            f"{load['seconds']:,} s, **{rate:,}/s** (target {LOAD_TARGET}: {met}), measured "
            f"{load['measured']} against `{load['base']}`."
        )
        out.append("")
    peaks = figures.get("resident_memory_mb") or {}
    if peaks:
        shown = ", ".join(f"{name} {mb} MB" for name, mb in peaks.items())
        over = [name for name, mb in peaks.items() if mb > MEMORY_LIMIT_MB]
        verdict = f"over {MEMORY_LIMIT_MB} MB: {', '.join(over)}" if over else "all within"
        out.append(
            f"Peak resident memory during the run: {shown} (target <= {MEMORY_LIMIT_MB} MB "
            f"each: {verdict})."
        )
        out.append("")
    out.append(END)
    return "\n".join(out)


def regenerate(figures: dict[str, Any], *, load: str = "load-run") -> None:
    """Rewrite the measured table from ``figures`` and the bulk load saved as ``load``."""
    load_file = RESULTS / f"{load}.json"
    loaded = json.loads(load_file.read_text()) if load_file.exists() else None
    text = DOC.read_text()
    new = section(figures, loaded)
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + new + rest.split(END, 1)[1]
    else:
        title, _, body = text.partition("\n\n")
        text = f"{title}\n\n{new}\n\n{body}"
    DOC.write_text(text)
