"""What the notebook hook (docs/overrides/hooks/notebook_assets.py) gives a reader: notebook
pages in the site's own markup, one shared stylesheet, no script it does not need, figures as
sized lazy files per colour scheme with their cells' alt text, sections searched with their
text. A mini site checks that a hidden cell runs unseen and that what the hook cannot show is
reported."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import jupytext
import pytest

from tests.support.built_site import NOTEBOOKS, notebook_page
from tests.support.mini_site import CONFIG, mini_site
from tests.support.paths import ROOT

HOOK = ROOT / "docs" / "overrides" / "hooks" / "notebook_assets.py"
by_notebook = pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)


def test_the_shared_stylesheet_keeps_only_jupyterlab_rules_then_the_overrides(site: Path):
    text = (site / "assets" / "notebook.css").read_text(encoding="utf-8")
    overrides = HOOK.with_name("notebook_overrides.css").read_text(encoding="utf-8")
    assert text.endswith(overrides), "notebook.css does not end with notebook_overrides.css"
    selectors = re.findall(r"^([^@\s][^{]*)\{", text[: -len(overrides)], re.M)
    generic = [s for s in selectors if ".jp-" not in s]
    assert not generic, f"notebook.css keeps rules that restyle the site's markup: {generic[:5]}"
    assert len(text) < 20_000, f"notebook.css is {len(text)} characters: is pruning still on?"


@by_notebook
def test_notebook_page_is_in_the_sites_own_markup(site: Path, notebook: Path):
    text = notebook_page(site, notebook)
    head = text.split("</head>", 1)[0]
    assert '<link rel="stylesheet" href="../../assets/notebook.css">' in head
    styles = "".join(re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S))
    assert ".jp-" not in styles, "the page still inlines JupyterLab CSS"
    for gone in ('<script src="">', "text/x-mathjax-config", "mermaid", "clipboard-copy",
                 "Copied!", 'class="anchor-link"', "highlight-ipynb"):  # fmt: skip
        assert gone not in text, f"nbconvert's {gone!r} is on the page of {notebook.name}"
    cells = [c for c in jupytext.read(notebook).cells if c.cell_type == "code"]
    shown = [c for c in cells if c.source.strip() and "hide" not in c.metadata.get("tags", [])]
    blocks = re.findall(r'<div class="nb-cell nb-code">\s*<div class="language-python', text)
    assert len(blocks) == len(shown), f"{len(blocks)} code blocks for {len(shown)} shown cells"
    outputs = text.count('<div class="nb-output" data-mime-type="text/plain">')
    titled = text.count('<span class="filename">Output</span>')
    assert outputs and titled == outputs, f"{titled} of {outputs} printed outputs titled Output"


@by_notebook
def test_notebook_figures_are_sized_lazy_files_themed_per_scheme_with_their_alt_text(
    site: Path, notebook: Path
):
    text = notebook_page(site, notebook)
    assert 'src="data:image/' not in text, "a figure is still inlined as a data: URI"
    cells = [c for c in jupytext.read(notebook).cells if c.cell_type == "code"]
    alts = [c.metadata.get("alt") for c in cells if "plt.show()" in c.source]
    for scheme in ("light", "dark"):
        images = re.findall(rf'<img\b[^>]*src="figure-[0-9a-f]+\.svg#only-{scheme}"[^>]*>', text)
        shown = [html.unescape(re.search(r'\salt="([^"]*)"', img)[1]) for img in images]
        assert shown == alts, (
            f"the {scheme} figures have the alt texts {shown}, the cells that call plt.show() "
            f"{alts} (no figures: a non-interactive backend such as Agg shows none)"
        )
        for img in images:  # the files exist: tests/test_figures.py
            assert re.search(r'\swidth="\d+"', img) and re.search(r'\sheight="\d+"', img), img
            assert 'loading="lazy"' in img
    files = set(re.findall(r'src="(figure-\w+\.svg)#only-', text))
    assert len(files) == 2 * len(alts), "each SVG figure: a light file, a different dark one"


def test_every_section_of_a_notebook_page_is_searched_with_its_text(site: Path):
    """As on a Markdown page: the hook unwraps Markdown cells, so a heading's text follows it."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    prefixes = tuple(f"experiments/{notebook.stem}/#" for notebook in NOTEBOOKS)
    sections = [e for e in index["docs"] if e["location"].startswith(prefixes)]
    assert sections, "no search entry for a section of a notebook page"
    assert all(e["text"] for e in sections), "a notebook section is indexed without its text"


MINI_NOTEBOOK = """# %% [markdown]
# # A notebook
#
# ## Numbers

# %% tags=["hide"]
SECRET = 6 * 7

# %%
print(f"the hidden cell ran: {SECRET}")

# %% tags=["hide"]
assert SECRET == 42
print("a hidden cell that prints")

# %%
# %config InlineBackend.figure_formats = ["svg"]
import matplotlib.pyplot as plt

plt.plot([0, 1])
plt.show()
"""


def test_the_hook_hides_cells_that_still_run_and_reports_what_it_cannot_show(tmp_path):
    config = CONFIG + f'hooks: ["{HOOK.as_posix()}"]\n'
    done = mini_site(tmp_path, {"index.md": "# Mini\n", "nb.py": MINI_NOTEBOOK}, config)
    log = done.stdout + done.stderr
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, "\n".join(warnings) or log
    assert (
        "'assert SECRET == 42'" in warnings[0] and 'tagged "hide" but shows output' in warnings[0]
    )
    assert "no alt text" in warnings[1] and "docs/nb.py" in warnings[1]
    page = (tmp_path / "site" / "nb" / "index.html").read_text(encoding="utf-8")
    assert "the hidden cell ran: 42" in page, "the shown cell did not see the hidden cell's value"
    assert '<span class="mi">7</span>' not in page, "the hidden cell's `6 * 7` is on the page"
    assert '<h2 id="numbers">Numbers<a class="headerlink"' in page
