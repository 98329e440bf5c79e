"""Ruff keeps the project's Python and every snippet block formatted and lint-free.

Snippets are formatted at 79 columns (tools/ruff-snippets.toml), the width of the site's
code column; `make format` applies both formatters, `make check` runs these tests."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import fences
from tests.support.paths import ROOT, SNIPPETS

PROJECT_PYTHON = ["tests", "scripts", "benchmarks", "docs/overrides", "docs/experiments"]
# Notebooks are linted but laid out by hand: their cells are read as prose-and-code pages.
FORMATTED = [path for path in PROJECT_PYTHON if path != "docs/experiments"]
SNIPPET_CONFIG = ROOT / "tools" / "ruff-snippets.toml"
FIX = "Run `make format` to apply the formatting, then review `git diff`."


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_project_python_is_formatted():
    done = ruff("format", "--check", *FORMATTED)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{FIX}"


def test_project_python_passes_the_linter():
    done = ruff("check", "--output-format", "concise", *PROJECT_PYTHON)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n(`ruff check --fix` fixes some.)"


def test_every_snippet_block_is_formatted_at_79_columns():
    done = ruff("format", "--check", "--config", str(SNIPPET_CONFIG), "snippets")
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{FIX}"


def test_every_snippet_block_passes_the_linter():
    blocks: dict[str, tuple[Path, int]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for path in fences.markdown_files(SNIPPETS):
            for fence in fences.read_fences(path):
                if fence.info == "python":
                    name = f"block_{len(blocks)}.py"
                    (Path(folder) / name).write_text("\n".join(fence.body) + "\n", encoding="utf-8")
                    blocks[name] = (path, fence.line)
        done = ruff(
            "check",
            "--config",
            str(SNIPPET_CONFIG),
            "--output-format",
            "json",
            "--no-cache",
            folder,
        )
    problems = [
        f"{blocks[Path(d['filename']).name][0].relative_to(ROOT)}:"
        f"{blocks[Path(d['filename']).name][1] + d['location']['row']}: {d['code']} {d['message']}"
        for d in json.loads(done.stdout or "[]")
    ]
    assert not problems, "\n".join(["ruff found problems in snippet blocks:", *problems])
