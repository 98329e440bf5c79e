"""MkDocs hook: tables that stack on phones.

A table wrapped in ``<div class="stack-on-phone" markdown>`` (the div may hold several
tables, or an include of generated Markdown) is shown on narrow screens as one card per
row, each cell under its column's name (the CSS is in docs/assets/site.css). The hook
gives each cell a ``data-label`` (its column header, which the CSS prints above the
cell) and the table explicit ARIA roles (a table whose cells are laid out as blocks
keeps being read as a table). tests/test_phone_tables.py checks the built site;
tests/test_reading.py measures every page in a browser.
"""

from __future__ import annotations

import html
import re

STACK_OPEN = '<div class="stack-on-phone">'
DIV_TAG = re.compile(r"<(/?)div\b[^>]*>")
TABLE = re.compile(r"<table>.*?</table>", re.S)
HEAD_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
THEAD = re.compile(r"<thead>.*?</thead>", re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
BODY_CELL = re.compile(r"<td\b([^>]*)>")
TAG = re.compile(r"<[^>]+>")


def on_page_content(page_html: str, page, config, files) -> str:
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
