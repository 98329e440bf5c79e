"""docs/overrides/hooks/mathml.py: display formulas, TeX between `$$` lines with their words
in `%` lines first (CONTRIBUTING.md, "Write a formula"), are MathML in the built pages, said
in words, loading no script, and fit a phone's column."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.support.browser import new_page
from tests.support.built_site import pages, parse, source
from tests.support.modules import load
from tests.support.paths import DOCS

mathml = load(DOCS / "overrides" / "hooks" / "mathml.py")

# What the math page says in words (the first line of a $$ block, its aria-label).
CLIPPING_RULE = "g becomes g times the minimum of 1 and c over the norm of g"
MATH_ELEMENT = re.compile(r"<math\b(?P<attrs>[^>]*)>(?P<body>.*?)</math>", re.S)
LEFTOVER_TEX = re.compile(r'<div class="arithmatex">\s*\\\[')


def attribute(attrs: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', attrs)
    return found.group(1) if found else None


@pytest.mark.parametrize(
    ("tex", "says"),
    [("g \\leftarrow g", "no words for screen readers"), ("% broken\n\\frac{", "cannot convert")],
)
def test_a_bad_formula_is_a_build_warning_naming_the_page(tex, says, caplog):
    page = f'<p>x</p><div class="arithmatex">\\[ {tex} \\]</div>'
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.mathml"):
        assert mathml.typeset(page, where="docs/guide/example.md") == page
    assert "docs/guide/example.md" in caplog.text and says in caplog.text


def test_the_math_page_shows_its_formulas_as_mathml(site: Path):
    html = (site / "guide" / "the-math" / "index.html").read_text(encoding="utf-8")
    formulas = MATH_ELEMENT.findall(html)
    blocks = (DOCS / "guide" / "the-math.md").read_text(encoding="utf-8").count("\n$$\n") // 2
    assert blocks >= 4 and len(formulas) == blocks, (
        f"docs/guide/the-math.md has {blocks} $$ blocks, its built page {len(formulas)} <math>"
    )
    labels = {attribute(attrs, "aria-label"): body for attrs, body in formulas}
    assert CLIPPING_RULE in labels, f"the clipping rule is not among the formulas: {list(labels)}"
    # \min is a function name: an identifier, then function application (U+2061).
    assert "<mi>min</mi><mo>&#x2061;</mo>" in labels[CLIPPING_RULE]
    for attrs, body in formulas:
        assert attribute(attrs, "display") == "block"
        assert attribute(attrs, "alttext"), f"a formula has no alttext (its TeX): <math{attrs}>"
        assert "<mfrac>" in body or "<msub>" in body, f"not typeset as MathML: {body[:120]}"


def test_no_page_is_left_with_raw_tex_or_loads_a_math_renderer(site: Path):
    problems = []
    for html in pages(site):
        if LEFTOVER_TEX.search(html.read_text(encoding="utf-8")):
            problems.append(
                f"{source(site, html)}: a $$ formula was not typeset (see the build log)"
            )
        problems += [
            f"{source(site, html)}: loads {url}"
            for url in parse(html).loads
            if re.search(r"mathjax|katex", url, re.I)
        ]
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scheme"), [(390, "light"), (1366, "dark")])
def test_formulas_are_named_fit_the_column_and_use_the_text_colour(
    browser, base_url: str, width: int, scheme: str
):
    viewport = {"width": width, "height": 900}
    with new_page(browser, viewport=viewport, color_scheme=scheme) as (page, _):
        page.goto(base_url + "guide/the-math/", wait_until="networkidle")
        names = [m.get_attribute("aria-label") for m in page.get_by_role("math").all()]
        boxes = page.locator("div.arithmatex").evaluate_all(
            """blocks => blocks.map(b => ({
                scroll: b.scrollWidth, client: b.clientWidth,
                colour: getComputedStyle(b.querySelector('math')).color,
                text: getComputedStyle(b.closest('article')).color,
                height: b.querySelector('math').getBoundingClientRect().height,
            }))"""
        )
    assert CLIPPING_RULE in names, f"no formula is named {CLIPPING_RULE!r}: {names}"
    assert len(boxes) >= 4
    for number, box in enumerate(boxes, 1):
        assert box["scroll"] <= box["client"], (
            f"formula {number} is {box['scroll']} px wide in a {box['client']} px column at "
            f"{width} px: shorten it or split it over two $$ blocks"
        )
        assert box["colour"] == box["text"], f"formula {number} is not in the text colour: {box}"
        assert box["height"] > 15, f"formula {number} has no height: MathML not laid out? {box}"
