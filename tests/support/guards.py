"""A pytest plugin (loaded with ``-p tests.support.guards``) that every test and snippet runs under.

* Network: sockets may only reach loopback addresses, in the pytest process and in
  every Python process the suite starts (tests/support/netguard/sitecustomize.py, put first on
  PYTHONPATH here, so children inherit it). Anything else fails with NetworkBlockedError.
* Snippets run through tests/support/snippet_runner.py: failures name the snippet file and
  line, wrong outputs show a diff, blocks run in an empty folder and must leave it empty.
  ``--update-outputs`` (``make outputs``) rewrites wrong or missing expected outputs.
* No silent skips: a code block from snippets/ that ends up skipped fails the run,
  and so does a run that collected a different number of code blocks than
  snippets/ holds runnable fences.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.fences import runnable_fence_count
from tests.support.paths import NETGUARD, ROOT, SNIPPETS

if str(NETGUARD) not in sys.path:
    sys.path.insert(0, str(NETGUARD))
import sitecustomize  # noqa: E402 - the network guard, loaded by path above

NetworkBlockedError = sitecustomize.NetworkBlockedError
is_loopback = sitecustomize.is_loopback


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("snippets").addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite each snippet's expected output from what its block prints (make outputs)",
    )


def pytest_configure(config: pytest.Config) -> None:
    sitecustomize.block_network()
    paths = [
        str(NETGUARD),
        str(ROOT),
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys(paths)
    )  # every child process is guarded


def _is_code_block(item: pytest.Item) -> bool:
    return type(item).__name__ in ("TestBlock", "SnippetBlock")


def _is_snippet_block(item: pytest.Item) -> bool:
    return _is_code_block(item) and SNIPPETS in Path(item.path).resolve().parents


def _snippet_block_class(base: type) -> type:
    from tests.support.snippet_runner import SnippetFailure, run_block, where

    class SnippetBlock(base):
        def runtest(self) -> None:
            update = self.config.getoption("update_outputs")
            outcome = run_block(self.obj, Path(self.path), update)
            if outcome.rewritten:
                _REWRITTEN.append(where(Path(self.path), self.obj.lineno))

        def repr_failure(self, excinfo, style=None):
            if isinstance(excinfo.value, SnippetFailure):
                return str(excinfo.value)
            return super().repr_failure(excinfo)

        def reportinfo(self):
            return self.path, self.obj.lineno - 1, where(Path(self.path), self.obj.lineno)

    return SnippetBlock


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list
) -> None:
    snippet_class = None
    for item in items:
        if _is_code_block(item):
            snippet_class = snippet_class or _snippet_block_class(type(item))
            item.__class__ = snippet_class
    collected = sum(_is_snippet_block(item) for item in items)
    here = config.invocation_params.dir
    selected_all_snippets = (
        any(
            (here / arg.split("::")[0]).resolve() in (SNIPPETS, SNIPPETS.parent)
            for arg in config.args
        )
        and not config.option.keyword
        and not config.option.markexpr
    )
    expected = runnable_fence_count(SNIPPETS)
    if selected_all_snippets and collected != expected:
        raise pytest.UsageError(
            f"pytest-codeblocks collected {collected} code blocks from snippets/, but snippets/ has "
            f"{expected} runnable fences. Some blocks are skipped or malformed: run "
            "`pytest tests/test_snippet_rules.py` to see which file and line."
        )


_SKIPPED: list[str] = []
_REWRITTEN: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and report.nodeid.startswith("snippets/"):
        _SKIPPED.append(report.nodeid)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """A snippet the runner cannot see is a snippet nobody checks: say so where it is."""
    resolved = file_path.resolve()
    in_repo_outside_snippets = ROOT in resolved.parents and SNIPPETS not in resolved.parents
    if (
        file_path.suffix == ".md"
        and parent.config.option.codeblocks
        and not in_repo_outside_snippets
    ):
        from tests.support import fences

        problems = fences.unrun_fences(file_path.parent, only=file_path.resolve())
        if problems:
            return UnrunFences.from_parent(parent, path=file_path, problems=problems)
    return None


class UnrunFences(pytest.File):
    """Collected beside pytest-codeblocks' items, so `pytest snippets/x.md` fails on a ```py fence."""

    def __init__(self, *args, problems: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = problems

    def collect(self):
        yield UnrunFenceItem.from_parent(
            self, name="fences that would not run", problems=self.problems
        )


class UnrunFenceItem(pytest.Item):
    def __init__(self, *args, problems: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = problems

    def runtest(self) -> None:
        raise pytest.fail.Exception("\n".join(self.problems), pytrace=False)

    def repr_failure(self, excinfo, style=None):
        return "\n".join(self.problems)

    def reportinfo(self):
        return self.path, 0, "fences that would not run"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    writer = session.config.get_terminal_writer()
    if _REWRITTEN:
        writer.line()
        writer.line(
            f"Rewrote the expected output of {len(_REWRITTEN)} block(s): "
            + ", ".join(_REWRITTEN)
            + ". Review them with `git diff`.",
            yellow=True,
        )
    if _SKIPPED:
        writer.line()
        writer.line(
            "ERROR: these snippet code blocks were skipped; every snippet must run: "
            + ", ".join(_SKIPPED),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
