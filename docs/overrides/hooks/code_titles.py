"""MkDocs hook: each snippet's block titled with its file name, its marked lines highlighted
(CONTRIBUTING.md, "Block titles and highlighted lines"), its code light.

The snippet's fence stays a bare ```python (pytest-codeblocks skips any other), so on_page_markdown
puts a marker before each include, and a Markdown preprocessor, run right after
pymdownx.snippets, rewrites the fence after it. A Pygments filter makes plain tokens plain text
(no <span> around them) and the parts of a string one type, drawn as Material draws them.
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
# Material's attribute that leaves a block out of the search index.
NOT_SEARCHED = 'data-search-exclude=""'
# pymdownx.snippets runs at 32, superfences reads fences from 31.05 on.
PRIORITY = 31.5

SNIPPETS = Path(__file__).resolve().parents[3] / "snippets"


def title_for(target: str, code: list[str]) -> str:
    """The file name a reader saves the block under."""
    torchrun = TORCHRUN.match(code[0]) if code else None
    return torchrun["name"] if torchrun else PurePosixPath(target).stem + ".py"


def highlighted(code: list[str], where: str) -> tuple[list[str], list[int]]:
    """The block without its marker lines, and the (1-based) line numbers between them."""
    kept, lines, inside = [], [], False
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


class TitlePreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out, index, pending = [], 0, None  # pending: the snippet whose fence comes next
        while index < len(lines):
            line = lines[index]
            marker = MARKER_LINE.match(line)
            if marker:
                pending = marker["target"]
                index += 1
                continue
            output = OUTPUT.match(line)  # a snippet's expected output
            if output:
                fence = f"{output['space']}{output['fence']}"
                line = f"{fence} {{ .text {output['options']} {NOT_SEARCHED} }}"
            opening = OPENING.match(line) if pending else None
            if opening:
                closing = re.compile(rf"^{opening['space']}{opening['fence']}[ \t]*$")
                end = next(
                    (i for i in range(index + 1, len(lines)) if closing.match(lines[i])), None
                )
            if not opening or end is None:  # not a snippet's, or unclosed (superfences reports it)
                out.append(line)
                index += 1
                continue
            space = opening["space"]
            bare = [c[len(space) :] if c.startswith(space) else c for c in lines[index + 1 : end]]
            kept, marked = highlighted(bare, f"snippets/{pending}")
            options = f'title="{title_for(pending, kept)}"'
            if marked:
                options += f' hl_lines="{" ".join(map(str, marked))}"'
            out.append(f"{space}{opening['fence']} {{ .python {options} {NOT_SEARCHED} }}")
            out.extend(space + c if c else c for c in kept)
            out.append(lines[end])
            index = end + 1
            pending = None
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
