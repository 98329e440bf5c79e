"""Claims of docs/training/optimizers-that-sync-in-step.md: the snippet's `train(rank, how)`
on new batches and 2 or 3 gloo ranks (which split the parameters unevenly)."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from tests.support.claims import on_ranks, page_line, snippet_definitions
from tests.support.paths import SNIPPETS

PAGE = "training/optimizers-that-sync-in-step.md"
SNIPPET = "training/optimizers-that-sync-in-step/clip_before_step_sees_the_local_gradient.md"
BEFORE = "clip_grad_norm_ before step()"
INSIDE = "clip inside step(), after the reduce-scatter"
SEEDS = range(4)

NS = snippet_definitions(SNIPPET)


def batches(seed: int) -> list:
    """3 steps of 12 examples (12 splits evenly over 2 and 3 ranks)."""
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(12, 8, generator=generator), torch.randn(12, 3, generator=generator))
        for _ in range(3)
    ]


def reference(seed: int) -> tuple[list[str], torch.Tensor]:
    """One process, the whole batch of every step, the same clip."""
    model = NS["new_model"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    norms = []
    for x, y in batches(seed):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        norms.append(f"{torch.nn.utils.clip_grad_norm_(model.parameters(), NS['MAX_NORM']):.4f}")
        optimizer.step()
    return norms, torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("world", [2, 3])
def test_a_clip_before_step_is_local_and_the_clip_inside_step_is_single_process(world):
    local = page_line(PAGE, "so `clip_grad_norm_` measures a")
    inside = page_line(PAGE, "Clip inside `step()`, after the")
    swept = page_line(PAGE, "ranks' norms differ from each other and from the single process")

    def work(rank, _):
        runs = {}
        for seed in SEEDS:
            NS["batches"] = batches(seed)  # the snippet's train() reads it
            runs[seed] = {how: NS["train"](rank, how) for how in (BEFORE, INSIDE)}
        return runs

    NS["WORLD_SIZE"] = world
    out = on_ranks(work, world)
    for seed in SEEDS:
        norms, weights = reference(seed)
        case = f"{world} ranks, seed {seed}"
        for rank in range(world):
            got_norms, got_weights = out[rank][seed][INSIDE]
            assert got_norms == norms, f"{inside}: {case}, rank {rank}: {got_norms}, not {norms}"
            same = torch.allclose(torch.tensor(got_weights), weights, atol=1e-6)
            assert same, f"{inside}: {case}, rank {rank}: not the single process's weights"
            before_norms, before_weights = out[rank][seed][BEFORE]
            assert all(a != b for a, b in zip(before_norms, norms)), (
                f"{swept}: {case}, rank {rank}: {before_norms} meets the single process's {norms}"
            )
            same = torch.allclose(torch.tensor(before_weights), weights, atol=1e-6)
            assert not same, f"{swept}: {case}: the clip before step() gave one process's weights"
        for step in range(3):
            seen = [out[rank][seed][BEFORE][0][step] for rank in range(world)]
            assert len(set(seen)) == world, f"{local}: {case}, step {step + 1}: {seen}"


def _printed_norms(snippet: str) -> list[str]:
    text = (SNIPPETS / snippet).read_text()
    output = text.split("<!--pytest-codeblocks:expected-output-->", 1)[1]
    return re.findall(r"grad norm (\d+\.\d+)", output)


def test_the_sharded_script_prints_the_norms_of_the_ddp_and_fsdp2_scripts():
    where = page_line(PAGE, "the same three as the")
    ours = _printed_norms(
        "training/optimizers-that-sync-in-step/torchrun_clip_inside_sharded_step.md"
    )
    assert ours == ["1.072", "0.891", "1.024"], f"{where}: the script now prints {ours}"
    for other in ("training/ddp/torchrun_ddp_clip.md", "training/fsdp/torchrun_fsdp2_clip.md"):
        assert _printed_norms(other) == ours, f"{where}: {other} prints {_printed_norms(other)}"
