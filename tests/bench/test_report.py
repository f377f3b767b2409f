"""The measured table in docs/performance.md: each phase judged against its target, and only
the part between the markers rewritten."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import performance_doc

FIGURES: dict[str, Any] = {
    "measured": "2026-12-04T21:00:00+00:00",
    "machine": "2 cores, 24 GiB, x86_64, Linux 6.18, Python 3.11.7",
    "command": 'python -m bench.run --base http://127.0.0.1:8080/fhir --token "$TOKEN"',
    "base": "http://127.0.0.1:8080/fhir",
    "direct": None,
    "connections": 32,
    "seconds_per_phase": 15,
    "data": {"by_type": {"Patient": 2000, "Observation": 30000}, "total_of_these": 32000},
    "phases": {
        "read": {
            "what": "read a Patient by id",
            "per_second": 2500.0,
            "p50_ms": 9.0,
            "p95_ms": 40.0,
        },
        "search-identifier": {
            "what": "Patient by NHS number",
            "per_second": 900.0,
            "p50_ms": 30.0,
            "p95_ms": 60.0,
        },
        "summary": {"what": "Patient/$summary", "not_measured": "GET answered 404"},
        "subscription-delivery": {
            "measurement": "subscription commit-to-delivery latency (ms)",
            "median_ms": 80.0,
            "p95_ms": 140.0,
        },
    },
    "resident_memory_mb": {"gateway": 180, "record": 300},
}


@pytest.fixture
def doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nWhat this page is.\n\n## What bounds it\n\nBy hand.\n")
    monkeypatch.setattr(performance_doc, "DOC", page)
    monkeypatch.setattr(performance_doc, "RESULTS", tmp_path)
    return page


def test_given_figures_when_judged_then_each_target_says_met_or_not() -> None:
    rows = "\n".join(performance_doc.rows(FIGURES))

    assert (
        "| read | read a Patient by id | 2,500 | 9.0 | 40.0 | >= 2,000/s; p95 <= 50 ms | yes; yes |"
        in rows
    )
    assert "| search-identifier |" in rows and ">= 1,300/s; p95 <= 50 ms | **no**; **no** |" in rows
    assert "| subscription-delivery |" in rows and "p95 <= 500 ms | yes |" in rows
    assert "not measured: GET answered 404" in rows


def test_given_a_page_without_markers_when_regenerated_then_the_table_goes_after_the_title(
    doc: Path,
) -> None:
    performance_doc.regenerate(FIGURES)
    text = doc.read_text()

    assert text.startswith("# Performance\n\n" + performance_doc.BEGIN)
    assert "## What bounds it\n\nBy hand." in text
    assert "record 300 MB" in text and "over 250 MB: record" in text


def test_given_a_page_with_a_table_when_regenerated_then_only_the_table_changes(
    doc: Path,
) -> None:
    performance_doc.regenerate(FIGURES)
    faster = {**FIGURES, "resident_memory_mb": {"record": 200}}

    performance_doc.regenerate(faster)
    text = doc.read_text()

    assert text.count(performance_doc.BEGIN) == 1
    assert "record 200 MB" in text and "all within" in text
    assert text.endswith("## What bounds it\n\nBy hand.\n")


def test_given_a_bulk_load_result_when_regenerated_then_its_rate_is_judged(doc: Path) -> None:
    (doc.parent / "load-run.json").write_text(
        '{"measured": "2026-12-04T20:00:00+00:00", "base": "http://127.0.0.1:8080/fhir", '
        '"residents": 2000, "resources_sent": 50000, "resources_created": 50000, '
        '"seconds": 250.0, "resources_per_second": 200, "concurrency": 4}'
    )

    performance_doc.regenerate(FIGURES)

    assert "**200/s** (target >= 2,000/s: **no**)" in doc.read_text()


def test_given_a_phase_answered_with_errors_when_judged_then_nothing_about_it_is_met() -> None:
    refused = {
        "what": "Patient by NHS number",
        "per_second": 9000.0,
        "p50_ms": 1.0,
        "p95_ms": 2.0,
        "requests": 9000,
        "bad_status": 8990,
        "errors": 0,
    }

    rows = performance_doc.rows({**FIGURES, "phases": {"search-identifier": refused}})

    assert "**no**: 8,990 of 9,000 failed" in rows[-1]
    assert "yes" not in rows[-1]
