"""A failed `mkdocs build --strict` log as `docs/<page>:<line>: <what is wrong>. <what to do>`.

MkDocs names the page but rarely the line: it is found in the source page (the include,
the link or the notebook cell)."""

from __future__ import annotations

import re
from itertools import takewhile
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEVEL = re.compile(r"^(?P<level>WARNING|ERROR)\s+-\s+(?P<message>.*)$")
READING = re.compile(r"Error reading page '(?P<page>[^']+)': (?P<message>.*)")
MISSING_SNIPPET = re.compile(r"Snippet at path '(?P<path>[^']+)' could not be found")
LINK = re.compile(r"Doc file '(?P<page>[^']+)' contains (?:a|an) .*?link '(?P<link>[^']+)'")
NOT_IN_NAV = 'are not included in the "nav" configuration'
CELL_RULE = "------------------"
CELL_FRAME = re.compile(r"^Cell In\[\d+\], line (?P<line>\d+)")


def _line_of(page: Path, needle: str) -> int:
    lines = page.read_text(encoding="utf-8").splitlines() if page.is_file() and needle else []
    return next((number for number, line in enumerate(lines, 1) if needle in line), 1)


def _cell(lines: list[str], start: int) -> tuple[list[str], str, int]:
    """From nbclient's report at start: the cell's source, its error, the line that raised."""
    rules = [i for i in range(start, min(len(lines), start + 400)) if lines[i].strip() == CELL_RULE]
    source = lines[rules[0] + 1 : rules[1]] if len(rules) >= 2 else []
    error, raised = "", 1
    for line in lines[(rules[1] if len(rules) >= 2 else start) :]:
        frame = CELL_FRAME.match(line.strip())
        if frame and raised == 1:
            raised = int(frame["line"])
        if re.match(r"^\w*(Error|Exception)\w*: ", line):
            error = line.strip()
            break
    return source, error, raised


def report(log: str, docs: Path, returncode: int) -> str:
    lines = [ANSI.sub("", line) for line in log.splitlines()]
    problems: list[str] = []
    for index, raw in enumerate(lines):
        found = LEVEL.match(raw)
        if not found:
            continue
        message = found["message"].strip()
        if NOT_IN_NAV in message:
            for extra in takewhile(lambda line: line.startswith("  - "), lines[index + 1 :]):
                problems.append(
                    f"docs/{extra[4:].strip()}:1: this page is not in the nav of mkdocs.yml. Add "
                    "it to the nav (or delete the page)."
                )
            continue
        reading = READING.match(message)
        if reading:
            page, what = reading["page"], reading["message"]
            missing = MISSING_SNIPPET.search(what)
            if missing:
                line = _line_of(docs / page, missing["path"])
                problems.append(
                    f"docs/{page}:{line}: includes '{missing['path']}', which does not exist. Fix the "
                    "path (relative to snippets/) or add the snippet."
                )
            elif "error occurred while executing the following cell" in what:
                source, error, raised = _cell(lines, index)
                # The cell's source stands in the Jupytext file line for line.
                first = next((i for i, s in enumerate(source) if s.strip()), 0)
                start = _line_of(docs / page, source[first].strip()) - first if source else 1
                line = start + raised - 1
                problems.append(
                    f"docs/{page}:{line}: a notebook cell failed: {error or what}. Every assert in a "
                    "notebook is a claim its page makes: run the notebook (`jupytext --to ipynb`) "
                    "and fix the claim or the code."
                )
            else:
                problems.append(f"docs/{page}:1: {what}")
            continue
        link = LINK.search(message)
        if link:
            line = _line_of(docs / link["page"], link["link"])
            problems.append(f"docs/{link['page']}:{line}: {message} Fix the link in the Markdown.")
            continue
        problems.append(re.sub(r"'([\w./-]+\.(?:md|py))'", r"'docs/\1'", message))
    if not problems and returncode != 0:
        tail = [line for line in log.splitlines() if line.strip()][-1:]
        problems = tail or ["the build failed without a message"]
    return "\n".join(problems)
