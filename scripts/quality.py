"""Measure the built site: Lighthouse scores and axe violations for every page.

Run from the repository root:

    python -m scripts.quality                  # build the site strictly, then measure it
    python -m scripts.quality --site /tmp/site # measure a site built already
    python -m scripts.quality --site /tmp/site --pages guide/pytorch-api/ /
                                               # only these pages; the report goes to reports/tmp/
    python -m scripts.quality --pages errata/ --update
                                               # measure these again in reports/quality.*

Every page of the built site is measured (scripts/site_server.py's page_paths,
in the order of mkdocs.yml's nav): three Lighthouse runs each by default, about
25 minutes for the whole site on a quiet 2-core machine.

It serves the site on 127.0.0.1 (scripts/site_server.py, shared with the browser
tests), runs Lighthouse 12.2.3 (pinned in tools/lighthouse; `npm ci` there on
Node 20, done here when missing) on Debian's Chromium with the default mobile
settings and throttling, runs axe-core (axe-playwright-python) on each page in
the light and the dark colour scheme, and writes reports/quality.md and
reports/quality.json. Lighthouse's full reports go to reports/tmp/lighthouse/
(not committed). Nothing leaves the machine: Lighthouse's error reporting is off and
Chromium runs without background networking.

Exit status: 0 when every page meets the targets (Performance >= 95,
Accessibility, Best Practices and SEO = 100, no axe violation), 1 when one does
not, 2 when the tools are missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import traceback
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if (
    str(ROOT) not in sys.path
):  # `python scripts/quality.py` works as well as `python -m scripts.quality`
    sys.path.insert(0, str(ROOT))

from scripts.site_server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    is_local,
    launch_chromium,
    page_paths,
    serve,
)

LIGHTHOUSE_DIR = ROOT / "tools" / "lighthouse"
LIGHTHOUSE_CLI = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
REPORTS = ROOT / "reports"
RETRIES = 2  # extra attempts for a run that Lighthouse could not score (see measure_page)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
METRICS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
)


def nav_paths(config: Path = ROOT / "mkdocs.yml") -> list[str]:
    """URL paths of the pages in mkdocs.yml's nav, in its order ('' for index.md)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml uses tags such as !ENV; their values do not matter here.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    nav = yaml.load(config.read_text("utf-8"), Loader=Loader).get("nav") or []

    def walk(items) -> list[str]:
        found = []
        for item in items if isinstance(items, list) else [items]:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                found += walk(value)
            elif isinstance(value, str) and "://" not in value:
                stem = value.rsplit(".", 1)[0]
                found.append("" if stem == "index" else stem.removesuffix("/index") + "/")
        return found

    return walk(nav)


def site_pages(site: Path) -> list[tuple[str, str]]:
    """(name, path) for every page of the built site: the nav's order, then any page not in it.

    The name is the page's <title> without the site name.
    """
    built = page_paths(site)
    order = {path: i for i, path in enumerate(nav_paths())}
    pages = []
    for path in sorted(built, key=lambda p: (order.get(p, len(order)), p)):
        html = (site / path / "index.html").read_text("utf-8", errors="replace")
        match = re.search(r"<title>(.*?)</title>", html, re.S)
        title = unescape(match.group(1)).strip() if match else path
        pages.append((title.rsplit(" - ", 1)[0] if " - " in title else title, path))
    return pages


def select(pages: list[tuple[str, str]], wanted: list[str]) -> list[tuple[str, str]]:
    """The pages named by --pages ('guide/pytorch-api/', 'guide/pytorch-api', '/' for the home page)."""
    norm = {p.strip("/"): (name, p) for name, p in pages}
    chosen = []
    for want in wanted:
        key = want.strip("/")
        if key.endswith("index.html") or key.endswith(".md"):
            key = key.rsplit("/", 1)[0] if "/" in key else ""
        if key not in norm:
            raise SystemExit(
                f"--pages {want!r}: no such page in the built site; its pages are: "
                + ", ".join("/" + p for _, p in pages)
            )
        chosen.append(norm[key])
    return chosen


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


def score(report: dict, category: str) -> int | None:
    """A category's score out of 100, or None when Lighthouse could not compute it."""
    value = report["categories"].get(category, {}).get("score")
    return None if value is None else round(100 * value)


def summarize_lighthouse(reports: list[dict]) -> dict:
    """Scores (the median over runs), metric values and the audits that lost points, from the median run.

    A category that Lighthouse could not score in some run (score null) has no median: None.
    """
    runs = [{name: score(r, name) for name in CATEGORIES} for r in reports]
    scores = {
        name: (
            None
            if any(run[name] is None for run in runs)
            else statistics.median(run[name] for run in runs)
        )
        for name in CATEGORIES
    }
    by_performance = sorted(reports, key=lambda r: score(r, "performance") or 0)
    median = by_performance[len(by_performance) // 2]
    audits = median["audits"]
    failing = []
    for name in CATEGORIES:
        for ref in median["categories"][name]["auditRefs"]:
            audit = audits[ref["id"]]
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

    def numeric(audit_id: str) -> float | None:
        value = audits.get(audit_id, {}).get("numericValue")
        return None if value is None else round(value)

    breakdown = audits.get("mainthread-work-breakdown", {}).get("details", {}).get("items", [])
    return {
        "scores": scores,
        "runs": runs,
        "metrics": {m: audits[m].get("displayValue", "") for m in METRICS},
        "metric_values": {m: numeric(m) for m in METRICS},
        # Where the median run's main-thread time went (ms, Lighthouse's own 4x-slowed estimate
        # of a phone), and what the page weighed: the things to look at when Performance drops.
        "main_thread_ms": numeric("mainthread-work-breakdown"),
        "main_thread_breakdown": {item["group"]: round(item["duration"]) for item in breakdown},
        "script_bootup_ms": numeric("bootup-time"),
        "transfer_bytes": numeric("total-byte-weight"),
        "dom_elements": numeric("dom-size"),
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
    """True only for a page that was measured completely and met every target.

    A page that is missing from the site, whose measurement failed, or that lacks a
    score or an axe scan has not met anything.
    """
    if result.get("missing") or result.get("error"):
        return False
    lighthouse = result.get("lighthouse") or {}
    scores = lighthouse.get("scores") or {}
    axe = result.get("axe") or {}
    if any(scores.get(name) is None for name in CATEGORIES):
        return False
    if set(axe) != {"light", "dark"}:
        return False
    return (
        all(scores[name] >= TARGETS[name] for name in CATEGORIES)
        and not any(scan["violations"] for scan in axe.values())
        and "external_requests" in lighthouse
        and not lighthouse["external_requests"]
    )


def _num(value) -> str:
    return "–" if value is None else f"{value:g}"


def _ms(value) -> str:
    return "–" if value is None else f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def markdown(report: dict) -> str:
    lines = [
        "# Site quality report",
        "",
        "<!-- Generated by `python -m scripts.quality` (reports/quality.json); do not edit by hand. -->",
        "",
        "Measured by `python -m scripts.quality` (see its docstring): Lighthouse on Debian's Chromium, "
        "mobile form factor with the default simulated throttling, the site served on 127.0.0.1 "
        "gzip-compressed as GitHub Pages serves it; axe-core on each page in the light and the dark "
        "colour scheme.",
        "",
        f"- Date: {report['date']}",
        f"- Lighthouse {report['lighthouse_version']}, {report['chromium']}, Node {report['node']}, "
        f"axe-core {report['axe_version']}",
        f"- Pages: {len(report['pages'])}"
        + (
            " (a subset, chosen with --pages)"
            if report.get("subset")
            else " (every page of the site)"
        )
        + f"; Lighthouse runs per page: {report['runs']} (scores are the median)",
        f"- Targets: Performance >= {TARGETS['performance']}, Accessibility {TARGETS['accessibility']}, "
        f"Best Practices {TARGETS['best-practices']}, SEO {TARGETS['seo']}, no axe violation, "
        "no request to another host",
        f"- Pages meeting every target: {sum(meets_targets(r) for r in report['pages'])} "
        f"of {len(report['pages'])}",
        "- Performance depends on the machine: Lighthouse simulates a slow phone by scaling the CPU time it "
        "measures, so a busy machine (a low benchmark index; Lighthouse expects about 1000 or more) scores "
        f"lower. Benchmark index during this run: {report.get('benchmark_index_range', '–')}.",
    ]
    index = report.get("search_index")
    if index:
        lines.append(
            f"- Search index (fetched by every page once it has loaded and painted, parsed on the main thread): "
            f"{index['bytes'] / 1024:.0f} KiB, {index['gzip_bytes'] / 1024:.0f} KiB gzip-compressed."
        )
    lines += [
        "",
        "| Page | Performance (runs) | Accessibility | Best Practices | SEO | axe (light / dark) "
        "| Meets targets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in report["pages"]:
        name = f"{result['name']} (`/{result['path']}`)"
        if result.get("missing") or result.get("error"):
            why = (
                "not built: no such page"
                if result.get("missing")
                else "**no**: not measured (error)"
            )
            lines.append(f"| {name} | – | – | – | – | – | {why} |")
            continue
        lh = result["lighthouse"]
        s = lh["scores"]
        runs = ", ".join(_num(r["performance"]) for r in lh["runs"])
        axe = " / ".join(
            str(len(result["axe"][scheme]["violations"])) for scheme in ("light", "dark")
        )
        lines.append(
            f"| {name} | {_num(s['performance'])} ({runs}) | {_num(s['accessibility'])} "
            f"| {_num(s['best-practices'])} | {_num(s['seo'])} | {axe} "
            f"| {'yes' if meets_targets(result) else '**no**'} |"
        )
    lines += [
        "",
        "## Metrics of each page's median run",
        "",
        "Main-thread work and the metrics are Lighthouse's estimates for its simulated phone "
        "(4x slower CPU than this machine's measurement, slow 4G).",
        "",
        "| Page | FCP | LCP | TBT | CLS | Speed Index | Main-thread work | Script | Transfer | DOM "
        "elements | Benchmark index |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in report["pages"]:
        if result.get("missing") or result.get("error"):
            continue
        lh = result["lighthouse"]
        v = lh["metric_values"]
        cls = lh["metrics"]["cumulative-layout-shift"]
        bench = ", ".join(f"{b:.0f}" for b in lh["benchmark_index"] if b)
        kb = "–" if lh["transfer_bytes"] is None else f"{lh['transfer_bytes'] / 1024:.0f} KiB"
        lines.append(
            f"| `/{result['path']}` | {_ms(v['first-contentful-paint'])} "
            f"| {_ms(v['largest-contentful-paint'])} | {_ms(v['total-blocking-time'])} | {cls} "
            f"| {_ms(v['speed-index'])} | {_ms(lh['main_thread_ms'])} | {_ms(lh['script_bootup_ms'])} "
            f"| {kb} | {_num(lh['dom_elements'])} | {bench} |"
        )
    problems = []
    for result in report["pages"]:
        where = f"`/{result['path']}`"
        if result.get("error"):
            problems.append(f"- {where}: not measured: {result['error'].splitlines()[-1]}")
            continue
        if result.get("missing"):
            continue
        lh = result["lighthouse"]
        for a in lh["lost_points"]:
            if a["category"] != "performance":
                problems.append(f"- {where}: {a['category']}: `{a['id']}` ({a['title']})")
        if (lh["scores"]["performance"] or 0) < TARGETS["performance"]:
            perf = [a for a in lh["lost_points"] if a["category"] == "performance"]
            problems.append(
                f"- {where}: Performance {_num(lh['scores']['performance'])}: "
                + "; ".join(f"`{a['id']}` {a['value']} (score {a['score']:.2f})" for a in perf)
            )
        for scheme, scan in result["axe"].items():
            for v in scan["violations"]:
                problems.append(
                    f"- {where}: axe ({scheme}): `{v['id']}` ({v['impact']}): {v['help']}; "
                    + ", ".join(f"`{t}`" for t in v["targets"])
                )
        for warning in lh["warnings"]:
            first = warning.split(". ")[0].strip().rstrip(".")
            problems.append(f"- {where}: Lighthouse warning: {' '.join(first.split())}.")
        if lh["external_requests"]:
            problems.append(
                f"- {where}: requests to other hosts: " + ", ".join(lh["external_requests"])
            )
    lines += ["", "## What missed a target", ""]
    lines += problems or ["Nothing: every page met every target."]
    lines.append("")
    return "\n".join(lines)


def measure_page(browser, base: str, name: str, path: str, runs: int, raw: Path) -> dict:
    """Lighthouse `runs` times and axe in both colour schemes on one page."""
    slug = path.strip("/").replace("/", "-") or "home"
    reports = []
    for run in range(runs):
        print(f"- /{path}: Lighthouse run {run + 1} of {runs} ...", flush=True)
        for attempt in range(1 + RETRIES):
            report = lighthouse(base + path, raw / f"lighthouse-{slug}-{run + 1}.json")
            if score(report, "performance") is not None:
                break
            # On a busy machine Lighthouse sometimes misses the page's largest paint (NO_LCP)
            # and cannot score Performance; such a run says nothing about the page.
            error = report["audits"]["largest-contentful-paint"].get("errorMessage", "no score")
            print(f"  Performance not scored ({error}); attempt {attempt + 2} ...", flush=True)
        reports.append(report)
    axe = {scheme: axe_scan(browser, base + path, scheme) for scheme in ("light", "dark")}
    return {"name": name, "path": path, "lighthouse": summarize_lighthouse(reports), "axe": axe}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--site", type=Path, help="a built site (default: build one with mkdocs build --strict)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="Lighthouse runs per page; scores are the median"
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        metavar="PATH",
        help="measure only these pages (URL paths such as guide/pytorch-api/, / for the home "
        "page); the report then goes to reports/tmp/ unless --out says otherwise",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="with --pages: measure these pages again and replace them in the report that is "
        "there (reports/ unless --out says otherwise), keeping the other pages' results",
    )
    parser.add_argument(
        "--out", type=Path, help="where quality.md and quality.json go (default: reports/)"
    )
    args = parser.parse_args(argv)
    if args.update and not args.pages:
        parser.error("--update needs --pages: the pages to measure again")
    out = args.out or (REPORTS / "tmp" if args.pages and not args.update else REPORTS)

    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    ensure_lighthouse()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="quality-site-") as scratch:
        site = args.site or build(Path(scratch) / "site")
        pages = site_pages(site)
        every_path = [path for _, path in pages]
        if args.pages:
            pages = select(pages, args.pages)
        # Lighthouse's full reports (not committed): beside a report written elsewhere, so two
        # runs at once do not overwrite each other's files.
        raw = (REPORTS / "tmp" if out == REPORTS else out) / "lighthouse"
        raw.mkdir(parents=True, exist_ok=True)
        results = []
        with serve(site) as base, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            chromium = f"Chromium {browser.version}"
            for name, path in pages:
                try:
                    result = measure_page(browser, base, name, path, args.runs, raw)
                except Exception as error:  # noqa: BLE001 - recorded; the page then fails
                    traceback.print_exc()
                    results.append(
                        {"name": name, "path": path, "error": f"{type(error).__name__}: {error}"}
                    )
                    print(f"  /{path}: NOT MEASURED ({type(error).__name__})", flush=True)
                    continue
                results.append(result)
                scores = result["lighthouse"]["scores"]
                print(
                    f"  {', '.join(f'{k} {_num(v)}' for k, v in scores.items())}; runs "
                    f"{[r['performance'] for r in result['lighthouse']['runs']]}; axe violations "
                    f"{len(result['axe']['light']['violations'])} light / "
                    f"{len(result['axe']['dark']['violations'])} dark",
                    flush=True,
                )
            browser.close()

        index = site / "search" / "search_index.json"
        search_index = (
            {
                "bytes": index.stat().st_size,
                "gzip_bytes": len(gzip.compress(index.read_bytes(), compresslevel=6, mtime=0)),
            }
            if index.is_file()
            else None
        )

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for result in results:
        result["measured"] = now
    date = now
    if args.update:
        previous = json.loads((out / "quality.json").read_text("utf-8"))
        fresh = {r["path"]: r for r in results}
        kept = {r["path"]: r for r in previous["pages"]}
        results = [
            fresh.get(path)
            or kept.get(path)
            or {"name": path, "path": path, "error": "not measured: new since the last report"}
            for path in every_path
        ]
        date = f"{previous['date'].split(';')[0]}; measured again on {now}: " + ", ".join(
            f"/{path}" for path in fresh
        )
    measured = [r for r in results if not (r.get("missing") or r.get("error"))]
    bench = [b for r in measured for b in r["lighthouse"]["benchmark_index"] if b]
    report = {
        "date": date,
        "lighthouse_version": measured[0]["lighthouse"]["lighthouse_version"] if measured else None,
        "chromium": chromium,
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True)
        .stdout.strip()
        .lstrip("v"),
        "axe_version": measured[0]["axe"]["light"]["axe_version"] if measured else None,
        "runs": args.runs,
        "subset": bool(args.pages) and not args.update,
        "search_index": search_index,
        "benchmark_index_range": (
            f"{min(bench):.0f} to {max(bench):.0f} (median {statistics.median(bench):.0f})"
            if bench
            else None
        ),
        "targets": TARGETS,
        "pages": results,
        "all_targets_met": bool(results) and all(meets_targets(r) for r in results),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out / "quality.md").write_text(markdown(report), "utf-8")
    print(f"wrote {out / 'quality.md'} and {out / 'quality.json'}")
    return 0 if report["all_targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
