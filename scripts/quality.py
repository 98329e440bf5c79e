"""Measure the built site: Lighthouse scores and axe violations for a few key pages.

Run from the repository root:

    python -m scripts.quality                  # build the site strictly, then measure it
    python -m scripts.quality --site /tmp/site # measure a site built already

It serves the site on 127.0.0.1 (scripts/site_server.py, shared with the browser
tests), runs Lighthouse 12.2.3 (pinned in tools/lighthouse; `npm ci` there on
Node 20, done here when missing) on Debian's Chromium with the default mobile
settings and throttling, runs axe-core (axe-playwright-python) on each page in
the light and the dark colour scheme, and writes reports/quality.md and
reports/quality.json. Lighthouse's full reports go to reports/tmp/ (not
committed). Nothing leaves the machine: Lighthouse's error reporting is off and
Chromium runs without background networking.

Exit status: 0 when every page meets the targets (Performance >= 95,
Accessibility, Best Practices and SEO = 100, no axe violation), 1 when one does
not, 2 when the tools are missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if (
    str(ROOT) not in sys.path
):  # `python scripts/quality.py` works as well as `python -m scripts.quality`
    sys.path.insert(0, str(ROOT))

from scripts.site_server import CHROMIUM, CHROMIUM_ARGS, is_local, launch_chromium, serve  # noqa: E402

LIGHTHOUSE_DIR = ROOT / "tools" / "lighthouse"
LIGHTHOUSE_CLI = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
REPORTS = ROOT / "reports"
PAGES = {
    "Home": "",
    "Content page (the math)": "guide/the-math/",
    "Notebook page (exploding gradients)": "experiments/exploding-gradients/",
    "Clipping explorer": "guide/explorer/",
}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
METRICS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
)


def build(into: Path) -> Path:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    print(f"building the site (mkdocs build --strict) into {into} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "--site-dir", str(into)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return into


def ensure_lighthouse() -> None:
    if LIGHTHOUSE_CLI.is_file():
        return
    if not shutil.which("npm"):
        sys.exit(
            f"Lighthouse is not installed in {LIGHTHOUSE_DIR} and npm is missing: install Node 20, "
            "then run `npm ci` there."
        )
    print(f"installing the pinned Lighthouse: npm ci in {LIGHTHOUSE_DIR} ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=LIGHTHOUSE_DIR, check=True
    )


def lighthouse(url: str, output: Path) -> dict:
    """One Lighthouse run (mobile form factor, default simulated throttling); returns the report (LHR)."""
    flags = [flag for flag in CHROMIUM_ARGS if flag != "--headless"] + ["--headless=new"]
    command = [
        "node",
        str(LIGHTHOUSE_CLI),
        url,
        "--output=json",
        f"--output-path={output}",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=" + " ".join(flags),
        "--no-enable-error-reporting",
        "--quiet",
    ]
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not output.is_file():
        raise RuntimeError(
            f"Lighthouse failed on {url} (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(output.read_text("utf-8"))


def summarize_lighthouse(reports: list[dict]) -> dict:
    """Scores (the median over runs), metric values and the audits that lost points, from the median run."""
    scores = {
        name: statistics.median(round(100 * (r["categories"][name]["score"] or 0)) for r in reports)
        for name in CATEGORIES
    }
    by_performance = sorted(reports, key=lambda r: r["categories"]["performance"]["score"] or 0)
    median = by_performance[len(by_performance) // 2]
    failing = []
    for name in CATEGORIES:
        for ref in median["categories"][name]["auditRefs"]:
            audit = median["audits"][ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                failing.append(
                    {
                        "category": name,
                        "id": ref["id"],
                        "title": audit["title"],
                        "score": audit["score"],
                        "value": audit.get("displayValue", ""),
                    }
                )
    return {
        "scores": scores,
        "runs": [
            {name: round(100 * (r["categories"][name]["score"] or 0)) for name in CATEGORIES}
            for r in reports
        ],
        "metrics": {m: median["audits"][m].get("displayValue", "") for m in METRICS},
        "lost_points": failing,
        "external_requests": sorted(
            {
                item["url"]
                for r in reports
                for item in r["audits"]["network-requests"]["details"]["items"]
                if not is_local(item["url"])
            }
        ),
        "lighthouse_version": median["lighthouseVersion"],
        "user_agent": median["environment"]["hostUserAgent"],
        "benchmark_index": [r["environment"].get("benchmarkIndex") for r in reports],
        "warnings": median.get("runWarnings", []),
    }


def axe_scan(browser, url: str, scheme: str) -> dict:
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        actual = page.locator("body").get_attribute("data-md-color-scheme")
        response = Axe().run(page).response
    finally:
        context.close()
    return {
        "scheme": actual,
        "axe_version": response["testEngine"]["version"],
        "violations": [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "targets": [" ".join(map(str, node["target"])) for node in v["nodes"]][:10],
            }
            for v in response["violations"]
        ],
    }


def meets_targets(result: dict) -> bool:
    if result.get("missing"):
        return False  # a page that could not be measured has not met anything
    scores = result["lighthouse"]["scores"]
    return (
        all(scores[name] >= TARGETS[name] for name in CATEGORIES)
        and not any(scan["violations"] for scan in result["axe"].values())
        and not result["lighthouse"]["external_requests"]
    )


def markdown(report: dict) -> str:
    lines = [
        "# Site quality report",
        "",
        "<!-- Generated by `python -m scripts.quality` (reports/quality.json); do not edit by hand. -->",
        "",
        "Measured by `python -m scripts.quality` (see its docstring): Lighthouse on Debian's Chromium, "
        "mobile form factor with the default simulated throttling, the site served on 127.0.0.1 "
        "with gzip; axe-core on each page in the light and the dark colour scheme.",
        "",
        f"- Date: {report['date']}",
        f"- Lighthouse {report['lighthouse_version']}, {report['chromium']}, Node {report['node']}, "
        f"axe-core {report['axe_version']}",
        f"- Lighthouse runs per page: {report['runs']} (scores are the median)",
        f"- Targets: Performance >= {TARGETS['performance']}, Accessibility {TARGETS['accessibility']}, "
        f"Best Practices {TARGETS['best-practices']}, SEO {TARGETS['seo']}, no axe violation, "
        "no request to another host",
        "- Performance depends on the machine: Lighthouse simulates a slow phone by scaling the CPU time it "
        "measures, so a busy machine (a low benchmark index; Lighthouse expects about 1000 or more) scores lower.",
        "",
        "| Page | Performance | Accessibility | Best Practices | SEO | axe violations (light / dark) | Meets targets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in report["pages"]:
        name = f"{result['name']} (`/{result['path']}`)"
        if result.get("missing"):
            lines.append(f"| {name} | – | – | – | – | – | not built: no such page yet |")
            continue
        s = result["lighthouse"]["scores"]
        axe = " / ".join(
            str(len(result["axe"][scheme]["violations"])) for scheme in ("light", "dark")
        )
        lines.append(
            f"| {name} | {s['performance']:g} | {s['accessibility']:g} | {s['best-practices']:g} "
            f"| {s['seo']:g} | {axe} | {'yes' if meets_targets(result) else '**no**'} |"
        )
    lines += ["", "## Details", ""]
    for result in report["pages"]:
        if result.get("missing"):
            continue
        lh = result["lighthouse"]
        lines.append(f"### {result['name']}")
        lines.append("")
        lines.append(
            "Metrics (median run): " + ", ".join(f"{k} {v}" for k, v in lh["metrics"].items()) + "."
        )
        lines.append(
            "Performance per run: "
            + ", ".join(str(r["performance"]) for r in lh["runs"])
            + "; Lighthouse's CPU benchmark index per run: "
            + ", ".join(f"{b:.0f}" for b in lh["benchmark_index"] if b)
            + "."
        )
        lines.append(
            "Requests to other hosts: " + (", ".join(lh["external_requests"]) or "none") + "."
        )
        lost = [a for a in lh["lost_points"] if a["category"] != "performance"]
        perf = [a for a in lh["lost_points"] if a["category"] == "performance"]
        lines.append("")
        if lost:
            lines.append(
                "Audits that lost points: "
                + "; ".join(f"{a['category']}: `{a['id']}` ({a['title']})" for a in lost)
                + "."
            )
        else:
            lines.append("No accessibility, best-practices or SEO audit lost points.")
        if perf:
            lines.append(
                "Performance metrics below a full score: "
                + "; ".join(f"`{a['id']}` {a['value']} (score {a['score']:.2f})" for a in perf)
                + "."
            )
        for scheme, scan in result["axe"].items():
            for v in scan["violations"]:
                lines.append(
                    f"- axe ({scheme}): `{v['id']}` ({v['impact']}): {v['help']}; "
                    + ", ".join(f"`{t}`" for t in v["targets"])
                )
        if lh["warnings"]:
            lines.append("- Lighthouse warnings: " + " ".join(lh["warnings"]))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--site", type=Path, help="a built site (default: build one with mkdocs build --strict)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="Lighthouse runs per page; scores are the median"
    )
    parser.add_argument(
        "--out", type=Path, default=REPORTS, help="where quality.md and quality.json go"
    )
    args = parser.parse_args(argv)

    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    ensure_lighthouse()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="quality-site-") as scratch:
        site = args.site or build(Path(scratch) / "site")
        raw = args.out / "tmp"
        raw.mkdir(parents=True, exist_ok=True)
        results = []
        with serve(site) as base, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            chromium = f"Chromium {browser.version}"
            for name, path in PAGES.items():
                if not (site / path / "index.html").is_file():
                    print(f"- /{path}: not in the site, skipped", flush=True)
                    results.append({"name": name, "path": path, "missing": True})
                    continue
                slug = path.strip("/").replace("/", "-") or "home"
                reports = []
                for run in range(args.runs):
                    print(f"- /{path}: Lighthouse run {run + 1} of {args.runs} ...", flush=True)
                    reports.append(
                        lighthouse(base + path, raw / f"lighthouse-{slug}-{run + 1}.json")
                    )
                axe = {
                    scheme: axe_scan(browser, base + path, scheme) for scheme in ("light", "dark")
                }
                result = {
                    "name": name,
                    "path": path,
                    "lighthouse": summarize_lighthouse(reports),
                    "axe": axe,
                }
                results.append(result)
                scores = result["lighthouse"]["scores"]
                print(
                    f"  {', '.join(f'{k} {v:g}' for k, v in scores.items())}; axe violations "
                    f"{len(axe['light']['violations'])} light / {len(axe['dark']['violations'])} dark",
                    flush=True,
                )
            browser.close()

    measured = [r for r in results if not r.get("missing")]
    report = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "lighthouse_version": measured[0]["lighthouse"]["lighthouse_version"] if measured else None,
        "chromium": chromium,
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True)
        .stdout.strip()
        .lstrip("v"),
        "axe_version": measured[0]["axe"]["light"]["axe_version"] if measured else None,
        "runs": args.runs,
        "targets": TARGETS,
        "pages": results,
        "all_targets_met": all(meets_targets(r) for r in results),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (args.out / "quality.md").write_text(markdown(report), "utf-8")
    print(f"wrote {args.out / 'quality.md'} and {args.out / 'quality.json'}")
    return 0 if report["all_targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
