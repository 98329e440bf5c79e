"""The quality report (scripts/quality.py) passes only pages it measured and that met every target.

No browser: these tests feed `meets_targets` and the report writer results shaped like the
ones `measure_page` returns, and check which pages pass and how the report reads.
"""

from __future__ import annotations

import copy

import pytest

from scripts import quality


def measured(**scores) -> dict:
    """A page result that meets every target, with `scores` overriding the defaults."""
    full = {"performance": 97, "accessibility": 100, "best-practices": 100, "seo": 100, **scores}
    return {
        "name": "A page",
        "path": "guide/a-page/",
        "lighthouse": {
            "scores": full,
            "runs": [full, full, full],
            "metrics": {m: "1 s" for m in quality.METRICS},
            "metric_values": {m: 1000 for m in quality.METRICS},
            "main_thread_ms": 1500,
            "main_thread_breakdown": {"styleLayout": 700},
            "script_bootup_ms": 400,
            "transfer_bytes": 150_000,
            "dom_elements": 1200,
            "lost_points": [],
            "external_requests": [],
            "lighthouse_version": "12.2.3",
            "user_agent": "test",
            "benchmark_index": [1500, 1500, 1500],
            "warnings": [],
        },
        "axe": {
            scheme: {"scheme": scheme, "axe_version": "4", "violations": []}
            for scheme in ("light", "dark")
        },
    }


def test_a_page_that_meets_every_target_passes():
    assert quality.meets_targets(measured())


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"name": "A page", "path": "a/", "missing": True}, id="not in the site"),
        pytest.param(
            {"name": "A page", "path": "a/", "error": "RuntimeError: Lighthouse failed"},
            id="measurement failed",
        ),
        pytest.param({"name": "A page", "path": "a/"}, id="no measurement at all"),
        pytest.param(measured(performance=None), id="performance not scored"),
        pytest.param({**measured(), "axe": {}}, id="no axe scan"),
        pytest.param(
            {**measured(), "axe": {"light": measured()["axe"]["light"]}},
            id="dark scheme not scanned",
        ),
    ],
)
def test_a_page_that_was_not_measured_fails(result):
    assert not quality.meets_targets(result), (
        "scripts/quality.py's meets_targets passed a page it could not measure: "
        "it must return False when a score, an axe scan or the whole measurement is missing"
    )


@pytest.mark.parametrize(
    "scores",
    [{"performance": 94}, {"accessibility": 99}, {"best-practices": 96}, {"seo": 92}],
    ids=lambda s: next(iter(s)),
)
def test_a_score_below_its_target_fails(scores):
    assert not quality.meets_targets(measured(**scores))


def test_an_axe_violation_or_a_request_to_another_host_fails():
    with_violation = measured()
    with_violation["axe"]["dark"]["violations"] = [
        {"id": "color-contrast", "impact": "serious", "help": "contrast", "targets": ["p"]}
    ]
    assert not quality.meets_targets(with_violation)
    with_request = measured()
    with_request["lighthouse"]["external_requests"] = ["https://fonts.example.com/a.css"]
    assert not quality.meets_targets(with_request)


def report_of(pages: list[dict]) -> dict:
    return {
        "date": "2026-12-02 02:00 UTC",
        "lighthouse_version": "12.2.3",
        "chromium": "Chromium 1",
        "node": "20",
        "axe_version": "4",
        "runs": 3,
        "subset": False,
        "benchmark_index_range": "1500 to 1500 (median 1500)",
        "targets": quality.TARGETS,
        "pages": pages,
        "all_targets_met": all(quality.meets_targets(p) for p in pages),
    }


def test_the_report_has_one_row_per_page_and_marks_failures():
    slow = measured(performance=80)
    slow["path"] = "guide/slow/"
    failed = {"name": "Broken", "path": "guide/broken/", "error": "RuntimeError: no report"}
    pages = [measured(), slow, failed]
    text = quality.markdown(report_of(copy.deepcopy(pages)))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(`/" in line]
    assert len(rows) == len(pages), "expected one score row per page, got:\n" + "\n".join(rows)
    assert rows[0].endswith("| yes |")
    assert rows[1].endswith("| **no** |") and "| 80 (80, 80, 80) |" in rows[1]
    assert "not measured" in rows[2]
    assert "Pages meeting every target: 1 of 3" in text
    assert "`/guide/broken/`: not measured: RuntimeError: no report" in text
