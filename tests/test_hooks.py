"""The notebook-page hook (docs/overrides/hooks/notebook_assets.py), checked on the built site:
notebook pages link one shared stylesheet instead of inlining JupyterLab's CSS, carry no
empty MathJax / Mermaid scripts, and load their figures from files beside them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.built_site import NOTEBOOKS, notebook_page


def test_the_shared_notebook_stylesheet_is_written(site: Path):
    css = site / "assets" / "notebook.css"
    assert css.is_file(), "the hook writes assets/notebook.css when the site has notebook pages"
    text = css.read_text(encoding="utf-8")
    assert ".jupyter-wrapper" in text and ".jp-OutputArea" in text, (
        "notebook.css lacks the JupyterLab rules"
    )
    assert len(text) < 300_000, (
        f"notebook.css is {len(text)} characters: are unused rules still pruned?"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_page_links_the_shared_css_instead_of_inlining_it(site: Path, notebook: Path):
    text = notebook_page(site, notebook)[2]
    head = text.split("</head>", 1)[0]
    assert '<link rel="stylesheet" href="../../assets/notebook.css">' in head
    styles = "".join(re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S))
    assert ".jp-" not in styles, "the page still inlines JupyterLab CSS in a <style> block"
    assert len(text) < 400_000, (
        f"the page is {len(text)} characters: CSS or figures are inlined again"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_page_has_no_empty_or_mermaid_script(site: Path, notebook: Path):
    text = notebook_page(site, notebook)[2]
    assert '<script src="">' not in text
    assert "text/x-mathjax-config" not in text
    assert "mermaid" not in text.lower()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_figures_are_sized_lazy_files(site: Path, notebook: Path):
    text = notebook_page(site, notebook)[2]
    assert 'src="data:image/' not in text, "a figure is still inlined as a data: URI"
    images = re.findall(r"<img\b[^>]*>", text)
    figures = [tag for tag in images if 'src="figure-' in tag]
    assert figures, "no figure file found on the page"
    for tag in figures:
        name = re.search(r'src="([^"]+)"', tag)[1]
        assert (site / "experiments" / notebook.stem / name).is_file(), (
            f"{name} is missing beside the page"
        )
        assert re.search(r'\swidth="\d+"', tag) and re.search(r'\sheight="\d+"', tag), (
            f"unsized figure: {tag[:120]}"
        )
        assert 'loading="lazy"' in tag
