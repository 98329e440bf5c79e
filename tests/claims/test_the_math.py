"""Claims of docs/guide/the-math.md, over random gradients, thresholds and dtypes."""

from __future__ import annotations

import numpy as np
import torch

from tests.support.claims import page_line, params_with, snippet_namespace

PAGE = "guide/the-math.md"


def clip(grads, c):
    """clip_grad_norm_ on copies of `grads` (numpy arrays); returns the results."""
    params = params_with(grads)
    torch.nn.utils.clip_grad_norm_(params, max_norm=c)
    return [p.grad.numpy() for p in params]


def random_grads(rng, dtype, low=-5, high=5):
    """One to three tensors of 1 to 50 entries, a global norm of 10**low .. 10**high."""
    grads = [rng.standard_normal(rng.integers(1, 51)) for _ in range(rng.integers(1, 4))]
    scale = 10.0 ** rng.uniform(low, high) / np.linalg.norm(np.concatenate(grads))
    return [(g * scale).astype(dtype) for g in grads]


def total(grads) -> float:
    return float(np.linalg.norm(np.concatenate(grads).astype(np.float64)))


def test_norm_clipping_never_lengthens_and_keeps_the_direction():
    where = page_line(PAGE, "so norm clipping can only shrink a")
    rng = np.random.default_rng(0)
    for trial in range(1500):
        grads = random_grads(rng, [np.float32, np.float64][trial % 2])
        n = total(grads)
        c = n * 10.0 ** rng.uniform(-3, 3) if trial % 3 else n  # at the threshold, too
        out = clip(grads, c)
        for a, g in zip(out, grads):
            assert np.all(np.abs(a) <= np.abs(g)), f"{where}: an entry grew (norm {n}, c {c})"
            assert np.all(np.sign(a) * np.sign(g) >= 0), f"{where}: an entry changed sign"
        flat, before = np.concatenate(out), np.concatenate(grads)
        cosine = flat @ before / (np.linalg.norm(flat) * np.linalg.norm(before))
        assert cosine > 1 - 1e-6, f"{where}: the direction changed (cosine {cosine})"


def test_bit_for_bit_below_the_threshold_with_the_margin():
    where = page_line(PAGE, "*c* (1 − 10⁻⁶) − 10⁻⁶, comes back bit-for-bit unchanged")
    rng = np.random.default_rng(1)
    for trial in range(1500):
        grads = random_grads(rng, [np.float32, np.float64][trial % 2], low=-7, high=6)
        n = float(torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads]))
        c = (n + 1e-6) / (1 - 1e-6) * (1 + rng.uniform(0, 1) ** 6 * 5)
        for a, g in zip(clip(grads, c), grads):
            assert np.array_equal(a, g), f"{where}: {g.dtype} norm {n}, c {c} changed it"


def test_float64_within_1e6_and_at_the_threshold_shrinks():
    where = page_line(PAGE, "Within 10⁻⁶ of the threshold, the 10⁻⁶ in the denominator")
    rng = np.random.default_rng(2)
    for trial in range(1500):
        grads = random_grads(rng, np.float64, low=-3, high=6)
        n = float(torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads]))
        c = n if trial % 2 else n + rng.uniform(0, 0.99e-6)  # at it, or within 1e-6 above
        out = clip(grads, c)
        assert not all(np.array_equal(a, g) for a, g in zip(out, grads)), f"{where}: {n}, c {c}"
    # and in float32 the 1e-6 is lost once the norm reaches 32
    for n in 32 * 2.0 ** rng.uniform(0, 20, 200):
        n32 = torch.tensor(n, dtype=torch.float32)
        assert (n32 + 1e-6).item() == n32.item(), f"{where}: {n} + 1e-6 != {n} in float32"
    assert (torch.tensor(31.99, dtype=torch.float32) + 1e-6).item() != np.float32(31.99)


def test_float64_above_the_threshold_lands_inside_the_ball():
    where = page_line(PAGE, "Above the threshold the result lands just inside the ball")
    rng = np.random.default_rng(3)
    for _ in range(1500):
        grads = random_grads(rng, np.float64, low=-3, high=6)
        n = total(grads)
        c = n / 10.0 ** rng.uniform(1e-3, 6)
        after = total(clip(grads, c))
        assert after <= c, f"{where}: clipped float64 norm {after} above c = {c}"
        assert after > c * (1 - 2e-6 / n - 1e-12), f"{where}: {after} not just inside c = {c}"


def test_value_clipping_keeps_signs_and_is_bounded_by_c_sqrt_n():
    where_sign = page_line(PAGE, "the clipped vector never points")
    where_len = page_line(PAGE, "can be as long as")
    rng = np.random.default_rng(4)
    for trial in range(1500):
        size = int(rng.integers(1, 200))
        g = torch.tensor(rng.standard_normal(size) * 10.0 ** rng.uniform(-3, 3))
        c = float(10.0 ** rng.uniform(-4, 3))
        if trial % 10 == 0:  # every entry at least c: the bound is reached
            g = torch.sign(g) * (c + g.abs())
        p = torch.nn.Parameter(torch.zeros(size, dtype=torch.float64))
        p.grad = g.clone()
        torch.nn.utils.clip_grad_value_([p], clip_value=c)
        a = p.grad
        assert torch.equal(torch.sign(a), torch.sign(g)), f"{where_sign}: a sign changed"
        assert torch.dot(a, g) > 0, f"{where_sign}: dot product {torch.dot(a, g)}"
        length, bound = torch.linalg.vector_norm(a).item(), c * size**0.5
        assert length <= bound * (1 + 1e-12), f"{where_len}: {length} > c sqrt(n) = {bound}"
        if trial % 10 == 0:
            assert np.isclose(length, bound, rtol=1e-12), f"{where_len}: bound not reached"


def test_article_formula_passes_negative_entries_and_caps_positive_ones():
    ns = snippet_namespace("guide/the-math/article_formula_ignores_negative_entries.md")
    article, norm_clip = ns["article_formula"], ns["norm_clip"]
    where = page_line(PAGE, "however large it is")
    where_norm = page_line(PAGE, "is norm clipping, written another way")
    rng = np.random.default_rng(5)
    for _ in range(300):
        c = float(10.0 ** rng.uniform(-3, 3))
        g = torch.tensor(
            rng.standard_normal(64) * c * 10.0 ** rng.uniform(-2, 4), dtype=torch.float32
        )
        out = article(g, c)
        negative, small = g < 0, (g >= 0) & (g <= c)
        assert torch.equal(out[negative], g[negative]), f"{where}: a negative entry changed"
        assert torch.equal(out[small], g[small]), f"{where}: an entry in [0, c] changed"
        big = out[g > c]
        assert torch.allclose(big, torch.full_like(big, c), rtol=3e-7, atol=0), (
            f"{where}: a positive entry above c = {c} was not capped at c"
        )
        # g / max(1, ||g|| / c) is g * min(1, c / ||g||): norm clipping without the 1e-6
        length = torch.linalg.vector_norm(g)
        written = g / torch.clamp(length / c, min=1.0)
        assert torch.allclose(written, g * torch.clamp(c / length, max=1.0), rtol=1e-6), where_norm
        assert torch.allclose(written, norm_clip(g, c), rtol=1e-6, atol=1e-6), where_norm
