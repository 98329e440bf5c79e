"""Sweeps of the general sentences on docs/guide/why-gradients-explode.md.

- The "With SGD" note: under AdamW an unclipped spike moves one weight by up to
  about lr (1 - b1) / sqrt(1 - b2) once `v` has settled and by less than lr
  early in a run, so the clip shortens a late spike step several times over and
  an early one much less. The page has no snippet for it; the sweep runs the
  adaptive-optimizers page's own `train` and `spike_bound` on seeds that page's
  claim test does not use.
- The answer: with plain SGD, a clipped oversized batch moves the weights by at
  most lr x max_norm. The page's own `step_on_bad_batch` (SGD, lr 0.1,
  `max_norm` 1.0), on bad batches of every size and corrupted targets from 2 to
  1e6; the bound is reached once the gradient's norm is above `max_norm`.
"""

from __future__ import annotations

import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "guide/why-gradients-explode.md"
REGIME = "guide/adaptive-optimizers/adamw_spike_step_early_and_late.md"
ONE_STEP = "guide/why-gradients-explode/one_oversized_step_undoes_training.md"


def test_adamw_spike_step_early_and_late():
    where = page_line(PAGE, "so the clip shortens a late spike step several times over")
    ns = snippet_namespace(REGIME)
    train, bound, max_norm = ns["train"], ns["spike_bound"], ns["MAX_NORM"]
    assert all(bound(t, 0.999) < 1 for t in range(1, 101)), f"{where}: early bound above lr"
    assert abs(bound(10**6, 0.999) - 3.162) < 1e-3, f"{where}: the settled bound moved"
    for seed, spike_at, check in ((3, 50, lambda r: r < 2.5), (4, 2000, lambda r: r > 5)):
        plain = train(spike_at, 0.999, float("inf"), seed)
        clip = train(spike_at, 0.999, max_norm, seed)
        ratio = plain["largest"] / bound(spike_at + 1, 0.999)
        assert 0.95 < ratio < 1.15, f"{where}: seed {seed}: one weight moved {ratio:.3f} x bound"
        steps = plain["spike step"] / clip["spike step"]
        assert check(steps), (
            f"{where}: seed {seed}, spike at {spike_at}: unclipped / clipped = {steps:.2f}"
        )


def test_a_clipped_sgd_step_moves_the_weights_by_at_most_lr_times_max_norm():
    where = page_line(PAGE, "oversized batch then moves the weights by at most the learning rate")
    ns = snippet_namespace(ONE_STEP)
    lr, max_norm = 0.1, 1.0  # the values `step_on_bad_batch` uses
    before = torch.cat([p.detach().flatten() for p in ns["model"].parameters()])
    x, y, reached = ns["x"], ns["y"], 0
    for size in range(1, 33):
        for bad in (2.0, 10.0, 1e3, 1e6, -1e6):
            ns["x_bad"], ns["y_bad"] = x[-size:], y[-size:].clone()
            ns["y_bad"][0] = bad
            stepped, norm = ns["step_on_bad_batch"](clip=True)
            after = torch.cat([p.detach().flatten() for p in stepped.parameters()])
            moved = torch.linalg.vector_norm(after - before).item()
            assert moved <= lr * max_norm * (1 + 1e-6), (
                f"{where}: a bad batch of {size} with target {bad} moved the weights by "
                f"{moved:.7f}, more than lr x max_norm = {lr * max_norm}: reword the answer"
            )
            if norm > 2 * max_norm:
                reached += 1
                assert moved > 0.999 * lr * max_norm, (
                    f"{where}: batch of {size}, target {bad}: gradient norm {norm:.1f} above "
                    f"max_norm, yet the step is only {moved:.7f}"
                )
    assert reached > 100, f"{where}: only {reached} cases had a gradient above max_norm"
