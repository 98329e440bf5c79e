"""CONTRIBUTING.md's snippet, prose and page rules (RULES, at the end, and unrun_fences).

Each returns (or yields) its messages, none when all is well: ``path:line:`` and what to do."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_codeblocks.main import extract_from_file

RUNNABLE = ("python", "sh", "bash")
OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^<!--[-\s]*(?P<what>pytest-codeblocks:.*?|pytest\.mark\..*?)[-\s]*-->$")
EXPECTED_OUTPUT = "pytest-codeblocks:expected-output"
INCLUDE = re.compile(
    r"""^\s*(?P<escape>;?)--8<--\s*(?:(?P<quote>["'])(?P<target>.*?)(?P=quote))?\s*$"""
)
# Generated tables live beside their data and are included by their repository path.
GENERATED_INCLUDES = "benchmarks/results/"

# What draws random numbers, by qualified name once imports and aliases are resolved;
# a name ending in "." covers everything under it.
SAMPLERS = "randn rand randint randperm normal bernoulli multinomial poisson".split()
RANDOM_CALLS = (
    *(f"torch.{f}{s}" for f in SAMPLERS for s in ("", "_like")),
    *(f"torch.nn.{f}" for f in "init. functional.dropout functional.alpha_dropout".split()),
    *(f"torch.nn.functional.{f}" for f in "feature_alpha_dropout gumbel_softmax rrelu".split()),
    *"numpy.random. random. tensorflow.random. keras.random. keras.layers.".split(),
    *"keras.Sequential keras.Model flax.nnx.Linear flax.nnx.Dense flax.linen.Dense".split(),
)
RANDOM_LAYERS = re.compile(
    r"torch\.nn\.(Linear|Bilinear|LazyLinear|Conv\w*|ConvTranspose\w*|LSTM\w*|GRU\w*|RNN\w*"
    r"|Embedding\w*|MultiheadAttention|Transformer\w*|Dropout\w*|PReLU|RReLU|LayerNorm)$"
)
IN_PLACE_SAMPLERS = set(
    "normal_ uniform_ bernoulli_ exponential_ random_ cauchy_ log_normal_ geometric_".split()
)
SEEDS = set(
    """torch.manual_seed torch.random.manual_seed numpy.random.seed random.seed
    keras.utils.set_random_seed tensorflow.random.set_seed tensorflow.keras.utils.set_random_seed
    jax.random.PRNGKey jax.random.key flax.nnx.Rngs lightning.seed_everything
    lightning.pytorch.seed_everything transformers.set_seed accelerate.utils.set_seed""".split()
)
# Seeded only when given a seed: numpy.random.default_rng(0), random.Random(0).
SEEDED_WITH_ARGUMENT = {"numpy.random.default_rng", "random.Random", "numpy.random.RandomState"}


def _qualified(node: ast.AST, names: dict[str, str]) -> str:
    """torch.nn.functional.dropout for F.dropout after `import torch.nn.functional as F`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([names.get(node.id, node.id), *reversed(parts)])


def _imported_names(tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _is_random(name: str) -> bool:
    return bool(RANDOM_LAYERS.match(name)) or any(
        name == r or (r.endswith(".") and name.startswith(r)) for r in RANDOM_CALLS
    )


def randomness_and_seeds(code: str) -> tuple[list[tuple[int, str]], list[int]]:
    """(line, name) of each draw outside a def or class body, and the lines where it seeds."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [], []
    names = _imported_names(tree)
    deferred = {
        line
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        for line in range(node.lineno, node.end_lineno + 1)
    }
    draws, seeds = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, names)
        if name in SEEDS or (name in SEEDED_WITH_ARGUMENT and (node.args or node.keywords)):
            seeds.append(node.lineno)
        elif node.lineno in deferred:
            continue
        elif name in SEEDED_WITH_ARGUMENT:
            draws.append((node.lineno, f"{name}() without a seed"))  # no global seed helps
        elif _is_random(name):
            draws.append((node.lineno, name))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in IN_PLACE_SAMPLERS:
            draws.append((node.lineno, f".{node.func.attr}"))
    return sorted(draws), sorted(seeds)


@dataclass(frozen=True)
class Fence:
    line: int  # of the opening fence, 1-based
    info: str  # "python", 'text title="Output"', ...
    body: tuple[str, ...]
    marker: str | None  # the pytest-codeblocks / pytest.mark comment above it, if any

    @property
    def is_expected_output(self) -> bool:
        return self.marker == EXPECTED_OUTPUT


def read_fences(path: Path) -> list[Fence]:
    """Every fenced block in a Markdown file, with the marker comment above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fences: list[Fence] = []
    marker, index = None, 0
    while index < len(lines):
        opening = OPENING.match(lines[index])
        if opening is None:
            if found := MARKER.match(lines[index].strip()):
                marker = found["what"]  # as in pytest-codeblocks: it holds until the next fence
            index += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((e for e in range(index + 1, len(lines)) if closing.match(lines[e])), None)
        if end is None:
            raise ValueError(f"{path}:{index + 1}: this fence is never closed; close it.")
        body = tuple(lines[index + 1 : end])
        fences.append(Fence(index + 1, opening["info"].strip(), body, marker))
        marker, index = None, end + 1
    return fences


def markdown_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.md"))


def walk(folder: Path, python_only: bool = False) -> Iterator[tuple[Path, Fence]]:
    """(path, fence) for each fence under folder; python_only: code blocks, not outputs."""
    for path in markdown_files(folder):
        for fence in read_fences(path):
            if not python_only or (fence.info == "python" and not fence.is_expected_output):
                yield path, fence


def includes(page: Path) -> list[tuple[int, str | None]]:
    """(line, target) of each --8<-- in a page; target None for a form we do not read."""
    found = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if "--8<--" not in line:
            continue
        match = INCLUDE.match(line)
        if not (match and match["escape"]):
            target = match["target"] if match else None
            found.append((number, target.split(":")[0] if target else None))
    return found


def include_path(snippets: Path, target: str) -> Path:
    return (snippets.parent if target.startswith(GENERATED_INCLUDES) else snippets) / target


def inline_code_blocks(docs: Path, snippets: Path) -> list[str]:
    return [
        f"{page}:{fence.line}: a code block is written directly in this page. Move it to "
        "snippets/<topic>/<idea>.md (with its expected output) and put "
        '--8<-- "<topic>/<idea>.md" in the page instead.'
        for page, fence in walk(docs)
    ]


def unreadable_includes(docs: Path, snippets: Path) -> list[str]:
    """An include the other rules cannot read (a missing file fails the build, at its line)."""
    return [
        f'{page}:{line}: write includes on one line as --8<-- "<topic>/<idea>.md" (the path '
        "is relative to snippets/)."
        for page in markdown_files(docs)
        for line, target in includes(page)
        if target is None
    ]


def misplaced_snippets(docs: Path, snippets: Path) -> Iterator[str]:
    """docs/guide/the-math.md includes snippets/guide/the-math/*.md only."""
    for page in markdown_files(docs):
        folder = page.relative_to(docs).with_suffix("").as_posix()
        folder = re.sub(r"(^|/)index$", "", folder) or "home"
        for line, target in includes(page):
            home, _, name = (target or "").rpartition("/")
            if target and not target.startswith(GENERATED_INCLUDES) and home != folder:
                yield (
                    f'{page}:{line}: includes "{target}", but this page\'s snippets live in '
                    f"snippets/{folder}/. Move the file there (git mv) and include "
                    f'"{folder}/{name}".'
                )


def orphan_snippets(docs: Path, snippets: Path) -> list[str]:
    included = {
        include_path(snippets, target).resolve()
        for page in markdown_files(docs)
        for _, target in includes(page)
        if target
    }
    return [
        f"{snippet}:1: no page includes this snippet, so readers never see it. Add "
        f'--8<-- "{snippet.relative_to(snippets).as_posix()}" to its page, or delete it.'
        for snippet in sorted(p for p in snippets.rglob("*") if p.is_file())
        if snippet.resolve() not in included
    ]


def unrun_fences(path: Path) -> list[str]:
    """What in one file of snippets/ pytest-codeblocks would skip without a word."""
    if path.suffix != ".md":
        return [f"{path}:1: snippets/ holds Markdown snippets only; move this file elsewhere."]
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        found = MARKER.match(line.strip())
        if found and found["what"] != EXPECTED_OUTPUT:
            problems.append(
                f"{path}:{number}: the marker <!--{found['what']}--> skips, continues or excuses "
                "a block. Every snippet must run on its own and pass; remove the marker."
            )
    try:
        collected = {block.lineno for block in extract_from_file(path) if block.syntax in RUNNABLE}
    except RuntimeError as error:
        return [*problems, f"{path}:1: pytest-codeblocks cannot read this file: {error}"]
    for fence in read_fences(path):
        if fence.is_expected_output or fence.line in collected:  # collected: runnable only
            continue
        if fence.info in RUNNABLE:
            problems.append(
                f"{path}:{fence.line}: pytest-codeblocks does not collect this block, so it "
                "would be silently skipped. Open it with ```python (backticks, not ~~~)."
            )
        else:
            problems.append(
                f"{path}:{fence.line}: a {fence.info or 'plain'!r} fence is neither run nor checked "
                f"(pytest-codeblocks runs fences marked exactly {', '.join(RUNNABLE)} and silently "
                "skips the rest). Use ```python (no title) for code, or put "
                "<!--pytest-codeblocks:expected-output--> above the output of the block before."
            )
    return problems


def unseeded_snippets(docs: Path, snippets: Path) -> Iterator[str]:
    for path, fence in walk(snippets, python_only=True):
        draws, seeds = randomness_and_seeds("\n".join(fence.body))
        for line, name in draws:  # the first one drawn before the seed, if any
            if not seeds or line < seeds[0] or name.endswith("without a seed"):
                yield (
                    f"{path}:{fence.line + line}: this block draws random numbers (or initialises "
                    f"layers) {'before it seeds' if seeds else 'without seeding'} ({name}); call "
                    "torch.manual_seed(0) (or the library's seed) first so its output is the same "
                    "on every run."
                )
                break


def main_guards(docs: Path, snippets: Path) -> list[str]:
    return [
        f"{path}:{fence.line + offset}: pytest-codeblocks runs blocks with __name__ != "
        "'__main__', so code under this guard never runs in the tests. Call the code directly "
        "(for processes, use a 'fork' start method or a subprocess)."
        for path, fence in walk(snippets, python_only=True)
        for offset, line in enumerate(fence.body, 1)
        if re.match(r"\s*if\s+__name__\s*==", line)
    ]


# A printed float with this many significant digits was not rounded by the snippet.
UNROUNDED = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
MAX_SIGNIFICANT = 8


def _significant_digits(number: str) -> int:
    return len(re.split(r"[eE]", number.lstrip("-"))[0].replace(".", "").lstrip("0"))


def unrounded_outputs(docs: Path, snippets: Path) -> list[str]:
    return [
        f"{path}:{fence.line + offset}: {found[0]} looks like an unrounded float; its last "
        'digits differ between CPUs and thread counts. Print it rounded (f"{x:.4f}", or '
        "round(x, 4) inside a list) and update the output."
        for path, fence in walk(snippets)
        if fence.is_expected_output
        for offset, line in enumerate(fence.body, 1)
        for found in UNROUNDED.finditer(line)
        if _significant_digits(found[0]) >= MAX_SIGNIFICANT
    ]


MAX_COLUMNS = 79  # the site's code column at 1366 px


def long_lines(docs: Path, snippets: Path) -> list[str]:
    return [
        f"{path}:{fence.line + offset}: this "
        + (
            f"output line has {len(line)} characters; readers see {MAX_COLUMNS} without "
            "scrolling. Print less per line, then `make outputs`."
            if fence.is_expected_output
            else f"code line has {len(line)} characters; readers see {MAX_COLUMNS} without "
            "scrolling. Run `make format`; if a string is too long, split it."
        )
        for path, fence in walk(snippets)
        for offset, line in enumerate(fence.body, 1)
        if len(line) > MAX_COLUMNS
    ]


# A decimal with three or more significant digits in a page's prose ("0.3162",
# "3.6e-4", "85 412.5"), outside code, math and links, restates an output; one after
# "=" or "≈" is worked out in the sentence, and one after a library name is a version.
SEP = "[ ,\u00a0\u2009\u202f]"
PROSE_NUMBER = re.compile(
    rf"(?<![\w.\-/])\d{{1,3}}(?:{SEP}\d{{3}})*(?:\.\d+)(?:e[-+]?\d+)?(?!\d|\.\d)"
)
PRINTED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?")
NOT_PROSE = re.compile(r"`[^`\n]*`|\$[^$\n]*\$|\]\([^)]*\)|<[^>\n]*>|https?://\S+")
WORKED_OUT = re.compile(r"(?:[=≈]|\b(?:PyTorch|torch|[Ii]n|version|v))\s*$")


def _printed(value: str, outputs: str) -> bool:
    """Whether some number in `outputs` rounds to `value` at the precision it shows."""
    plain = re.sub(SEP, "", value)
    mantissa, _, exponent = plain.partition("e")
    half_unit = 0.5 * 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))
    outputs = re.sub(rf"(?<=\d){SEP}(?=\d{{3}})", "", outputs)
    return any(
        abs(float(n) - float(plain)) <= half_unit * (1 + 1e-9)
        for n in PRINTED_NUMBER.findall(outputs)
    )


def stale_prose_numbers(docs: Path, snippets: Path) -> Iterator[str]:
    for page in markdown_files(docs):
        lines = page.read_text(encoding="utf-8").splitlines()
        # What each include prints, by its line; a generated table's is negated (above all).
        printed: dict[int, str] = {}
        for number, target in includes(page):
            if not target or not (path := include_path(snippets, target)).is_file():
                continue
            if target.startswith(GENERATED_INCLUDES):
                printed[-number] = path.read_text(encoding="utf-8")
            else:
                outputs = ["\n".join(f.body) for f in read_fences(path) if f.is_expected_output]
                printed[number] = "\n".join(outputs)
        headings = [n for n, line in enumerate(lines, 1) if line.startswith("#")] + [len(lines) + 1]
        for number, line in enumerate(lines, 1):
            if line.startswith("#") or "--8<--" in line:
                continue
            section_end = next(h for h in headings if h > number)
            above = [o for n, o in printed.items() if n < number]
            below = [o for n, o in printed.items() if number < n < section_end][:1]
            if not above and not below:
                continue
            prose = NOT_PROSE.sub(lambda m: " " * len(m[0]), line)
            for found in PROSE_NUMBER.finditer(prose):
                value = found[0]
                if (
                    _significant_digits(re.sub(SEP, "", value)) < 3
                    or WORKED_OUT.search(prose[: found.start()])
                    or re.match(r"\s*[=≈]", prose[found.end() :])
                    or _printed(value, "\n".join(above + below))
                ):
                    continue
                yield (
                    f"{page}:{number}: says {value}, which neither the snippet after it in this "
                    "section nor any included above it prints (to that precision). Copy it from "
                    "the snippet's checked output, or update the sentence when `make outputs` "
                    "changed the output. A value worked out in the sentence stands next to its "
                    "= or ≈."
                )


ANSWER_BOX = '!!! success "Answer"'
NOTEBOOK_ANSWER = "**Answer:**"


def pages_without_an_answer(docs: Path, snippets: Path) -> Iterator[str]:
    for page in markdown_files(docs):
        lines = page.read_text(encoding="utf-8").splitlines()
        if lines and lines[0] == "---":  # front matter
            lines = lines[lines.index("---", 1) + 1 :] if "---" in lines[1:] else []
        body = [line for line in lines if line.strip()]
        if len(body) < 2 or not body[0].startswith("# ") or body[1].strip() != ANSWER_BOX:
            yield (
                f"{page}:1: the page does not open with its answer. Right under the `# Title`, "
                f"put `{ANSWER_BOX}` and, indented, one to three sentences and (for a page "
                'about doing something) the include of a short snippet (CONTRIBUTING.md, "Answer '
                'first").'
            )
    for notebook in sorted((docs / "experiments").glob("*.py")):
        text = notebook.read_text(encoding="utf-8")
        first = re.search(r"^# %% \[markdown\][^\n]*\n(.*?)(?=^# %%|\Z)", text, re.M | re.S)
        cell = [line[2:] for line in (first[1] if first else "").splitlines() if line.strip()]
        if not any(line.startswith(NOTEBOOK_ANSWER) for line in cell[:3]):
            yield (
                f"{notebook}:1: the notebook's first Markdown cell does not open with "
                f"{NOTEBOOK_ANSWER!r}: start it with the experiment's conclusion in one to three "
                'sentences (CONTRIBUTING.md, "Answer first").'
            )


# Each takes (docs, snippets). Two rules run as each snippet's own items (guards.py):
# unrun_fences, and a python block without its expected output (snippet_runner.py).
RULES = (
    inline_code_blocks, unreadable_includes, misplaced_snippets, orphan_snippets,
    unseeded_snippets, main_guards, unrounded_outputs, long_lines, stale_prose_numbers,
    pages_without_an_answer,
)  # fmt: skip
