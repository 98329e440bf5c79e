"""Every page's footer says which torch its examples were tested with and when the page last
changed (docs/overrides/hooks/page_facts.py, docs/overrides/partials/copyright.html), and the
404 page links home and to every main section (docs/overrides/404.html).

The dates are checked against git itself, also in a shallow clone (CI's checkout fetches one
commit), where a date git cannot vouch for must be left out rather than guessed."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.utils.yaml import yaml_load

from tests.support.built_site import pages, source
from tests.support.paths import DOCS, ROOT

HOOK = DOCS / "overrides" / "hooks" / "page_facts.py"
FACTS = re.compile(r'<div class="md-copyright__facts" data-page-facts>(.*?)</div>', re.S)
DATE = re.compile(r'<time datetime="(\d{4}-\d\d-\d\d)">\1</time>')


def hook():
    spec = importlib.util.spec_from_file_location("page_facts", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(cwd: Path, *args: str, **env: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def git_or_none(*args: str) -> str | None:
    """git's answer about this checkout, or None where git cannot read it (no .git, or a
    checkout git does not trust): then the hook cannot date any page either."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else None


def footer(html: Path) -> str:
    facts = FACTS.search(html.read_text(encoding="utf-8"))
    assert facts, f"{html}: the footer has no torch version or date (partials/copyright.html)"
    return facts.group(1)


def test_every_footer_names_the_torch_pin_of_constraints_txt(site: Path):
    pin = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    wrong = [
        source(site, html)
        for html in pages(site)
        if f"tested with torch {pin}\n" not in footer(html)
    ]
    assert not wrong, f"these pages' footers do not say torch {pin}: {wrong}"


def test_every_footer_dates_the_last_commit_of_the_page_or_its_snippets(site: Path):
    boundaries = set()
    shallow = git_or_none("rev-parse", "--git-path", "shallow")
    if shallow and (ROOT / shallow).is_file():
        boundaries = set((ROOT / shallow).read_text().split())
    wrong = []
    for html in pages(site):
        page = ROOT / source(site, html)
        paths = [page]
        if page.suffix == ".md":
            for include in re.findall(r'^\s*--8<--\s+"([^"]+)"', page.read_text(), re.M):
                paths.append(
                    next(p for p in (ROOT / "snippets" / include, ROOT / include) if p.is_file())
                )
        found = git_or_none("log", "-1", "--format=%H %cs", "--", *map(str, paths))
        expected = None
        if found and found.split()[0] not in boundaries:
            expected = found.split()[1]
        shown = DATE.search(footer(html))
        if (shown.group(1) if shown else None) != expected:
            wrong.append(
                f"{page.relative_to(ROOT)}: shows {shown and shown.group(1)}, git says {expected}"
            )
    assert not wrong, "\n".join(wrong)


def test_a_shallow_clone_leaves_out_the_dates_it_cannot_know(tmp_path: Path):
    """In a clone of depth 1, a file last changed before the one fetched commit has no date."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    (origin / "old.md").write_text("old\n")
    git(origin, "add", "old.md")
    git(origin, "commit", "-qm", "one", GIT_COMMITTER_DATE="2020-01-02T12:00:00Z")
    (origin / "new.md").write_text("new\n")
    git(origin, "add", "new.md")
    git(origin, "commit", "-qm", "two", GIT_COMMITTER_DATE="2021-03-04T12:00:00Z")
    facts = hook()
    full = facts.shallow_boundaries(origin)
    assert full == set()
    assert facts.last_changed(origin, [origin / "old.md"], full) == "2020-01-02"
    assert facts.last_changed(origin, [origin / "old.md", origin / "new.md"], full) == "2021-03-04"

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), str(clone))
    cut = facts.shallow_boundaries(clone)
    assert len(cut) == 1
    assert facts.last_changed(clone, [clone / "old.md"], cut) is None, "a guessed date"
    assert facts.last_changed(clone, [clone / "new.md"], cut) is None, "a guessed date"
    (clone / "untracked.md").write_text("draft\n")
    assert facts.last_changed(clone, [clone / "untracked.md"], cut) is None


def test_the_404_page_links_home_and_every_main_section(site: Path):
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as config_file:
        config = yaml_load(config_file)
    base = urlsplit(config["site_url"]).path
    html = (site / "404.html").read_text(encoding="utf-8")
    block = re.search(r"<nav [^>]*data-not-found-links>(.*?)</nav>", html, re.S)
    assert block, "404.html has no links to the main sections (docs/overrides/404.html)"
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(1))
    sections = [
        next(iter(item)) for item in config["nav"] if isinstance(next(iter(item.values())), list)
    ]
    titles = [title for _, title in links]
    assert titles[0].startswith("Home") and titles[1:] == sections, (
        f"404.html links {titles}; the nav's sections are {sections}"
    )
    for href, title in links:
        assert href.startswith(base), (
            f"404.html links {title} as {href!r}: 404.html is served at any depth, so its links "
            f"must be absolute (under {base})"
        )
        target = site / href[len(base) :] / "index.html"
        assert target.is_file(), f"404.html links {title} to {href}, which the site does not have"
