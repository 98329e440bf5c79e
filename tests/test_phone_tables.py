"""docs/overrides/hooks/phone_tables.py: the cells of a table inside
<div class="stack-on-phone"> are labelled with their column (CONTRIBUTING.md, "Tables on
phones"). tests/test_reading.py measures the result in a browser."""

from __future__ import annotations

import html
import re
from pathlib import Path


def test_stacked_table_cells_are_labelled_with_their_column(site: Path):
    checked, wrong = 0, []
    for page in sorted(site.rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        for table in re.findall(r'<table role="table">.*?</table>', text, re.S):
            headers = [
                html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
                for h in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S)
            ]
            for row in re.findall(r'<tr role="row">(.*?)</tr>', table, re.S)[1:]:
                labels = [html.unescape(x) for x in re.findall(r'data-label="([^"]*)"', row)]
                checked += 1
                if not labels or labels != headers[: len(labels)]:
                    wrong.append(f"{page.relative_to(site)}: cells {labels}, headers {headers}")
    assert checked > 30, f"only {checked} rows of stacked tables found"
    assert not wrong, "\n".join(wrong[:10])
