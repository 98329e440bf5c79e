"""Claims of docs/beyond/agc.md: the page's `adaptive_clip_grad_` over seeds, layer shapes,
thresholds and gradient scales, and Optax's layouts."""

from __future__ import annotations

import itertools

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "beyond/agc.md"
UNIT = "beyond/agc/unit_over_lambda_ends_at_lambda.md"
EPS = "beyond/agc/eps_floor_lets_zero_weights_learn.md"

# Linear (out, in), Conv2d/1d (out, in, k...), a bias, a Linear with one input.
SHAPES = [(3, 4), (16, 1), (8, 3, 3, 3), (6, 2, 5), (7,), (1, 9)]


def _units(t: torch.Tensor) -> torch.Tensor:
    """One row per unit: dim 0 slices of a weight, the whole of a vector."""
    return t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(1, -1)


def test_only_units_over_lambda_change_and_they_end_at_lambda():
    where_kept = page_line(PAGE, "while units 0 and 2 are bit-for-bit unchanged")
    where_others = page_line(PAGE, "one unit's oversized gradient does not shrink the others")
    clip_ = snippet_namespace(UNIT)["adaptive_clip_grad_"]
    over = under = 0
    for seed, shape, clipping in itertools.product(range(6), SHAPES, (0.01, 0.04, 0.16)):
        gen = torch.Generator().manual_seed(seed)
        p = torch.nn.Parameter(torch.randn(shape, generator=gen))
        # Per-unit gradient scales from far below to far above λ·‖W_i‖.
        grad = torch.randn(shape, generator=gen)
        scales = torch.logspace(-4, 1, _units(grad).shape[0])
        grad = _units(grad) * scales[torch.randperm(len(scales), generator=gen)][:, None]
        grad = grad.reshape(shape)
        p.grad = grad.clone()
        w_norm = _units(p.detach()).norm(dim=1).clamp(min=1e-3)
        ratio = _units(grad).norm(dim=1) / w_norm
        clip_([p], clipping=clipping)
        after = _units(p.grad)
        for i, r in enumerate(ratio.tolist()):
            if r > clipping * (1 + 1e-5):
                over += 1
                new = (after[i].norm() / w_norm[i]).item()
                cos = torch.nn.functional.cosine_similarity(after[i], _units(grad)[i], dim=0).item()
                assert new == pytest.approx(clipping, rel=1e-5) and cos > 1 - 1e-6, (
                    f"{where_others}: seed {seed}, {shape}, λ={clipping}: ratio {new}, cos {cos}"
                )
            elif r < clipping * (1 - 1e-5):
                under += 1
                assert torch.equal(after[i], _units(grad)[i]), (
                    f"{where_kept}: seed {seed}, {shape}, λ={clipping}: a unit under λ changed"
                )
    assert over > 50 and under > 50, "the sweep must reach both sides of λ"


def test_zero_weights_stay_zero_without_the_floor():
    where = page_line(PAGE, "so the weights stay exactly zero however long you train")
    clip_ = snippet_namespace(EPS)["adaptive_clip_grad_"]
    for seed in range(4):
        torch.manual_seed(seed)
        layer = torch.nn.Linear(5, 3)
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
        for opt in (
            torch.optim.SGD(layer.parameters(), lr=1.0, momentum=0.9),
            torch.optim.Adam(layer.parameters(), lr=0.1),
        ):
            for _ in range(100):
                x, y = torch.randn(16, 5) * 10, torch.randn(16, 3) * 10
                opt.zero_grad()
                torch.nn.functional.mse_loss(layer(x), y).backward()
                clip_(layer.parameters(), clipping=0.16, eps=0.0)
                opt.step()
            moved = layer.weight.any() or layer.bias.any()
            assert not moved, f"{where}: seed {seed}, {type(opt).__name__}: the layer moved"


def test_below_eps_a_unit_moves_at_most_lambda_eps_a_step():
    where = page_line(PAGE, "so at\nlearning rate 1 it moves by at most 10⁻⁵ a step")
    where_growth = page_line(PAGE, "weight grows by √2 · 10⁻⁵ a step")
    ns = snippet_namespace(EPS)
    clip_ = ns["adaptive_clip_grad_"]
    checked = 0
    for seed in range(5):
        torch.manual_seed(seed)
        x, y = torch.randn(16, 4), torch.randn(16, 2)
        layer = torch.nn.Linear(4, 2, bias=False)
        torch.nn.init.zeros_(layer.weight)
        opt = torch.optim.SGD(layer.parameters(), lr=1.0)
        norms = []
        for _ in range(150):
            before = layer.weight.detach().clone()
            opt.zero_grad()
            torch.nn.functional.mse_loss(layer(x), y).backward()
            clip_(layer.parameters(), clipping=0.01, eps=1e-3)
            opt.step()
            moved = (layer.weight.detach() - before).norm(dim=1)
            small = before.norm(dim=1) < 1e-3
            if small.any():
                checked += 1
                assert (moved[small] <= 1e-5 * (1 + 1e-4)).all(), (
                    f"{where}: seed {seed}: a unit below ε moved {moved[small].max():.3e}"
                )
            norms.append(layer.weight.norm().item())
        # The page's three steps: the whole weight grows by √2·10⁻⁵ each.
        steps = [norms[0]] + [b - a for a, b in zip(norms[:2], norms[1:3])]
        assert all(s == pytest.approx(2**0.5 * 1e-5, rel=1e-3) for s in steps), (
            f"{where_growth}: seed {seed}: the first three steps grew the norm by {steps}"
        )
    assert checked > 100


def test_optax_layouts_the_page_describes():
    where_squeeze = page_line(PAGE, "is a single unit there, where the\nper-row rule")
    where_rank3 = page_line(PAGE, "Both reduce a rank-3 kernel over axis 0")
    where_transpose = page_line(PAGE, "weight has shape `(4, 3, 3, 3)`")
    import numpy as np
    import optax

    def clipped(params, grads, clipping=0.1):
        agc = optax.adaptive_grad_clip(clipping)
        updates, _ = agc.update(grads, agc.init(params), params)
        return np.asarray(updates)

    for n in (4, 9, 16):
        # (I, O) = (1, n): per unit, entry 0 would end at 0.1; as one unit at 0.1 sqrt(n)
        params = np.ones((1, n), np.float32)
        grads = np.zeros((1, n), np.float32)
        grads[0, 0] = 0.5
        got = clipped(params, grads)[0, 0]
        assert got == pytest.approx(0.1 * n**0.5, rel=1e-5), f"{where_squeeze}: (1, {n}): {got}"
    # Rank 3 of ones: over axis 0 a unit has norm sqrt(3), over axes 0-2 sqrt(12)
    params = np.ones((3, 4, 5), np.float32)
    grads = np.zeros((3, 4, 5), np.float32)
    grads[0, 0, 0] = 1.0
    got = clipped(params, grads)[0, 0, 0]
    assert got == pytest.approx(0.1 * 3**0.5, rel=1e-5), f"{where_rank3}: {got}"
    weight = torch.nn.ConvTranspose2d(4, 6, 3, groups=2).weight
    assert tuple(weight.shape) == (4, 3, 3, 3), f"{where_transpose}: {weight.shape}"


def test_the_answers_short_form_is_the_tested_function():
    where = page_line(PAGE, "a shorter form of the tested")
    short = snippet_namespace("beyond/agc/agc_every_parameter_but_the_classifier.md")
    tested = snippet_namespace(UNIT)["adaptive_clip_grad_"]
    for seed, shape, clipping in itertools.product(range(60), [*SHAPES, ()], (0.01, 0.1, 1.0)):
        torch.manual_seed(seed)
        w = torch.randn(shape)
        if seed % 5 == 0 and w.ndim:
            w[0] = 0.0  # a unit whose weights are zero: the eps floor decides
        g = torch.randn(shape) * 10.0 ** (seed % 7 - 3)
        a, b = torch.nn.Parameter(w.clone()), torch.nn.Parameter(w.clone())
        a.grad, b.grad = g.clone(), g.clone()
        short["adaptive_clip_grad_"]([a], clipping=clipping)
        tested([b], clipping=clipping)
        assert torch.equal(a.grad, b.grad), f"{where}: seed {seed}, {shape}, {clipping}"
