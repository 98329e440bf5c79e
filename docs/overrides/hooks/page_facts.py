"""MkDocs hook: the two facts every page's footer states (docs/overrides/partials/copyright.html).

* The torch version its snippets ran on: the ``torch==`` pin in constraints.txt, which
  the suite installs and runs every snippet with (``config.extra.torch_version``).
* When the page last changed: the date of the last commit that touched the page's source
  or one of the snippets it includes with ``--8<--`` (``page.meta.last_changed``,
  YYYY-MM-DD), read from ``git log`` at build time.

A date git cannot vouch for is left out rather than guessed. In a shallow clone
(actions/checkout fetches a single commit unless ``fetch-depth: 0``), every file that
did not change within the fetched commits seems to have been added by the oldest of
them, the shallow boundary: a page whose last commit is a boundary gets no date. So
does a page that is not committed yet, or a build outside a git checkout. A page that
is committed but edited since shows the date of its last commit.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.page_facts")

PIN = re.compile(r"^torch==([^\s;#]+)", re.M)
INCLUDE = re.compile(r'^[ \t]*--8<--[ \t]+"([^"]+)"', re.M)

_state: dict = {}


def torch_pin(constraints: Path) -> str:
    match = PIN.search(constraints.read_text(encoding="utf-8"))
    if not match:
        raise PluginError(f"{constraints.name} has no `torch==` pin; run `make lock`")
    return match.group(1)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def shallow_boundaries(root: Path) -> set[str]:
    """The commits a shallow clone was cut at (none in a full clone)."""
    path = _git(root, "rev-parse", "--git-path", "shallow")
    if path is None:
        return set()
    shallow = root / path
    return set(shallow.read_text().split()) if shallow.is_file() else set()


def last_changed(root: Path, paths: list[Path], boundaries: set[str]) -> str | None:
    """The date (YYYY-MM-DD) of the last commit that touched any of `paths`, or None when git
    does not know it: no git, nothing committed, or a shallow clone's boundary commit."""
    found = _git(root, "log", "-1", "--format=%H %cs", "--", *(str(p) for p in paths))
    if not found:
        return None
    commit, date = found.split()
    return None if commit in boundaries else date


def on_config(config):
    root = Path(config.config_file_path).parent
    config.extra["torch_version"] = torch_pin(root / "constraints.txt")
    _state.update(root=root, boundaries=shallow_boundaries(root))
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    root = _state["root"]
    sources = [Path(page.file.abs_src_path)]
    for include in INCLUDE.findall(markdown):
        for base in (root / "snippets", root):  # pymdownx.snippets' base_path
            if (base / include).is_file():
                sources.append(base / include)
                break
    page.meta["last_changed"] = last_changed(root, sources, _state["boundaries"])
    return markdown
