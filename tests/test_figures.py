"""The committed figures are exactly what scripts/make_figures.py draws, and say what the pages say."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest
import torch

from tests.support.fences import read_fences
from tests.support.paths import ROOT

IMG = ROOT / "docs" / "guide" / "img"
PAGE = ROOT / "docs" / "guide" / "the-math.md"
GROWTH_PAGE = ROOT / "docs" / "guide" / "why-gradients-explode.md"
REGENERATE = "run `.venv/bin/python scripts/make_figures.py` and commit docs/guide/img/"


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_figures", ROOT / "scripts" / "make_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


make_figures = load_script()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    make_figures.write_all(out)
    return out


def test_committed_figures_match_the_script(regenerated: Path):
    fresh = sorted(p.name for p in regenerated.iterdir())
    committed = sorted(p.name for p in IMG.glob("*.svg"))
    assert fresh == committed, (
        f"docs/guide/img/ holds {committed}, the script draws {fresh}: {REGENERATE}"
    )
    stale = [
        name for name in fresh if (regenerated / name).read_bytes() != (IMG / name).read_bytes()
    ]
    assert not stale, f"these figures differ from what the script draws now: {stale}; {REGENERATE}"


def test_figures_are_deterministic(regenerated: Path, tmp_path: Path):
    make_figures.write_all(tmp_path)
    changed = [
        p.name for p in tmp_path.iterdir() if p.read_bytes() != (regenerated / p.name).read_bytes()
    ]
    assert not changed, (
        f"two runs of the script gave different bytes for {changed}; check DETERMINISTIC"
    )


def test_figures_load_nothing_and_keep_no_date():
    for svg in IMG.glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<dc:date>" not in text, (
            f"{svg.name} records a date, so it changes on every run: {REGENERATE}"
        )
        assert not re.search(r"""(?:href|src)=["']https?://""", text), (
            f"{svg.name} links to another host"
        )


def test_geometry_matches_pytorch_and_the_numbers_on_the_page():
    geo = make_figures.clip_geometry()
    g = torch.tensor(geo.original, dtype=torch.float64)

    by_norm = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    by_norm.grad = g.clone()
    torch.nn.utils.clip_grad_norm_([by_norm], max_norm=make_figures.THRESHOLD)
    by_value = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    by_value.grad = g.clone()
    torch.nn.utils.clip_grad_value_([by_value], clip_value=make_figures.THRESHOLD)

    # The figure draws the same vectors PyTorch computes (up to its 1e-6 in the denominator).
    assert torch.allclose(
        by_norm.grad, torch.tensor(geo.norm_clipped, dtype=torch.float64), atol=1e-6
    )
    assert torch.equal(by_value.grad, torch.tensor(geo.value_clipped, dtype=torch.float64))

    # The numbers the page and the figure's labels state.
    assert geo.original == (3.0, 1.0)
    assert math.isclose(geo.length(geo.original), 3.1623, abs_tol=5e-5)
    assert math.isclose(geo.length(geo.norm_clipped), 1.0, abs_tol=1e-12)
    assert math.isclose(geo.angle(geo.norm_clipped), geo.angle(geo.original), abs_tol=1e-12)
    assert geo.value_clipped == (1.0, 1.0)
    assert math.isclose(geo.length(geo.value_clipped), 1.4142, abs_tol=5e-5)
    assert math.isclose(geo.angle(geo.value_clipped) - geo.angle(geo.original), 26.57, abs_tol=5e-3)
    assert math.isclose(geo.cosine(geo.value_clipped), 0.8944, abs_tol=5e-5)

    page = PAGE.read_text(encoding="utf-8")
    for number in ("3.1623", "1.4142", "26.57", "0.8944"):
        assert number in page, (
            f"{PAGE.name} no longer states {number}; update the page or this test"
        )


@pytest.mark.parametrize(
    ("page", "stem"),
    [(PAGE, "clipping-geometry"), (GROWTH_PAGE, "gradient-growth")],
    ids=["clipping-geometry", "gradient-growth"],
)
def test_the_page_shows_both_figures_with_alt_text(page: Path, stem: str):
    text = page.read_text(encoding="utf-8")
    for scheme in ("light", "dark"):
        found = re.search(rf"!\[([^\]]*)\]\(img/{stem}-{scheme}\.svg#only-{scheme}\)", text)
        assert found, f"{page.name} should show img/{stem}-{scheme}.svg#only-{scheme}"
        assert len(found.group(1).split()) >= 12, (
            f"the {scheme} figure {stem} on {page.name} needs alt text that describes it"
        )


def printed_growth_table() -> tuple[list[int], dict[float, list[str]]]:
    """The lengths and, per spectral radius, the norms that the growth snippet's output shows."""
    fences = read_fences(make_figures.GROWTH_SNIPPET)
    expected = [f for f in fences if f.is_expected_output]
    assert len(expected) == 1, f"{make_figures.GROWTH_SNIPPET} should have one expected output"
    header, *rows = expected[0].body
    lengths = [int(t) for t in re.findall(r"T=(\d+)", header)]
    table = {float(row.split()[0]): row.split()[1:] for row in rows}
    return lengths, table


def test_growth_figure_draws_the_numbers_the_snippet_prints():
    """The figure calls the snippet's own function; its dots must be the snippet's checked output."""
    growth = make_figures.gradient_growth()
    lengths, table = printed_growth_table()
    where = f"{make_figures.GROWTH_SNIPPET.relative_to(ROOT)}"
    assert list(growth.checked_lengths) == lengths, (
        f"the figure marks T={growth.checked_lengths}, {where} prints T={lengths}"
    )
    assert list(growth.radii) == list(table), (
        f"the figure draws radii {growth.radii}, {where} prints {list(table)}"
    )
    for radius, printed in table.items():
        drawn = [f"{growth.norm(radius, t):.1f}" for t in lengths]
        assert drawn == printed, (
            f"radius {radius}: the figure has {drawn}, {where} prints {printed}; run "
            f"`make outputs SNIPPETS={where}`, then {REGENERATE}"
        )
    # Every length in between is drawn too, and the curves do what the page says of them.
    assert growth.lengths == tuple(range(2, max(lengths) + 1))
    above, at, below = (growth.norms[r] for r in (1.2, 1.0, 0.8))
    assert all(b < a for a, b in zip(above[1:], above[:-1])), "radius 1.2 should only grow"
    assert above[-1] > 100 * at[-1] and at[-1] > 5 * below[-1]


def test_growth_page_states_the_printed_numbers():
    page = GROWTH_PAGE.read_text(encoding="utf-8")
    _, table = printed_growth_table()
    for number in (table[1.2][-1], table[1.0][0], table[1.0][-1], table[0.8][0], table[0.8][-1]):
        assert number in page, (
            f"{GROWTH_PAGE.name} no longer states {number}, which the growth snippet prints; "
            "update the page's text or this test"
        )
    at_40 = [f"{float(table[r][-1]):,.1f}" for r in (1.2, 1.0, 0.8)]
    alt = re.findall(r"!\[([^\]]*)\]\(img/gradient-growth-", page)
    for text in alt:
        for number in at_40:
            assert number in text, f"the growth figure's alt text should give {number} at T = 40"
