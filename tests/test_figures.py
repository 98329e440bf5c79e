"""The site's figures: drawn from the snippets' numbers, readable and shown in both schemes."""

from __future__ import annotations

import colorsys
import math
import re
from pathlib import Path

import torch

from tests.support.fences import read_fences
from tests.support.modules import load
from tests.support.paths import DOCS, ROOT, SNIPPETS

make_figures = load(ROOT / "scripts" / "make_figures.py")
IMG = DOCS / "guide" / "img"
GROWTH_PAGE = DOCS / "guide" / "why-gradients-explode.md"
REGENERATE = "run `.venv/bin/python scripts/make_figures.py` and commit docs/guide/img/"


def test_committed_figures_are_what_the_script_draws(tmp_path: Path):
    fresh = {path.name: path.read_bytes() for path in make_figures.write_all(tmp_path)}
    committed = {path.name: path.read_bytes() for path in IMG.glob("*.svg")}
    assert sorted(committed) == sorted(fresh), (
        f"docs/guide/img/ holds {sorted(committed)}, the script draws {sorted(fresh)}: {REGENERATE}"
    )
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"{stale} differ from what the script draws now: {REGENERATE}"


def luminance(colour: bytes) -> float:
    """WCAG relative luminance of #rrggbb."""
    c = [v / 255 for v in bytes.fromhex(colour[1:].decode())]
    c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


# Material's backgrounds: white, and slate, hsl(225deg 15% 14%).
BACKGROUNDS = {"light": b"#ffffff", "dark": b"#%02x%02x%02x" % tuple(
    round(v * 255) for v in colorsys.hls_to_rgb(225 / 360, 0.14, 0.15))}  # fmt: skip


def test_the_theme_keeps_greys_readable_in_each_scheme_and_maps_only_the_hues_it_is_given():
    greys = [b"#%02x%02x%02x" % (v, v, v) for v in range(0x40, 0xC1)]
    kept = [b"#0060a8", b"#123456", b"#000000", b"#ffffff"]
    out = make_figures.themed(b" ".join(greys + kept), {"#0060A8": "#56b4e9"})
    for scheme, background in BACKGROUNDS.items():
        *themed, blue, other, black, white = out[scheme].split()
        ratios = {g: (luminance(g) + 0.05) / (luminance(background) + 0.05) for g in themed}
        faint = sorted(g for g, ratio in ratios.items() if max(ratio, 1 / ratio) < 4.5)
        assert not faint, f"in the {scheme} scheme mid greys become {faint}, below 4.5:1"
        assert (other, black, white) == tuple(kept[1:])
        assert blue == (b"#56b4e9" if scheme == "dark" else b"#0060a8")


def test_the_geometry_figure_draws_what_pytorch_clips():
    geo = make_figures.clip_geometry()
    clipped = []
    for clip in (torch.nn.utils.clip_grad_norm_, torch.nn.utils.clip_grad_value_):
        p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        p.grad = torch.tensor(geo.original, dtype=torch.float64)
        clip([p], make_figures.THRESHOLD)
        clipped.append(p.grad)
    # PyTorch's norm clipping divides by the norm plus 1e-6.
    assert torch.allclose(clipped[0], torch.tensor(geo.norm_clipped, dtype=torch.float64))
    assert clipped[1].tolist() == list(geo.value_clipped)
    # Its labels round the lengths that the page states.
    stated = [f"{math.hypot(*vector):.4f}" for vector in (geo.original, geo.value_clipped)]
    page = (DOCS / "guide" / "the-math.md").read_text(encoding="utf-8")
    assert all(s in page for s in stated), f"the-math.md should state the figure's {stated}"


def test_the_growth_figure_and_its_alt_text_show_what_the_snippet_prints():
    growth = make_figures.gradient_growth()
    path = SNIPPETS / make_figures.GROWTH_SNIPPET
    where = path.relative_to(ROOT)
    (output,) = [f for f in read_fences(path) if f.is_expected_output]
    header, *rows = output.body
    lengths = [int(t) for t in re.findall(r"T=(\d+)", header)]
    printed = {float(row.split()[0]): row.split()[1:] for row in rows}
    drawn = {r: [f"{growth.norms[r][t]:.1f}" for t in growth.checked_lengths] for r in growth.radii}
    assert (list(growth.checked_lengths), drawn) == (lengths, printed), (
        f"the figure marks {drawn} at T={growth.checked_lengths}, {where} prints {printed} at "
        f"T={lengths}: run `make outputs SNIPPETS={where}`, then {REGENERATE}"
    )
    norms = list(growth.norms[1.2].values())
    assert norms == sorted(norms), "radius 1.2 should only grow"
    alts = re.findall(r"!\[([^\]]*)\]\(img/gradient-growth-", GROWTH_PAGE.read_text("utf-8"))
    at_the_end = [f"{float(printed[r][-1]):,.1f}" for r in growth.radii]
    assert alts and all(n in alt for alt in alts for n in at_the_end), (
        f"the growth figure's alt text on {GROWTH_PAGE.name} should give {at_the_end}"
    )


def test_every_figure_is_one_link_to_its_light_file_holding_both_schemes(site: Path):
    """Material shows one scheme's image; the link opens it full-size (small labels on a phone)."""
    shown, problems = set(), []
    for page in site.rglob("*.html"):
        text, name = page.read_text(encoding="utf-8"), page.relative_to(site)
        links = re.findall(r'<a href="([^"#]+\.svg)">((?:<img\b[^>]*>)+)</a>', text)
        for href, images in links:
            srcs = re.findall(r'\ssrc="([^"]+)"', images)
            alts = set(re.findall(r'\salt="([^"]*)"', images))
            if srcs != [f"{href}#only-light", srcs[-1]] or not srcs[-1].endswith("#only-dark"):
                problems.append(f"{name}: the link to {href} holds {srcs}")
            if len(alts) != 1 or len(alts.pop().split()) < 12:
                problems.append(f"{name}: {href} needs one alt text, a sentence on what it shows")
            shown.update((page.parent / src.split("#")[0]).resolve() for src in srcs)
        linked = "".join(images for _, images in links)
        problems += [
            f"{name}: not in a link: {img[:90]}"
            for img in re.findall(r'<img\b[^>]*src="[^"]+\.svg#only-(?:light|dark)"[^>]*>', text)
            if img not in linked
        ]
    problems += [f"{path} is missing" for path in shown if not path.is_file()]
    drawn = [site.resolve() / "guide" / "img" / path.name for path in IMG.glob("*.svg")]
    unshown = [path.name for path in drawn if path not in shown]
    assert not problems and not unshown, "\n".join(problems) + f"\nnot on any page: {unshown}"
