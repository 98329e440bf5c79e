"""The built site: working links and anchors, no code outside snippets, nothing from other hosts."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from scripts.site_server import built_pages
from tests.support.built_site import code_block_mismatches, parse, source
from tests.support.paths import DOCS, ROOT, SNIPPETS

CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(?P<url>(?:https?:)?//[^'")\s]+)""")


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc) and parts.scheme not in ("", "file", "data")


def test_every_internal_link_and_anchor_resolves(site: Path):
    parsed = {html: parse(html) for html in built_pages(site)}
    problems = []
    for html, page in parsed.items():
        for href in page.links:
            if is_external(href) or href.startswith(("mailto:", "javascript:")):
                continue
            parts = urlsplit(urljoin("/" + html.relative_to(site).as_posix(), href))
            target = site / unquote(parts.path).lstrip("/")
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            anchor = unquote(parts.fragment)
            if not target.is_file():
                problems.append(f"{source(site, html)}: link {href!r} points to a missing page")
            elif anchor and target.suffix == ".html":
                if anchor not in (parsed[target] if target in parsed else parse(target)).ids:
                    problems.append(f"{source(site, html)}: link {href!r} has no #{anchor} there")
    assert not problems, "\n".join(["broken links (fix the Markdown link):", *problems])


def test_no_page_loads_anything_from_another_host(site: Path):
    problems = []
    for html in built_pages(site):
        page = parse(html)
        problems += [f"{source(site, html)}: loads {url}" for url in page.loads if is_external(url)]
        for css in page.styles:
            problems += [
                f"{source(site, html)}: inline style loads {m['url']}"
                for m in CSS_URL.finditer(css)
            ]
    for css in site.rglob("*.css"):
        for found in CSS_URL.finditer(css.read_text("utf-8")):
            problems.append(f"{css.relative_to(site)}: loads {found['url']}")
    assert not problems, "\n".join(
        ["the site must work offline and leak nothing to third parties; ship these:", *problems]
    )


def test_only_the_explorer_page_loads_the_explorer_assets(site: Path):
    assets = ("assets/explorer.css", "assets/explorer.js")
    loading = {
        html.relative_to(site).as_posix()
        for html in built_pages(site)
        if any(url.endswith(assets) for url in parse(html).loads)
    }
    assert loading == {"guide/explorer/index.html"}, (
        f"pages that load the explorer: {sorted(loading)}. Only the page with `explorer: true` "
        "in its front matter should (docs/overrides/main.html adds them there)."
    )


def test_the_sites_own_scripts_are_deferred(site: Path):
    tags = [
        (html, tag)
        for html in built_pages(site)
        for tag in re.findall(r"<script\b[^>]*\bsrc=[^>]*>", html.read_text("utf-8"))
        if re.search(r"assets/(site|explorer)\.js", tag)
    ]
    assert len(tags) > 20, f"only {len(tags)} tags load assets/site.js or assets/explorer.js"
    blocking = [f"{source(site, html)}: {tag}" for html, tag in tags if " defer" not in tag]
    assert not blocking, "load the site's own scripts with `defer`:\n" + "\n".join(blocking)


def test_every_code_block_on_a_page_comes_from_a_snippet(site: Path):
    assert not (problems := code_block_mismatches(site, DOCS, SNIPPETS)), "\n".join(["", *problems])


OPEN_TABLE_CELLS = 120
CLOSED_DETAILS = re.compile(r"<details(?![^>]*\bopen\b)[^>]*>.*?</details>", re.S)


def test_no_page_lays_out_a_long_table_before_it_is_opened(site: Path):
    # A phone lays out every open table cell before the page answers a tap (CONTRIBUTING.md)
    rule = f"at most {OPEN_TABLE_CELLS} table cells"
    assert rule in (ROOT / "CONTRIBUTING.md").read_text("utf-8"), f"CONTRIBUTING: say {rule!r}"
    long = []
    for html in built_pages(site):
        cells = len(re.findall(r"<td\b", CLOSED_DETAILS.sub("", html.read_text("utf-8"))))
        if cells > OPEN_TABLE_CELLS:
            long.append(f"{source(site, html)}: {cells} open table cells")
    assert not long, f"more than {OPEN_TABLE_CELLS} open table cells:\n" + "\n".join(long)
