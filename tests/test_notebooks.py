"""The notebooks in docs/experiments: reviewable sources, listed in the nav, built into pages with
their figures, a link to download them, and no error output.

The pages come from the suite's strict build (the `site` fixture), which executes every notebook:
a cell that raises fails that build (`allow_errors: false` in mkdocs.yml).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from mkdocs.utils.yaml import yaml_load

from tests.built_site import NOTEBOOKS, notebook_page
from tests.paths import EXPERIMENTS, ROOT


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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_built_page_links_its_notebook_for_download(site: Path, notebook: Path):
    html, page, _ = notebook_page(site, notebook)
    assert notebook.name in page.links, (
        f"{notebook.relative_to(ROOT)}: link [Download the notebook]({notebook.name})"
    )
    copy = html.parent / notebook.name
    assert copy.is_file(), f"{copy} is missing: mkdocs-jupyter's include_source copies it there"
    assert copy.read_bytes() == notebook.read_bytes()


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
