"""MkDocs hook: inline code wraps only between names.

Material lets inline code break anywhere (``word-break: break-word``), which lets a
table squeeze a column until ``model.parameters()`` reads ``model.pa`` / ``rameters()``.
docs/assets/site.css turns that off; this hook puts a ``<wbr>`` (a place the line may
wrap, invisible and never copied) after each ``.``, ``/``, ``(``, ``[`` and ``,`` in
inline code, so ``torch.nn.utils.clip_grad_norm_`` still wraps on a phone, between its
parts; never after a decimal point, so ``1.0`` stays whole. Code blocks (``<pre>``) are
left alone. tests/test_inline_code.py checks it.
"""

from __future__ import annotations

import re

PRE = re.compile(r"<pre\b.*?</pre>", re.S)
INLINE_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.S)
TAG_OR_TEXT = re.compile(r"(<[^>]*>)|([^<]+)")
# After these characters a name ends; not before a closing bracket or a space (a wrap
# point already), and not after a `.` followed by a digit: a decimal point, since no
# Python name starts with a digit.
WRAP_AFTER = re.compile(r"(?<=[/(\[,])(?=[^\s)\]])|(?<=\.)(?=[^\s)\]\d])")


def on_page_content(page_html: str, page, config, files) -> str:
    out, last = [], 0
    for block in PRE.finditer(page_html):
        out.append(_wrap_points(page_html[last : block.start()]))
        out.append(block.group(0))
        last = block.end()
    out.append(_wrap_points(page_html[last:]))
    return "".join(out)


def _wrap_points(text: str) -> str:
    return INLINE_CODE.sub(lambda m: m.group(1) + _add_wbr(m.group(2)) + m.group(3), text)


def _add_wbr(code: str) -> str:
    """<wbr> after each wrap character of the text, not inside tags."""
    return "".join(
        tag or WRAP_AFTER.sub("<wbr>", words) for tag, words in TAG_OR_TEXT.findall(code)
    )
