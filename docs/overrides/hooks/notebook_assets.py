"""MkDocs hook: notebook pages (mkdocs-jupyter) in the site's own markup, light to load.

Per "Notebook experiments" in CONTRIBUTING.md: a `hide` cell runs but is not shown (a warning
if it printed); a figure gets its cell's `alt=` text (a warning if none); code and printed
output become the site's code blocks (plain tokens unwrapped, as by code_titles.py), headings
Material's permalinks; the header's `mkdocs:` entry joins the page's metadata. nbconvert's
inline CSS moves into one `assets/notebook.css`, pruned to the `jp-` rules the pages use, then
notebook_overrides.css; its MathJax, Mermaid and clipboard scripts go. Each `data:` figure
becomes a sized, lazy file beside the page, in a link that opens it; an SVG one becomes two,
one per colour scheme (themed() of scripts/make_figures.py), in one link to the light file.
`<name>.ipynb` (without outputs) is written beside the page. tests/test_notebook_assets.py
checks the built result.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import logging
import re
import struct
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
HIDE_TAG = "hide"
WRAPPER = '<div class="jupyter-wrapper"'

STYLE = re.compile(r"<style\b[^>]*>(?P<css>.*?)</style>\s*", re.S)
EMPTY_SCRIPT = re.compile(r'<script src="">\s*</script>\s*')
MATHJAX_CONFIG = re.compile(r'<script type="text/x-mathjax-config">.*?</script>\s*', re.S)
MODULE_SCRIPT = re.compile(r'<script type="module">.*?</script>\s*', re.S)
COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
DATA_IMG = re.compile(
    r'<img\b(?P<before>[^>]*?)\ssrc="data:(?P<mime>image/(?:png|jpeg|svg\+xml));base64,'
    r'(?P<data>[A-Za-z0-9+/=\s]+)"(?P<after>[^>]*?)\s*/?>'
)
# nbconvert's spans around the tokens that code_titles.py's filter makes plain text on the
# other pages: unwrapped (a smaller DOM). MkDocs puts a hook's folder on sys.path.
PLAIN_SPAN = re.compile(
    '<span class="(?:' + "|".join(STANDARD_TYPES[t] for t in PLAIN) + ')">([^<]*)</span>'
)
CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
CELL = re.compile(r'<div class="jp-Cell jp-(?:Code|Markdown|Raw)Cell\b')
DIV = re.compile(r"<div\b|</div>")
CLIPBOARD_SCRIPT = re.compile(r"<script>(?:(?!</script>).)*?clipboard.*?</script>\s*", re.S)
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
IMG_TAG = re.compile(r"<img\b[^>]*>")
ALT_ATTR = re.compile(r'\salt="[^"]*"')
PX_PER_UNIT = {b"": 1, b"px": 1, b"pt": 4 / 3, b"in": 96, b"cm": 96 / 2.54, b"mm": 96 / 25.4}
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}
TOKENS = {"skip_comments": True, "skip_whitespace": True}
# At-rules whose block holds style rules, which are pruned like the top level.
GROUPING = {"media", "supports", "layer", "container", "document"}

UNMATCHED = "docs/%s: the page has %d cells but the notebook %d; the hook left them as they are"
HIDDEN_OUTPUT = '%s is tagged "hide" but shows output; print only in a shown cell'
NO_ALT = '%s draws %d figure(s) but has no alt text: head it `# %%%% alt="..."` (CONTRIBUTING.md)'

_state: dict = {}


def on_config(config):
    # `mkdocs serve` rebuilds in the same process: start each build afresh.
    _state.update(css=[], classes=set(), pages=set(), figures={})
    return config


def on_page_content(html: str, page, config, files) -> str:
    head, wrapper, body = html.partition(WRAPPER)
    if not wrapper:
        return html  # not a notebook page
    for match in STYLE.finditer(head):
        css = match["css"].replace('@charset "UTF-8";', "").strip()
        if css and css not in _state["css"]:
            _state["css"].append(css)
    for dropped in (STYLE, EMPTY_SCRIPT, MATHJAX_CONFIG, COMMENT, CLIPBOARD_SCRIPT):
        head = dropped.sub("", head)
    head = MODULE_SCRIPT.sub(lambda m: "" if "mermaid" in m.group(0) else m.group(0), head)
    notebook = jupytext.read(page.file.abs_src_path)
    # A notebook has no front matter; its header's `mkdocs:` entry stands in for it
    # (search tags, a description), read by search and the theme after this hook.
    page.meta.update(notebook.metadata.get("mkdocs", {}))
    body = _rewrite_cells(body, notebook.cells, page.file.src_uri)
    figures = _state["figures"].setdefault(page.file.src_uri, {})
    body = DATA_IMG.sub(lambda m: _figure_file(m, figures), body)
    _state["pages"].add(page.file.src_uri)
    return head + wrapper + body


def _div_end(html: str, start: int) -> int:
    """The index just past the </div> that closes the <div at `start`."""
    depth = 0
    for tag in DIV.finditer(html, start):
        depth += 1 if tag.group() == "<div" else -1
        if depth == 0:
            return tag.end()
    return len(html)


def _rewrite_cells(body: str, cells: list, where: str) -> str:
    """Hide the `hide` cells, set each figure's alt text, and mark code and output up as the
    rest of the site does. The page's cells come in the order of the notebook's cells."""
    spans, position = [], 0
    while match := CELL.search(body, position):
        position = _div_end(body, match.start())
        spans.append((match.start(), position))
    if len(spans) != len(cells):
        log.warning(UNMATCHED, where, len(spans), len(cells))
        return body
    out, position = [], 0
    for cell, (start, end) in zip(cells, spans):
        out += [body[position:start], _rewrite_cell(body[start:end], cell, where)]
        position = end
    return "".join(out) + body[position:]


def _rewrite_cell(html: str, cell, where: str) -> str:
    """One cell as the rest of the site marks it up: a Markdown cell becomes its bare HTML, a
    code cell Material's code block followed by its outputs (a hidden cell nothing)."""
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
    if HIDE_TAG in cell.metadata.get("tags", []):
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
    images = IMG_TAG.findall(outputs)
    if images:
        alt = cell.metadata.get("alt", "").strip()
        if not alt:
            log.warning(NO_ALT, name, len(images))
        else:
            alt_attr = f' alt="{html_lib.escape(alt)}"'
            outputs = IMG_TAG.sub(
                lambda m: ALT_ATTR.sub("", m.group()).replace("<img", "<img" + alt_attr, 1),
                outputs,
            )
    return f'<div class="nb-cell nb-code">\n{block}{outputs}</div>\n'


def _figure_file(match: re.Match, figures: dict) -> str:
    data = base64.b64decode(re.sub(r"\s+", "", match["data"]))
    if match["mime"] != "image/svg+xml":
        name, tag = _figure_tag(match, data, figures, "")
        return f'<a href="{name}">{tag}</a>'
    # Material shows an `#only-light` / `#only-dark` image in its scheme only.
    tags = {s: _figure_tag(match, svg, figures, f"#only-{s}") for s, svg in themed(data).items()}
    return f'<a href="{tags["light"][0]}">{tags["light"][1]}{tags["dark"][1]}</a>'


def _figure_tag(match: re.Match, data: bytes, figures: dict, fragment: str) -> tuple[str, str]:
    """The figure's file name and its <img> tag."""
    name = "figure-" + hashlib.sha256(data).hexdigest()[:12] + EXTENSIONS[match["mime"]]
    figures[name] = data
    attrs = match["before"] + match["after"]
    size = _size(data, match["mime"])
    if size and " width=" not in attrs and " height=" not in attrs:
        attrs += f' width="{size[0]}" height="{size[1]}"'
    if " loading=" not in attrs:
        attrs += ' loading="lazy"'
    if " decoding=" not in attrs:
        attrs += ' decoding="async"'
    return name, f'<img{match["before"]} src="{name}{fragment}"{attrs[len(match["before"]) :]}>'


def _size(data: bytes, mime: str) -> tuple[int, int] | None:
    """The image's intrinsic size in CSS pixels, or None when it cannot be read simply."""
    if mime == "image/png" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if mime == "image/svg+xml":
        root = re.search(rb"<svg\b[^>]*>", data)
        values = [
            re.search(
                rb"\s" + key + rb'="([0-9.]+)(px|pt|in|cm|mm)?"', root.group() if root else b""
            )
            for key in (rb"width", rb"height")
        ]
        if all(values):
            return tuple(round(float(v[1]) * PX_PER_UNIT[v[2] or b""]) for v in values)
    return None


def on_post_page(output: str, page, config) -> str:
    if page.file.src_uri not in _state["pages"]:
        return output
    for classes in CLASS_ATTR.findall(output):
        _state["classes"].update(classes.split())
    target = Path(config["site_dir"], page.file.dest_uri).parent
    target.mkdir(parents=True, exist_ok=True)
    for name, data in _state["figures"].get(page.file.src_uri, {}).items():
        (target / name).write_bytes(data)
    source = Path(page.file.abs_src_path)
    if source.suffix == ".py":
        ipynb = jupytext.writes(jupytext.read(source), fmt="ipynb")
        (target / source.with_suffix(".ipynb").name).write_text(ipynb, encoding="utf-8")
    link = f'<link rel="stylesheet" href="{get_relative_url(CSS_PATH, page.url)}">\n'
    return output.replace("</head>", link + "</head>", 1)


def on_post_build(config) -> None:
    if not _state.get("pages"):
        return
    rules = tinycss2.parse_stylesheet("\n".join(_state["css"]), **TOKENS)
    css = '@charset "UTF-8";\n' + _serialize(_prune(rules, _state["classes"]))
    css += "\n" + OVERRIDES.read_text(encoding="utf-8")
    path = Path(config["site_dir"], CSS_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(css, encoding="utf-8")


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
            if rule.lower_at_keyword == "charset":
                continue
            if rule.lower_at_keyword in GROUPING and rule.content is not None:
                rules_inside = tinycss2.parse_rule_list(rule.content, **TOKENS)
                inner = _prune(rules_inside, used)
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
    """True when the selector is for a JupyterLab element (a `jp-` class) that some notebook
    page has."""
    if "\\" in selector:
        return True  # escaped characters: keep rather than guess
    if ".jp-" not in selector:
        return False
    required = selector
    while True:  # drop the arguments of :not(), :is(), :where(), :has(), ...
        stripped = re.sub(r"\([^()]*\)", "", required)
        if stripped == required:
            break
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
