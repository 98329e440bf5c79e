"""Reading the built site: one HTML parser and the helpers every site test shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests.support.paths import DOCS, EXPERIMENTS, ROOT

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
    script_sources: list[str] = field(default_factory=list)
    figures: int = 0  # notebook output images
    mermaid_diagrams: int = 0
    error_outputs: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = Found()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found, attr = self.found, {name: value or "" for name, value in attrs}
        classes = attr.get("class", "").split()
        for key in ("id", "name"):
            if attr.get(key) and (key == "id" or tag == "a"):
                found.ids.add(attr[key])
        if tag == "a" and "href" in attr:
            found.links.append(attr["href"])
        if tag == "script" and "src" in attr:
            found.script_sources.append(attr["src"])
        if "jp-OutputArea-output" in classes and attr.get("data-mime-type", "").startswith(
            "image/"
        ):
            found.figures += 1
        if attr.get("data-mime-type") == "application/vnd.jupyter.stderr" or (
            "jp-OutputArea-error" in classes
        ):
            found.error_outputs.append(f"<{tag} class={attr.get('class')!r}>")
        if "jp-Mermaid" in classes:
            found.mermaid_diagrams += 1
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


def parse_text(text: str) -> Found:
    parser = _Parser()
    parser.feed(text)
    return parser.found


def parse(html: Path) -> Found:
    return parse_text(html.read_text(encoding="utf-8"))


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")


def source(site: Path, html: Path) -> str:
    """The file a contributor edits for a built page: guide/the-math/index.html -> docs/guide/the-math.md."""
    parts = html.relative_to(site).parent.as_posix()
    candidates = (
        ["index.md"] if parts == "." else [f"{parts}.md", f"{parts}/index.md", f"{parts}.py"]
    )
    for candidate in candidates:
        if (DOCS / candidate).is_file():
            return f"docs/{candidate}"
    return str(html.relative_to(site))


def notebook_page(site: Path, notebook: Path) -> tuple[Path, Found, str]:
    """A notebook's built page: its path, what it shows, and its HTML."""
    html = site / "experiments" / notebook.stem / "index.html"
    assert html.is_file(), (
        f"{notebook.relative_to(ROOT)} was not built into {html.relative_to(site)}"
    )
    text = html.read_text(encoding="utf-8")
    return html, parse_text(text), text
