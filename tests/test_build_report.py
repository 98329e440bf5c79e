"""A failed build is reported at the source page and line, with what to do (support/build_log.py).

Each case builds a small site with the real one's plugins and strictness, so the log
read here is MkDocs' own."""

from __future__ import annotations

import pytest

from tests.support import build_log
from tests.support.built_site import code_block_mismatches
from tests.support.mini_site import CONFIG, mini_site

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
