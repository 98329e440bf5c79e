"""Shared fixtures: the site is built once per run, strictly, into a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from scripts.site_server import CHROMIUM, launch_chromium, serve
from tests.support import build_log
from tests.support.browser import in_ci, new_page
from tests.support.paths import DOCS, ROOT

BUILD_TIMEOUT_S = 900


@dataclass(frozen=True)
class Build:
    site: Path
    returncode: int
    log: str


class BackgroundBuild:
    """`mkdocs build --strict` of the whole site, notebooks executed, as CI and Pages run it.

    It starts once collection shows a test needs it and runs while the snippets do; the
    first test that needs the site waits for it. `make check` sets SUITE_NOTEBOOK_CACHE=1
    to reuse the notebook cache of `make serve`."""

    def __init__(self) -> None:
        self.site = Path(tempfile.mkdtemp(prefix="strict-site-"))
        self.log = tempfile.TemporaryFile(mode="w+")
        cache = "true" if os.environ.get("SUITE_NOTEBOOK_CACHE") == "1" else "false"
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MKDOCS_JUPYTER_CACHE": cache}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(self.site)],
            cwd=ROOT,
            env={**env, "MKDOCS_STRICT": "true"},  # os.environ carries the network guard
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started = time.monotonic()

    def result(self) -> Build:
        try:
            left = BUILD_TIMEOUT_S - (time.monotonic() - self.started)
            returncode = self.process.wait(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            self.process.kill()
            returncode = -1
            self.log.write(f"\nERROR - the build did not finish within {BUILD_TIMEOUT_S} s\n")
        self.log.seek(0)
        return Build(self.site, returncode, self.log.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.site, ignore_errors=True)


_background: list[BackgroundBuild] = []
_built: list[Build] = []
_build_failure_reported_by: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), every test of the built site runs in one worker,
    which builds it once; the snippets and claim tests share out over the others."""
    for item in items:
        if "strict_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("built-site"))


def pytest_collection_finish(session: pytest.Session) -> None:
    # An xdist worker does not know yet which tests it gets: it builds on first need.
    in_worker = "PYTEST_XDIST_WORKER" in os.environ
    needs = any("strict_build" in getattr(item, "fixturenames", ()) for item in session.items)
    if needs and not in_worker:
        _background.append(BackgroundBuild())


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _background:
        _background.pop().stop()  # never leave the build running, or its folder behind


def the_build() -> Build:
    if not _background:  # requested without being collected (getfixturevalue)
        _background.append(BackgroundBuild())
    if not _built:
        _built.append(_background[0].result())
    return _built[0]


@pytest.fixture(scope="session")
def strict_build() -> Build:
    return the_build()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A failed or warning build (strict: any warning fails it) is one failure: the first
    test that needs it fails with the cause at its page and line, every later one is
    skipped naming that test, so any test file run alone explains it."""
    if "strict_build" not in getattr(item, "fixturenames", ()) or the_build().returncode == 0:
        return
    if _build_failure_reported_by:
        pytest.skip(
            f"the strict build failed; the cause is reported by {_build_failure_reported_by[0]}"
        )
    _build_failure_reported_by.append(item.nodeid)
    build = the_build()
    pytest.fail(
        "`mkdocs build --strict` failed, so nothing that needs the built site was checked:\n"
        + build_log.report(build.log, DOCS, build.returncode)
        + "\n\nReproduce with `make build`. The whole build log:\n"
        + build.log,
        pytrace=False,
    )


@pytest.fixture(scope="session")
def site(strict_build: Build) -> Path:
    return strict_build.site


# --- the real browser (Debian's Chromium through Playwright) and the site served locally ---


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.is_file():
        reason = (
            f"{CHROMIUM} is missing, so the browser tests cannot run; install Debian's "
            "Chromium with `apt-get install chromium`, or set SITE_BROWSER to the path of "
            "a Chromium-based browser (Chrome, Edge)"
        )
        if in_ci():
            pytest.fail(
                reason + " (CI is set: .ci/run installs it, and these tests may not skip in CI)"
            )
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def base_url(site) -> str:
    with serve(site) as url:
        yield url


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    with new_page(browser) as (page, watch):
        yield page
    assert not watch.errors, "\n".join(watch.errors)
    assert not watch.external, "\n".join(watch.external)
