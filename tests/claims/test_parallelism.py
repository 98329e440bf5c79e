"""Claims of docs/training/parallelism.md about counting every gradient entry once: the
expert-parallel snippet's `norms(rank)` on thread ranks with a summing `all_reduce`, and the
HSDP snippet's model on four gloo ranks."""

from __future__ import annotations

import itertools
import math
import threading

import torch
import torch.distributed as dist

from tests.support.claims import on_ranks, page_line, snippet_definitions, snippet_namespace

PAGE = "training/parallelism.md"


class ThreadGroup:
    """`dist.all_reduce` (SUM) over ranks that are threads of this process."""

    def __init__(self, world: int):
        self.world = world
        self.barrier = threading.Barrier(world, timeout=30)
        self.slots: dict[int, torch.Tensor] = {}
        self.local = threading.local()

    def all_reduce(self, tensor, op=None, group=None):
        self.slots[self.local.rank] = tensor.detach().clone()
        self.barrier.wait()
        total = torch.stack([self.slots[r] for r in range(self.world)]).sum(0)
        self.barrier.wait()  # every rank has read the slots before any is reused
        tensor.copy_(total)

    def run(self, function):
        results, errors = {}, []

        def rank_main(rank):
            self.local.rank = rank
            try:
                results[rank] = function(rank)
            except BaseException as error:  # reported below, with the rank
                errors.append((rank, error))
                self.barrier.abort()

        threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(self.world)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, f"ranks failed: {errors}"
        return results


def test_experts_summed_shared_once_and_the_mean_of_norms_is_not_the_norm():
    formula = page_line(
        PAGE, "The global squared norm is the shared parameters' squared norm, counted once"
    )
    mean_line = page_line(PAGE, "The mean of square roots is not the square root of the sum")
    mean_line += " / " + page_line(PAGE, "the norm only when all ranks hold the same parameters")
    summed_line = page_line(PAGE, "counts the replicated parameters once per rank")
    ns = snippet_definitions("training/parallelism/expert_norms_count_shared_once.md")
    seeding, gradients = threading.Lock(), ns["gradients"]

    def one_at_a_time():  # the model seeds the global generator: no two threads at once
        with seeding:
            return gradients()

    ns["gradients"] = one_at_a_time
    for seed, experts, world in itertools.product(range(4), (2, 4, 8), (2, 4)):
        if experts < world:
            continue
        generator = torch.Generator().manual_seed(seed)
        ns["x"] = torch.randn(64, 8, generator=generator)
        ns["y"] = torch.randn(64, 8, generator=generator)
        ns["EXPERTS"], ns["WORLD_SIZE"] = experts, world
        group = ThreadGroup(world)
        ns["dist"] = group
        reference = torch.nn.utils.get_total_norm(list(gradients().values())).item()
        found = group.run(ns["norms"])
        case = f"seed {seed}, {experts} experts, {world} ranks"
        for rank, norms in found.items():
            right = norms["shared once + experts summed"]
            msg = f"{case}, rank {rank}, the norm {reference:.6g}"
            assert math.isclose(right, reference, rel_tol=1e-5), f"{formula}: {msg}: {right}"
            mean = norms["mean of per-rank norms"]
            assert not math.isclose(mean, reference, rel_tol=1e-3), f"{mean_line}: {msg}: {mean}"
            summed = norms["every rank's squares summed"]
            assert summed > reference * (1 + 1e-3), f"{summed_line}: {msg}: {summed}"


def test_tied_weight_listed_twice_is_root_two_too_large_and_clipped_twice():
    root_two = page_line(PAGE, "The concatenated list gives a norm √2 too large")
    twice = page_line(PAGE, "multiplies the tied tensor once per time it is listed")
    norm = snippet_namespace("training/parallelism/tied_weight_counted_once.md")["norm"]
    for seed in range(6):
        torch.manual_seed(seed)
        embedding = torch.nn.Embedding(30, 8)
        head = torch.nn.Linear(8, 30, bias=False)
        head.weight = embedding.weight
        tokens = torch.randint(30, (4, 10))
        logits = head(embedding(tokens))
        torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), tokens.roll(-1, dims=1).flatten()
        ).backward()
        once = list(torch.nn.ModuleDict({"e": embedding, "h": head}).parameters())
        by_hand = [*embedding.parameters(), *head.parameters()]
        ratio = (norm(by_hand) / norm(once)).item()
        assert len(once) == 1 and math.isclose(ratio, 2**0.5, rel_tol=1e-5), f"{root_two}: {ratio}"
        before = embedding.weight.grad.norm()
        max_norm = 0.01 * norm(once).item()  # always below the norm: the clip scales
        wrong = norm(by_hand).item()
        torch.nn.utils.clip_grad_norm_(by_hand, max_norm)
        factor = (embedding.weight.grad.norm() / before).item()
        assert math.isclose(factor, (max_norm / wrong) ** 2, rel_tol=1e-4), f"{twice}: {factor}"


HSDP_SEEDS = range(3)
HSDP = "training/parallelism/hsdp_counts_replicas_once.md"


def hsdp_rank(rank: int, world: int) -> list:
    """Per seed, on a (2 replicas x 2 shards) HSDP model: the clip's norm, the by-hand sums
    over the world and over the shard dimension, the clipped gradients."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    new_model = snippet_definitions(HSDP)["new_model"]
    mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("replicate", "shard"))
    found = []
    for seed in HSDP_SEEDS:
        generator = torch.Generator().manual_seed(seed)
        x, y = torch.randn(16, 8, generator=generator), torch.randn(16, 1, generator=generator)
        model = new_model()
        for layer in [model[0], model[2], model]:
            fully_shard(layer, mesh=mesh)
        torch.nn.functional.mse_loss(model(x.chunk(4)[rank]), y.chunk(4)[rank]).backward()
        local = torch.nn.utils.get_total_norm([p.grad.to_local() for p in model.parameters()])
        world_sum, shard_sum = local**2, local**2
        dist.all_reduce(world_sum)
        dist.all_reduce(shard_sum, group=mesh["shard"].get_group())
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.2).full_tensor()
        grads = [p.grad.full_tensor().tolist() for p in model.parameters()]
        found.append((norm.item(), world_sum.sqrt().item(), shard_sum.sqrt().item(), grads))
    return found


def test_hsdp_clip_follows_placements_and_a_by_hand_sum_runs_over_the_shard_dimension():
    follows = page_line(PAGE, "`clip_grad_norm_` follows the placements")
    per_replica = page_line(PAGE, "counts each shard once per replica")
    shard_only = page_line(PAGE, "has to run over the shard dimension only")
    new_model = snippet_definitions(HSDP)["new_model"]
    outputs = on_ranks(hsdp_rank, 4)
    for i, seed in enumerate(HSDP_SEEDS):
        generator = torch.Generator().manual_seed(seed)
        x, y = torch.randn(16, 8, generator=generator), torch.randn(16, 1, generator=generator)
        model = new_model()
        torch.nn.functional.mse_loss(model(x), y).backward()
        reference = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.2).item()
        for rank, found in sorted(outputs.items()):
            norm, world, shard, grads = found[i]
            same = all(
                torch.allclose(torch.tensor(g), p.grad, atol=1e-6)
                for g, p in zip(grads, model.parameters())
            )
            case = f"seed {seed}, rank {rank}, one process {reference}"
            assert math.isclose(norm, reference, rel_tol=1e-5) and same, (
                f"{follows}: {case}: {norm}"
            )
            assert math.isclose(world, 2**0.5 * reference, rel_tol=1e-5), f"{per_replica}: {case}"
            assert math.isclose(shard, reference, rel_tol=1e-5), f"{shard_only}: {case}: {shard}"
