"""A failed build is reported as the source page and line, and what to do (tests/support/build_log.py).

Each case builds a two-page site with the same plugins and strictness as the real one,
so the messages checked here are MkDocs' real ones, not copies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import build_log

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


def mini_site(root: Path, pages: dict[str, str], config: str = CONFIG):
    """Write a mini site and build it strictly, as the real one is built."""
    (root / "docs").mkdir()
    (root / "snippets").mkdir()
    (root / "mkdocs.yml").write_text(config)
    for name, text in pages.items():
        (root / "docs" / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def build(root: Path, pages: dict[str, str]) -> tuple[str, int]:
    done = mini_site(root, {"b.md": "# B\n\nText.\n", "nb.py": "# %%\nx = 1\n", **pages})
    assert done.returncode != 0, "the broken mini site built; this test no longer checks anything"
    return build_log.report(
        done.stdout + done.stderr, root / "docs", done.returncode
    ), done.returncode


def test_a_missing_include_names_the_page_and_line(tmp_path):
    report, _ = build(tmp_path, {"index.md": '# A\n\nText.\n\n--8<-- "guide/missing.md"\n'})
    assert report == (
        "docs/index.md:5: includes 'guide/missing.md', which does not exist. "
        "Fix the path (relative to snippets/) or add the snippet."
    )


def test_a_failing_notebook_cell_names_the_notebook_line_and_error(tmp_path):
    notebook = '# %% [markdown]\n# # NB\n\n# %%\nx = 1\nassert x == 2, "the claim fails"\n'
    report, _ = build(tmp_path, {"index.md": "# A\n", "nb.py": notebook})
    assert report.startswith(
        "docs/nb.py:6: a notebook cell failed: AssertionError: the claim fails."
    )


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("mini")
    report, _ = build(root, {"index.md": "# A\n\nSee [b](b.md#nowhere).\n", "c.md": "# C\n"})
    return report


def test_a_page_missing_from_the_nav_is_named(broken_site):
    assert "docs/c.md:1: this page is not in the nav of mkdocs.yml." in broken_site


def test_a_broken_anchor_names_the_page_and_line(broken_site):
    assert "docs/index.md:3: Doc file 'index.md' contains a link 'b.md#nowhere'" in broken_site


def test_an_indented_code_block_in_a_page_is_caught_after_rendering(tmp_path):
    from tests.test_site import code_block_mismatches

    config = CONFIG.replace("  - mkdocs-jupyter: ", "  # ").replace(", nb.py", "")
    pages = {
        "index.md": "# A\n\nText.\n\n    import torch\n    print(1)\n",
        "b.md": "# B\n\nText.\n",
    }
    done = mini_site(tmp_path, pages, config)
    assert done.returncode == 0, done.stderr
    [problem] = code_block_mismatches(tmp_path / "site", tmp_path / "docs", tmp_path / "snippets")
    assert problem.startswith(
        "docs/index.md: the built page shows 1 code blocks, but the snippets it includes hold 0"
    )


def test_site_checks_name_the_source_page_not_the_built_file(tmp_path):
    from tests.support.built_site import source

    site = tmp_path / "site"
    assert source(site, site / "guide" / "the-math" / "index.html") == "docs/guide/the-math.md"
    assert source(site, site / "index.html") == "docs/index.md"
    assert source(site, site / "training" / "index.html") == "docs/training/index.md"
    assert (
        source(site, site / "experiments" / "exploding-gradients" / "index.html")
        == "docs/experiments/exploding-gradients.py"
    )
