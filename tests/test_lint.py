"""Ruff keeps the project's Python, and every snippet block at 79 columns, formatted and lint-free;
the tooling stays within its budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import fences
from tests.support.paths import ROOT, SNIPPETS

PROJECT = ["tests", "scripts", "benchmarks", "docs/overrides", "docs/experiments"]
SNIPPET_CONFIG = str(ROOT / "tools" / "ruff-snippets.toml")
FIX = "\nRun `make format`, then review `git diff` (`ruff check --fix` fixes some lint)."


def ruff(*args: str) -> str:
    argv = [sys.executable, "-m", "ruff", *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    return "" if done.returncode == 0 else done.stdout + done.stderr + FIX


def test_project_python_is_formatted_and_lint_free():
    # Notebooks are laid out by hand (their cells read as prose and code), so only linted.
    formatted = [path for path in PROJECT if path != "docs/experiments"]
    assert not (problems := ruff("format", "--check", *formatted)), problems
    assert not (problems := ruff("check", "--output-format", "concise", *PROJECT)), problems


def test_every_snippet_block_is_formatted_and_lint_free():
    problems = ruff("format", "--check", "--config", SNIPPET_CONFIG, "snippets")
    assert not problems, problems
    blocks: dict[str, tuple[Path, int]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for path, fence in fences.walk(SNIPPETS, python_only=True):
            name = f"block_{len(blocks)}.py"
            (Path(folder) / name).write_text("\n".join(fence.body) + "\n")
            blocks[name] = (path.relative_to(ROOT), fence.line)
        argv = [sys.executable, "-m", "ruff", "check", "--config", SNIPPET_CONFIG, "--no-cache"]
        argv += ["--output-format", "json", folder]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    problems = [
        f"{path}:{line + d['location']['row']}: {d['code']} {d['message']}"
        for d in json.loads(done.stdout or "[]")
        for path, line in [blocks[Path(d["filename"]).name]]
    ]
    assert not problems, "\n".join(["ruff found problems in snippet blocks:", *problems])


def test_the_tooling_stays_within_its_budget():
    # CONTRIBUTING.md, "Keep the tooling small": its command, run as written, and its budget.
    text = (ROOT / "CONTRIBUTING.md").read_text("utf-8")
    command = re.search(r"^    (find tests .*?wc -l)$", text, re.M | re.S)[1]
    budget = int(re.search(r"at most ([\d,]+) lines", text)[1].replace(",", ""))
    count = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True)
    assert int(count.stdout) <= budget, (
        f"the tooling is {int(count.stdout)} lines, over CONTRIBUTING's budget of {budget}: "
        "take out as much as the change adds (CONTRIBUTING.md, 'Keep the tooling small')"
    )


def test_no_test_file_imports_another():
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if re.search(r"^(from|import) tests\.(claims\.)?test_", path.read_text(), re.M)
    ]
    assert not importers, (
        f"test files that import another (share through tests/support/): {importers}"
    )
