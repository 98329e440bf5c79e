"""Draw the guide's figures as SVG files, byte for byte the same on every run.

Usage (from the repository root):

    .venv/bin/python scripts/make_figures.py            # writes into docs/guide/img/
    .venv/bin/python scripts/make_figures.py OUT_DIR    # writes into OUT_DIR instead

tests/test_figures.py regenerates the figures into a temporary folder and fails when
the committed files differ, so run this script after changing it and commit its output.

Each figure is drawn twice, for Material's light and dark colour schemes; a page shows
the right one with the `#only-light` / `#only-dark` suffixes on the image URLs.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "guide" / "img"

# The 2-D example of docs/guide/the-math.md (and of snippets/math/value_clip_turns_a_2d_gradient.md).
GRADIENT = (3.0, 1.0)
THRESHOLD = 1.0

# Settings that make the SVG bytes depend on nothing but this file and the pinned Matplotlib.
DETERMINISTIC = {
    "svg.hashsalt": "clipping-guide",  # fixed ids instead of random ones
    "svg.fonttype": "path",  # glyphs as paths from Matplotlib's bundled DejaVu Sans
    "font.family": "DejaVu Sans",
    "path.simplify": False,
}
METADATA = {"Date": None, "Creator": "scripts/make_figures.py (Matplotlib)"}


@dataclass(frozen=True)
class Theme:
    name: str
    text: str  # labels and axes
    grid: str
    original: str
    norm: str
    value: str
    boundary: str


# Okabe-Ito hues, picked to stay apart for colour-blind readers; each theme keeps
# enough contrast with Material's default (white) and slate (dark) backgrounds.
LIGHT = Theme(
    "light",
    text="#1f2328",
    grid="#d0d7de",
    original="#0060a8",
    norm="#007a5a",
    value="#b34700",
    boundary="#6e7781",
)
DARK = Theme(
    "dark",
    text="#e6edf3",
    grid="#3d444d",
    original="#56b4e9",
    norm="#2fd3a0",
    value="#f0a040",
    boundary="#9198a1",
)


@dataclass(frozen=True)
class Geometry:
    """The three vectors of the figure, and the numbers the page states about them."""

    original: tuple[float, float]
    norm_clipped: tuple[float, float]
    value_clipped: tuple[float, float]

    @staticmethod
    def length(v: tuple[float, float]) -> float:
        return math.hypot(*v)

    @staticmethod
    def angle(v: tuple[float, float]) -> float:
        """Direction in degrees, counter-clockwise from the first axis."""
        return math.degrees(math.atan2(v[1], v[0]))

    def cosine(self, v: tuple[float, float]) -> float:
        g = self.original
        return (v[0] * g[0] + v[1] * g[1]) / (self.length(v) * self.length(g))


def clip_geometry(g: tuple[float, float] = GRADIENT, c: float = THRESHOLD) -> Geometry:
    """Norm clipping g * min(1, c/||g||) and value clipping clamp(g, -c, c), in plain floats."""
    scale = min(1.0, c / math.hypot(*g))
    return Geometry(
        original=g,
        norm_clipped=(g[0] * scale, g[1] * scale),
        value_clipped=(max(-c, min(c, g[0])), max(-c, min(c, g[1]))),
    )


def _arrow(ax, end, colour, style, width, z):
    ax.add_patch(
        FancyArrowPatch(
            (0.0, 0.0),
            end,
            arrowstyle="-|>",
            mutation_scale=16,
            color=colour,
            linewidth=width,
            linestyle=style,
            zorder=z,
            shrinkA=0,
            shrinkB=0,
        )
    )


def draw_clipping_geometry(theme: Theme, path: Path) -> None:
    geo = clip_geometry()
    c = THRESHOLD
    with matplotlib.rc_context(DETERMINISTIC):
        fig = Figure(figsize=(7.2, 3.6))
        fig.patch.set_alpha(0.0)  # transparent: the page's background shows through
        ax = fig.add_axes((0.07, 0.12, 0.9, 0.84))
        ax.set_facecolor("none")

        # The two thresholds: norm clipping keeps g inside the circle ||g|| <= c,
        # value clipping inside the square |g_i| <= c.
        ax.add_patch(
            Circle(
                (0, 0),
                c,
                fill=False,
                edgecolor=theme.boundary,
                linewidth=1.2,
                linestyle=(0, (4, 3)),
                zorder=1,
            )
        )
        ax.add_patch(
            Rectangle(
                (-c, -c),
                2 * c,
                2 * c,
                fill=False,
                edgecolor=theme.boundary,
                linewidth=1.2,
                linestyle=(0, (1, 2)),
                zorder=1,
            )
        )
        ax.text(
            -0.86,
            0.3,
            f"‖g‖ = c = {c:g}",
            color=theme.boundary,
            fontsize=10,
            ha="left",
            va="bottom",
        )
        ax.text(
            -c + 0.06,
            -c + 0.06,
            "|gᵢ| ≤ c",
            color=theme.boundary,
            fontsize=10,
            ha="left",
            va="bottom",
        )

        _arrow(ax, geo.original, theme.original, "solid", 2.0, 3)
        _arrow(ax, geo.value_clipped, theme.value, (0, (5, 2)), 2.0, 4)
        _arrow(ax, geo.norm_clipped, theme.norm, "solid", 2.6, 5)

        g, n, v = geo.original, geo.norm_clipped, geo.value_clipped
        ax.text(
            g[0],
            g[1] + 0.1,
            f"gradient g = ({g[0]:g}, {g[1]:g})\nlength {geo.length(g):.2f}",
            color=theme.original,
            fontsize=10.5,
            ha="right",
            va="bottom",
        )
        ax.text(
            v[0] - 0.05,
            v[1] + 0.1,
            f"value-clipped ({v[0]:g}, {v[1]:g})\nlength {geo.length(v):.2f}, "
            f"turned {geo.angle(v) - geo.angle(g):.1f}°",
            color=theme.value,
            fontsize=10.5,
            ha="right",
            va="bottom",
        )
        ax.text(
            n[0] + 0.1,
            n[1] - 0.12,
            f"norm-clipped ({n[0]:.2f}, {n[1]:.2f})\nlength {geo.length(n):.2f}, same direction",
            color=theme.norm,
            fontsize=10.5,
            ha="left",
            va="top",
        )

        ax.set_xlim(-1.25, 3.35)
        ax.set_ylim(-1.2, 1.75)
        ax.set_aspect("equal")
        ax.axhline(0, color=theme.grid, linewidth=0.8, zorder=0)
        ax.axvline(0, color=theme.grid, linewidth=0.8, zorder=0)
        ax.set_xticks([-1, 0, 1, 2, 3])
        ax.set_yticks([-1, 0, 1])
        ax.tick_params(colors=theme.text, labelsize=9)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("g₁", color=theme.text, fontsize=10)
        ax.set_ylabel("g₂", color=theme.text, fontsize=10, rotation=0, labelpad=10)
        fig.savefig(path, format="svg", metadata=METADATA)


FIGURES = {
    f"clipping-geometry-{theme.name}.svg": (draw_clipping_geometry, theme)
    for theme in (LIGHT, DARK)
}


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (draw, theme) in FIGURES.items():
        draw(theme, out / name)
        written.append(out / name)
    return written


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    for path in write_all(out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
