"""The pytest plugin (``-p tests.support.guards``) every test and snippet runs under.

* The network: loopback only, here and in every Python process the suite starts
  (tests/support/netguard/ goes first on PYTHONPATH, so children inherit it).
* Snippets run through tests/support/snippet_runner.py; ``--update-outputs``
  (``make outputs``) rewrites wrong or missing expected outputs.
* No silent skips: a snippet file that pytest-codeblocks would skip any of
  (fences.unrun_fences) fails as one item, even when it is the only file run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support import fences
from tests.support.paths import NETGUARD, ROOT, SNIPPETS
from tests.support.snippet_runner import SnippetFailure, run_block, where

if str(NETGUARD) not in sys.path:
    sys.path.insert(0, str(NETGUARD))
import sitecustomize  # noqa: E402 - the network guard, loaded by path above

NetworkBlockedError = sitecustomize.NetworkBlockedError
_REWRITTEN: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("snippets").addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite each snippet's expected output from what its block prints (make outputs)",
    )


def pytest_configure(config: pytest.Config) -> None:
    sitecustomize.block_network()
    inherited = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    paths = dict.fromkeys([str(NETGUARD), str(ROOT), *filter(None, inherited)])
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)  # every child process is guarded


def _snippet_block_class(base: type) -> type:
    class SnippetBlock(base):
        def runtest(self) -> None:
            try:
                rewritten = run_block(self.obj, Path(self.path), self.config.option.update_outputs)
            except pytest.skip.Exception as skipped:
                raise SnippetFailure(
                    f"{where(Path(self.path), self.obj.lineno)}: the block skipped itself "
                    f"({skipped.msg}). Every snippet must run; remove the skip."
                ) from None
            if rewritten:
                _REWRITTEN.append(where(Path(self.path), self.obj.lineno))

        def repr_failure(self, excinfo, style=None):
            if isinstance(excinfo.value, SnippetFailure):
                return str(excinfo.value)
            return super().repr_failure(excinfo)

        def reportinfo(self):
            return self.path, self.obj.lineno - 1, where(Path(self.path), self.obj.lineno)

    return SnippetBlock


def pytest_collection_modifyitems(items: list) -> None:
    snippet_class = None
    for item in items:
        if type(item).__name__ == "TestBlock":  # pytest-codeblocks' item
            snippet_class = snippet_class or _snippet_block_class(type(item))
            item.__class__ = snippet_class


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    resolved = file_path.resolve()
    outside_repo = ROOT not in resolved.parents  # a test's temporary snippet
    if parent.config.option.codeblocks and (
        SNIPPETS in resolved.parents or (outside_repo and file_path.suffix == ".md")
    ):
        if fences.unrun_fences(resolved):
            return UnrunFences.from_parent(parent, path=file_path)
    return None


class UnrunFences(pytest.File):
    def collect(self):
        yield UnrunFenceItem.from_parent(self, name="unrun_fences")


class UnrunFenceItem(pytest.Item):
    def runtest(self) -> None:
        pytest.fail("\n".join(fences.unrun_fences(self.path.resolve())), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _REWRITTEN:
        session.config.get_terminal_writer().line(
            f"\nRewrote the expected output of {len(_REWRITTEN)} block(s): "
            f"{', '.join(_REWRITTEN)}. Review them with `git diff`.",
            yellow=True,
        )
