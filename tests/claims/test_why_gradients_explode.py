"""Sweeps of the general sentences on docs/guide/why-gradients-explode.md.

- The "With SGD" note: under AdamW an unclipped spike moves one weight by up to
  about lr (1 - b1) / sqrt(1 - b2) once `v` has settled and by less than lr
  early in a run, so the clip shortens a late spike step several times over and
  an early one much less. The page has no snippet for it; the sweep runs the
  adaptive-optimizers page's own `train` and `spike_bound` on seeds that page's
  claim test does not use.
"""

from __future__ import annotations

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "guide/why-gradients-explode.md"
REGIME = "guide/adaptive-optimizers/adamw_spike_step_early_and_late.md"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread is the fastest, and Muon's bfloat16 products
    slow down badly when two threads share a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
