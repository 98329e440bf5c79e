"""Claims of the table of docs/cheat-sheet.md: the accumulation row, with `clip_grad_norm_`
itself (no snippet clips per micro-batch). The AdamW/Muon row is swept with the page it
links to, in test_adaptive_optimizers.py."""

from __future__ import annotations

import torch

from tests.support.claims import page_line, params_with

PAGE = "cheat-sheet.md"


def clip_(grads, c):
    params = params_with(grads)
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
