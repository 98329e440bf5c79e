"""Read the fenced code blocks of the guide's Markdown, and list what breaks its rules.

The rules (each function below returns a list of messages, empty when all is well):

* a page in ``docs/`` shows code only by including a file from ``snippets/``;
* every include points to a file that exists, and every snippet file is included;
* every fence in ``snippets/`` is run by pytest-codeblocks (info string exactly
  ``python``, ``sh`` or ``bash``) or is the expected output of the block before it;
* no snippet is skipped, continued or expected to fail: each stands on its own.

Each message starts with ``path:line:`` and says what to do, so a contributor can
fix the file without reading this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNNABLE = ("python", "sh", "bash")
OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^<!--[-\s]*(?P<what>pytest-codeblocks:.*?|pytest\.mark\..*?)[-\s]*-->$")
EXPECTED_OUTPUT = ("pytest-codeblocks:expected-output", "pytest-codeblocks:expected-output-ignore-whitespace")
INCLUDE = re.compile(r"""^\s*(?P<escape>;?)--8<--\s*(?:(?P<quote>["'])(?P<target>.*?)(?P=quote))?\s*$""")
RANDOMNESS = re.compile(
    r"torch\.(randn|rand|randint|randperm|normal|bernoulli|multinomial)\b"
    r"|nn\.(Linear|Conv\dd|LSTM|GRU|RNN|Embedding|Bilinear)\b|\bnp\.random\.|\brandom\.\w+\("
)
SEEDING = re.compile(r"manual_seed\(|default_rng\(\s*\d|random\.seed\(|np\.random\.seed\(")


@dataclass(frozen=True)
class Fence:
    path: Path
    line: int  # 1-based line of the opening fence
    info: str  # the info string, stripped: "python", 'text title="Output"', ...
    body: tuple[str, ...]
    marker: str | None  # the pytest-codeblocks / pytest.mark comment just above, if any

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info else ""

    @property
    def is_runnable(self) -> bool:
        return self.info in RUNNABLE

    @property
    def is_expected_output(self) -> bool:
        return self.marker in EXPECTED_OUTPUT


def read_fences(path: Path) -> list[Fence]:
    """Every fenced block in a Markdown file, with the marker comment right above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fences: list[Fence] = []
    marker: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = OPENING.match(line)
        if opening is None:
            found = MARKER.match(line.strip())
            if found:  # like pytest-codeblocks, a marker holds until the next fence
                marker = found.group("what")
            index += 1
            continue
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{index + 1}: this fence is never closed; add a closing {fence}.")
        fences.append(
            Fence(path, index + 1, opening.group("info").strip(), tuple(lines[index + 1 : end]), marker)
        )
        marker = None
        index = end + 1
    return fences


def markdown_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.md"))


def includes(page: Path) -> list[tuple[int, str | None]]:
    """(line, target) for each --8<-- line in a page; target is None for a form we do not read."""
    found = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if "--8<--" not in line:
            continue
        match = INCLUDE.match(line)
        if match and match.group("escape"):
            continue
        target = match.group("target") if match else None
        found.append((number, target.split(":")[0] if target else None))
    return found


def inline_code_blocks(docs: Path) -> list[str]:
    problems = []
    for page in markdown_files(docs):
        for fence in read_fences(page):
            content = [line for line in fence.body if line.strip()]
            if content and all(INCLUDE.match(line) for line in content):
                continue
            problems.append(
                f"{page}:{fence.line}: a code block is written directly in this page. "
                "Move it to a file in snippets/<topic>/<idea>.md (with its expected output) "
                'and put --8<-- "<topic>/<idea>.md" in the page instead.'
            )
    return problems


# Generated tables (written by a script, never by hand) live beside their data, not among
# the snippets, and are included by their path in the repository.
GENERATED_INCLUDES = "benchmarks/results/"


def include_path(snippets: Path, target: str) -> Path:
    if target.startswith(GENERATED_INCLUDES):
        return snippets.parent / target
    return snippets / target


def broken_includes(docs: Path, snippets: Path) -> list[str]:
    problems = []
    for page in markdown_files(docs):
        for line, target in includes(page):
            if target is None:
                problems.append(
                    f'{page}:{line}: write includes on one line as --8<-- "<topic>/<idea>.md" '
                    "(the path is relative to snippets/)."
                )
            elif not include_path(snippets, target).is_file():
                problems.append(
                    f"{page}:{line}: includes {target!r}, but {include_path(snippets, target)} does not exist. "
                    "Fix the path (relative to snippets/) or add the snippet."
                )
    return problems


def misplaced_snippets(docs: Path, snippets: Path) -> list[str]:
    """A snippet lives in the folder that mirrors the page including it: docs/guide/the-math.md
    includes snippets/guide/the-math/*.md, so nobody has to search for a page's snippets."""
    problems = []
    for page in markdown_files(docs):
        folder = page.relative_to(docs).with_suffix("").as_posix()
        if folder.endswith("/index") or folder == "index":
            folder = folder.removesuffix("index").rstrip("/") or "home"
        for line, target in includes(page):
            if not target or target.startswith(GENERATED_INCLUDES):
                continue
            if target.rsplit("/", 1)[0] != folder:
                problems.append(
                    f'{page}:{line}: includes "{target}", but the snippets of this page live in '
                    f"snippets/{folder}/ (the page's path without .md). Move the file there "
                    f'(git mv) and include "{folder}/{target.rsplit("/", 1)[-1]}".'
                )
    return problems


def orphan_snippets(docs: Path, snippets: Path) -> list[str]:
    included = {
        include_path(snippets, target).resolve()
        for page in markdown_files(docs)
        for _, target in includes(page)
        if target
    }
    return [
        f"{snippet}:1: no page in {docs} includes this snippet, so readers never see it and "
        f'its test proves nothing. Add --8<-- "{snippet.relative_to(snippets).as_posix()}" '
        "to the page it belongs to, or delete it."
        for snippet in sorted(p for p in snippets.rglob("*") if p.is_file())
        if snippet.resolve() not in included
    ]


def unrun_fences(snippets: Path) -> list[str]:
    problems = []
    for path in sorted(p for p in snippets.rglob("*") if p.is_file()):
        if path.suffix != ".md":
            problems.append(
                f"{path}:1: snippets/ holds Markdown files only (one fenced block and its "
                "expected output each); move this file elsewhere or wrap it in a .md snippet."
            )
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = MARKER.match(line.strip())
            if found and found.group("what") not in EXPECTED_OUTPUT:
                problems.append(
                    f"{path}:{number}: the marker <!--{found.group('what')}--> skips, continues or "
                    "excuses a block. Every snippet must run on its own and pass; remove the marker."
                )
        for fence in read_fences(path):
            if fence.is_expected_output or fence.is_runnable:
                continue
            elif fence.language in RUNNABLE or fence.language in ("py", "python3", "console", "shell"):
                problems.append(
                    f"{path}:{fence.line}: the fence info string is {fence.info!r}; pytest-codeblocks "
                    f"only runs fences marked exactly {', '.join(RUNNABLE)}, so this block would be "
                    "silently skipped. Use ```python (no title or options) for code."
                )
            else:
                problems.append(
                    f"{path}:{fence.line}: a {fence.info or 'plain'!r} fence is neither run nor checked. "
                    "Put <!--pytest-codeblocks:expected-output--> above it if it is the output of the "
                    "block before, or make it a ```python block."
                )
    return problems


def unseeded_snippets(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        for fence in read_fences(path):
            code = "\n".join(fence.body)
            if fence.is_runnable and RANDOMNESS.search(code) and not SEEDING.search(code):
                problems.append(
                    f"{path}:{fence.line}: this block draws random numbers (or initialises layers) "
                    "without seeding; call torch.manual_seed(0) first so its output is the same on every run."
                )
    return problems


def runnable_fence_count(snippets: Path) -> int:
    return sum(fence.is_runnable for path in markdown_files(snippets) for fence in read_fences(path))


def python_blocks_without_output(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        blocks = read_fences(path)
        for fence, following in zip(blocks, [*blocks[1:], None]):
            if fence.info == "python" and not fence.is_expected_output and not (
                following and following.is_expected_output
            ):
                problems.append(
                    f"{path}:{fence.line}: this block's output is not checked. Make it print what the "
                    "reader should notice and add <!--pytest-codeblocks:expected-output--> followed by "
                    '```text title="Output" with exactly what it prints.'
                )
    return problems


def main_guards(snippets: Path) -> list[str]:
    return [
        f"{path}:{fence.line + offset + 1}: pytest-codeblocks runs blocks with __name__ != '__main__', "
        "so code under this guard never runs in the tests. Call the code directly (for processes, "
        "use a 'fork' start method or a subprocess) so the block runs both pasted and tested."
        for path in markdown_files(snippets)
        for fence in read_fences(path)
        if fence.is_runnable
        for offset, line in enumerate(fence.body)
        if re.match(r"\s*if\s+__name__\s*==", line)
    ]
