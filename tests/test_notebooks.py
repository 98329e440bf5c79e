"""The notebooks in docs/experiments, to CONTRIBUTING.md's "Notebook experiments". The strict
build (the `site` fixture) executes them, so a cell that raises or a claim's assert that no
longer holds fails it; their pages show no error and link both downloads."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import pytest

from tests.support.built_site import NOTEBOOKS, notebook_page
from tests.support.paths import EXPERIMENTS, ROOT

by_notebook = pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)


def test_notebooks_are_reviewable_scripts_not_ipynb():
    assert NOTEBOOKS, f"no notebook found in {EXPERIMENTS.relative_to(ROOT)}"
    ipynb = sorted(p.relative_to(ROOT).as_posix() for p in EXPERIMENTS.rglob("*.ipynb"))
    assert not ipynb, (
        f"{ipynb}: keep notebooks as Jupytext percent-format .py files, which diff and review "
        "like code: `jupytext --to py:percent <notebook>.ipynb`, then delete the .ipynb."
    )


@by_notebook
def test_notebook_is_a_jupytext_percent_script(notebook: Path):
    where = notebook.relative_to(ROOT)
    metadata = jupytext.read(notebook).metadata
    representation = metadata.get("jupytext", {}).get("text_representation", {})
    assert representation.get("format_name") == "percent", (
        f"{where}:1: start with a Jupytext percent header (`jupytext --set-formats py:percent`)"
    )
    assert metadata.get("kernelspec", {}).get("language") == "python", (
        f"{where}: the header needs a Python kernelspec."
    )


def code_cells(notebook: Path):
    """(line of the cell's header, cell) for each code cell of the Jupytext file."""
    lines = notebook.read_text(encoding="utf-8").splitlines()
    headers = [i + 1 for i, line in enumerate(lines) if line.startswith("# %%")]
    cells = jupytext.read(notebook).cells
    # Lines between the header and the first `# %%` (blank lines too) make a cell of their own.
    headers = [1] * (len(cells) - len(headers)) + headers
    return [(line, cell) for line, cell in zip(headers, cells) if cell.cell_type == "code"]


def has_assert(source: str) -> bool:
    code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    return any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(code)))


@by_notebook
def test_checks_and_styling_are_hidden_and_every_figure_has_alt_text(notebook: Path):
    """A reader sees the experiment; the asserts and the figure styling run at build, unseen."""
    wrong, hidden_cells = [], 0
    for line, cell in code_cells(notebook):
        where = f"{notebook.relative_to(ROOT)}:{line}"
        hidden = "hide" in cell.metadata.get("tags", [])
        hidden_cells += hidden
        styling = "rcParams" in cell.source or "%config" in cell.source
        if not hidden and (has_assert(cell.source) or styling):
            what = "an assert" if has_assert(cell.source) else "figure styling"
            wrong.append(
                f"{where}: this shown cell holds {what}; move it (and only it) into a cell "
                'headed `# %% tags=["hide"]` right after'
            )
        if "plt.show()" in cell.source and hidden:
            wrong.append(f"{where}: a hidden cell draws a figure")
        if "plt.show()" in cell.source and len(cell.metadata.get("alt", "").strip()) < 20:
            wrong.append(f'{where}: head this cell `# %% alt="..."`, a sentence on its figure')
    assert not wrong, "\n".join(wrong)
    assert hidden_cells, f"{notebook.relative_to(ROOT)} has no hidden cell: where are its checks?"


@by_notebook
def test_built_page_shows_no_error(site: Path, notebook: Path):
    text = notebook_page(site, notebook)
    shown = ("vnd.jupyter.stderr", "jp-OutputArea-error", "Traceback (most recent call last)")
    errors = [error for error in shown if error in text]
    assert not errors, f"{notebook.relative_to(ROOT)} printed to stderr or raised: {errors}"


@by_notebook
def test_built_page_links_both_downloads_beside_it(site: Path, notebook: Path):
    text, folder = notebook_page(site, notebook), site / "experiments" / notebook.stem
    ipynb = notebook.with_suffix(".ipynb").name
    assert f'<a href="{notebook.name}">' in text and f'<a href="{ipynb}">' in text, (
        f"{notebook.relative_to(ROOT)}: link both downloads in the first cell, "
        f"[Jupytext script]({notebook.name}) and [Jupyter notebook]({ipynb})"
    )
    copy = folder / notebook.name  # mkdocs-jupyter's include_source copies it
    assert copy.read_bytes() == notebook.read_bytes(), f"{copy} is not the notebook"
    data = json.loads((folder / ipynb).read_text(encoding="utf-8"))  # the hook's
    assert data["nbformat"] == 4
    cells = jupytext.read(notebook).cells
    assert ["".join(c["source"]) for c in data["cells"]] == [c.source for c in cells], (
        f"{ipynb} does not hold the cells of {notebook.relative_to(ROOT)}"
    )
    tags = [c["metadata"].get("tags", []) for c in data["cells"]]
    assert tags == [c.metadata.get("tags", []) for c in cells], f"{ipynb} lost the cells' tags"
