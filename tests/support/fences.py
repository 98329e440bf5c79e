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

import ast
import re
from dataclasses import dataclass
from pathlib import Path

RUNNABLE = ("python", "sh", "bash")
OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^<!--[-\s]*(?P<what>pytest-codeblocks:.*?|pytest\.mark\..*?)[-\s]*-->$")
EXPECTED_OUTPUT = (
    "pytest-codeblocks:expected-output",
    "pytest-codeblocks:expected-output-ignore-whitespace",
)
INCLUDE = re.compile(
    r"""^\s*(?P<escape>;?)--8<--\s*(?:(?P<quote>["'])(?P<target>.*?)(?P=quote))?\s*$"""
)
# What draws random numbers, by qualified name after imports and aliases are resolved:
# torch's samplers and their *_like forms, nn.init, dropout (module or functional),
# layers that initialise their weights at random, numpy's, the standard library's,
# TensorFlow's, Keras' and Flax's. A name ending in "." covers everything under it.
RANDOM_CALLS = (
    *(
        f"torch.{f}{s}"
        for f in (
            "randn",
            "rand",
            "randint",
            "randperm",
            "normal",
            "bernoulli",
            "multinomial",
            "poisson",
        )
        for s in ("", "_like")
    ),
    "torch.nn.init.",
    "torch.nn.functional.dropout",
    "torch.nn.functional.alpha_dropout",
    "torch.nn.functional.feature_alpha_dropout",
    "torch.nn.functional.gumbel_softmax",
    "torch.nn.functional.rrelu",
    "numpy.random.",
    "random.",
    "tensorflow.random.",
    "keras.random.",
    "keras.layers.",
    "keras.Sequential",
    "keras.Model",
    "flax.nnx.Linear",
    "flax.nnx.Dense",
    "flax.linen.Dense",
)
# torch.nn layers that draw their initial weights (or drop at random when called).
RANDOM_LAYERS = re.compile(
    r"torch\.nn\.(Linear|Bilinear|LazyLinear|Conv\w*|ConvTranspose\w*|LSTM\w*|GRU\w*|RNN\w*"
    r"|Embedding\w*|MultiheadAttention|Transformer\w*|Dropout\w*|PReLU|RReLU|LayerNorm)$"
)
IN_PLACE_SAMPLERS = {
    "normal_",
    "uniform_",
    "bernoulli_",
    "exponential_",
    "random_",
    "cauchy_",
    "log_normal_",
    "geometric_",
}
SEEDS = {
    "torch.manual_seed",
    "torch.random.manual_seed",
    "numpy.random.seed",
    "random.seed",
    "keras.utils.set_random_seed",
    "tensorflow.random.set_seed",
    "tensorflow.keras.utils.set_random_seed",
    "jax.random.PRNGKey",
    "jax.random.key",
    "flax.nnx.Rngs",
    "lightning.seed_everything",
    "lightning.pytorch.seed_everything",
    "transformers.set_seed",
    "accelerate.utils.set_seed",
}
# Seeded when given a seed: numpy.random.default_rng(0), random.Random(0).
SEEDED_WITH_ARGUMENT = {"numpy.random.default_rng", "random.Random", "numpy.random.RandomState"}


def _qualified(node: ast.AST, names: dict[str, str]) -> str | None:
    """torch.nn.functional.dropout for F.dropout after `import torch.nn.functional as F`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([names.get(node.id, node.id), *reversed(parts)])


def _imported_names(tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _is_random(name: str) -> bool:
    if name in SEEDS or name in SEEDED_WITH_ARGUMENT:
        return False
    return bool(RANDOM_LAYERS.match(name)) or any(
        name == r or (r.endswith(".") and name.startswith(r)) for r in RANDOM_CALLS
    )


def randomness_and_seeds(code: str) -> tuple[list[tuple[int, str]], list[int]]:
    """(line, name) of each draw the block makes at its top level (not inside a def or
    class, which runs when called), and the lines where it seeds."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [], []
    names = _imported_names(tree)
    deferred = _definition_lines(code)
    draws, seeds = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, names) or ""
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
            raise ValueError(
                f"{path}:{index + 1}: this fence is never closed; add a closing {fence}."
            )
        fences.append(
            Fence(
                path,
                index + 1,
                opening.group("info").strip(),
                tuple(lines[index + 1 : end]),
                marker,
            )
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


def unrun_fences(snippets: Path, only: Path | None = None) -> list[str]:
    problems = []
    paths = [only] if only is not None else sorted(p for p in snippets.rglob("*") if p.is_file())
    for path in paths:
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
            elif fence.language in RUNNABLE or fence.language in (
                "py",
                "python3",
                "console",
                "shell",
            ):
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


def _definition_lines(code: str) -> set[int]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def unseeded_snippets(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        for fence in read_fences(path):
            if not fence.is_runnable or fence.language != "python":
                continue
            draws, seeds = randomness_and_seeds("\n".join(fence.body))
            first_seed = seeds[0] if seeds else None
            early = [
                (line, name)
                for line, name in draws
                if first_seed is None or line < first_seed or name.endswith("without a seed")
            ]
            if early:
                line, name = early[0]
                when = "without seeding" if first_seed is None else "before it seeds"
                problems.append(
                    f"{path}:{fence.line + line}: this block draws random numbers (or "
                    f"initialises layers) {when} ({name}); call torch.manual_seed(0) (or the "
                    "library's seed) first so its output is the same on every run."
                )
    return problems


# A printed float with this many significant digits was not rounded by the snippet:
# its last digits depend on the CPU, the thread count and the library version.
UNROUNDED = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
MAX_SIGNIFICANT = 8


def _significant_digits(number: str) -> int:
    mantissa = re.split(r"[eE]", number.lstrip("-"))[0].replace(".", "").lstrip("0")
    return len(mantissa)


def unrounded_outputs(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        for fence in read_fences(path):
            if not fence.is_expected_output:
                continue
            for offset, line in enumerate(fence.body, 1):
                for found in UNROUNDED.finditer(line):
                    if _significant_digits(found.group(0)) >= MAX_SIGNIFICANT:
                        problems.append(
                            f"{path}:{fence.line + offset}: {found.group(0)} looks like an unrounded "
                            "float; its last digits differ between CPUs and thread counts. Print it "
                            'rounded (f"{x:.4f}", or round(x, 4) inside a list) and update the output.'
                        )
    return problems


# The site's code column shows 79 characters without sideways scrolling (measured in a
# browser at 1366 px); a longer line hides its end, often the part that matters.
MAX_COLUMNS = 79


def long_lines(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        for fence in read_fences(path):
            for offset, line in enumerate(fence.body, 1):
                if len(line) > MAX_COLUMNS:
                    what = "output" if fence.is_expected_output else "code"
                    fix = (
                        "print less per line (split the f-string, or shorten a label), then "
                        "`make outputs`"
                        if fence.is_expected_output
                        else "run `make format`; if a string is too long, split it"
                    )
                    problems.append(
                        f"{path}:{fence.line + offset}: this {what} line has {len(line)} characters; "
                        f"readers see {MAX_COLUMNS} without scrolling. {fix[0].upper()}{fix[1:]}."
                    )
    return problems


def runnable_fence_count(snippets: Path) -> int:
    return sum(
        fence.is_runnable for path in markdown_files(snippets) for fence in read_fences(path)
    )


def python_blocks_without_output(snippets: Path) -> list[str]:
    problems = []
    for path in markdown_files(snippets):
        blocks = read_fences(path)
        for fence, following in zip(blocks, [*blocks[1:], None]):
            if (
                fence.info == "python"
                and not fence.is_expected_output
                and not (following and following.is_expected_output)
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


# A number in a page's prose that restates a snippet's output: a decimal with three or
# more significant digits ("0.3162", "12.2147", "3.6e-4", "85 412.5"), outside code,
# math and links, in the text that follows an include. It must be printed, to the
# precision the prose gives, by a snippet included above it on the page. A number
# after "=" or "≈" is worked out in the sentence itself, and a version is no output.
SEP = "[ ,\u00a0\u2009\u202f]"
PROSE_NUMBER = re.compile(
    rf"(?<![\w.\-/])\d{{1,3}}(?:{SEP}\d{{3}})*(?:\.\d+)(?:e[-+]?\d+)?(?!\d|\.\d)"
)
PRINTED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?")
NOT_PROSE = re.compile(r"`[^`\n]*`|\$[^$\n]*\$|\]\([^)]*\)|<[^>\n]*>|https?://\S+")
WORKED_OUT = re.compile(r"(?:[=≈]|\b(?:PyTorch|torch|[Ii]n|version|v))\s*$")


def _output_text(snippet: Path) -> str:
    return "\n".join("\n".join(f.body) for f in read_fences(snippet) if f.is_expected_output)


def _printed(value: str, outputs: str) -> bool:
    """Whether some number in `outputs` rounds to `value` at the precision `value` shows."""
    plain = re.sub(SEP, "", value)
    mantissa, _, exponent = plain.partition("e")
    decimals = len(mantissa.partition(".")[2])
    half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    target = float(plain)
    printed = (
        float(n) for n in PRINTED_NUMBER.findall(re.sub(rf"(?<=\d){SEP}(?=\d{{3}})", "", outputs))
    )
    return any(abs(n - target) <= half_unit * (1 + 1e-9) for n in printed)


def stale_prose_numbers(docs: Path, snippets: Path) -> list[str]:
    problems = []
    for page in markdown_files(docs):
        lines = page.read_text(encoding="utf-8").splitlines()
        # The output of each include by line, and the sections' first lines.
        printed: dict[int, str] = {}
        for number, line in enumerate(lines, 1):
            include = INCLUDE.match(line)
            if include and include.group("target"):
                path = include_path(snippets, include.group("target"))
                generated = include.group("target").startswith(GENERATED_INCLUDES)
                if path.is_file():
                    printed[number] = path.read_text() if generated else _output_text(path)
        headings = [n for n, line in enumerate(lines, 1) if line.startswith("#")] + [len(lines) + 1]
        for number, line in enumerate(lines, 1):
            if number in printed or line.startswith("#") or "--8<--" in line:
                continue
            section_end = next(h for h in headings if h > number)
            # A recorded benchmark table (GENERATED_INCLUDES) may be cited anywhere on its page.
            above = [
                out
                for n, out in printed.items()
                if n < number or GENERATED_INCLUDES in lines[n - 1]
            ]
            below = [out for n, out in printed.items() if number < n < section_end][:1]
            if not above and not below:
                continue
            outputs = "\n".join(above + below)
            prose = NOT_PROSE.sub(lambda m: " " * len(m.group(0)), line)
            for found in PROSE_NUMBER.finditer(prose):
                value = found.group(0)
                digits = _significant_digits(re.sub(SEP, "", value).split("e")[0])
                worked_out = WORKED_OUT.search(prose[: found.start()]) or re.match(
                    r"\s*[=≈]", prose[found.end() :]
                )
                if digits < 3 or worked_out or _printed(value, outputs):
                    continue
                problems.append(
                    f"{page}:{number}: says {value}, which neither the snippet after it in "
                    "this section nor any included above it prints (to that precision). A "
                    "number that restates an output must match it: copy it from the "
                    "snippet's checked output, or update the sentence when `make outputs` "
                    "changed the output. A value worked out in the sentence stands next to "
                    "its = or ≈."
                )
    return problems


# Every page opens with its answer: right under the title, an admonition titled "Answer"
# (a notebook: its first Markdown cell starts with "**Answer:**"), so a reader who
# arrives from a search meets the conclusion on the first screen and the proof after it.
ANSWER_BOX = '!!! success "Answer"'
NOTEBOOK_ANSWER = "**Answer:**"


def pages_without_an_answer(docs: Path) -> list[str]:
    problems = []
    for page in markdown_files(docs):
        lines = page.read_text(encoding="utf-8").splitlines()
        if lines and lines[0] == "---":  # front matter
            lines = lines[lines.index("---", 1) + 1 :] if "---" in lines[1:] else []
        body = [line for line in lines if line.strip()]
        if len(body) < 2 or not body[0].startswith("# ") or body[1].strip() != ANSWER_BOX:
            problems.append(
                f"{page}:1: the page does not open with its answer. Right under the `# Title`, "
                f"put `{ANSWER_BOX}` and, indented, one to three sentences and (for a page "
                "about doing something) the include of a short snippet to copy "
                '(CONTRIBUTING.md, "Answer first").'
            )
    for notebook in sorted((docs / "experiments").glob("*.py")):
        text = notebook.read_text(encoding="utf-8")
        first = re.search(r"^# %% \[markdown\][^\n]*\n(.*?)(?=^# %%|\Z)", text, re.M | re.S)
        cell = [line[2:] for line in (first.group(1) if first else "").splitlines() if line.strip()]
        if not any(line.startswith(NOTEBOOK_ANSWER) for line in cell[:3]):
            problems.append(
                f"{notebook}:1: the notebook's first Markdown cell does not open with "
                f"{NOTEBOOK_ANSWER!r}: start it with the experiment's conclusion in one to "
                'three sentences (CONTRIBUTING.md, "Answer first").'
            )
    return problems
