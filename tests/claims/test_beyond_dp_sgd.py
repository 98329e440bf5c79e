"""Claim tests for docs/beyond/dp-sgd.md: the general sentences about per-sample
clipping, run with the page's own functions over seeds, batch sizes, C and σ."""

from __future__ import annotations

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "beyond/dp-sgd.md"
FUNC = "beyond/dp-sgd/per_sample_clipping_with_torch_func.md"
BATCH = "beyond/dp-sgd/batch_clipping_lets_one_example_dominate.md"


def test_vmap_version_matches_the_loop_with_and_without_noise():
    """dp_sgd_grads_ computes Algorithm 1 itself: it matches the per-example loop."""
    where = page_line(PAGE, "The two ways agree to floating-point rounding")
    ns = snippet_namespace(FUNC)
    fast_fn, slow_fn = ns["dp_sgd_grads_"], ns["naive_dp_sgd_grads"]
    loss_fn = torch.nn.functional.mse_loss
    clipped_some = unclipped_some = 0
    for seed in range(3):
        for batch in (1, 5, 16):
            for max_norm in (0.1, 1.0, 10.0):
                torch.manual_seed(seed)
                model = torch.nn.Sequential(
                    torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
                )
                x, y = torch.randn(batch, 5), 3.0 * torch.randn(batch, 2)
                for sigma in (0.0, 1.1):
                    norms = fast_fn(
                        model,
                        loss_fn,
                        x,
                        y,
                        max_norm,
                        sigma,
                        torch.Generator().manual_seed(seed + 1),
                    )
                    fast = [p.grad.clone() for p in model.parameters()]
                    slow = slow_fn(
                        model,
                        loss_fn,
                        x,
                        y,
                        max_norm,
                        sigma,
                        torch.Generator().manual_seed(seed + 1),
                    )
                    for a, b in zip(fast, slow):
                        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5), (
                            f"{where}: dp_sgd_grads_ and the loop differ by "
                            f"{(a - b).abs().max():.2e} (seed {seed}, batch {batch}, "
                            f"C={max_norm}, sigma={sigma})"
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
    """Per-sample clipping: any one example moves the result by at most C/B, exactly
    C/B when it was clipped; batch clipping: by up to 2C, not C/B."""
    where_ps = page_line(PAGE, "the outlier counts for at\nmost *C*, like any other example")
    where_batch = page_line(PAGE, "so one example can move the result by up to 2*C*")
    ns = snippet_namespace(BATCH)
    exceeded = 0
    for seed in range(6):
        for batch in (2, 5, 16):
            for c in (0.1, 1.0, 5.0):
                for outlier in (1.0, 100.0, 1e4):
                    g = _rows(seed, batch, outlier)
                    # The snippet's functions read B and the default C from globals.
                    ns["B"] = batch
                    clip = ns["clip"]
                    ns["clip"] = lambda v, c=c, _clip=clip: _clip(v, c)
                    try:
                        for i in range(batch):
                            others = torch.cat([g[:i], g[i + 1 :]])
                            moved = (
                                (ns["per_sample_clipped"](g) - ns["per_sample_clipped"](others))
                                .norm()
                                .item()
                            )
                            assert moved <= c / batch * (1 + 1e-5), (
                                f"{where_ps}: removing example {i} moved the result by "
                                f"{moved} > C/B = {c / batch} (seed {seed})"
                            )
                            if g[i].norm() > c:
                                assert moved == pytest.approx(c / batch, rel=1e-5), (
                                    f"{where_ps}: a clipped example moved the result by "
                                    f"{moved}, not exactly C/B = {c / batch}"
                                )
                            moved_b = (
                                (ns["batch_clipped"](g) - ns["batch_clipped"](others)).norm().item()
                            )
                            assert moved_b <= 2 * c * (1 + 1e-5), (
                                f"{where_batch}: batch clipping moved by {moved_b} > 2C"
                            )
                            exceeded += moved_b > c / batch * 1.5
                    finally:
                        ns["clip"] = clip
    assert exceeded > 50, f"{where_batch}: batch clipping was expected to exceed C/B for outliers"


def test_optax_returns_the_sum_and_divides_by_the_actual_batch_size():
    """Optax 0.2.8: per_example_global_norm_clip returns the sum of the clipped
    gradients and the count clipped; differentially_private_aggregate divides by the
    size of the batch it is given, whatever it is."""
    where_sum = page_line(PAGE, "which returns\nthe *sum* of the clipped per-example gradients")
    where_div = page_line(PAGE, "which divides by the actual\nbatch size")
    np = pytest.importorskip("numpy")
    optax = pytest.importorskip("optax")
    for batch in (1, 5):
        rows = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        rows[0] *= 50.0
        norms = np.linalg.norm(rows, axis=1)
        clipped = rows / np.maximum(1.0, norms / 1.0)[:, None]
        (total,), count = optax.per_example_global_norm_clip([rows], 1.0)
        assert np.allclose(np.asarray(total), clipped.sum(axis=0), rtol=1e-5), (
            f"{where_sum}: optax.per_example_global_norm_clip no longer returns the sum"
        )
        assert int(count) == int((norms > 1.0).sum()), f"{where_sum}: count {count}"
        agg = optax.contrib.differentially_private_aggregate(
            l2_norm_clip=1.0, noise_multiplier=0.0, key=0
        )
        (update,), _ = agg.update([rows], agg.init([rows[0]]))
        assert np.allclose(np.asarray(update), clipped.sum(axis=0) / batch, rtol=1e-5), (
            f"{where_div}: differentially_private_aggregate no longer divides by the "
            f"batch it is given ({batch}); re-read optax and fix the sentence"
        )
