"""The notebooks in docs/experiments: reviewable sources, listed in the nav, built into pages with
their figures, links to download them, and no error output; written to the convention in
CONTRIBUTING.md ("Notebook experiments"): checks and styling in hidden cells, alt text on every
figure.

The pages come from the suite's strict build (the `site` fixture), which executes every notebook:
a cell that raises fails that build (`allow_errors: false` in mkdocs.yml).
"""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import jupytext
import pytest
from mkdocs.utils.yaml import yaml_load

from tests.support.built_site import NOTEBOOKS, notebook_page
from tests.support.paths import EXPERIMENTS, ROOT


def nav_entries(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [entry for item in nav for entry in nav_entries(item)]
    if isinstance(nav, dict):
        return [entry for value in nav.values() for entry in nav_entries(value)]
    return []


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebook found in {EXPERIMENTS.relative_to(ROOT)}"


def test_notebooks_are_reviewable_scripts_not_ipynb():
    ipynb = sorted(p.relative_to(ROOT).as_posix() for p in EXPERIMENTS.rglob("*.ipynb"))
    assert not ipynb, (
        f"{ipynb}: keep notebooks as Jupytext percent-format .py files, which diff and review "
        "like code: `jupytext --to py:percent <notebook>.ipynb`, then delete the .ipynb."
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_jupytext_percent_format(notebook: Path):
    text = notebook.read_text(encoding="utf-8")
    where = notebook.relative_to(ROOT)
    assert text.startswith("# ---\n# jupyter:\n"), (
        f"{where}:1: start with a Jupytext header (`jupytext --set-formats py:percent`)."
    )
    metadata = jupytext.read(notebook).metadata
    representation = metadata.get("jupytext", {}).get("text_representation", {})
    assert representation.get("format_name") == "percent", (
        f"{where}: the header must say format_name: percent."
    )
    assert metadata.get("kernelspec", {}).get("language") == "python", (
        f"{where}: the header needs a Python kernelspec."
    )
    assert "\n# %%" in text, f"{where}: no `# %%` cell markers."


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_nav(notebook: Path):
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as config:
        nav = yaml_load(config)["nav"]
    entry = notebook.relative_to(ROOT / "docs").as_posix()
    assert entry in nav_entries(nav), (
        f"add `{entry}` to the Experiments section of the nav in mkdocs.yml"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_shows_every_figure(site: Path, notebook: Path):
    _, page, _ = notebook_page(site, notebook)
    expected = notebook.read_text(encoding="utf-8").count("plt.show()")
    assert expected, f"{notebook.relative_to(ROOT)} draws no figure with plt.show()"
    assert page.figures == expected, (
        f"{notebook.relative_to(ROOT)} calls plt.show() {expected} times, but its page shows "
        f"{page.figures} figures (a non-interactive backend such as Agg shows none)"
    )


HIDE = "hide"


def code_cells(notebook: Path):
    """(line of the cell's header, cell) for each code cell of the Jupytext file."""
    lines = notebook.read_text(encoding="utf-8").splitlines()
    headers = [i + 1 for i, line in enumerate(lines) if line.startswith("# %%")]
    cells = jupytext.read(notebook).cells
    # Lines between the header and the first `# %%` (blank lines too) make a cell of their own.
    before = len(cells) - len(headers)
    assert before in (0, 1), f"{notebook.relative_to(ROOT)}: unexpected cell markers"
    headers = [1] * before + headers
    return [(line, cell) for line, cell in zip(headers, cells) if cell.cell_type == "code"]


def has_assert(source: str) -> bool:
    code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    return any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(code)))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_checks_and_styling_are_in_hidden_cells(notebook: Path):
    """A reader sees the experiment; the asserts and the figure styling run at build, unseen."""
    wrong = []
    for line, cell in code_cells(notebook):
        hidden = HIDE in cell.metadata.get("tags", [])
        styling = "rcParams" in cell.source or "%config" in cell.source
        if not hidden and (has_assert(cell.source) or styling):
            what = "an assert" if has_assert(cell.source) else "figure styling"
            wrong.append(
                f"{notebook.relative_to(ROOT)}:{line}: this shown cell holds {what}; move it "
                '(and only it) into a cell headed `# %% tags=["hide"]` right after'
            )
        if hidden and "plt.show()" in cell.source:
            wrong.append(f"{notebook.relative_to(ROOT)}:{line}: a hidden cell draws a figure")
    assert not wrong, "\n".join(wrong)
    assert any(HIDE in cell.metadata.get("tags", []) for _, cell in code_cells(notebook)), (
        f"{notebook.relative_to(ROOT)} has no hidden cell: where are its checks?"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_cell_has_alt_text(notebook: Path):
    missing = [
        f'{notebook.relative_to(ROOT)}:{line}: this cell calls plt.show(); head it `# %% alt="..."`'
        ", one sentence on what the figure shows"
        for line, cell in code_cells(notebook)
        if "plt.show()" in cell.source and len(cell.metadata.get("alt", "").strip()) < 20
    ]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_shows_no_hidden_cell_and_labels_every_output(site: Path, notebook: Path):
    text = notebook_page(site, notebook)[2]
    shown = [
        cell
        for _, cell in code_cells(notebook)
        if HIDE not in cell.metadata.get("tags", []) and cell.source.strip()
    ]
    blocks = re.findall(r'<div class="nb-cell nb-code">\s*<div class="language-python', text)
    assert len(blocks) == len(shown), (
        f"the page of {notebook.relative_to(ROOT)} shows {len(blocks)} code cells; the notebook "
        f"has {len(shown)} that are not hidden (docs/overrides/hooks/notebook_assets.py)"
    )
    leaks = {  # as Pygments marks them up in a shown code block
        "an assert": '<span class="k">assert</span>',
        "the rcParams": '<span class="n">rcParams</span>',
        "a %config magic": '<span class="o">%</span><span class="n">config</span>',
    }
    for what, markup in leaks.items():
        assert markup not in text, f"the page of {notebook.relative_to(ROOT)} shows {what}"
    outputs = text.count('<div class="nb-output" data-mime-type="text/plain">')
    titled = text.count('<span class="filename">Output</span>')
    assert outputs and titled == outputs, (
        f"{outputs} printed outputs, {titled} of them titled Output, on the page of "
        f"{notebook.relative_to(ROOT)}"
    )
    for leftover in ("clipboard-copy", "Copied!", 'class="anchor-link"', "highlight-ipynb"):
        assert leftover not in text, f"nbconvert's {leftover!r} is still on the page"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_figures_carry_their_cells_alt_text(site: Path, notebook: Path):
    text = notebook_page(site, notebook)[2]
    alts = [
        cell.metadata["alt"]
        for _, cell in code_cells(notebook)
        if "plt.show()" in cell.source and "alt" in cell.metadata
    ]
    for scheme in ("light", "dark"):  # each SVG figure is drawn once for each colour scheme
        shown = [
            html.unescape(alt)
            for alt in re.findall(
                rf'<img\b[^>]*\salt="([^"]*)"[^>]*src="figure-[^"#]*#only-{scheme}"', text
            )
        ]
        assert shown == alts, (
            f"the {scheme}-scheme figures of {notebook.relative_to(ROOT)} have the alt texts "
            f"{shown}, their cells say {alts}"
        )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_links_its_notebook_for_download(site: Path, notebook: Path):
    page_file, page, _ = notebook_page(site, notebook)
    ipynb = notebook.with_suffix(".ipynb").name
    for name in (notebook.name, ipynb):
        assert name in page.links, (
            f"{notebook.relative_to(ROOT)}: link both downloads in the first cell, "
            f"[Jupytext script]({notebook.name}) and [Jupyter notebook]({ipynb})"
        )
    copy = page_file.parent / notebook.name
    assert copy.is_file(), f"{copy} is missing: mkdocs-jupyter's include_source copies it there"
    assert copy.read_bytes() == notebook.read_bytes()
    converted = page_file.parent / ipynb
    assert converted.is_file(), f"{converted} is missing: the notebook hook writes it at build"
    data = json.loads(converted.read_text(encoding="utf-8"))
    assert data["nbformat"] == 4
    expected = [cell.source for cell in jupytext.read(notebook).cells]
    assert ["".join(cell["source"]) for cell in data["cells"]] == expected, (
        f"{converted.name} does not hold the cells of {notebook.relative_to(ROOT)}"
    )
    tags = [cell["metadata"].get("tags", []) for cell in data["cells"]]
    assert any(HIDE in t for t in tags), "the .ipynb lost the cells' hide tags"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_has_no_error_output(site: Path, notebook: Path):
    _, page, text = notebook_page(site, notebook)
    assert not page.error_outputs, (
        f"{notebook.relative_to(ROOT)} printed to stderr or raised: {page.error_outputs}"
    )
    assert "Traceback (most recent call last)" not in text, (
        f"the page of {notebook.relative_to(ROOT)} shows a traceback"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_loads_no_mathjax_or_mermaid(site: Path, notebook: Path):
    """nbconvert's template adds a MathJax <script> and a Mermaid loader that imports from a CDN."""
    _, page, _ = notebook_page(site, notebook)
    remote = [src for src in page.script_sources if "//" in src]
    assert not remote, (
        f"{notebook.relative_to(ROOT)} loads {remote}: keep custom_mathjax_url empty in mkdocs.yml"
    )
    assert page.mermaid_diagrams == 0, (
        f"{notebook.relative_to(ROOT)} has a Mermaid diagram, which makes its page import Mermaid "
        "from cdnjs.cloudflare.com; draw it with Matplotlib instead"
    )


def test_search_entries_of_notebook_pages_are_clean(site: Path):
    """nbconvert's permalinks put "¶" into section titles and its copy buttons "Copied!" into
    the text; the hook gives the pages Material's own markup, which search reads as on any page."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    prefixes = tuple(f"experiments/{notebook.stem}/" for notebook in NOTEBOOKS)
    entries = [e for e in index["docs"] if e["location"].startswith(prefixes)]
    assert entries, "no search entry for a notebook page"
    dirty = [
        f"{e['location']}: {e['title']!r}"
        for e in entries
        if "¶" in e["title"] or "Copied!" in e["title"] + e["text"]
    ]
    assert not dirty, "search entries of notebook pages:\n" + "\n".join(dirty)
    sections = [e for e in entries if "#" in e["location"]]
    assert all(e["text"] for e in sections), "a notebook section is indexed without its text"
