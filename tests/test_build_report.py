"""A failed build is reported at the source page and line, with what to do (support/build_log.py).

Each case builds a small site with the real one's plugins and strictness, so the log
read here is MkDocs' own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import build_log
from tests.support.built_site import source
from tests.test_site import code_block_mismatches

CONFIG = """site_name: mini
strict: true
validation: {omitted_files: warn, absolute_links: warn, unrecognized_links: warn, anchors: warn}
theme: {name: material, font: false}
plugins:
  - search
  - mkdocs-jupyter: {execute: true, allow_errors: false, include: ["*.py"], custom_mathjax_url: ""}
markdown_extensions:
  - pymdownx.superfences
  - pymdownx.snippets: {base_path: [snippets], check_paths: true}
nav: [index.md, b.md, nb.py]
"""
NOTEBOOK = '# %% [markdown]\n# # NB\n\n# %%\nx = 1\nassert x == 2, "the claim fails"\n'
BROKEN = {  # the pages that differ from a working site: what the report says
    '--8<-- "guide/missing.md"': [
        "docs/index.md:3: includes 'guide/missing.md', which does not exist. "
        "Fix the path (relative to snippets/) or add the snippet."
    ],
    NOTEBOOK: ["docs/nb.py:6: a notebook cell failed: AssertionError: the claim fails."],
    "See [b](b.md#nowhere).": [
        "docs/c.md:1: this page is not in the nav of mkdocs.yml.",
        "docs/index.md:3: Doc file 'index.md' contains a link 'b.md#nowhere'",
    ],
}


def mini_site(root: Path, pages: dict[str, str], config: str = CONFIG):
    for folder in ("docs", "snippets"):
        (root / folder).mkdir()
    (root / "mkdocs.yml").write_text(config)
    for name, text in {"b.md": "# B\n", "nb.py": "# %%\nx = 1\n", **pages}.items():
        (root / "docs" / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.mark.parametrize("broken", BROKEN, ids=["include", "notebook", "nav-and-anchor"])
def test_a_failed_build_names_the_source_page_and_line(tmp_path, broken):
    pages = {"nb.py": broken} if broken == NOTEBOOK else {"index.md": f"# A\n\n{broken}\n"}
    if "nav" in BROKEN[broken][0]:
        pages["c.md"] = "# C\n"
    done = mini_site(tmp_path, {"index.md": "# A\n"} | pages)
    assert done.returncode != 0, "the broken site built; this case no longer checks anything"
    report = build_log.report(done.stdout + done.stderr, tmp_path / "docs", done.returncode)
    assert all(any(p.startswith(e) for p in report.splitlines()) for e in BROKEN[broken]), report


def test_an_indented_code_block_in_a_page_is_caught_after_rendering(tmp_path):
    config = CONFIG.replace("  - mkdocs-jupyter: ", "  # ").replace(", nb.py", "")
    done = mini_site(tmp_path, {"index.md": "# A\n\nText.\n\n    print(1)\n"}, config)
    assert done.returncode == 0, done.stderr
    [problem] = code_block_mismatches(tmp_path / "site", tmp_path / "docs", tmp_path / "snippets")
    assert problem.startswith("docs/index.md: the built page shows 1 code blocks, but the snippets")


@pytest.mark.parametrize(
    ("built", "page"),
    [
        ("guide/the-math/index.html", "docs/guide/the-math.md"),
        ("index.html", "docs/index.md"),
        ("training/index.html", "docs/training/index.md"),
        ("experiments/exploding-gradients/index.html", "docs/experiments/exploding-gradients.py"),
    ],
)
def test_site_checks_name_the_source_page_not_the_built_file(built, page):
    assert source(Path("site"), Path("site") / built) == page
