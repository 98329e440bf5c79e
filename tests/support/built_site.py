"""Reading the built site: one HTML parser and the helpers every site test shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests.support import fences
from tests.support.paths import DOCS, EXPERIMENTS

NOTEBOOKS = sorted(EXPERIMENTS.glob("*.py"))

# Where a page *loads* something from (as opposed to links a reader may click).
LOADS = {
    "script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
    "audio": "src", "embed": "src", "object": "data", "link": "href",
}  # fmt: skip
LOADING_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest", "preconnect",
    "dns-prefetch",
}  # fmt: skip


@dataclass
class Found:
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = Found()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found, attr = self.found, {name: value or "" for name, value in attrs}
        for key in ("id", "name"):
            if attr.get(key) and (key == "id" or tag == "a"):
                found.ids.add(attr[key])
        if tag == "a" and "href" in attr:
            found.links.append(attr["href"])
        if attr.get("style"):
            found.styles.append(attr["style"])
        self._in_style = tag == "style"
        if tag == "link" and not LOADING_RELS & set(attr.get("rel", "").split()):
            return
        if tag in LOADS and attr.get(LOADS[tag]):
            found.loads.append(attr[LOADS[tag]])

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.styles.append(data)


def parse(html: Path) -> Found:
    parser = _Parser()
    parser.feed(html.read_text(encoding="utf-8"))
    return parser.found


def source(site: Path, html: Path) -> str:
    """The file a contributor edits for a built page: guide/the-math/index.html -> docs/guide/the-math.md."""
    parts = html.relative_to(site).parent.as_posix()
    candidates = (
        ["index.md"] if parts == "." else [f"{parts}.md", f"{parts}/index.md", f"{parts}.py"]
    )
    found = (f"docs/{c}" for c in candidates if (DOCS / c).is_file())
    return next(found, str(html.relative_to(site)))


def notebook_page(site: Path, notebook: Path) -> str:
    """The HTML of a notebook's built page."""
    return (site / "experiments" / notebook.stem / "index.html").read_text(encoding="utf-8")


def code_block_mismatches(site: Path, docs: Path, snippets: Path) -> list[str]:
    """Pages that show more (or fewer) code blocks than their snippets hold (an indented block)."""
    problems = []
    for page in fences.markdown_files(docs):
        relative = page.relative_to(docs).with_suffix("").as_posix()
        html = site / re.sub(r"(^|/)index$", "", relative) / "index.html"
        if not html.is_file():
            continue
        expected = sum(
            len(fences.read_fences(fences.include_path(snippets, target)))
            for _, target in fences.includes(page)
            if target and fences.include_path(snippets, target).is_file()
        )
        if (shown := html.read_text(encoding="utf-8").count("<pre")) != expected:
            problems.append(
                f"docs/{relative}.md: the built page shows {shown} code blocks, but the snippets "
                f"it includes hold {expected}. A line indented by 4 spaces after a blank line "
                "(outside a list, admonition or tab) is code: move it into a snippet or un-indent it."
            )
    return problems
