"""MkDocs hook: tables below the fold are neither styled nor laid out until they near the screen.

Each table of a page's content is wrapped, when the site is built, in
``<div class="table-skip" style="--table-phone: …; --table-wide: …">``. The CSS
(docs/assets/site.css, "Tables below the fold") gives that div ``content-visibility:
auto``: the browser skips styling and laying out a table that is off screen, and does
the work when the reader scrolls near it. Tables were the largest cost of loading the
pages that have many (the errata, "The cost of clipping": Lighthouse's mobile
Performance went from 86 and 81 to 96 and 95 with this hook and palette_css.py together;
scripts/quality.py, reports/quality.md).

A skipped table takes the height the CSS reads from its div: ``--table-phone`` on
narrow screens (where tables inside ``<div class="stack-on-phone">`` are cards, one
per row) and ``--table-wide`` elsewhere, in rem, estimated here from the text of each
cell (a table stacks when it has the ``role`` that docs/overrides/hooks/phone_tables.py,
listed before this hook in mkdocs.yml, gives it). The estimate is on the high side on
purpose, and ``tests/test_reading.py`` checks it against the laid-out height of every
table of the site at 390 and 1366 px:

* never lower than the real height: a skipped box lower than its table would lay its
  rows over what follows it while the browser answers a script's questions about them
  (axe, checking contrast, then read the footer's colours behind a table's text);
* not wildly higher: the page's scroll bar would be longer than the page.

Once a table has been shown the browser remembers its real height (``auto`` in the
CSS), so scrolling back moves nothing.

The wrapper is a plain block, not a scroll container: Material still wraps the table in
its own ``.md-typeset__scrollwrap`` inside it, and the div takes over that wrapper's
margins (the CSS), so the page's spacing is unchanged. Tables in code blocks are
text, not tables, and are left alone, and so is a table with a class (Material leaves
it alone too).
"""

from __future__ import annotations

import html
import math
import re

PRE = re.compile(r"<pre\b.*?</pre>", re.S)
# Markdown's tables, the ones Material styles and wraps (no class); a table with a class
# is a page's own widget (the clipping explorer's) and is left alone.
TABLE = re.compile(r"<table\b(?![^>]*\bclass=)[^>]*>.*?</table>", re.S)
ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t[hd]>", re.S)
TAG = re.compile(r"<[^>]+>")
STACKED = '<table role="table">'

# Material's table metrics, in rem (its root font size is 20 px on these screens):
FONT = 0.64  # the table's font size (.64rem)
LINE = FONT * 1.6  # one line of text
CELL_PAD = FONT * 0.9375 * 2  # a cell's padding, above and below
# A card of a stacked table (docs/assets/site.css): each cell has .5em of padding
# above and below, a bold label line, and the card .8em of margin under it.
CARD_CELL_PAD = FONT * 0.5 * 2
CARD_GAP = FONT * 0.8
BORDER = 0.05
# Characters per line, counted low so that the estimate errs high. A character of
# the table's 12.8 px text is taken as 8 px wide (the average is nearer 6.5; code is
# wider, and a line seldom fills its cell). The column is 358 px on a 390 px phone (a card's text, inside its padding,
# about 330 px) and about 690 px on a wide screen, less 32 px of padding per column.
CHAR_PX = 8.0
PHONE_CHARS = 40
WIDE_PX = 680.0
PHONE_PX = 358.0
COLUMN_PAD_PX = 32.0
MARGIN = 1.15  # and 15 % on top


def on_page_content(page_html: str, page, config, files) -> str:
    out, last = [], 0
    pre = [m.span() for m in PRE.finditer(page_html)]
    for match in TABLE.finditer(page_html):
        start, end = match.span()
        if any(a <= start < b for a, b in pre):
            continue
        # phone_tables.py (listed before this hook) gives role="table" to exactly the
        # tables that stack into cards on phones.
        phone, wide = estimate(match.group(0), STACKED in match.group(0)[:100])
        out.append(page_html[last:start])
        out.append(
            f'<div class="table-skip" style="--table-phone: {phone:.1f}rem; '
            f'--table-wide: {wide:.1f}rem">{match.group(0)}</div>'
        )
        last = end
    out.append(page_html[last:])
    return "".join(out)


def _text(cell_html: str) -> str:
    return " ".join(html.unescape(TAG.sub("", cell_html)).split())


def _lines(text: str, width: float) -> int:
    """Lines of ``text`` wrapped at spaces into lines ``width`` characters long."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
    return lines


def _grid_height(rows: list[list[str]], width_px: float) -> float:
    """A table laid out as a grid, the way browsers share a line among columns (CSS 2's
    automatic table layout): each column gets at least its longest word, and what is
    left goes to the columns whose text would wrap, in proportion to how much would."""
    columns = max(len(r) for r in rows)
    cells = [[r[c] if c < len(r) else "" for r in rows] for c in range(columns)]
    widest = [max(len(t) for t in column) or 1 for column in cells]
    narrowest = [
        max((len(w) for t in column for w in t.split()), default=1) or 1 for column in cells
    ]
    room = (width_px - COLUMN_PAD_PX * columns) / CHAR_PX
    if sum(widest) <= room:
        widths = widest
    elif sum(narrowest) >= room:
        widths = narrowest
    else:
        spare, stretch = room - sum(narrowest), sum(widest) - sum(narrowest)
        widths = [n + spare * (w - n) / stretch for n, w in zip(narrowest, widest)]
    height = BORDER * 2
    for row in rows:
        lines = max((_lines(t, widths[c]) for c, t in enumerate(row)), default=1)
        height += CELL_PAD + LINE * lines + BORDER
    return height


def estimate(table_html: str, stacked: bool) -> tuple[float, float]:
    """Heights in rem (phone, wide) for a skipped table: a little more than it will take."""
    rows = [[_text(c) for _, c in CELL.findall(r)] for r in ROW.findall(table_html)]
    rows = [r for r in rows if r] or [[""]]
    wide = _grid_height(rows, WIDE_PX)
    if stacked:
        labels = [len(t) for t in rows[0]]  # the header: each cell shows its column's name
        phone = 0.0
        for row in rows[1:]:
            phone += CARD_GAP + BORDER * 2
            for c, text in enumerate(row):
                label = labels[c] if c < len(labels) else 0
                lines = math.ceil(label / PHONE_CHARS) + (math.ceil(len(text) / PHONE_CHARS) or 1)
                phone += CARD_CELL_PAD + LINE * lines
    else:
        phone = _grid_height(rows, PHONE_PX)
    return phone * MARGIN, wide * MARGIN
