"""The built site: strict build, working links and anchors, nothing loaded from other hosts."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tests.support import build_log, fences
from tests.support.built_site import pages, parse, source
from tests.support.paths import DOCS, SNIPPETS

CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(?P<url>(?:https?:)?//[^'")\s]+)""")


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc) and parts.scheme not in ("", "file", "data")


def test_strict_build_succeeds_without_warnings(strict_build):
    # MkDocs' own log lines ("WARNING -  ..."); a notebook kernel's stderr is not the build's.
    warnings = [line for line in strict_build.log.splitlines() if re.match(r"WARNING\s+-", line)]
    if warnings:  # a failed build is reported before this test runs (tests/conftest.py)
        pytest.fail(
            "`mkdocs build --strict` warned:\n"
            + build_log.report(strict_build.log, DOCS, strict_build.returncode)
            + "\n\nReproduce with `make build`. The whole build log:\n"
            + strict_build.log,
            pytrace=False,
        )


def test_every_internal_link_and_anchor_resolves(site: Path):
    parsed = {html: parse(html) for html in pages(site)}
    problems = []
    for html, page in parsed.items():
        base = "/" + html.relative_to(site).as_posix()
        for href in page.links:
            if is_external(href) or href.startswith(("mailto:", "javascript:")):
                continue
            parts = urlsplit(urljoin(base, href))
            target = site / unquote(parts.path).lstrip("/")
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{source(site, html)}: link {href!r} points to a missing page")
                continue
            anchor = unquote(parts.fragment)
            if anchor and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if anchor not in ids:
                    problems.append(
                        f"{source(site, html)}: link {href!r} has no #{anchor} on its page"
                    )
    assert not problems, "\n".join(
        ["broken links in the built site (fix the Markdown link):", *problems]
    )


def test_no_page_loads_anything_from_another_host(site: Path):
    problems = []
    for html in pages(site):
        page = parse(html)
        for url in page.loads:
            if is_external(url):
                problems.append(f"{source(site, html)}: loads {url}")
        for css in page.styles:
            problems += [
                f"{source(site, html)}: inline style loads {m['url']}"
                for m in CSS_URL.finditer(css)
            ]
    for css in site.rglob("*.css"):
        problems += [
            f"{css.relative_to(site)}: loads {m['url']}"
            for m in CSS_URL.finditer(css.read_text("utf-8"))
        ]
    assert not problems, "\n".join(
        [
            "the site must work offline and leak nothing to third parties; ship these files with the site:",
            *problems,
        ]
    )


@pytest.mark.parametrize("page", ["index.html", "guide/the-math/index.html"])
def test_key_pages_are_built(site: Path, page: str):
    assert (site / page).is_file(), (
        f"{page} is missing from the built site; check the nav in mkdocs.yml"
    )


def test_only_the_explorer_page_loads_the_explorer_assets(site: Path):
    assets = ("assets/explorer.css", "assets/explorer.js")
    loading = {
        str(html.relative_to(site))
        for html in pages(site)
        if any(url.endswith(asset) for url in parse(html).loads for asset in assets)
    }
    assert loading == {"guide/explorer/index.html"}, (
        f"pages that load {' / '.join(assets)}: {sorted(loading)}. Only the page with `explorer: true` "
        "in its front matter should (docs/overrides/main.html adds them there)."
    )


def test_the_sites_own_scripts_do_not_hold_up_the_first_paint(site: Path):
    tags = [
        (html, tag)
        for html in pages(site)
        for tag in re.findall(r"<script\b[^>]*\bsrc=[^>]*>", html.read_text("utf-8"))
        if re.search(r"assets/(site|explorer)\.js", tag)
    ]
    assert len(tags) > 20, f"only {len(tags)} tags load assets/site.js or assets/explorer.js"
    blocking = [f"{source(site, html)}: {tag}" for html, tag in tags if " defer" not in tag]
    assert not blocking, "load the site's own scripts with `defer`:\n" + "\n".join(blocking)


def code_block_mismatches(site: Path, docs: Path, snippets: Path) -> list[str]:
    """Pages whose built HTML shows more (or fewer) code blocks than their snippets hold.

    Rendering is the only sure way to see code written in a page: an indented (4-space)
    block is code to Markdown but has no fence for tests/support/fences.py to find."""
    problems = []
    for page in fences.markdown_files(docs):
        relative = page.relative_to(docs)
        html = site / (
            "index.html"
            if relative.as_posix() == "index.md"
            else relative.with_suffix("") / "index.html"
        )
        if relative.name == "index.md":
            html = site / relative.parent / "index.html"
        if not html.is_file():
            continue
        expected = sum(
            len(fences.read_fences(fences.include_path(snippets, target)))
            for _, target in fences.includes(page)
            if target and fences.include_path(snippets, target).is_file()
        )
        shown = html.read_text(encoding="utf-8").count("<pre")
        if shown != expected:
            problems.append(
                f"docs/{relative.as_posix()}: the built page shows {shown} code blocks, but the snippets it "
                f"includes hold {expected}. A line indented by 4 spaces after a blank line (outside a list, "
                "admonition or tab) is rendered as code: move that code into a snippet, or un-indent the text."
            )
    return problems


def test_every_code_block_on_a_page_comes_from_a_snippet(site: Path):
    assert not (problems := code_block_mismatches(site, DOCS, SNIPPETS)), "\n".join(["", *problems])
