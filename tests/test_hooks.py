"""The notebook-page hook (docs/overrides/hooks/notebook_assets.py), checked on the built site:
notebook pages link one shared stylesheet instead of inlining JupyterLab's CSS, carry no
empty MathJax / Mermaid scripts, and load their figures from files beside them. One mini site,
built with the hook, checks the cell convention itself: a hidden cell runs but is not shown, a
hidden cell that prints and a figure without alt text are reported."""

from __future__ import annotations

import colorsys
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.built_site import NOTEBOOKS, notebook_page
from tests.support.paths import ROOT

HOOK = ROOT / "docs" / "overrides" / "hooks" / "notebook_assets.py"


def test_the_shared_notebook_stylesheet_is_written(site: Path):
    css = site / "assets" / "notebook.css"
    assert css.is_file(), "the hook writes assets/notebook.css when the site has notebook pages"
    text = css.read_text(encoding="utf-8")
    overrides = HOOK.with_name("notebook_overrides.css").read_text(encoding="utf-8")
    assert text.endswith(overrides), "notebook.css does not end with notebook_overrides.css"
    kept = text[: -len(overrides)]
    generic = [
        rule.split("{", 1)[0]
        for rule in re.findall(r"^[^@\s][^{]*\{", kept, re.M)
        if ".jp-" not in rule.split("{", 1)[0]
    ]
    assert not generic, (
        f"notebook.css keeps JupyterLab rules that restyle the site's own markup: {generic[:5]}"
    )
    assert len(text) < 20_000, (
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
        name = re.search(r'src="([^"#]+)', tag)[1]
        assert (site / "experiments" / notebook.stem / name).is_file(), (
            f"{name} is missing beside the page"
        )
        assert re.search(r'\swidth="\d+"', tag) and re.search(r'\sheight="\d+"', tag), (
            f"unsized figure: {tag[:120]}"
        )
        assert 'loading="lazy"' in tag


def contrast(grey: int, background: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of the grey #gggggg against an sRGB background."""

    def luminance(rgb):
        linear = [(c / 255 / 12.92) if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance((grey,) * 3), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


WHITE = (255, 255, 255)
SLATE = tuple(round(c * 255) for c in colorsys.hls_to_rgb(225 / 360, 0.14, 0.15))  # Material's


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_each_svg_figure_has_a_light_and_a_dark_file_whose_greys_read_on_it(
    site: Path, notebook: Path
):
    text = notebook_page(site, notebook)[2]
    light = re.findall(r'src="(figure-[0-9a-f]+\.svg)#only-light"', text)
    dark = re.findall(r'src="(figure-[0-9a-f]+\.svg)#only-dark"', text)
    assert light and len(light) == len(dark), (
        f"{len(light)} light and {len(dark)} dark SVG figures on the page of {notebook.name}"
    )
    for names, background in ((light, WHITE), (dark, SLATE)):
        for name in names:
            svg = (site / "experiments" / notebook.stem / name).read_text(encoding="utf-8")
            greys = {int(g, 16) for g in re.findall(r"#([0-9a-f]{2})\1\1(?![0-9a-f])", svg)}
            faint = sorted(g for g in greys if 0x40 <= g <= 0xC0 and contrast(g, background) < 4.5)
            assert not faint, (
                f"{name} (for {'light' if background == WHITE else 'dark'} pages) draws in "
                f"greys {[f'#{g:02x}' * 3 for g in faint]} below 4.5:1 on its background"
            )


def test_every_figure_is_a_link_that_opens_it_full_size(site: Path):
    """A figure's labels are small on a phone: each figure, on a Markdown page (written so in
    the page) or a notebook's (by the hook), is a link to an SVG file of the site, which
    opens it full-size; both images of a figure (light and dark) share the link."""
    linked, problems = set(), []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for link in re.finditer(r'<a href="([^"#]+\.svg)">((?:<img\b[^>]*>)+)</a>', text):
            linked.update(re.findall(r"<img\b[^>]*>", link.group(2)))
            if not (page.parent / link.group(1)).resolve().is_file():
                problems.append(f"{page.relative_to(site)}: {link.group(1)} is not a file")
        for img in re.findall(r'<img\b[^>]*src="[^"]+\.svg#only-(?:light|dark)"[^>]*>', text):
            if img not in linked:
                problems.append(f"{page.relative_to(site)}: not in a link: {img[:90]}")
    assert linked and not problems, "\n".join(problems) or "no figure found"


MINI_CONFIG = f"""site_name: mini
theme: {{name: material, font: false}}
plugins:
  - search
  - mkdocs-jupyter: {{execute: true, allow_errors: false, include: ["*.py"], custom_mathjax_url: ""}}
hooks: ["{HOOK.as_posix()}"]
nav: [index.md, nb.py]
"""

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
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(MINI_CONFIG)
    (tmp_path / "docs" / "index.md").write_text("# Mini\n")
    (tmp_path / "docs" / "nb.py").write_text(MINI_NOTEBOOK)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    page = (tmp_path / "site" / "nb" / "index.html").read_text(encoding="utf-8")
    assert "the hidden cell ran: 42" in page, "the shown cell did not see the hidden cell's value"
    assert '<span class="mi">7</span>' not in page, "the hidden cell's `6 * 7` is on the page"
    assert '<h2 id="numbers">Numbers<a class="headerlink"' in page
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, "\n".join(warnings) or log
    assert (
        "'assert SECRET == 42'" in warnings[0] and 'tagged "hide" but shows output' in warnings[0]
    )
    assert "no alt text" in warnings[1] and "docs/nb.py" in warnings[1]
    assert (tmp_path / "site" / "nb" / "nb.ipynb").is_file()
