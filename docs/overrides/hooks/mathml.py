"""MkDocs hook: the display formulas that pymdownx.arithmatex marks (TeX between `$$` lines,
its words in `%` lines first: CONTRIBUTING.md, "Write a formula") as MathML, with latex2mathml.

The words become the formula's aria-label (Chromium gives <math> no name of its own), the TeX
its alttext. A formula without words, or TeX latex2mathml cannot read, is a build warning.
"""

from __future__ import annotations

import html
import logging
import re

from latex2mathml.converter import convert

log = logging.getLogger("mkdocs.hooks.mathml")

BLOCK = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.*?)\\\]</div>', re.S)
MATH_OPEN = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
# latex2mathml writes \min as an operator (<mo>min</mo>), spaced like a binary one; MathML
# writes a function name as an identifier, then the invisible function application (U+2061).
FUNCTION_NAME = re.compile(r"<mo>(?P<name>[A-Za-z]{2,})</mo>")


def split_words(source: str) -> tuple[str, str]:
    """The formula's words (its leading `%` comment lines) and its TeX (the other lines)."""
    lines = [line.strip() for line in source.splitlines()]
    words = [line.lstrip("%").strip() for line in lines if line.startswith("%")]
    tex = [line for line in lines if line and not line.startswith("%")]
    return " ".join(word for word in words if word), " ".join(tex)


def to_mathml(source: str) -> str:
    """One display formula (words in `%` lines, then TeX) as a <math> element."""
    words, tex = split_words(source)
    if not words:
        raise ValueError(
            f"the formula {tex!r} has no words for screen readers: add a first line "
            "'% <the formula said in words>' inside its $$ block"
        )
    try:
        mathml = convert(tex, display="block")
    except Exception as error:  # latex2mathml raises several types; all mean the same here
        raise ValueError(
            f"latex2mathml cannot convert the formula {tex!r} ({error!r}); "
            "rewrite it with the TeX commands latex2mathml supports"
        ) from error
    if not mathml.startswith(MATH_OPEN):
        raise ValueError(f"unexpected latex2mathml output for {tex!r}: {mathml[:80]}")
    body = FUNCTION_NAME.sub(r"<mi>\g<name></mi><mo>&#x2061;</mo>", mathml[len(MATH_OPEN) :])
    label, alttext = html.escape(words, quote=True), html.escape(tex, quote=True)
    # No xmlns: HTML does not need it.
    return f'<math display="block" aria-label="{label}" alttext="{alttext}">{body}'


def typeset(page_html: str, where: str = "a page") -> str:
    """Replace every arithmatex block in a page's HTML with MathML; warn about bad ones."""

    def block(match: re.Match) -> str:
        try:
            mathml = to_mathml(html.unescape(match["tex"]))
        except ValueError as error:
            log.warning(f"{where}: {error}")
            return match[0]
        return f'<div class="arithmatex">{mathml}</div>'

    return BLOCK.sub(block, page_html)


def on_page_content(html_text, page, config, files):
    return typeset(html_text, where=f"docs/{page.file.src_uri}")
