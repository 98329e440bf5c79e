"""MkDocs hook: make the notebook pages (mkdocs-jupyter) light to load.

nbconvert's template, as mkdocs-jupyter uses it, writes into every notebook page:

* about 590 KB of JupyterLab CSS in inline ``<style>`` blocks, most of it for
  widgets a static page never shows;
* a ``<script src="">`` for MathJax (``custom_mathjax_url`` is empty on purpose:
  no page loads MathJax from a CDN), its configuration script, and a Mermaid
  loader that would import Mermaid from cdnjs if a page had a diagram (none does);
* each figure as a base64 ``data:`` URI inside the HTML, which gzip cannot shrink.

This hook, registered under ``hooks:`` in mkdocs.yml, rewrites each notebook page:

* the ``<style>`` blocks go into one shared stylesheet, ``assets/notebook.css``,
  written once per build and linked from the page's ``<head>`` (after the
  site's own stylesheets, where the inline CSS used to come). Rules whose
  selectors need a class that no notebook page uses are left out (a rule is
  kept when every class its selector requires, outside ``:not()`` and the like,
  appears in some notebook page's HTML);
* the MathJax and Mermaid scripts are dropped;
* each ``data:`` figure becomes a file next to the page, named by its content
  hash, with its width and height (so the layout does not shift) and
  ``loading="lazy"``.

Measured with scripts/quality.py (reports/quality.md). tests/test_hooks.py checks
the result on the built site.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from pathlib import Path

import tinycss2  # a dependency of nbconvert (bleach[css]), so present wherever mkdocs-jupyter is
from mkdocs.utils import get_relative_url

CSS_PATH = "assets/notebook.css"
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
    figures = _state["figures"].setdefault(page.file.src_uri, {})
    body = DATA_IMG.sub(lambda m: _figure_file(m, figures), body)
    _state["pages"].add(page.file.src_uri)
    return head + wrapper + body


def _figure_file(match: re.Match, figures: dict) -> str:
    data = base64.b64decode(re.sub(r"\s+", "", match["data"]))
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
    return f'<img{match["before"]} src="{name}"{attrs[len(match["before"]) :]}>'


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
    link = f'<link rel="stylesheet" href="{get_relative_url(CSS_PATH, page.url)}">\n'
    return output.replace("</head>", link + "</head>", 1)


def on_post_build(config) -> None:
    if not _state.get("pages"):
        return
    rules = tinycss2.parse_stylesheet(
        "\n".join(_state["css"]), skip_comments=True, skip_whitespace=True
    )
    css = '@charset "UTF-8";\n' + _serialize(_prune(rules, _state["classes"]))
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
    """False only when the selector needs a class that no notebook page has."""
    if "\\" in selector:
        return True  # escaped characters: keep rather than guess
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
