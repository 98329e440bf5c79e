"""Display formulas (CONTRIBUTING.md, "Write a formula") are MathML, said in words, loading no
script, and fit a phone's column (docs/overrides/hooks/mathml.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from scripts.site_server import built_pages
from tests.support.browser import new_page
from tests.support.built_site import parse, source
from tests.support.modules import load
from tests.support.paths import DOCS, ROOT

mathml = load(DOCS / "overrides" / "hooks" / "mathml.py")

# What the math page says in words (the first line of a $$ block, its aria-label).
CLIPPING_RULE = "g becomes g times the minimum of 1 and c over the norm of g"
# A typeset formula: its words (aria-label), its TeX (alttext), its MathML.
MATH = re.compile(r'<math display="block" aria-label="([^"]+)" alttext="[^"]+">(.*?)</math>', re.S)


@pytest.mark.parametrize(
    ("tex", "says"),
    [("g \\leftarrow g", "no words for screen readers"), ("% broken\n\\frac{", "cannot convert")],
)
def test_a_bad_formula_is_a_build_warning_naming_the_page(tex, says, caplog):
    page = f'<p>x</p><div class="arithmatex">\\[ {tex} \\]</div>'
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.mathml"):
        assert mathml.typeset(page, where="docs/guide/example.md") == page
    assert "docs/guide/example.md" in caplog.text and says in caplog.text


def test_every_formula_is_mathml_and_no_page_loads_a_math_renderer(site: Path):
    problems = []
    for html in built_pages(site):
        where = source(site, html)
        markdown = (ROOT / where).read_text("utf-8") if where.endswith(".md") else ""
        blocks = markdown.count("\n$$\n") // 2
        if (typeset := len(MATH.findall(html.read_text("utf-8")))) != blocks:
            problems.append(
                f"{where}: {blocks} $$ blocks, {typeset} typeset with words (see the build log)"
            )
        problems += [
            f"{where}: loads {url}"
            for url in parse(html).loads
            if re.search(r"mathjax|katex", url, re.I)
        ]
    assert not problems, "\n".join(problems)


def test_the_math_page_shows_its_formulas_as_mathml(site: Path):
    formulas = dict(MATH.findall((site / "guide/the-math/index.html").read_text("utf-8")))
    assert CLIPPING_RULE in formulas, f"no formula says the clipping rule: {list(formulas)}"
    # \min is a function name: an identifier, then function application (U+2061).
    assert "<mi>min</mi><mo>&#x2061;</mo>" in formulas[CLIPPING_RULE]
    for body in formulas.values():
        assert "<mfrac>" in body or "<msub>" in body, f"not typeset as MathML: {body[:120]}"


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scheme"), [(390, "light"), (1366, "dark")])
def test_formulas_fit_the_column_and_use_the_text_colour(
    browser, base_url: str, width: int, scheme: str
):
    viewport = {"width": width, "height": 900}
    with new_page(browser, viewport=viewport, color_scheme=scheme) as (page, _):
        page.goto(base_url + "guide/the-math/", wait_until="networkidle")
        boxes = page.locator("div.arithmatex").evaluate_all(
            """blocks => blocks.map(b => ({
                scroll: b.scrollWidth, client: b.clientWidth,
                colour: getComputedStyle(b.querySelector('math')).color,
                text: getComputedStyle(b.closest('article')).color,
                height: b.querySelector('math').getBoundingClientRect().height,
            }))"""
        )
    assert len(boxes) >= 4
    for number, box in enumerate(boxes, 1):
        assert box["scroll"] <= box["client"], (
            f"formula {number} is {box['scroll']} px wide in a {box['client']} px column at "
            f"{width} px: shorten it or split it over two $$ blocks"
        )
        assert box["colour"] == box["text"], f"formula {number} is not in the text colour: {box}"
        assert box["height"] > 15, f"formula {number} has no height: MathML not laid out? {box}"
