"""Claims of docs/training/accumulation.md: the snippet's `micro_loss` in one process, the
ranks' gradients averaged as DDP does, over seeds, world sizes and token counts."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from tests.support.claims import page_line, snippet_definitions

PAGE = "training/accumulation.md"
SNIPPET = "training/accumulation/count_tokens_over_all_ranks.md"
HOWS = ("mean of each micro-batch", "this rank's tokens", "all ranks' tokens")


NS = snippet_definitions(SNIPPET)


def data(seed: int, counts: list[list[int]]):
    """counts[rank][micro] valid tokens out of 12 in each micro-batch."""
    generator = torch.Generator().manual_seed(seed)
    vocab = NS["VOCAB"]
    return [
        [
            (
                torch.randint(vocab, (12,), generator=generator),
                torch.randint(vocab, (12,), generator=generator).masked_fill(
                    torch.arange(12) >= n, -100
                ),
            )
            for n in rank
        ]
        for rank in counts
    ]


def ddp_gradient(how: str, batches) -> torch.Tensor:
    """Each rank's summed micro-batch gradients, averaged over the ranks, as DDP does."""
    NS["dist"] = SimpleNamespace(get_world_size=lambda: len(batches))
    total = sum((labels != -100).sum() for micro in batches for _, labels in micro)
    per_rank = []
    for micro in batches:
        model = NS["new_model"]()
        local = sum((labels != -100).sum() for _, labels in micro)
        for tokens, labels in micro:
            NS["micro_loss"](how, model(tokens), labels, len(micro), local, total).backward()
        per_rank.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    return torch.stack(per_rank).mean(0)


def one_process(batches) -> torch.Tensor:
    model = NS["new_model"]()
    tokens = torch.cat([t for micro in batches for t, _ in micro])
    labels = torch.cat([lab for micro in batches for _, lab in micro])
    F.cross_entropy(model(tokens), labels).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def matches(how: str, batches) -> bool:
    return torch.allclose(ddp_gradient(how, batches), one_process(batches), rtol=1e-5, atol=1e-7)


def test_only_the_count_over_all_ranks_gives_the_single_process_gradient():
    where = page_line(PAGE, "Only the count over all ranks gives the single-process norm")
    counts = torch.Generator().manual_seed(1)
    for seed, world, micro in itertools.product(range(3), (2, 3, 4), (1, 2, 3)):
        table = torch.randint(1, 13, (world, micro), generator=counts).tolist()
        batches = data(seed, table)
        assert matches("all ranks' tokens", batches), f"{where}: seed {seed}, counts {table}"


def test_per_rank_and_per_micro_batch_counts_are_right_only_in_their_regime():
    where = page_line(PAGE, "Counting per rank is right only when every")
    for seed in range(3):
        cases = {
            "equal micro-batches": [[6, 6], [6, 6], [6, 6]],
            "equal rank totals": [[10, 2], [4, 8], [6, 6]],
            "unequal": [[12, 9], [3, 5], [7, 1]],
        }
        found = {
            name: {how: matches(how, data(seed, table)) for how in HOWS}
            for name, table in cases.items()
        }
        expected = {
            "equal micro-batches": {how: True for how in HOWS},
            "equal rank totals": {HOWS[0]: False, HOWS[1]: True, HOWS[2]: True},
            "unequal": {HOWS[0]: False, HOWS[1]: False, HOWS[2]: True},
        }
        assert found == expected, f"{where}: seed {seed}: single-process gradient by case {found}"
