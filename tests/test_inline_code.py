"""docs/overrides/hooks/inline_code.py: inline code may wrap only between names, never
inside a number, and code blocks get no wrap points."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.modules import load
from tests.support.paths import DOCS

inline_code = load(DOCS / "overrides" / "hooks" / "inline_code.py")


@pytest.mark.parametrize(
    ("code", "wraps_as"),
    [
        (
            "torch.nn.utils.clip_grad_norm_(model.parameters(), c)",
            "torch.<wbr>nn.<wbr>utils.<wbr>clip_grad_norm_(<wbr>model.<wbr>parameters(), c)",
        ),
        # A decimal point ends no name: `1.0` never wraps as `1.` / `0`.
        ("tf.clip(grads, clip_norm=1.0)", "tf.<wbr>clip(<wbr>grads, clip_norm=1.0)"),
        ("eps=0.5, x.y[0]/z", "eps=0.5, x.<wbr>y[<wbr>0]/<wbr>z"),
    ],
)
def test_inline_code_wraps_only_after_the_end_of_a_name(code, wraps_as):
    page = f"<p><code>{code}</code></p>"
    assert inline_code.on_page_content(page, None, None, None) == (
        f"<p><code>{wraps_as}</code></p>"
    )


def test_code_blocks_get_no_wrap_points(site: Path):
    wrapped = [
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if any("<wbr>" in pre for pre in re.findall(r"<pre\b.*?</pre>", page.read_text(), re.S))
    ]
    assert not wrapped, f"<wbr> inside code blocks: {wrapped}"
