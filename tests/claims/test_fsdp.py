"""Claims of docs/training/fsdp.md: the snippet's `clip_inf_norm_` and plain `clip_grad_norm_`
on FSDP2 models in gloo ranks, against one process."""

from __future__ import annotations

import math

import pytest
import torch

from tests.support.claims import on_ranks, page_line, snippet_definitions

PAGE = "training/fsdp.md"
SNIPPET = "training/fsdp/clip_grad_norm_inf_fails_on_empty_shard.md"
SEEDS = range(2)
FINITE_P = (1.0, 2.0, 3.0)
MAX_NORM = 0.05  # below every norm here, so every clip scales


def model(out: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, out))


def batch(seed: int, out: int):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(24, 8, generator=generator), torch.randn(24, out, generator=generator)


def reference(seed: int, out: int, norm_type: float):
    """One process, the whole model and batch: the norm and the clipped gradient."""
    net = model(out)
    x, y = batch(seed, out)
    torch.nn.functional.mse_loss(net(x), y).backward()
    norm = torch.nn.utils.clip_grad_norm_(net.parameters(), MAX_NORM, norm_type=norm_type)
    return norm.item(), [p.grad.clone() for p in net.parameters()]


def sharded(rank: int, world: int, mesh, seed: int, out: int):
    from torch.distributed.fsdp import fully_shard

    net = model(out)
    for layer in [net[0], net[2], net]:
        fully_shard(layer, mesh=mesh)
    x, y = batch(seed, out)
    xs, ys = x.chunk(world)[rank], y.chunk(world)[rank]
    torch.nn.functional.mse_loss(net(xs), ys).backward()
    return net


def check(rank: int, world: int) -> list[str]:
    """Every disagreement with one process, seen on this rank; the plain inf clip on
    a model with empty shards goes last, since its failure breaks the group."""
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cpu", (world,))
    clip_inf_norm_ = snippet_definitions(SNIPPET)["clip_inf_norm_"]
    problems = []

    def compare(what, clip, seed, out, norm_type):
        net = sharded(rank, world, mesh, seed, out)
        norm = clip(net, norm_type)
        norm = getattr(norm, "full_tensor", lambda: norm)().item()  # a DTensor or a tensor
        expected_norm, expected_grads = reference(seed, out, norm_type)
        grads = [p.grad.full_tensor() for p in net.parameters()]
        same = all(
            torch.allclose(g, e, rtol=1e-5, atol=1e-7) for g, e in zip(grads, expected_grads)
        )
        if not (math.isclose(norm, expected_norm, rel_tol=1e-5) and same):
            what = f"seed {seed}, out {out}, {what}"
            problems.append(f"{what}: norm {norm:.6g}, one process {expected_norm:.6g}, {same}")

    def plain(net, norm_type):
        return torch.nn.utils.clip_grad_norm_(net.parameters(), MAX_NORM, norm_type=norm_type)

    for seed in SEEDS:
        for out in (1, world):  # out=1: ranks >= 1 hold empty shards; out=world: none do
            for p in FINITE_P:
                compare(f"plain p={p}", plain, seed, out, p)
            compare(
                "clip_inf_norm_", lambda net, _: clip_inf_norm_(net, MAX_NORM), seed, out, math.inf
            )
            if out == world:  # no empty shard: the plain inf clip is right
                compare("plain inf, no empty shard", plain, seed, out, math.inf)
    net = sharded(rank, world, mesh, 0, 1)
    empty = any(p.grad.to_local().numel() == 0 for p in net.parameters())
    try:
        torch.nn.utils.clip_grad_norm_(net.parameters(), MAX_NORM, norm_type=math.inf)
        outcome = "no error"
    except RuntimeError as error:
        outcome = str(error)
    return problems + [("empty" if empty else "full", outcome)]


@pytest.mark.parametrize("world", [2, 3])
def test_plain_clip_is_right_for_finite_p_and_fails_for_inf_on_an_empty_shard(world):
    finite = page_line(PAGE, "`norm_type=2` and any other finite *p*")
    failing = page_line(PAGE, "With `norm_type=inf` it fails whenever a rank holds an")
    workaround = page_line(PAGE, "The workaround, `clip_inf_norm_`, takes the")
    outputs = on_ranks(check, world)
    problems = [p for rank in sorted(outputs) for p in outputs[rank][:-1]]
    assert not problems, f"{finite} / {workaround}: world {world}:\n" + "\n".join(problems)
    for rank, output in sorted(outputs.items()):
        kind, outcome = output[-1]
        if kind == "empty":
            assert "cannot compute the infinity norm on an empty tensor" in outcome, (
                f"{failing}: rank {rank} of {world}, with an empty shard: {outcome!r}"
            )
        else:  # it waits for a rank that failed
            assert outcome != "no error", f"{failing}: rank {rank} of {world} finished the clip"


def test_torch_chunk_rounding_can_leave_a_rank_empty():
    where = page_line(PAGE, "(5 rows over 4 ranks")
    from torch.distributed.fsdp._fully_shard._fsdp_common import _chunk_with_empty

    sizes = [len(c) for c in _chunk_with_empty(torch.zeros(5), 4, dim=0)]
    assert sizes == [2, 2, 1, 0], f"{where}: FSDP2 now splits 5 rows over 4 ranks as {sizes}"
    for rows in range(1, 12):  # fewer rows than ranks: some rank always holds nothing
        for ranks in range(rows + 1, 9):
            assert min(len(c) for c in _chunk_with_empty(torch.zeros(rows), ranks, dim=0)) == 0, (
                where
            )
