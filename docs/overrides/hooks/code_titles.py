"""MkDocs hook: title each snippet's code block with its file name, and highlight
the lines a reader copies.

A snippet (``snippets/<page>/<idea>.md``) holds one ```` ```python ```` block. The
fence must stay exactly ```` ```python ```` (pytest-codeblocks skips any other info
string), so the title is added when the site is built, never in the file:

* the block is titled ``<idea>.py``, the name to save it under; a torchrun script
  (first line ``# torchrun --nproc-per-node N <name>.py``) is titled ``<name>.py``,
  the name that command runs;
* lines between a ``# highlight: start`` and a ``# highlight: end`` comment line
  are highlighted (pymdownx.highlight's ``hl_lines``), so in a block that needs
  harness code (spawning processes, picking a port, timeouts) the lines a reader
  takes away stand out. The two marker lines are not shown; the copy button copies
  the whole block, which still runs as is.

How: on_page_markdown puts a marker line before each ``--8<--`` include of a
snippet; a Markdown preprocessor, added in on_config and run right after
pymdownx.snippets has pasted the snippet in, removes the marker and rewrites the
next ```` ```python ```` fence into ```` ```python title="<idea>.py" hl_lines="..." ````.
The page's source and the snippet file are unchanged. tests/test_code_titles.py
checks the rules and the built site.

It also keeps the highlighted code light. Code is most of a page's DOM, and the
DOM's size is what a phone spends its first seconds styling and laying out. A
Pygments filter makes plain names, whitespace, operators, punctuation and string
prefixes plain text, so the formatter wraps no <span> around them, and gives the
parts of a string one type, so it wraps one <span> around each run of them. Names,
prefixes and strings look as Material draws them (names in the code's own colour,
prefixes uncoloured, each part of a string in the string colour:
tests/test_code_titles.py checks Material's stylesheet); operators and punctuation
take the code's colour instead of a lighter grey. Keywords, builtins, numbers and
comments keep theirs.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from markdown import Extension
from markdown.preprocessors import Preprocessor
from pygments.filter import Filter
from pygments.token import Name, Operator, Punctuation, String, Text

INCLUDE = re.compile(
    r"""^(?P<space>[ \t]*)--8<--[ \t]+(?P<quote>["'])(?P<target>[^"':]+\.md)(?P=quote)[ \t]*$"""
)
MARKER = "<!-- code_titles: {} -->"
MARKER_LINE = re.compile(r"^[ \t]*<!-- code_titles: (?P<target>[\w./-]+\.md) -->[ \t]*$")
OPENING = re.compile(r"^(?P<space>[ \t]*)(?P<fence>`{3,})python[ \t]*$")
TORCHRUN = re.compile(r"^\s*# torchrun\b.*?\s(?P<name>[\w.-]+\.py)\s*$")
HIGHLIGHT = re.compile(r"^\s*# highlight: (?P<edge>start|end)\s*$")
OUTPUT = re.compile(
    r'^(?P<space>[ \t]*)(?P<fence>`{3,})text[ \t]+(?P<options>title="[^"]*")[ \t]*$'
)
# Material's documented attribute: the block is left out of the search index, so a
# result previews the page's prose and the index is smaller.
NOT_SEARCHED = 'data-search-exclude=""'
# pymdownx.snippets runs at 32, superfences reads fences from 31.05 on.
PRIORITY = 31.5

SNIPPETS = Path(__file__).resolve().parents[3] / "snippets"


def title_for(target: str, code: list[str]) -> str:
    """The file name a reader saves the block under."""
    for line in code[:1]:
        torchrun = TORCHRUN.match(line)
        if torchrun:
            return torchrun["name"]
    return PurePosixPath(target).stem + ".py"


def highlighted(code: list[str], where: str) -> tuple[list[str], list[int]]:
    """The block without its marker lines, and the (1-based) line numbers between them."""
    kept: list[str] = []
    lines: list[int] = []
    inside = False
    for line in code:
        edge = HIGHLIGHT.match(line)
        if edge:
            starting = edge["edge"] == "start"
            if starting == inside:
                raise ValueError(
                    f"{where}: `# highlight: {edge['edge']}` "
                    + ("inside another highlighted part" if inside else "without a start above it")
                    + ": each `# highlight: start` needs one `# highlight: end` below it"
                )
            inside = starting
            continue
        kept.append(line)
        if inside:
            lines.append(len(kept))
    if inside:
        raise ValueError(f"{where}: `# highlight: start` is never closed by `# highlight: end`")
    return kept, lines


def spans(lines: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5 9' (hl_lines' syntax)."""
    out: list[str] = []
    for number in lines:
        if out and number == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{number}"
        else:
            out.append(str(number))
    return " ".join(out)


class TitlePreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        pending: str | None = None
        while index < len(lines):
            line = lines[index]
            marker = MARKER_LINE.match(line)
            if marker:
                pending = marker["target"]
                index += 1
                continue
            opening = OPENING.match(line) if pending else None
            if not opening:
                out.append(line)
                index += 1
                continue
            closing = re.compile(rf"^{re.escape(opening['space'])}{opening['fence']}[ \t]*$")
            end = next((i for i in range(index + 1, len(lines)) if closing.match(lines[i])), None)
            if end is None:  # an unclosed fence: leave it to superfences to report
                out.append(line)
                index += 1
                continue
            target = pending
            code = lines[index + 1 : end]
            space = opening["space"]
            bare = [c[len(space) :] if c.startswith(space) else c for c in code]
            kept, marked = highlighted(bare, f"snippets/{target}")
            options = f'title="{title_for(target, kept)}"'
            if marked:
                options += f' hl_lines="{spans(marked)}"'
            out.append(f"{space}{opening['fence']} {{ .python {options} {NOT_SEARCHED} }}")
            out.extend(space + c if c else c for c in kept)
            out.append(lines[end])
            index = end + 1
            pending = None
            # The snippet's expected output (the next fence, after its marker comment).
            nxt = next((i for i in range(index, len(lines)) if lines[i].strip()), None)
            if nxt is not None and lines[nxt].strip().startswith("<!--"):
                nxt = next((i for i in range(nxt + 1, len(lines)) if lines[i].strip()), None)
            output = OUTPUT.match(lines[nxt]) if nxt is not None else None
            if output:
                out.extend(lines[index:nxt])
                fence = f"{output['space']}{output['fence']}"
                out.append(f"{fence} {{ .text {output['options']} {NOT_SEARCHED} }}")
                index = nxt + 1
        return out


# These types exactly, not their subtypes (`in` is Operator.Word, `print` Name.Builtin).
PLAIN = {Name, Text.Whitespace, Operator, Punctuation, String.Affix}
STRING = {String.Double, String.Single, String.Interpol}


class PlainTokens(Filter):
    """Plain tokens as plain text, the parts of a string as one string type."""

    def filter(self, lexer, stream):
        for ttype, value in stream:
            yield (Text if ttype in PLAIN else String if ttype in STRING else ttype), value


class TitleExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 - Markdown's name
        md.preprocessors.register(TitlePreprocessor(md), "code_titles", PRIORITY)


def on_config(config):
    # `mkdocs serve` calls on_config again for every rebuild: add the extension once.
    extensions = [e for e in config.markdown_extensions if not isinstance(e, TitleExtension)]
    extensions.append(TitleExtension())
    config.markdown_extensions = extensions
    # pymdownx.highlight passes a language's `options` to its Pygments lexer.
    python = {"name": "python", "lang": "python", "options": {"filters": [PlainTokens()]}}
    config.mdx_configs.setdefault("pymdownx.highlight", {})["extend_pygments_lang"] = [python]
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    out = []
    for line in markdown.split("\n"):
        include = INCLUDE.match(line)
        if include and (SNIPPETS / include["target"]).is_file():
            out.append(include["space"] + MARKER.format(include["target"]))
        out.append(line)
    return "\n".join(out)
