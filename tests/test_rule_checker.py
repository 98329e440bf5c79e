"""The checks themselves, on temporary files: each mistake a contributor can make is caught and named."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import fences
from tests.guards import NetworkBlockedError

ROOT = Path(__file__).resolve().parent.parent
GOOD_SNIPPET = '```python\nprint(1 + 1)\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n```text title="Output"\n2\n```\n'


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    docs, snippets = tmp_path / "docs", tmp_path / "snippets"
    (snippets / "topic").mkdir(parents=True)
    docs.mkdir()
    (snippets / "topic" / "good.md").write_text(GOOD_SNIPPET)
    (docs / "page.md").write_text('# Page\n\n--8<-- "topic/good.md"\n')
    return docs, snippets


def test_a_clean_tree_has_no_problems(tree):
    docs, snippets = tree
    assert fences.inline_code_blocks(docs) == []
    assert fences.broken_includes(docs, snippets) == []
    assert fences.orphan_snippets(docs, snippets) == []
    assert fences.unrun_fences(snippets) == []
    assert fences.python_blocks_without_output(snippets) == []
    assert fences.runnable_fence_count(snippets) == 1


def test_an_inline_code_block_in_docs_is_reported_with_its_line(tree):
    docs, _ = tree
    (docs / "page.md").write_text("# Page\n\nText.\n\n```python\nprint(2)\n```\n")
    [problem] = fences.inline_code_blocks(docs)
    assert problem.startswith(f"{docs / 'page.md'}:5:") and "Move it to a file in snippets/" in problem


def test_a_fence_that_only_wraps_an_include_is_allowed(tree):
    docs, _ = tree
    (docs / "page.md").write_text('```python title="clip.py"\n--8<-- "topic/good.md"\n```\n')
    assert fences.inline_code_blocks(docs) == []


@pytest.mark.parametrize("info", ["py", 'python title="x.py"', "python3", "console"])
def test_a_fence_pytest_codeblocks_would_skip_is_reported(tree, info):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text(f"```{info}\nprint(3)\n```\n")
    [problem] = fences.unrun_fences(snippets)
    assert problem.startswith(f"{snippets / 'topic' / 'bad.md'}:1:") and "silently skipped" in problem


def test_an_unknown_fence_type_is_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text("```yaml\nkey: value\n```\n")
    [problem] = fences.unrun_fences(snippets)
    assert ":1:" in problem and "neither run nor checked" in problem


@pytest.mark.parametrize("marker", ["<!--pytest.mark.skip-->", "<!--pytest-codeblocks:skip-->", "<!--pytest-codeblocks:cont-->"])
def test_a_marker_that_skips_or_continues_a_block_is_reported(tree, marker):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text(f"{marker}\n\nSome words in between.\n\n```python\nprint(4)\n```\n")
    problems = fences.unrun_fences(snippets)
    assert any(p.startswith(f"{snippets / 'topic' / 'bad.md'}:1:") and "remove the marker" in p for p in problems)


def test_an_orphan_snippet_is_reported(tree):
    docs, snippets = tree
    (snippets / "topic" / "lonely.md").write_text(GOOD_SNIPPET)
    [problem] = fences.orphan_snippets(docs, snippets)
    assert "lonely.md" in problem and 'Add --8<-- "topic/lonely.md"' in problem


def test_an_include_of_a_missing_file_is_reported(tree):
    docs, snippets = tree
    (docs / "page.md").write_text('# Page\n\n--8<-- "topic/good.md"\n\n--8<-- "topic/typo.md"\n')
    [problem] = fences.broken_includes(docs, snippets)
    assert problem.startswith(f"{docs / 'page.md'}:5:") and "topic/typo.md" in problem


def test_a_python_block_without_checked_output_is_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "quiet.md").write_text("```python\nx = 1\n```\n")
    [problem] = fences.python_blocks_without_output(snippets)
    assert "quiet.md:1:" in problem and "expected-output" in problem


def test_unseeded_randomness_and_main_guards_are_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "noisy.md").write_text(
        "```python\nimport torch\nif __name__ == '__main__':\n    print(torch.randn(2))\n```\n"
    )
    assert "noisy.md:1:" in fences.unseeded_snippets(snippets)[0]
    assert "noisy.md:3:" in fences.main_guards(snippets)[0]


def run_pytest_on(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull, "--codeblocks",
         "-p", "tests.guards", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_a_broken_snippet_fails_the_suite_and_names_its_file(tmp_path):
    (tmp_path / "broken.md").write_text(GOOD_SNIPPET.replace("print(1 + 1)", "print(1 + 1)\nraise ValueError('oops')"))
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1, done.stdout
    assert "broken.md" in done.stdout and "oops" in done.stdout


def test_a_snippet_whose_output_drifted_fails_the_suite(tmp_path):
    (tmp_path / "drifted.md").write_text(GOOD_SNIPPET.replace("print(1 + 1)", "print(1 + 2)"))
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1 and "Expected output" in done.stdout, done.stdout


def test_snippets_cannot_reach_the_network():
    with pytest.raises(NetworkBlockedError, match="blocks network access"):
        socket.create_connection(("203.0.113.7", 80), timeout=1)
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)


def test_snippets_can_still_use_loopback():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
