"""MkDocs hook: every table inside a <div class="stack-on-phone"> gets explicit ARIA roles and
each cell a `data-label` (its column's header), which docs/assets/site.css shows above the cell
when the rows stack as cards on a phone (CONTRIBUTING.md, "Tables on phones").
"""

from __future__ import annotations

import html
import re

STACK_OPEN = '<div class="stack-on-phone">'
DIV_TAG = re.compile(r"<(/?)div\b[^>]*>")
TABLE = re.compile(r"<table>.*?</table>", re.S)
BODY_CELL = re.compile(r"<td\b([^>]*)>")
TAG = re.compile(r"<[^>]+>")


def on_page_content(text: str, page, config, files) -> str:
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
        out.append(TABLE.sub(_stacked, text[start:end]))
        last = end
        start = text.find(STACK_OPEN, end)
    out.append(text[last:])
    return "".join(out)


def _label(cell_html: str) -> str:
    return html.escape(" ".join(html.unescape(TAG.sub("", cell_html)).split()), quote=True)


def _stacked(match: re.Match) -> str:
    table = match[0]
    head = re.search(r"<thead>.*?</thead>", table, re.S)
    if not head:
        return table
    labels = [_label(cell) for cell in re.findall(r"<th\b[^>]*>(.*?)</th>", head[0], re.S)]

    def row(match: re.Match) -> str:
        cells = iter(labels)
        inner = BODY_CELL.sub(
            lambda m: f'<td{m[1]} role="cell" data-label="{next(cells, "")}">', match[1]
        )
        inner = re.sub(r"<th\b", '<th role="columnheader"', inner)
        return f'<tr role="row">{inner}</tr>'

    table = re.sub(r"<tr>(.*?)</tr>", row, table, flags=re.S)
    table = table.replace("<thead>", '<thead role="rowgroup">', 1)
    table = table.replace("<tbody>", '<tbody role="rowgroup">', 1)
    return table.replace("<table>", '<table role="table">', 1)
