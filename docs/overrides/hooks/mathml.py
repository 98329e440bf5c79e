"""MkDocs hook: typeset the pages' display formulas as MathML when the site is built.

A page writes a display formula as TeX between two ``$$`` lines, with one or more
TeX comment lines first that say it in words::

    $$
    % g becomes g times the minimum of 1 and c over the norm of g
    g \\leftarrow g \\cdot \\min\\left(1, \\frac{c}{\\|g\\|}\\right)
    $$

``pymdownx.arithmatex`` (generic mode, configured in mkdocs.yml) leaves that TeX in
``<div class="arithmatex">\\[ ... \\]</div>``, which would still need a JavaScript
renderer (MathJax, KaTeX) in the reader's browser. This hook converts it once, at
build time, with latex2mathml, into MathML Core, which browsers lay out natively:
no script, no web font, nothing loaded from any host.

Accessible text: Chromium gives a ``<math>`` element no accessible name of its own,
and screen readers differ in how well they read MathML. So the words of the comment
become the formula's ``aria-label``, what a screen reader says, and the TeX is kept in
``alttext``. A formula without words, or TeX that latex2mathml cannot convert, is a
build warning (so the strict build fails) that names the page and the formula.
tests/test_mathml.py checks the built pages; the styles are in docs/assets/site.css,
section "Math".
"""

from __future__ import annotations

import html
import logging
import re

from latex2mathml.converter import convert

log = logging.getLogger("mkdocs.hooks.mathml")

BLOCK = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.*?)\\\]</div>', re.S)
MATH_OPEN = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
# latex2mathml writes \min, \max and \operatorname{clamp} as operators (<mo>min</mo>), which
# browsers space like a binary operator. MathML marks a function name as an identifier
# followed by the invisible "function application" (U+2061).
FUNCTION_NAME = re.compile(r"<mo>(?P<name>[A-Za-z]{2,})</mo>")


class MathError(ValueError):
    pass


def split_words(source: str) -> tuple[str, str]:
    """The formula's words (its leading `%` comment lines) and its TeX (the other lines)."""
    words, tex = [], []
    for line in source.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith("%"):
            words.append(stripped.lstrip("%").strip())
        else:
            tex.append(stripped)
    return " ".join(w for w in words if w), " ".join(t for t in tex if t)


def to_mathml(source: str) -> str:
    """One display formula (words in `%` lines, then TeX) as a <math> element."""
    words, tex = split_words(source)
    if not words:
        raise MathError(
            f"the formula {tex!r} has no words for screen readers: add a first line "
            "'% <the formula said in words>' inside its $$ block"
        )
    try:
        mathml = convert(tex, display="block")
    except Exception as error:  # latex2mathml raises several types; all mean the same here
        raise MathError(
            f"latex2mathml cannot convert the formula {tex!r} ({error!r}); "
            "rewrite it with the TeX commands latex2mathml supports"
        ) from error
    if not mathml.startswith(MATH_OPEN):
        raise MathError(f"unexpected latex2mathml output for {tex!r}: {mathml[:80]}")
    body = FUNCTION_NAME.sub(r"<mi>\g<name></mi><mo>&#x2061;</mo>", mathml[len(MATH_OPEN) :])
    label, alttext = html.escape(words, quote=True), html.escape(tex, quote=True)
    # No xmlns: HTML does not need it.
    return f'<math display="block" aria-label="{label}" alttext="{alttext}">{body}'


def typeset(page_html: str, where: str = "a page") -> str:
    """Replace every arithmatex block in a page's HTML with MathML; warn about bad ones."""

    def block(match: re.Match) -> str:
        try:
            mathml = to_mathml(html.unescape(match["tex"]))
        except MathError as error:
            log.warning(f"{where}: {error}")
            return match[0]
        return f'<div class="arithmatex">{mathml}</div>'

    return BLOCK.sub(block, page_html)


def on_page_content(html_text, page, config, files):
    if 'class="arithmatex"' not in html_text:
        return html_text
    return typeset(html_text, where=f"docs/{page.file.src_uri}")
