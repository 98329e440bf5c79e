"""The checks themselves, on temporary files: each mistake a contributor can make is caught and named."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import fences
from tests.support.guards import NetworkBlockedError
from tests.support.paths import ROOT

GOOD_SNIPPET = (
    "```python\nprint(1 + 1)\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n"
    '```text title="Output"\n2\n```\n'
)


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
    assert (
        problem.startswith(f"{docs / 'page.md'}:5:") and "Move it to a file in snippets/" in problem
    )


def test_a_fence_that_only_wraps_an_include_is_reported(tree):
    # A fence around a --8<-- of a .md snippet renders the snippet's Markdown as code.
    docs, _ = tree
    (docs / "page.md").write_text('```python title="clip.py"\n--8<-- "topic/good.md"\n```\n')
    [problem] = fences.inline_code_blocks(docs)
    assert problem.startswith(f"{docs / 'page.md'}:1:")


@pytest.mark.parametrize("info", ["py", 'python title="x.py"', "python3", "console"])
def test_a_fence_pytest_codeblocks_would_skip_is_reported(tree, info):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text(f"```{info}\nprint(3)\n```\n")
    [problem] = fences.unrun_fences(snippets)
    assert (
        problem.startswith(f"{snippets / 'topic' / 'bad.md'}:1:") and "silently skipped" in problem
    )


def test_an_unknown_fence_type_is_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text("```yaml\nkey: value\n```\n")
    [problem] = fences.unrun_fences(snippets)
    assert ":1:" in problem and "neither run nor checked" in problem


@pytest.mark.parametrize(
    "marker",
    ["<!--pytest.mark.skip-->", "<!--pytest-codeblocks:skip-->", "<!--pytest-codeblocks:cont-->"],
)
def test_a_marker_that_skips_or_continues_a_block_is_reported(tree, marker):
    _, snippets = tree
    (snippets / "topic" / "bad.md").write_text(
        f"{marker}\n\nSome words in between.\n\n```python\nprint(4)\n```\n"
    )
    problems = fences.unrun_fences(snippets)
    assert any(
        p.startswith(f"{snippets / 'topic' / 'bad.md'}:1:") and "remove the marker" in p
        for p in problems
    )


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


@pytest.mark.parametrize(
    ("code", "draw"),
    [
        ("from torch import randn\nx = randn(2)", "torch.randn"),
        ("import torch.nn.functional as F\nimport torch\nF.dropout(torch.ones(2))", "dropout"),
        ("from torch import nn\nlayer = nn.Linear(2, 2)", "torch.nn.Linear"),
        ("import numpy as np\nrng = np.random.default_rng()\nrng.random()", "default_rng"),
        ("import torch\nw = torch.empty(3).normal_()\ntorch.manual_seed(0)", ".normal_"),
    ],
)
def test_the_seeding_rule_reads_names_as_imported(tree, code, draw):
    _, snippets = tree
    (snippets / "topic" / "draws.md").write_text(f"```python\n{code}\n```\n")
    [problem] = fences.unseeded_snippets(snippets)
    assert draw in problem, problem
    seeded = "import torch\ntorch.manual_seed(0)\n" + code
    (snippets / "topic" / "draws.md").write_text(f"```python\n{seeded}\n```\n")
    if draw not in (".normal_", "default_rng"):
        assert fences.unseeded_snippets(snippets) == []


def test_a_page_that_does_not_open_with_its_answer_is_reported(tree):
    docs, _ = tree
    (docs / "experiments").mkdir()
    (docs / "experiments" / "nb.py").write_text("# %% [markdown]\n# **Answer:** clip.\n")
    [problem] = fences.pages_without_an_answer(docs)
    assert problem.startswith(f"{docs / 'page.md'}:1: the page does not open with its answer")
    (docs / "page.md").write_text(
        '---\ntags: [x]\n---\n\n# Page\n\n!!! success "Answer"\n\n    Clip.\n'
    )
    assert fences.pages_without_an_answer(docs) == []
    (docs / "experiments" / "nb.py").write_text("# %% [markdown]\n# # Title\n# Text.\n")
    [problem] = fences.pages_without_an_answer(docs)
    assert problem.startswith(f"{docs / 'experiments' / 'nb.py'}:1:") and "**Answer:**" in problem


def test_a_number_in_the_prose_that_no_output_prints_is_reported(tree):
    docs, snippets = tree
    (snippets / "topic" / "norm.md").write_text(
        "```python\nprint(0.9999999)\n```\n\n<!--pytest-codeblocks:expected-output-->\n\n"
        '```text title="Output"\n0.9999999\n```\n'
    )
    (docs / "page.md").write_text(
        '# Page\n\nIts norm is 0.99999990:\n\n--8<-- "topic/norm.md"\n\n'
        "Notice 0.9999998, rounded 1.00, and √2 ≈ 1.414; `0.12345` is code.\n"
    )
    [stale] = fences.stale_prose_numbers(docs, snippets)
    assert stale.startswith(f"{docs / 'page.md'}:7: says 0.9999998"), stale
    (docs / "page.md").write_text('# Page\n\n--8<-- "topic/norm.md"\n\nNotice 0.9999999.\n')
    assert fences.stale_prose_numbers(docs, snippets) == []


def test_unseeded_randomness_and_main_guards_are_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "noisy.md").write_text(
        "```python\nimport torch\nif __name__ == '__main__':\n    print(torch.randn(2))\n```\n"
    )
    assert "noisy.md:4:" in fences.unseeded_snippets(snippets)[0]
    assert "noisy.md:3:" in fences.main_guards(snippets)[0]


def run_pytest_on(folder: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "--codeblocks",
            "-p",
            "tests.support.guards",
            *options,
            str(folder),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def snippet_file(folder: Path, name: str, code: str, output: str | None = "2\n") -> Path:
    text = f"```python\n{code}\n```\n"
    if output is not None:
        text += (
            f'\n<!--pytest-codeblocks:expected-output-->\n\n```text title="Output"\n{output}```\n'
        )
    path = folder / name
    path.write_text(text)
    return path


def test_a_snippet_that_raises_names_its_file_line_and_exception_type(tmp_path):
    snippet_file(tmp_path, "broken.md", "x = {'a': 1}\nprint(1 + 1)\nprint(x['b'])")
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1, done.stdout
    assert f"{tmp_path / 'broken.md'}:4: the block raised KeyError: 'b'" in done.stdout, done.stdout
    assert "print(x['b'])" in done.stdout and "Traceback" in done.stdout  # the line, from the file


def test_a_snippet_whose_output_drifted_shows_a_diff_and_how_to_update(tmp_path):
    snippet_file(tmp_path, "drifted.md", "print(1 + 2)")
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1, done.stdout
    assert f"{tmp_path / 'drifted.md'}:7: the block printed something other" in done.stdout
    assert "\n-2\n+3\n" in done.stdout and "make outputs SNIPPETS=" in done.stdout, done.stdout


def test_update_outputs_rewrites_a_wrong_output_and_adds_a_missing_one(tmp_path):
    drifted = snippet_file(tmp_path, "drifted.md", "print(1 + 2)")
    missing = snippet_file(tmp_path, "new.md", "print('a')\nprint('b')", output=None)
    done = run_pytest_on(tmp_path, "--update-outputs")
    assert done.returncode == 0 and "Rewrote the expected output of 2 block(s)" in done.stdout, (
        done.stdout
    )
    assert drifted.read_text().endswith('```text title="Output"\n3\n```\n')
    assert fences.python_blocks_without_output(tmp_path) == []
    assert missing.read_text().endswith('```text title="Output"\na\nb\n```\n')
    assert run_pytest_on(tmp_path).returncode == 0  # and the rewritten files now pass


def test_a_snippet_without_output_says_how_to_create_it(tmp_path):
    snippet_file(tmp_path, "new.md", "print(2)", output=None)
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1 and "has no expected-output block" in done.stdout, done.stdout
    assert "make outputs SNIPPETS=" in done.stdout


def test_a_snippet_that_leaves_a_file_behind_fails(tmp_path):
    snippet_file(tmp_path, "litter.md", "open('clipped.pt', 'w').close()\nprint(2)")
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1 and "left files behind (clipped.pt)" in done.stdout, done.stdout
    assert not (ROOT / "clipped.pt").exists()


def test_a_py_fence_fails_even_when_only_that_snippet_is_run(tmp_path):
    path = tmp_path / "typo.md"
    path.write_text("```py\nprint(2)\n```\n")
    done = run_pytest_on(path)
    assert done.returncode == 1, done.stdout
    assert f"{path}:1: the fence info string is 'py'" in done.stdout, done.stdout


def test_a_torchrun_snippet_runs_under_torchrun(tmp_path):
    code = (
        "# torchrun --nproc-per-node 2 hello.py\n"
        "import datetime\nimport torch.distributed as dist\n"
        "dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60))\n"
        "if dist.get_rank() == 0:\n    print(dist.get_world_size())\n"
        "dist.destroy_process_group()"
    )
    snippet_file(tmp_path, "hello.md", code)
    done = run_pytest_on(tmp_path)
    assert done.returncode == 0, done.stdout


def test_python_started_by_the_suite_is_offline_too(tmp_path):
    script = "import socket\nsocket.create_connection(('203.0.113.7', 80), timeout=1)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "NetworkBlockedError" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nx = torch.zeros(3)\ny = torch.randn_like(x)",
        "import torch\nw = torch.empty(3)\nw.normal_()",
        "import torch\nw = torch.empty(3, 3)\ntorch.nn.init.xavier_uniform_(w)",
        "import torch\nx = torch.randn(3)\ntorch.manual_seed(0)",
        "import numpy as np\nrng = np.random.default_rng()",
    ],
    ids=["randn_like", "normal_", "nn.init", "seeded-after-the-draw", "unseeded-generator"],
)
def test_every_random_source_needs_a_seed_first(tree, code):
    _, snippets = tree
    (snippets / "topic" / "noisy.md").write_text(f"```python\n{code}\n```\n")
    [problem] = fences.unseeded_snippets(snippets)
    assert "noisy.md:" in problem and "manual_seed" in problem


def test_a_draw_inside_a_function_called_after_the_seed_is_fine(tree):
    _, snippets = tree
    code = "import torch\ndef noise():\n    return torch.randn(2)\ntorch.manual_seed(0)\nnoise()"
    (snippets / "topic" / "ok.md").write_text(f"```python\n{code}\n```\n")
    assert fences.unseeded_snippets(snippets) == []


def test_an_unrounded_float_in_an_output_is_reported(tree):
    _, snippets = tree
    (snippets / "topic" / "raw.md").write_text(
        GOOD_SNIPPET.replace("\n2\n```\n", "\nnorm 0.800000011920929, ratio 0.8, step 12\n```\n")
    )
    [problem] = fences.unrounded_outputs(snippets)
    assert "raw.md:8: 0.800000011920929 looks like an unrounded float" in problem


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


def test_a_line_wider_than_the_code_column_is_reported(tree):
    _, snippets = tree
    wide = "x" * 80
    (snippets / "topic" / "wide.md").write_text(
        GOOD_SNIPPET.replace("\n2\n```\n", f"\n{wide}\n```\n")
    )
    [problem] = fences.long_lines(snippets)
    assert "wide.md:8: this output line has 80 characters" in problem and "make outputs" in problem


def test_a_block_importing_a_threaded_library_runs_in_its_own_process(tmp_path):
    code = "import os\nimport optax  # noqa: F401\nprint(2)\nraise ValueError(os.getpid())"
    snippet_file(tmp_path, "isolated.md", code)
    done = run_pytest_on(tmp_path)
    assert done.returncode == 1, done.stdout
    assert f"{tmp_path / 'isolated.md'}:5: the block raised ValueError:" in done.stdout, done.stdout
    assert (
        "its own process" in done.stdout
        and str(os.getpid()) not in done.stdout.split("raised")[1][:40]
    )
