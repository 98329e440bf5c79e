"""MkDocs hook: make the notebook pages (mkdocs-jupyter) light to load.

nbconvert's template, as mkdocs-jupyter uses it, writes into every notebook page:

* about 590 KB of JupyterLab CSS in inline ``<style>`` blocks, most of it for
  widgets a static page never shows;
* a ``<script src="">`` for MathJax (``custom_mathjax_url`` is empty on purpose:
  no page loads MathJax from a CDN), its configuration script, and a Mermaid
  loader that would import Mermaid from cdnjs if a page had a diagram (none does);
* each figure as a base64 ``data:`` URI inside the HTML, which gzip cannot shrink.

It also renders cells unlike the rest of the site: its own code and output styling and
copy button (whose "Copied!" notice ends up in the search index), headings whose "¶"
link the search index takes for part of the title, every figure's alt text "No
description has been provided for this image", and every cell shown, including the
styling and ``assert`` cells.

This hook, registered under ``hooks:`` in mkdocs.yml, rewrites each notebook page
following the convention in CONTRIBUTING.md ("Notebook experiments"):

* a code cell whose header is ``# %% tags=["hide"]`` runs (it is still executed
  by the build) but is left off the page; a warning, so a failed strict build, when
  such a cell printed anything, since its output would then vanish unexplained;
* a cell that draws a figure has its ``# %% alt="..."`` text as the figure's alt
  text (a warning when it has none);
* code is marked up as on every other page (Material's ``language-python
  highlight`` block with Material's own copy button) and each printed output as a
  block titled "Output", like the snippets' expected output; nbconvert's copy
  buttons and their hidden copies of the source go;
* headings get Material's ``headerlink`` permalink, which search leaves out of
  titles;
* the notebook header's ``mkdocs:`` entry (for example ``tags:``, which search
  ranks first) is merged into the page's metadata, as a Markdown page's front
  matter would be;
* each notebook is also written beside its page as ``<name>.ipynb`` (converted
  from the Jupytext source by jupytext, without outputs: running it makes them),
  next to the ``.py`` that mkdocs-jupyter's ``include_source`` copies there.

And it makes the pages light to load:

* the ``<style>`` blocks go into one shared stylesheet, ``assets/notebook.css``,
  written once per build and linked from the page's ``<head>`` (after the
  site's own stylesheets, where the inline CSS used to come). Only rules for
  JupyterLab's own elements are kept: a selector must name a ``jp-`` class, and
  every class it requires (outside ``:not()`` and the like) must appear in some
  notebook page's HTML. The cells are the site's own markup now, and
  JupyterLab's resets for everything inside ``.jupyter-wrapper`` (``p``,
  ``pre``, ``.highlight pre``, ``*``) would restyle them;
* the MathJax and Mermaid scripts, and nbconvert's clipboard script, are dropped;
* the site's own rules for notebook pages (``notebook_overrides.css`` beside this
  hook: column width, figure size) are appended to that stylesheet;
* each ``data:`` figure becomes a file next to the page, named by its content
  hash, with its width and height (so the layout does not shift) and
  ``loading="lazy"``; an SVG figure becomes two, one per colour scheme (see
  ``GREY_COLOUR`` below). Each figure is a link to its file, which opens it
  full-size (its labels are small on a phone); both images of an SVG figure
  share one link, to the light file, since a browser shows a lone SVG on white.

tests/test_hooks.py checks the result on the built site.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import logging
import re
import struct
from pathlib import Path

import jupytext  # a dependency of mkdocs-jupyter, which reads the notebooks with it
import tinycss2  # a dependency of nbconvert (bleach[css]), so present wherever mkdocs-jupyter is
from mkdocs.utils import get_relative_url

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
CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
CELL = re.compile(r'<div class="jp-Cell jp-(?:Code|Markdown|Raw)Cell\b')
DIV = re.compile(r"<div\b|</div>")
CLIPBOARD_SCRIPT = re.compile(
    r"<script>(?:(?!</script>).)*?clipboard(?:(?!</script>).)*</script>\s*", re.S
)
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
# A notebook draws its text, axes and grid in one mid grey (CONTRIBUTING.md), which
# reads on both schemes but well on neither (3.4:1 on white for #8c8c8c). Each SVG
# figure is written twice: greys darkened for the light scheme (#8c8c8c becomes
# #545454, 7.6:1 on white) and lightened for the dark one (#bababa, about 9:1 on
# Material's slate). Colours that are not grey, and black, white and the greys near
# them (which a figure means as they are), are left as drawn.
GREY_COLOUR = re.compile(rb"#([0-9a-fA-F]{2})\1\1(?![0-9a-fA-F])")
SCHEMES = {
    "light": lambda v: round(v * 0.6),
    "dark": lambda v: round(255 - (255 - v) * 0.6),
}
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}
# At-rules whose block holds style rules, which are pruned like the top level.
GROUPING = {"media", "supports", "layer", "container", "document"}

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
    head = STYLE.sub("", head)
    head = EMPTY_SCRIPT.sub("", head)
    head = MATHJAX_CONFIG.sub("", head)
    head = MODULE_SCRIPT.sub(lambda m: "" if "mermaid" in m.group(0) else m.group(0), head)
    head = COMMENT.sub("", head)
    head = CLIPBOARD_SCRIPT.sub("", head)
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
        log.warning(
            "docs/%s: the page has %d cells but the notebook %d; the notebook hook cannot tell "
            "which cell is which, so it left them as they are",
            where,
            len(spans),
            len(cells),
        )
        return body
    out, position = [], 0
    for cell, (start, end) in zip(cells, spans):
        out.append(body[position:start])
        out.append(_rewrite_cell(body[start:end], cell, where))
        position = end
    out.append(body[position:])
    return "".join(out)


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
        content_start = inner.end()
        content_end = _div_end(html, inner.start()) - len("</div>")
        # Not wrapped: search starts a section at each heading only while what follows
        # is inside the heading's parent, as on every Markdown page.
        return html[content_start:content_end].strip() + "\n"
    outputs = ""
    if area := OUTPUT_AREA.search(html):
        outputs = html[area.start() : _div_end(html, area.start())]
    if not cell.source.strip() and not outputs:
        return ""  # an empty cell (blank lines before the first `# %%` make one)
    if HIDE_TAG in cell.metadata.get("tags", []):
        if "jp-OutputArea-output" in outputs:
            log.warning(
                '%s is tagged "hide" but shows output; a hidden cell must print nothing '
                "(print in a shown cell, assert in the hidden one)",
                name,
            )
        else:
            return ""
    code = CODE.search(html)
    block = (
        f'<div class="language-{code["lang"]} highlight" data-search-exclude><pre><span></span>'
        f"<code>{code['code']}</code></pre></div>\n"
        if code
        else ""
    )
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
            log.warning(
                '%s draws %d figure(s) but has no alt text: start it with `# %%%% alt="..."`, '
                "one sentence on what the figure shows (CONTRIBUTING.md)",
                name,
                len(images),
            )
        else:
            alt_attr = f' alt="{html_lib.escape(alt)}"'
            outputs = IMG_TAG.sub(
                lambda m: ALT_ATTR.sub("", m.group()).replace("<img", "<img" + alt_attr, 1),
                outputs,
            )
    return f'<div class="nb-cell nb-code">\n{block}{outputs}</div>\n'


def _figure_file(match: re.Match, figures: dict) -> str:
    data = base64.b64decode(re.sub(r"\s+", "", match["data"]))
    if match["mime"] == "image/svg+xml":
        # One file per colour scheme; Material shows `#only-light` / `#only-dark` images in
        # their scheme only, and follows its palette toggle.
        light, light_tag = _figure_tag(
            match, _greys(data, SCHEMES["light"]), figures, "#only-light"
        )
        _, dark_tag = _figure_tag(match, _greys(data, SCHEMES["dark"]), figures, "#only-dark")
        return f'<a href="{light}">{light_tag}{dark_tag}</a>'
    name, tag = _figure_tag(match, data, figures, "")
    return f'<a href="{name}">{tag}</a>'


def _greys(svg: bytes, remap) -> bytes:
    """The SVG with every mid grey (#rrggbb with r = g = b, 0x40 to 0xc0) replaced by remap(value)."""

    def replace(match: re.Match) -> bytes:
        value = int(match.group(1), 16)
        return b"#" + (b"%02x" % remap(value)) * 3 if 0x40 <= value <= 0xC0 else match.group()

    return GREY_COLOUR.sub(replace, svg)


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
        if not root:
            return None
        px_per_unit = {
            b"": 1.0,
            b"px": 1.0,
            b"pt": 4 / 3,
            b"in": 96.0,
            b"cm": 96 / 2.54,
            b"mm": 96 / 25.4,
        }
        sizes = []
        for key in (rb"width", rb"height"):
            value = re.search(rb"\s" + key + rb'="([0-9.]+)(px|pt|in|cm|mm)?"', root.group(0))
            if not value:
                return None
            sizes.append(round(float(value.group(1)) * px_per_unit[value.group(2) or b""]))
        return sizes[0], sizes[1]
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
        notebook = jupytext.read(source)
        (target / source.with_suffix(".ipynb").name).write_text(
            jupytext.writes(notebook, fmt="ipynb"), encoding="utf-8"
        )
    link = f'<link rel="stylesheet" href="{get_relative_url(CSS_PATH, page.url)}">\n'
    return output.replace("</head>", link + "</head>", 1)


def on_post_build(config) -> None:
    if not _state.get("pages"):
        return
    rules = tinycss2.parse_stylesheet(
        "\n".join(_state["css"]), skip_comments=True, skip_whitespace=True
    )
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
                inner = _prune(
                    tinycss2.parse_rule_list(
                        rule.content, skip_comments=True, skip_whitespace=True
                    ),
                    used,
                )
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
            out.append(
                tinycss2.serialize(rule.prelude).strip()
                + "{"
                + tinycss2.serialize(rule.content).strip()
                + "}"
            )
        else:
            out.append(rule.serialize())
    return "\n".join(out) + "\n"
