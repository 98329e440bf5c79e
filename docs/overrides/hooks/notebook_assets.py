"""MkDocs hook: notebook pages (mkdocs-jupyter) in the site's own markup, light to load.

Per "Notebook experiments" in CONTRIBUTING.md: `hide` cells run unseen, code and printed output
become the site's code blocks, each figure two files (one per colour scheme) with its cell's alt
text, nbconvert's CSS one pruned `assets/notebook.css`, and `<name>.ipynb` is written beside the
page. tests/test_notebook_assets.py checks the built result.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import logging
import re
import sys
from pathlib import Path

import jupytext  # a dependency of mkdocs-jupyter, which reads the notebooks with it
import tinycss2  # a dependency of nbconvert (bleach[css]), so present wherever mkdocs-jupyter is
from code_titles import PLAIN  # the hook beside this one
from mkdocs.utils import get_relative_url
from pygments.token import STANDARD_TYPES

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from scripts.make_figures import themed  # noqa: E402  (the site's one figure theme)

log = logging.getLogger("mkdocs.hooks.notebook_assets")

CSS_PATH = "assets/notebook.css"
OVERRIDES = Path(__file__).with_name("notebook_overrides.css")
WRAPPER = '<div class="jupyter-wrapper"'

FIGURE = re.compile(r'<img\b[^>]*\ssrc="data:image/svg\+xml;base64,([A-Za-z0-9+/=\s]+)"[^>]*>')
# nbconvert's spans around the tokens that code_titles.py's filter makes plain text on the
# other pages: unwrapped (a smaller DOM).
PLAIN_SPAN = re.compile(
    '<span class="(?:' + "|".join(STANDARD_TYPES[t] for t in PLAIN) + ')">([^<]*)</span>'
)
CELL = re.compile(r'<div class="jp-Cell jp-(?:Code|Markdown|Raw)Cell\b')
DIV = re.compile(r"<div\b|</div>")
CODE = re.compile(
    r'<div class="highlight-ipynb hl-(?P<lang>[\w-]+)[^"]*"><pre><span></span>(?P<code>.*?)</pre></div>',
    re.S,
)
TEXT_OUTPUT = re.compile(
    r'<div class="jp-RenderedText jp-OutputArea-output"[^>]*data-mime-type="text/plain"[^>]*>'
    r"\s*<pre>(?P<text>.*?)</pre>",
    re.S,
)
MARKDOWN = re.compile(r'<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>')
OUTPUT_AREA = re.compile(r'<div class="jp-OutputArea jp-Cell-outputArea">')
ANCHOR = re.compile(r'<a class="anchor-link" href="(#[^"]*)">¶</a>')
PX_PER_UNIT = {b"": 1, b"px": 1, b"pt": 4 / 3, b"in": 96, b"cm": 96 / 2.54, b"mm": 96 / 25.4}
TOKENS = {"skip_comments": True, "skip_whitespace": True}
# At-rules whose block holds style rules, which are pruned like the top level.
GROUPING = {"media", "supports", "layer", "container", "document"}

UNMATCHED = "docs/%s: the page has %d cells but the notebook %d; the hook left them as they are"
HIDDEN_OUTPUT = '%s is tagged "hide" but shows output; print only in a shown cell'
NO_ALT = '%s draws a figure but has no alt text: head it `# %%%% alt="..."` (CONTRIBUTING.md)'

_state: dict = {}


def on_config(config):
    # `mkdocs serve` rebuilds in the same process: start each build afresh.
    _state.update(css=[], classes=set(), pages=set())
    return config


def on_page_content(html: str, page, config, files) -> str:
    head, wrapper, body = html.partition(WRAPPER)
    if not wrapper:
        return html  # not a notebook page
    # nbconvert's head holds only its CSS (into notebook.css) and scripts (MathJax, Mermaid,
    # clipboard), dropped.
    for css in re.findall(r"<style\b[^>]*>(.*?)</style>", head, re.S):
        css = css.replace('@charset "UTF-8";', "").strip()
        if css and css not in _state["css"]:
            _state["css"].append(css)
    notebook = jupytext.read(page.file.abs_src_path)
    # A notebook has no front matter; its header's `mkdocs:` entry stands in for it.
    page.meta.update(notebook.metadata.get("mkdocs", {}))
    folder = Path(config["site_dir"], page.file.dest_uri).parent
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(page.file.abs_src_path)
    if source.suffix == ".py":
        ipynb = jupytext.writes(notebook, fmt="ipynb")
        (folder / source.with_suffix(".ipynb").name).write_text(ipynb, encoding="utf-8")
    _state["pages"].add(page.file.src_uri)
    return wrapper + _rewrite_cells(body, notebook.cells, page.file.src_uri, folder)


def _div_end(html: str, start: int) -> int:
    """The index just past the </div> that closes the <div at `start`."""
    depth = 0
    for tag in DIV.finditer(html, start):
        depth += 1 if tag.group() == "<div" else -1
        if depth == 0:
            return tag.end()
    return len(html)


def _rewrite_cells(body: str, cells: list, where: str, folder: Path) -> str:
    """Each cell of the page (in the notebook's order) rewritten by _rewrite_cell."""
    spans, position = [], 0
    while match := CELL.search(body, position):
        position = _div_end(body, match.start())
        spans.append((match.start(), position))
    if len(spans) != len(cells):
        log.warning(UNMATCHED, where, len(spans), len(cells))
        return body
    out, position = [], 0
    for cell, (start, end) in zip(cells, spans):
        out += [body[position:start], _rewrite_cell(body[start:end], cell, where, folder)]
        position = end
    return "".join(out) + body[position:]


def _rewrite_cell(html: str, cell, where: str, folder: Path) -> str:
    """A Markdown cell as its bare HTML; a code cell as Material's code block followed by its
    outputs, its figures as files in `folder`; a hidden cell as nothing."""
    first_line = cell.source.splitlines()[0] if cell.source else ""
    name = f"docs/{where}: the cell that starts {first_line[:60]!r}"
    html = ANCHOR.sub(r'<a class="headerlink" href="\1" title="Permanent link">¶</a>', html)
    if cell.cell_type != "code":
        inner = MARKDOWN.search(html)
        if not inner:
            return html
        # Unwrapped: search starts a section at a heading only while what follows is
        # inside the heading's parent, as on every Markdown page.
        return html[inner.end() : _div_end(html, inner.start()) - len("</div>")].strip() + "\n"
    outputs = ""
    if area := OUTPUT_AREA.search(html):
        outputs = html[area.start() : _div_end(html, area.start())]
    if not cell.source.strip() and not outputs:
        return ""  # an empty cell (blank lines before the first `# %%` make one)
    if "hide" in cell.metadata.get("tags", []):
        if "jp-OutputArea-output" in outputs:
            log.warning(HIDDEN_OUTPUT, name)
        else:
            return ""
    block = ""
    if code := CODE.search(html):
        block = f'<div class="language-{code["lang"]} highlight" data-search-exclude><pre>'
        lean = PLAIN_SPAN.sub(r"\1", code["code"])
        block += f"<span></span><code>{lean}</code></pre></div>\n"
    outputs = TEXT_OUTPUT.sub(
        lambda m: (
            f'<div class="nb-output" data-mime-type="text/plain">'
            '<div class="language-text highlight" data-search-exclude>'
            '<span class="filename">Output</span>'
            f"<pre><span></span><code>{m['text']}</code></pre></div>"
        ),
        outputs,
    )
    alt = cell.metadata.get("alt", "").strip()
    if FIGURE.search(outputs) and not alt:
        log.warning(NO_ALT, name)
    outputs = FIGURE.sub(lambda m: _figure(m[1], html_lib.escape(alt), folder), outputs)
    return f'<div class="nb-cell nb-code">\n{block}{outputs}</div>\n'


def _figure(data: str, alt: str, folder: Path) -> str:
    """An inline SVG as a file per colour scheme (Material shows an `#only-light` or
    `#only-dark` image in its scheme only), in one link to the light file."""
    names, images = [], ""
    for scheme, svg in themed(base64.b64decode(re.sub(r"\s+", "", data))).items():
        names.append(f"figure-{hashlib.sha256(svg).hexdigest()[:12]}.svg")
        (folder / names[-1]).write_bytes(svg)
        width, height = _size(svg)
        images += (
            f'<img alt="{alt}" src="{names[-1]}#only-{scheme}" width="{width}" height="{height}"'
            ' loading="lazy" decoding="async">'
        )
    return f'<a href="{names[0]}">{images}</a>'


def _size(svg: bytes) -> list[int]:
    """The SVG's width and height in CSS pixels."""
    root = re.search(rb"<svg\b[^>]*>", svg).group()
    found = [
        re.search(rb"\s" + key + rb'="([0-9.]+)(px|pt|in|cm|mm)?"', root)
        for key in (rb"width", rb"height")
    ]
    return [round(float(m[1]) * PX_PER_UNIT[m[2] or b""]) for m in found]


def on_post_page(output: str, page, config) -> str:
    if page.file.src_uri not in _state["pages"]:
        return output
    for classes in re.findall(r'\sclass="([^"]*)"', output):
        _state["classes"].update(classes.split())
    link = f'<link rel="stylesheet" href="{get_relative_url(CSS_PATH, page.url)}">\n'
    return output.replace("</head>", link + "</head>", 1)


def on_post_build(config) -> None:
    if not _state.get("pages"):
        return
    rules = tinycss2.parse_stylesheet("\n".join(_state["css"]), **TOKENS)
    css = '@charset "UTF-8";\n' + _serialize(_prune(rules, _state["classes"]))
    css += "\n" + OVERRIDES.read_text(encoding="utf-8")
    Path(config["site_dir"], CSS_PATH).write_text(css, encoding="utf-8")


def _prune(rules: list, used: set[str]) -> list:
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = [
                s for s in _split_selectors(tinycss2.serialize(rule.prelude)) if _may_match(s, used)
            ]
            if selectors:
                rule.prelude = tinycss2.parse_component_value_list(",".join(selectors))
                kept.append(rule)
        elif rule.type == "at-rule":
            if rule.lower_at_keyword in GROUPING and rule.content is not None:
                inner = _prune(tinycss2.parse_rule_list(rule.content, **TOKENS), used)
                if not inner:
                    continue
                rule.content = tinycss2.parse_component_value_list(_serialize(inner))
            kept.append(rule)
    return kept


def _split_selectors(prelude: str) -> list[str]:
    """Split a selector list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(prelude[start:i].strip())
            start = i + 1
    parts.append(prelude[start:].strip())
    return [p for p in parts if p]


def _may_match(selector: str, used: set[str]) -> bool:
    """True when the selector is for a JupyterLab element (a `jp-` class) some notebook page has."""
    if ".jp-" not in selector:
        return False
    required = selector
    # Without the arguments of :not(), :is(), :where(), :has(), ...
    while (stripped := re.sub(r"\([^()]*\)", "", required)) != required:
        required = stripped
    required = re.sub(r"\[[^\]]*\]", "", required)  # attribute values may hold dots
    return all(name in used for name in re.findall(r"\.(-?[_a-zA-Z][_a-zA-Z0-9-]*)", required))


def _serialize(rules: list) -> str:
    out = []
    for rule in rules:
        if rule.type == "qualified-rule":
            prelude, content = (tinycss2.serialize(x).strip() for x in (rule.prelude, rule.content))
            out.append(prelude + "{" + content + "}")
        else:
            out.append(rule.serialize())
    return "\n".join(out) + "\n"
