"""Claims of docs/training/ddp.md: the snippet's `train(rank, how)` on new batches and world
sizes in gloo ranks; clipping after DDP's backward() is single-process, before averaging not."""

from __future__ import annotations

import pytest
import torch

from tests.support.claims import on_ranks, page_line, snippet_definitions

PAGE = "training/ddp.md"
SNIPPET = "training/ddp/ddp_clip_matches_single_process.md"
HOWS = ["DDP, then clip", "DDP, 2 micro-batches with no_sync, then clip", "clip, then average"]


NS = snippet_definitions(SNIPPET)


def batches() -> list:
    out = []
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        out += [
            (torch.randn(16, 8, generator=generator), torch.randn(16, 1, generator=generator))
            for _ in range(3)
        ]
    return out


def reference() -> tuple[list[str], list[torch.Tensor]]:
    """One process, the whole batch of every step, the snippet's clip."""
    model = NS["new_model"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    norms, grads = [], []
    for x, y in batches():
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        norms.append(f"{torch.nn.utils.clip_grad_norm_(model.parameters(), NS['MAX_NORM']):.4f}")
        grads.append(NS["flat"](p.grad for p in model.parameters()))
        optimizer.step()
    return norms, grads


@pytest.mark.parametrize("world", [2, 4])
def test_clip_after_ddp_backward_is_single_process_and_clip_before_averaging_is_not(world):
    after = page_line(PAGE, "A plain `clip_grad_norm_` after `backward()` therefore measures the")
    no_sync = page_line(
        PAGE, "Under DDP, with or without `no_sync()` accumulation, both ranks measure the"
    )
    before = page_line(PAGE, "the average of clipped gradients is not the")
    expected_norms, expected_grads = reference()
    NS["batches"], NS["WORLD_SIZE"] = batches(), world  # the snippet's train() reads both
    outputs = on_ranks(lambda rank, _: {how: NS["train"](rank, how) for how in HOWS}, world)
    for rank, runs in sorted(outputs.items()):
        for how in HOWS[:2]:
            norms, grads = runs[how]
            same = [
                torch.allclose(torch.tensor(g), r, atol=1e-6) for g, r in zip(grads, expected_grads)
            ]
            close = all(abs(float(a) - float(b)) < 1.5e-4 for a, b in zip(norms, expected_norms))
            assert close and len(norms) == len(expected_norms) and all(same), (
                f"{after} / {no_sync}: {world} ranks, rank {rank}, {how!r}: norms {norms}, not"
                f" {expected_norms}; same update per step {same}"
            )
        _, grads = runs["clip, then average"]
        differs = [
            not torch.allclose(torch.tensor(g), r, atol=1e-6) for g, r in zip(grads, expected_grads)
        ]
        assert all(differs), f"{before}: {world} ranks, rank {rank}: matched one process {differs}"
