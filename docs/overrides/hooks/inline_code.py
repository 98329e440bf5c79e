"""MkDocs hook: inline code (not <pre>) may wrap only after `.`, `/`, `(`, `[` and `,`: a <wbr>
there, none inside a name or a number. docs/assets/site.css turns off Material's break-anywhere.
"""

from __future__ import annotations

import re

INLINE_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.S)
TAG_OR_TEXT = re.compile(r"(<[^>]*>)|([^<]+)")
# Not before a closing bracket or a space (a wrap point already), nor after a decimal point.
WRAP_AFTER = re.compile(r"(?<=[/(\[,])(?=[^\s)\]])|(?<=\.)(?=[^\s)\]\d])")


def on_page_content(page_html: str, page, config, files) -> str:
    out, last = [], 0
    for block in re.finditer(r"<pre\b.*?</pre>", page_html, re.S):
        out += [INLINE_CODE.sub(_wrap_points, page_html[last : block.start()]), block.group(0)]
        last = block.end()
    out.append(INLINE_CODE.sub(_wrap_points, page_html[last:]))
    return "".join(out)


def _wrap_points(code: re.Match) -> str:
    """The <code> element with a <wbr> after each wrap character of its text, not in tags."""
    text = "".join(
        tag or WRAP_AFTER.sub("<wbr>", words) for tag, words in TAG_OR_TEXT.findall(code[2])
    )
    return code[1] + text + code[3]
