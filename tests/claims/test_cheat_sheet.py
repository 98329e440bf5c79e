"""Sweeps of the general sentences in the table of docs/cheat-sheet.md.

- Gradient accumulation: clipping the accumulated `.grad` after every backward
  ends at norm at most c, while clipping each micro-batch's own gradient bounds
  the sum only by k c (and reaches it when the micro-batches agree): random
  gradients through `clip_grad_norm_` itself, since no snippet of the page
  clips per micro-batch.
- AdamW or Muon: the clip keeps a spike out of AdamW's `v` and Muon's momentum
  buffer, and shortens AdamW's spike step several times over only late in a run
  (the bound's two regimes, and an early run here; the late runs are in the
  adaptive-optimizers and why-gradients-explode claim tests): the
  adaptive-optimizers page's own snippets, on seeds its claim test does not use.
"""

from __future__ import annotations

import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "cheat-sheet.md"
SNIP = "guide/adaptive-optimizers/"


def clip_(grads, c):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, c)
    return [p.grad for p in params]


def test_accumulation_rows_bounds():
    where_loop = page_line(PAGE, "still ends at norm at most *c*")
    where_k = page_line(PAGE, "bounds the sum only by *k* · *c* for *k* micro-batches")
    gen = torch.Generator().manual_seed(0)
    for trial in range(200):
        k = 2 + trial % 4
        c = float(torch.rand(1, generator=gen)) * 3 + 0.1
        micro = [
            [torch.randn(5, generator=gen) * 10.0 ** (trial % 3), torch.randn(3, generator=gen)]
            for _ in range(k)
        ]
        # The wrong loop: clip the accumulated gradient after every backward.
        acc = [torch.zeros(5), torch.zeros(3)]
        for g in micro:
            acc = clip_([a + b for a, b in zip(acc, g)], c)
        total = torch.cat(acc).norm().item()
        assert total <= c * (1 + 1e-5), f"{where_loop}: norm {total} above c = {c}"
        # Per micro-batch: each clipped on its own, then summed.
        summed = [sum(parts) for parts in zip(*(clip_(g, c) for g in micro))]
        total = torch.cat(summed).norm().item()
        assert total <= k * c * (1 + 1e-5), f"{where_k}: norm {total} above k c"
    # The bound k c is reached when the micro-batches agree.
    g = [torch.ones(5) * 10, torch.ones(3) * 10]
    summed = [sum(parts) for parts in zip(*(clip_(g, 1.0) for _ in range(4)))]
    assert abs(torch.cat(summed).norm().item() - 4.0) < 1e-4, f"{where_k}: k c not reached"


def test_adamw_and_muon_row():
    where = page_line(PAGE, "It keeps a spike out of AdamW's moment estimates")
    where_late = page_line(PAGE, "It shortens AdamW's spike step several times over only late")
    spike = snippet_namespace(SNIP + "spike_under_sgd_and_adamw.md")
    plain = spike["train"](7, "AdamW", float("inf"), True)
    clip = spike["train"](7, "AdamW", spike["MAX_NORM"], True)
    assert plain["v"][1] / plain["v"][0] > 1000 > 2 > clip["v"][1] / clip["v"][0], where
    muon = snippet_namespace(SNIP + "muon_momentum_keeps_the_spike.md")
    (a, _), (b, _) = muon["updates"](float("inf"), 5), muon["updates"](muon["MAX_NORM"], 5)
    at = muon["SPIKE"]
    assert max(muon["cos"](a[at + k], b[at + k]) for k in range(10)) < 0.9, where
    regime = snippet_namespace(SNIP + "adamw_spike_step_early_and_late.md")
    bound = regime["spike_bound"]
    assert bound(51, 0.999) < 1 < 3 < bound(10**6, 0.999), where_late
    p = regime["train"](50, 0.999, float("inf"), 5)
    c = regime["train"](50, 0.999, regime["MAX_NORM"], 5)
    ratio = p["spike step"] / c["spike step"]
    assert ratio < 2.5, f"{where_late}: early spike step {ratio:.2f} x the clipped one"
    # The late runs (several times the clipped step) are swept by
    # test_adaptive_optimizers.py and test_why_gradients_explode.py.
