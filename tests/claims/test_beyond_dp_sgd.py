"""Claims of docs/beyond/dp-sgd.md: the page's functions over seeds, batch sizes, C and σ."""

from __future__ import annotations

import itertools

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "beyond/dp-sgd.md"
FUNC = "beyond/dp-sgd/per_sample_clipping_with_torch_func.md"
BATCH = "beyond/dp-sgd/batch_clipping_lets_one_example_dominate.md"


def test_vmap_version_matches_the_loop_with_and_without_noise():
    where = page_line(PAGE, "The two ways agree to floating-point rounding")
    ns = snippet_namespace(FUNC)
    fast_fn, slow_fn = ns["dp_sgd_grads_"], ns["naive_dp_sgd_grads"]
    loss_fn = torch.nn.functional.mse_loss
    clipped_some = unclipped_some = 0
    for seed, batch, max_norm in itertools.product(range(3), (1, 5, 16), (0.1, 1.0, 10.0)):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        x, y = torch.randn(batch, 5), 3.0 * torch.randn(batch, 2)
        for sigma in (0.0, 1.1):
            args = (model, loss_fn, x, y, max_norm, sigma)
            norms = fast_fn(*args, torch.Generator().manual_seed(seed + 1))
            fast = [p.grad.clone() for p in model.parameters()]
            slow = slow_fn(*args, torch.Generator().manual_seed(seed + 1))
            for a, b in zip(fast, slow):
                assert torch.allclose(a, b, atol=1e-6, rtol=1e-5), (
                    f"{where}: seed {seed}, batch {batch}, C={max_norm}, sigma={sigma}"
                )
        clipped_some += int((norms > max_norm).any())
        unclipped_some += int((norms <= max_norm).any())
    assert clipped_some and unclipped_some, "the sweep must clip some examples, not all"


def _rows(seed: int, batch: int, outlier: float):
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(batch, 6, generator=gen) * torch.rand(batch, 1, generator=gen) * 3
    g[0] *= outlier
    return g


def test_removing_one_example_moves_per_sample_clipping_by_at_most_c_over_b():
    where_ps = page_line(PAGE, "the outlier counts for at\nmost *C*, like any other example")
    where_batch = page_line(PAGE, "so one example can move the result by up to 2*C*")
    ns = snippet_namespace(BATCH)
    clip, per, whole = ns["clip"], ns["per_sample_clipped"], ns["batch_clipped"]
    exceeded = 0
    for seed, batch, c, outlier in itertools.product(
        range(6), (2, 5, 16), (0.1, 1.0, 5.0), (1.0, 100.0, 1e4)
    ):
        g = _rows(seed, batch, outlier)
        # the snippet's functions read B and the default C from globals
        ns["B"], ns["clip"] = batch, lambda v, c=c: clip(v, c)
        for i in range(batch):
            others = torch.cat([g[:i], g[i + 1 :]])
            moved = (per(g) - per(others)).norm().item()
            case = f"{where_ps}: seed {seed}, C/B {c / batch}, drop {i}: {moved}"
            assert moved <= c / batch * (1 + 1e-5), case
            if g[i].norm() > c:
                assert moved == pytest.approx(c / batch, rel=1e-5), case
            moved_b = (whole(g) - whole(others)).norm().item()
            assert moved_b <= 2 * c * (1 + 1e-5), f"{where_batch}: {moved_b} > 2C"
            exceeded += moved_b > c / batch * 1.5
    assert exceeded > 50, f"{where_batch}: batch clipping was expected to exceed C/B for outliers"


def test_optax_returns_the_sum_and_divides_by_the_actual_batch_size():
    where_sum = page_line(PAGE, "which returns\nthe *sum* of the clipped per-example gradients")
    where_div = page_line(PAGE, "which divides by the actual\nbatch size")
    import numpy as np
    import optax

    for batch in (1, 5):
        rows = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        rows[0] *= 50.0
        norms = np.linalg.norm(rows, axis=1)
        clipped = rows / np.maximum(1.0, norms / 1.0)[:, None]
        (total,), count = optax.per_example_global_norm_clip([rows], 1.0)
        assert np.allclose(np.asarray(total), clipped.sum(axis=0), rtol=1e-5), where_sum
        assert int(count) == int((norms > 1.0).sum()), f"{where_sum}: count {count}"
        agg = optax.contrib.differentially_private_aggregate(
            l2_norm_clip=1.0, noise_multiplier=0.0, key=0
        )
        (update,), _ = agg.update([rows], agg.init([rows[0]]))
        assert np.allclose(np.asarray(update), clipped.sum(axis=0) / batch, rtol=1e-5), (
            f"{where_div}: batch {batch}"
        )


class _MeanOverTime(torch.nn.Module):
    def forward(self, h):
        return h.mean(dim=1) if h.dim() == 3 else h


def _ghost_clipped_sum(model, x, y, max_norm, per_example=True):
    """Opacus 1.6.0's ghost clipping, noise off: p.grad = the sum of the clipped gradients.
    The loss is per example, shape (B,), unless per_example is False: then (B, 1)."""
    from opacus.grad_sample import GradSampleModuleFastGradientClipping
    from opacus.optimizers import DPOptimizerFastGradientClipping
    from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping

    ghost = GradSampleModuleFastGradientClipping(
        model, max_grad_norm=max_norm, loss_reduction="sum"
    )
    optimizer = DPOptimizerFastGradientClipping(
        torch.optim.SGD(ghost.parameters(), lr=0.1),
        noise_multiplier=0.0,
        max_grad_norm=max_norm,
        expected_batch_size=len(x),
        loss_reduction="sum",
    )
    criterion = DPLossFastGradientClipping(
        ghost, optimizer, torch.nn.MSELoss(reduction="sum"), "sum"
    )
    model.zero_grad()
    out = ghost(x)
    (criterion(out.squeeze(1), y) if per_example else criterion(out, y.unsqueeze(1))).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    ghost._close()
    return ghost.per_sample_gradient_norms, grads


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_ghost_clipping_gives_the_vmap_norms_and_clipped_sum():
    where = page_line(PAGE, "Both give the same per-example norms and the same clipped sum")
    dp_sgd_grads_ = snippet_namespace(FUNC)["dp_sgd_grads_"]
    cases = itertools.product(range(4), (1, 7, 32), (0.1, 1.0, 10.0), ((5,), (6, 5)))
    for seed, batch, max_norm, shape in cases:  # (6, 5): a sequence of 6 steps per example
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1), _MeanOverTime()
        )
        x, y = torch.randn(batch, *shape), 3.0 * torch.randn(batch, 1)
        norms = dp_sgd_grads_(model, torch.nn.functional.mse_loss, x, y, max_norm, 0.0)
        by_vmap = [p.grad * batch for p in model.parameters()]
        ghost_norms, by_ghost = _ghost_clipped_sum(model, x, y.squeeze(1), max_norm)
        case = f"seed {seed}, batch {batch}, C={max_norm}, input {shape}"
        assert torch.allclose(ghost_norms, norms, rtol=1e-4, atol=1e-6), f"{where}: {case}"
        for a, b in zip(by_ghost, by_vmap):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), f"{where}: {case}"


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_a_loss_of_shape_batch_by_one_breaks_ghost_clipping_silently():
    where = page_line(PAGE, "the gradients come out wrong with no error")
    for seed in range(5):
        sums = {}
        for per_example in (True, False):
            torch.manual_seed(seed)
            model = torch.nn.Sequential(
                torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
            )
            x, y = torch.randn(16, 5), 3.0 * torch.randn(16)
            _, grads = _ghost_clipped_sum(model, x, y, 1.0, per_example)
            sums[per_example] = torch.stack([g.norm() for g in grads]).norm().item()
        assert sums[True] <= 16 + 1e-4, f"{where}: seed {seed}: the (B,) loss breaks the bound"
        assert sums[False] > 16, f"{where}: seed {seed}: the (B, 1) loss kept the bound: {sums}"
