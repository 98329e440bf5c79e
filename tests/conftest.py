"""Shared fixtures: the site is built once per test run, strictly, into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT


@dataclass(frozen=True)
class Build:
    site: Path
    returncode: int
    log: str


@pytest.fixture(scope="session")
def strict_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """`mkdocs build --strict` of the whole site (notebooks executed), as CI and Pages run it."""
    site = tmp_path_factory.mktemp("site")
    # MKDOCS_JUPYTER_CACHE=false: execute every notebook, even if `mkdocs serve` cached its output.
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "MKDOCS_JUPYTER_CACHE": "false",
        "MKDOCS_STRICT": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Build(site, done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def site(strict_build: Build) -> Path:
    """The built site; tests that need it fail (not skip) when the build failed, in one line:
    the cause is reported once, by tests/test_site.py::test_strict_build_succeeds_without_warnings."""
    if strict_build.returncode != 0:
        pytest.fail(
            "the strict build failed, so the built site cannot be checked; the cause is in the "
            "failure of tests/test_site.py::test_strict_build_succeeds_without_warnings",
            pytrace=False,
        )
    return strict_build.site
