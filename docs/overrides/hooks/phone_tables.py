"""MkDocs hook: inline code that wraps between names, and tables that stack on phones.

Two changes to every page's HTML (registered under ``hooks:`` in mkdocs.yml; the
CSS they rely on is the "Reading on any screen" section of docs/assets/site.css):

* **Inline code wraps only between names.** Material lets inline code break
  anywhere (``word-break: break-word``), which also lets a table squeeze a column
  until ``model.parameters()`` reads ``model.pa`` / ``rameters()``. The CSS turns
  that off; this hook puts a ``<wbr>`` (a place the line may wrap, invisible and
  never copied) after each ``.``, ``/``, ``(``, ``[`` and ``,`` in inline code, so
  ``torch.nn.utils.clip_grad_norm_`` still wraps on a phone, between its parts;
  never after a decimal point (a ``.`` before a digit), so ``1.0`` stays whole.
  Code blocks (``<pre>``) are left alone.
* **Tables that stack.** A table wrapped in ``<div class="stack-on-phone"
  markdown>`` (the div may hold several tables, or an include of generated
  Markdown) is shown on narrow screens as one card per row, each cell under its
  column's name. The hook gives each cell a ``data-label`` (its column header,
  which the CSS prints above the cell) and the table explicit ARIA roles (a table
  whose cells are laid out as blocks keeps being read as a table).

tests/test_reading.py measures the result in a browser on every page, and
tests/test_code_titles.py checks this hook's HTML.
"""

from __future__ import annotations

import html
import re

PRE = re.compile(r"<pre\b.*?</pre>", re.S)
INLINE_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.S)
TAG_OR_TEXT = re.compile(r"(<[^>]*>)|([^<]+)")
# After these characters a name ends, so a line may wrap there; not before a
# closing bracket or a space (which is a wrap point already), and not after a
# `.` followed by a digit: that `.` is a decimal point (`clip_norm=1.0`, never
# `1.` / `0`), since no Python name starts with a digit.
WRAP_AFTER = re.compile(r"(?<=[/(\[,])(?=[^\s)\]])|(?<=\.)(?=[^\s)\]\d])")

STACK_OPEN = '<div class="stack-on-phone">'
DIV_TAG = re.compile(r"<(/?)div\b[^>]*>")
TABLE = re.compile(r"<table>.*?</table>", re.S)
HEAD_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
THEAD = re.compile(r"<thead>.*?</thead>", re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
BODY_CELL = re.compile(r"<td\b([^>]*)>")
TAG = re.compile(r"<[^>]+>")


def on_page_content(page_html: str, page, config, files) -> str:
    page_html = _outside_pre(page_html, _wrap_points)
    return _stack_tables(page_html)


def _stack_tables(text: str) -> str:
    """Every table inside a <div class="stack-on-phone">, however deep, gets labels and roles."""
    out, last = [], 0
    start = text.find(STACK_OPEN)
    while start != -1:
        depth, end = 0, len(text)
        for tag in DIV_TAG.finditer(text, start):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                end = tag.end()
                break
        out.append(text[last:start])
        out.append(TABLE.sub(lambda m: _stacked(m.group(0)), text[start:end]))
        last = end
        start = text.find(STACK_OPEN, end)
    out.append(text[last:])
    return "".join(out)


def _outside_pre(text: str, change) -> str:
    out, last = [], 0
    for block in PRE.finditer(text):
        out.append(change(text[last : block.start()]))
        out.append(block.group(0))
        last = block.end()
    out.append(change(text[last:]))
    return "".join(out)


def _wrap_points(text: str) -> str:
    return INLINE_CODE.sub(lambda m: m.group(1) + _add_wbr(m.group(2)) + m.group(3), text)


def _add_wbr(code: str) -> str:
    """<wbr> after each wrap character of the text, not inside tags. (No character
    entity holds a wrap character, so none is cut.)"""
    return "".join(
        tag or WRAP_AFTER.sub("<wbr>", words) for tag, words in TAG_OR_TEXT.findall(code)
    )


def _label(cell_html: str) -> str:
    text = html.unescape(TAG.sub("", cell_html)).strip()
    return html.escape(" ".join(text.split()), quote=True)


def _stacked(table: str) -> str:
    head = THEAD.search(table)
    if not head:
        return table
    labels = [_label(cell) for cell in HEAD_CELL.findall(head.group(0))]

    def row(match: re.Match) -> str:
        cells = iter(labels)

        def cell(m: re.Match) -> str:
            label = next(cells, "")
            return f'<td{m.group(1)} role="cell" data-label="{label}">'

        inner = BODY_CELL.sub(cell, match.group(1))
        inner = re.sub(r"<th\b", '<th role="columnheader"', inner)
        return f'<tr role="row">{inner}</tr>'

    table = ROW.sub(row, table)
    table = table.replace("<thead>", '<thead role="rowgroup">', 1)
    table = table.replace("<tbody>", '<tbody role="rowgroup">', 1)
    return table.replace("<table>", '<table role="table">', 1)
