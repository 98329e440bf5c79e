"""The build-time hooks that make pages load with less work, checked on their own and on the
built site:

* docs/overrides/hooks/palette_css.py takes out of Material's palette stylesheet the
  ``[data-md-color-switching]`` rule, which restyled every element twice at each load;
* docs/overrides/hooks/table_skip.py wraps each Markdown table in a
  ``<div class="table-skip">`` that the browser skips while it is off screen, with the
  heights it will need on a phone and on a wide screen;
* docs/overrides/main.html defers every script at the end of the body, and puts in the head
  the script that holds the search index's request back until the page has painted
  (docs/overrides/partials/javascripts/search-index-after-paint.html).

What they buy is measured by scripts/quality.py (reports/quality.md). That the skipped
tables are given at least, and not much more than, their real height is measured in a
browser by tests/test_reading.py; that the palette toggle and search still work, and that
the index is requested after the load event, by tests/test_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import material
import pytest
from mkdocs.exceptions import PluginError

from tests.test_code_titles import load_hook

palette_css = load_hook("palette_css")
table_skip = load_hook("table_skip")
phone_tables = load_hook("phone_tables")

MATERIAL_SHEETS = Path(material.__file__).parent / "templates" / "assets" / "stylesheets"
MARKDOWN_TABLE = re.compile(r"<table\b(?![^>]*\bclass=)[^>]*>")


def materials_palette_css() -> str:
    (sheet,) = MATERIAL_SHEETS.glob("palette.*.min.css")
    return sheet.read_text("utf-8")


def test_the_switching_rule_is_in_the_pinned_materials_palette_stylesheet_once():
    css = materials_palette_css()
    stripped = palette_css.strip_switching_rule(css)
    assert "data-md-color-switching" not in stripped, (
        "Material's palette stylesheet still mentions data-md-color-switching after the hook: "
        "another rule uses the attribute, and every page load restyles every element again"
    )
    assert len(css) - len(stripped) == len(palette_css.RULE), "the hook took out more than the rule"


@pytest.mark.parametrize("times", [0, 2])
def test_the_build_fails_when_materials_rule_has_changed(times: int):
    css = "body{color:red}" + palette_css.RULE * times
    with pytest.raises(PluginError, match=r"palette_css\.py.*found it %d times" % times):
        palette_css.strip_switching_rule(css)


def test_the_built_site_serves_the_palette_stylesheet_without_the_rule(site: Path):
    (built,) = (site / "assets" / "stylesheets").glob("palette.*.min.css")
    css = built.read_text("utf-8")
    assert "data-md-color-switching" not in css, (
        f"{built.relative_to(site)} still has the [data-md-color-switching] rule: is "
        "docs/overrides/hooks/palette_css.py still listed under hooks: in mkdocs.yml?"
    )
    assert css == palette_css.strip_switching_rule(materials_palette_css()), (
        "the built palette stylesheet differs from Material's by more than the one rule"
    )


PAGE = """<p>Intro</p>
<table>
<thead><tr><th>Name</th><th>What it does</th></tr></thead>
<tbody>
<tr><td>a</td><td>short</td></tr>
<tr><td>b</td><td>{long}</td></tr>
</tbody>
</table>
<pre><code>&lt;table&gt;&lt;/table&gt; <table><tr><td>in code</td></tr></table></code></pre>
<table class="clip-explorer__table"><tr><td>widget</td></tr></table>
"""


def wrapped(page_html: str) -> list[tuple[float, float]]:
    return [
        (float(phone), float(wide))
        for phone, wide in re.findall(
            r'<div class="table-skip" style="--table-phone: ([\d.]+)rem; '
            r'--table-wide: ([\d.]+)rem"><table\b',
            page_html,
        )
    ]


def test_each_markdown_table_is_wrapped_once_and_other_tables_are_left_alone():
    out = table_skip.on_page_content(PAGE.format(long="x"), None, None, None)
    assert len(wrapped(out)) == 1, out
    assert out.count('class="table-skip"') == 1, (
        "a table in a code block or with a class was wrapped"
    )
    assert out.replace(re.search(r'<div class="table-skip"[^>]*>', out).group(0), "", 1).replace(
        "</table></div>", "</table>", 1
    ) == PAGE.format(long="x"), "the hook changed more than the wrapper around the table"


def test_longer_text_and_stacking_into_cards_need_more_room():
    (short,) = wrapped(table_skip.on_page_content(PAGE.format(long="word"), None, None, None))
    (long,) = wrapped(table_skip.on_page_content(PAGE.format(long="word " * 200), None, None, None))
    assert long[0] > short[0] and long[1] > short[1], (short, long)
    assert long[0] > long[1], "a phone's narrow column should need more height than a wide one"
    stacked = '<div class="stack-on-phone">' + PAGE.format(long="word " * 200) + "</div>"
    stacked = phone_tables.on_page_content(stacked, None, None, None)  # runs first in mkdocs.yml
    ((phone, wide),) = wrapped(table_skip.on_page_content(stacked, None, None, None))
    assert wide == pytest.approx(long[1]), "stacking changes only the phone layout"
    assert phone > long[1], "cards (a label above each cell) need more height than the grid"


def test_every_markdown_table_of_the_built_site_is_wrapped(site: Path):
    unwrapped, total = [], 0
    for page in sorted(site.rglob("*.html")):
        text = page.read_text("utf-8")
        content = text[text.find('<article class="md-content__inner') :]
        code = [m.span() for m in re.finditer(r"<pre\b.*?</pre>", content, re.S)]
        for match in MARKDOWN_TABLE.finditer(content):
            if any(a <= match.start() < b for a, b in code):
                continue  # a table in a code block is text
            total += 1
            if not content[: match.start()].endswith('rem">'):
                unwrapped.append(f"{page.relative_to(site)}: {content[match.start() :][:80]!r}")
    assert total > 10, f"only {total} Markdown tables found in the built site"
    assert not unwrapped, (
        'these tables are not inside a <div class="table-skip">, so the browser styles and '
        "lays them out at load even off screen; is docs/overrides/hooks/table_skip.py listed "
        "under hooks: in mkdocs.yml, and does its TABLE pattern match them?\n"
        + "\n".join(unwrapped)
    )


SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=[^>]*>")


def test_every_script_of_every_built_page_is_deferred_and_runs_after_materials(site: Path):
    problems, pages = [], 0
    for page in sorted(site.rglob("*.html")):
        text = page.read_text("utf-8")
        if "assets/javascripts/bundle." not in text:
            continue  # not a page of the site (a notebook copied as HTML, say)
        pages += 1
        name = page.relative_to(site)
        tags = SCRIPT_SRC.findall(text)
        blocking = [tag for tag in tags if not re.search(r"\sdefer[\s>]", tag)]
        if blocking:
            problems.append(f"{name}: not deferred: {blocking}")
        if not tags or "assets/javascripts/bundle." not in tags[0]:
            problems.append(f"{name}: Material's bundle is not the first script: {tags}")
        head = text[: text.find("</head>")]
        if "search_index" not in head:
            problems.append(f"{name}: the search index's hold-back script is not in the head")
    assert pages > 20, f"only {pages} pages of the site found"
    assert not problems, (
        "a script without `defer` holds up the first paint until it has downloaded and run; "
        "the scripts block of docs/overrides/main.html adds `defer` to Material's tags and to "
        "its own (a page template that bypasses it would show here):\n" + "\n".join(problems)
    )
