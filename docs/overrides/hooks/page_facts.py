"""MkDocs hook: the facts of every page's footer (partials/copyright.html): the `torch==` pin
of constraints.txt, and the date of the last commit that touched the page or a snippet it
includes. A date git cannot vouch for (a shallow clone's boundary commit, an uncommitted page,
no git) is left out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError

_state: dict = {}


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
    shallow = root / path if path else None
    return set(shallow.read_text().split()) if shallow and shallow.is_file() else set()


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
    pin = re.search(r"^torch==([^\s;#]+)", (root / "constraints.txt").read_text(), re.M)
    if not pin:
        raise PluginError("constraints.txt has no `torch==` pin; run `make lock`")
    config.extra["torch_version"] = pin.group(1)
    _state.update(root=root, boundaries=shallow_boundaries(root))
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    root = _state["root"]
    sources = [Path(page.file.abs_src_path)]
    for include in re.findall(
        r'^[ \t]*--8<--[ \t]+"([^"]+)"', markdown, re.M
    ):  # under pymdownx.snippets' base_path, in order
        sources += [p for p in (root / "snippets" / include, root / include) if p.is_file()][:1]
    page.meta["last_changed"] = last_changed(root, sources, _state["boundaries"])
    return markdown
