"""The rules and the snippet runner on temporary files: each mistake is named at its file and line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from tests.support import fences, snippet_runner
from tests.support.guards import NetworkBlockedError
from tests.support.paths import ROOT

OUTPUT = '\n<!--pytest-codeblocks:expected-output-->\n\n```text title="Output"\n{}\n```\n'
GOOD = "```python\nprint(1 + 1)\n```\n" + OUTPUT.format(2)
PAGE = '# Topic\n\n!!! success "Answer"\n\n    Clip.\n\n--8<-- "topic/good.md"\n'


def all_problems(root: Path) -> list[str]:
    docs, snippets = root / "docs", root / "snippets"
    found = [p for rule in fences.RULES for p in rule(docs, snippets)]
    found += [p for path in sorted(snippets.rglob("*.*")) for p in fences.unrun_fences(path)]
    return [problem.removeprefix(f"{root}/") for problem in found]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "snippets" / "topic").mkdir(parents=True)
    (tmp_path / "docs" / "experiments").mkdir(parents=True)
    (tmp_path / "snippets" / "topic" / "good.md").write_text(GOOD)
    (tmp_path / "docs" / "topic.md").write_text(PAGE)
    return tmp_path


MD, NB, S = "docs/topic.md", "docs/experiments/nb.py", "snippets/topic/good.md"
LATE_SEED = "import torch\nfrom torch import nn as n\nn.Linear(2, 2)\ntorch.manual_seed(0)"
CASES = [  # (file, its text, what each problem says after "file:", * for any text); tree passes
    (MD, PAGE + "\n```python\nprint(2)\n```\n", "9: a code block is written directly"),
    (MD, PAGE + "\n--8<--\ntopic/good.md\n--8<--\n", "9: write includes on one line", "11: write"),
    (MD, '# Topic\n\n--8<-- "topic/good.md"\n', "1: the page does not open with its answer"),
    (NB, "# %% [markdown]\n# # Title\n# Text.\n", "1: the notebook's first Markdown cell"),
    (MD, PAGE.replace("Clip.", "2.0000:") + "\n2.001 (√2 ≈ 1.414, `0.12345`)\n", "9: says 2.001"),
    ("docs/other.md", '# O\n\n!!! success "Answer"\n\n--8<-- "topic/good.md"\n', "5: includes"),
    ("snippets/topic/lonely.md", GOOD, "1: no page includes this snippet"),
    ("snippets/topic/a.csv", "a,b\n", "1: snippets/ holds Markdown snippets only", "1: no page"),
    (S, '```python title="x.py"\nprint(3)\n```\n', "1: a 'python title=\"x.py\"' fence is neither"),
    (S, "<!--pytest.mark.skip-->\n\nWords.\n\n" + GOOD, "1: the marker <!--pytest.mark.skip-->"),
    (S, "~~~python\nx = 1\n~~~\n", "1: pytest-codeblocks does not collect this block"),
    (S, GOOD.replace("\n2\n", "\n0.800000011920929 0.8 12\n"), "8: 0.800000011920929 looks like"),
    (S, GOOD.replace("\n2\n", f"\n{'x' * 80}\n"), "8: this output line has 80 characters"),
    (S, GOOD.replace("print", f"x = '{'x' * 74}'\nprint"), "2: this code line has 80 characters"),
    (S, GOOD.replace("print", "if __name__ == '__main__':\n print"), "2: pytest-codeblocks runs"),
    (S, GOOD.replace("print", LATE_SEED + "\nprint"), "4: * before it seeds (torch.nn.Linear)"),
]


@pytest.mark.parametrize(
    ("name", "text", "expected"), [(c[0], c[1], c[2:]) for c in CASES], ids=[c[2] for c in CASES]
)
def test_each_mistake_is_named_at_its_file_and_line(tree, name, text, expected):
    (tree / name).write_text(text)
    found = all_problems(tree)
    assert len(found) == len(expected), found
    assert all(any(fnmatchcase(p, f"{name}:{e}*") for p in found) for e in expected), found


def run_pytest_on(*paths: Path, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull]
    argv += ["--codeblocks", "-p", "tests.support.guards", *options, *map(str, paths)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def snippet(folder: Path, name: str, code: str, output: str | None = "2") -> Path:
    path = folder / name
    path.write_text(f"```python\n{code}\n```\n" + (OUTPUT.format(output) if output else ""))
    return path


BROKEN = {  # each file is named on the command line: its block, then what its failure says
    "raises.md": (
        "x = {}\nprint(2)\nprint(x['b'])",
        ":4: the block raised KeyError: 'b'",
        "x['b'])",
    ),
    "drifted.md": (
        "print(3)",
        ":7: the block printed something other",
        "\n-2\n+3\n",
        "make outputs",
    ),
    "new.md": ("print(2)", ":1: this block has no expected-output block", "make outputs SNIPPETS="),
    "litter.md": ("open('x.pt', 'w').close()\nprint(2)", ":1: the block left files behind (x.pt)"),
    "skips.md": ("import pytest\npytest.skip('later')", ":1: the block skipped itself (later)"),
    "isolated.md": (
        "import sys\nimport optax  # noqa: F401\nraise ValueError(sys.argv[0] == '-c')",
        ":4: the block failed (exit status 1): ValueError: True",  # it ran in its own process
    ),
    "typo.md": ("```py\nprint(2)\n```\n", ":1: a 'py' fence is neither run nor checked"),
}


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("broken")
    for name, (code, *_) in BROKEN.items():
        if name == "typo.md":
            (folder / name).write_text(code)
        else:
            snippet(folder, name, code, None if name == "new.md" else "2")
    done = run_pytest_on(*(folder / name for name in BROKEN))
    assert done.returncode == 1 and not (ROOT / "x.pt").exists(), done.stdout
    return done.stdout


@pytest.mark.parametrize("name", BROKEN)
def test_a_failing_snippet_says_where_and_what_to_do(broken_run, name):
    where, *more = BROKEN[name][1:]
    assert name + where in broken_run and all(part in broken_run for part in more), broken_run


def test_update_outputs_rewrites_a_wrong_output_and_adds_a_missing_one(tmp_path):
    drifted = snippet(tmp_path, "drifted.md", "print(1 + 2)")
    missing = snippet(tmp_path, "new.md", "print('a')\nprint('b')", output=None)
    done = run_pytest_on(tmp_path, options=("--update-outputs",))
    assert done.returncode == 0 and "Rewrote the expected output of 2 block(s)" in done.stdout
    assert drifted.read_text().endswith(OUTPUT.format(3))
    assert missing.read_text().endswith(OUTPUT.format("a\nb"))
    assert run_pytest_on(drifted, missing).returncode == 0


def test_an_output_that_differs_on_another_cpu_path_says_not_to_record_it(monkeypatch, tmp_path):
    for name in ("ATEN_CPU_CAPABILITY", "MKL_CBWR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("tests.support.changed.changed_snippets", lambda: {"snippets/a.md"})
    advice = snippet_runner.what_to_do(ROOT / "snippets" / "a.md", "make outputs")
    assert advice.startswith("If the new output is right, rewrite it with `make outputs`")
    advice = snippet_runner.what_to_do(ROOT / "snippets" / "b.md", "make outputs")
    assert advice.startswith("This output differs here from what was recorded, and you did not")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    advice = snippet_runner.what_to_do(tmp_path / "a.md", "make outputs")
    assert advice.startswith("This output differs on another CPU path"), advice


def test_the_network_is_blocked_here_and_in_every_python_child_but_loopback_is_not():
    with pytest.raises(NetworkBlockedError, match="blocks network access"):
        socket.create_connection(("203.0.113.7", 80), timeout=1)
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)
    script = "import socket\nsocket.create_connection(('203.0.113.7', 80), timeout=1)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "NetworkBlockedError" in done.stderr, done.stderr
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()
