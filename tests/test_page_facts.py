"""docs/overrides/hooks/page_facts.py and partials/copyright.html: every page's footer names
the torch its examples were tested with and the date the page or one of its snippets last
changed, left out where git cannot vouch for it (a shallow clone). docs/overrides/404.html
links home and to every main section."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.utils.yaml import yaml_load

from scripts.site_server import built_pages
from tests.support.built_site import source
from tests.support.modules import load
from tests.support.paths import DOCS, ROOT, SNIPPETS

page_facts = load(DOCS / "overrides" / "hooks" / "page_facts.py")

FACTS = re.compile(r'<div class="md-copyright__facts" data-page-facts>(.*?)</div>', re.S)
DATE = re.compile(r'<time datetime="(\d{4}-\d\d-\d\d)">\1</time>')


def git(cwd: Path, *args: str, **env: str) -> str | None:
    """git's answer, or None where it fails."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def test_every_footer_names_the_torch_pin_and_the_last_commit_date(site: Path):
    pin = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    cut = page_facts.shallow_boundaries(ROOT)
    wrong = []
    for html in built_pages(site):
        where = source(site, html)
        page, facts = ROOT / where, FACTS.search(html.read_text(encoding="utf-8"))
        if not facts:
            wrong.append(f"{where}: no footer facts (partials/copyright.html)")
            continue
        if f"tested with torch {pin}\n" not in facts.group(1):
            wrong.append(f"{where}: the footer does not say torch {pin}")
        paths = [page]  # reading it checks that built_site.source() found the source
        for include in re.findall(r'^\s*--8<--\s+"([^"]+)"', page.read_text(), re.M):
            paths.append(next(p for p in (SNIPPETS / include, ROOT / include) if p.is_file()))
        expected = page_facts.last_changed(ROOT, paths, cut)  # checked by the shallow clone test
        shown = DATE.search(facts.group(1))
        if (shown and shown.group(1)) != expected:
            wrong.append(f"{where}: shows {shown and shown.group(1)}, git says {expected}")
    assert not wrong, "\n".join(wrong)


def test_a_shallow_clone_leaves_out_the_dates_it_cannot_know(tmp_path: Path):
    """In a clone of depth 1, a file last changed before the one fetched commit has no date."""
    origin = tmp_path / "origin"
    origin.mkdir()
    assert git(origin, "init", "-q") is not None
    for name, date in (("old.md", "2020-01-02"), ("new.md", "2021-03-04")):
        (origin / name).write_text(name)
        git(origin, "add", name)
        assert (
            git(origin, "commit", "-qm", name, GIT_COMMITTER_DATE=f"{date}T12:00:00Z") is not None
        )
    full = page_facts.shallow_boundaries(origin)
    assert full == set()
    assert page_facts.last_changed(origin, [origin / "old.md"], full) == "2020-01-02"
    assert page_facts.last_changed(origin, [origin / "old.md", origin / "new.md"], full) == (
        "2021-03-04"
    )

    clone = tmp_path / "clone"
    assert git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), str(clone)) is not None
    cut = page_facts.shallow_boundaries(clone)
    assert len(cut) == 1
    for name in ("old.md", "new.md"):
        assert page_facts.last_changed(clone, [clone / name], cut) is None, (
            f"{name}: a guessed date"
        )
    (clone / "untracked.md").write_text("draft\n")
    assert page_facts.last_changed(clone, [clone / "untracked.md"], cut) is None


def test_the_404_page_links_home_and_every_main_section(site: Path):
    config = yaml_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
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
        assert (site / href[len(base) :] / "index.html").is_file(), (
            f"404.html links {title} to {href}, which the site does not have"
        )
