"""Display formulas are MathML in the built pages: typeset at build time, said in words, no script.

The pages write formulas as TeX between `$$` lines (CONTRIBUTING.md, "Write a formula");
docs/overrides/hooks/mathml.py converts them with latex2mathml when the site is built.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from pathlib import Path

import pytest

from tests.support.browser import new_page
from tests.support.built_site import pages, parse, source
from tests.support.paths import DOCS, ROOT
from tests.test_site import is_external

MATH_PAGE = "guide/the-math/index.html"
HOOK = ROOT / "docs" / "overrides" / "hooks" / "mathml.py"
# What the page promises in words (the first line of each $$ block, its aria-label).
CLIPPING_RULE = "g becomes g times the minimum of 1 and c over the norm of g"
MATH_ELEMENT = re.compile(r"<math\b(?P<attrs>[^>]*)>(?P<body>.*?)</math>", re.S)
LEFTOVER_TEX = re.compile(r'<div class="arithmatex">\s*\\\[')


def load_hook():
    spec = importlib.util.spec_from_file_location("mathml_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = load_hook()
# The browser tests' Chromium and local server (skipped without Chromium, failing in CI).


def attribute(attrs: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', attrs)
    return found.group(1) if found else None


# --- the hook on its own ------------------------------------------------------------------


def test_hook_writes_mathml_with_the_words_as_its_label_and_the_tex_as_alttext():
    mathml = hook.to_mathml("% c over the norm of g\n\\frac{c}{\\|g\\|}")
    assert mathml.startswith('<math display="block" aria-label="c over the norm of g"'), mathml
    assert 'alttext="\\frac{c}{\\|g\\|}"' in mathml
    assert "<mfrac>" in mathml and "xmlns" not in mathml


def test_hook_writes_function_names_as_identifiers():
    mathml = hook.to_mathml("% the minimum of 1 and c\n\\min(1, c)")
    assert "<mi>min</mi><mo>&#x2061;</mo>" in mathml, (
        f"\\min should be an identifier followed by function application: {mathml}"
    )


def test_hook_refuses_a_formula_without_words():
    with pytest.raises(hook.MathError, match="no words for screen readers"):
        hook.to_mathml("g \\leftarrow g")


def test_hook_refuses_tex_it_cannot_convert():
    with pytest.raises(hook.MathError, match="cannot convert"):
        hook.to_mathml("% broken\n\\frac{")


def test_a_bad_formula_is_a_build_warning_naming_the_page(caplog: pytest.LogCaptureFixture):
    html = '<p>x</p><div class="arithmatex">\\[ g \\leftarrow g \\]</div>'
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.mathml"):
        out = hook.typeset(html, where="docs/guide/example.md")
    assert out == html, "a formula the hook cannot typeset should stay as it was"
    assert "docs/guide/example.md" in caplog.text and "no words" in caplog.text


# --- the built site -------------------------------------------------------------------------


def test_the_math_page_shows_its_formulas_as_mathml(site: Path):
    html = (site / MATH_PAGE).read_text(encoding="utf-8")
    formulas = MATH_ELEMENT.findall(html)
    blocks = (DOCS / "guide" / "the-math.md").read_text(encoding="utf-8").count("\n$$\n") // 2
    assert blocks >= 4 and len(formulas) == blocks, (
        f"docs/guide/the-math.md has {blocks} $$ blocks, its built page {len(formulas)} <math>"
    )
    labels = [attribute(attrs, "aria-label") for attrs, _ in formulas]
    assert CLIPPING_RULE in labels, f"the clipping rule is not among the formulas: {labels}"
    for attrs, body in formulas:
        assert attribute(attrs, "display") == "block"
        assert attribute(attrs, "alttext"), f"a formula has no alttext (its TeX): <math{attrs}>"
        assert "<mfrac>" in body or "<msub>" in body, f"not typeset as MathML: {body[:120]}"
    article = re.search(r"<article\b.*?</article>", html, re.S).group(0)
    assert "<blockquote>" not in article, "the math page still sets a formula as a blockquote"


def test_no_page_is_left_with_raw_tex_or_loads_a_math_renderer(site: Path):
    problems = []
    for html in pages(site):
        text = html.read_text(encoding="utf-8")
        if LEFTOVER_TEX.search(text):
            problems.append(
                f"{source(site, html)}: a $$ formula was not typeset (see the build log)"
            )
        found = parse(html)
        problems += [
            f"{source(site, html)}: loads {url}"
            for url in found.loads
            if is_external(url) or re.search(r"mathjax|katex", url, re.I)
        ]
    assert not problems, "\n".join(problems)


# --- in Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1366, 390])
def test_formulas_are_named_fit_the_column_and_use_the_text_colour(
    browser, base_url: str, scheme: str, width: int
):
    with new_page(browser, viewport={"width": width, "height": 900}, color_scheme=scheme) as (
        page,
        watch,
    ):
        page.goto(base_url + "guide/the-math/", wait_until="networkidle")
        names = [m.get_attribute("aria-label") for m in page.get_by_role("math").all()]
        assert CLIPPING_RULE in names, f"no formula is named {CLIPPING_RULE!r}: {names}"
        boxes = page.locator("div.arithmatex").evaluate_all(
            """blocks => blocks.map(b => ({
                scroll: b.scrollWidth, client: b.clientWidth,
                colour: getComputedStyle(b.querySelector('math')).color,
                text: getComputedStyle(b.closest('article')).color,
                height: b.querySelector('math').getBoundingClientRect().height,
            }))"""
        )
    assert not watch.errors + watch.external, "\n".join(watch.errors + watch.external)
    assert len(boxes) >= 4
    for number, box in enumerate(boxes, 1):
        assert box["scroll"] <= box["client"], (
            f"formula {number} is {box['scroll']} px wide in a {box['client']} px column at "
            f"{width} px: shorten it or split it over two $$ blocks"
        )
        assert box["colour"] == box["text"], f"formula {number} is not in the text colour: {box}"
        assert box["height"] > 15, f"formula {number} has no height: MathML not laid out? {box}"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_math_page_has_no_axe_violations(browser, base_url: str, scheme: str):
    from axe_playwright_python.sync_playwright import Axe

    with new_page(browser, color_scheme=scheme) as (page, _):
        page.goto(base_url + "guide/the-math/", wait_until="networkidle")
        results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
