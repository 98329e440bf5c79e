"""Claims of docs/training/parallelism.md about counting every gradient entry once: the
expert-parallel snippet's `norms(rank)` on thread ranks with a summing `all_reduce`, the
HSDP snippet's model on four gloo ranks, and DeepSpeed's engine on two and four sequence
ranks (the loss normalization it needs, and what its clip sees)."""

from __future__ import annotations

import inspect
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


SP_LOSSES = ("share", "tutorial", "per-rank mean")
SP_SEED = 0


def sequence(masked: bool) -> tuple:
    """One sequence of 8 tokens: inputs, targets, which tokens count (all, or 5 of 8 so
    that 2 or 4 ranks count unequal numbers), and the single-process gradient and norm."""
    generator = torch.Generator().manual_seed(SP_SEED)
    x, y = torch.randn(8, 4, generator=generator), torch.randn(8, 1, generator=generator)
    keep = torch.ones(8)
    if masked:
        keep[[3, 5, 7]] = 0
    torch.manual_seed(SP_SEED)
    model = torch.nn.Linear(4, 1)
    ((((model(x) - y) ** 2).squeeze(1) * keep).sum() / keep.sum()).backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    return x, y, keep, grad, grad.norm().item()


def deepspeed_sequence_rank(rank: int, world: int) -> dict:
    """DeepSpeed's engine with `world` sequence ranks, each holding its slice of the
    sequence: per mask, ZeRO stage and loss, the gradient after `backward`, the
    update of an SGD step with lr 1 and `gradient_clipping` at 1.5 times the true norm,
    and `get_global_grad_norm()`."""
    import importlib
    import logging
    import os

    os.environ.update(DS_ACCELERATOR="cpu", LOCAL_RANK=str(rank))
    import deepspeed
    from deepspeed.runtime.sequence_parallel import parallel_state_sp as mpu
    from deepspeed.utils import safe_get_full_fp32_param, safe_get_full_grad
    from torch.distributed.nn.functional import all_gather

    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
    deepspeed.init_distributed("gloo")
    mpu.initialize_sequence_parallel(world)

    def flat(tensors):
        return torch.cat([t.detach().flatten() for t in tensors])

    def weights(params, stage):  # ZeRO keeps the float32 weights in its partitions
        return flat(safe_get_full_fp32_param(p) if stage else p for p in params)

    found = {}
    for masked, stage, kind in itertools.product((False, True), range(4), SP_LOSSES):
        x, y, keep, _, norm = sequence(masked)
        x, y, keep = x.chunk(world)[rank], y.chunk(world)[rank], keep.chunk(world)[rank]
        torch.manual_seed(SP_SEED)
        model = torch.nn.Linear(4, 1)
        engine, *_ = deepspeed.initialize(
            model=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
            mpu=mpu,
            config={
                "train_micro_batch_size_per_gpu": 1,
                "zero_optimization": {"stage": stage},
                "zero_allow_untested_optimizer": True,
                "gradient_clipping": 1.5 * norm,
            },
        )
        params = list(engine.module.parameters())
        start = weights(params, stage)
        summed = (((engine(x) - y) ** 2).squeeze(1) * keep).sum()
        counts = all_gather(keep.sum(), group=mpu.get_sequence_parallel_group())
        means = all_gather(summed / keep.sum(), group=mpu.get_sequence_parallel_group())
        loss = {
            "share": summed / sum(counts),
            "tutorial": sum(m * n for m, n in zip(means, counts)) / sum(counts),
            "per-rank mean": summed / keep.sum(),
        }[kind]
        engine.backward(loss)
        grad = flat(safe_get_full_grad(p) for p in params)
        engine.step()
        logged = engine.get_global_grad_norm()
        update = start - weights(params, stage)
        found[masked, stage, kind] = (
            grad.tolist(),
            update.tolist(),
            logged and float(logged),
        )
        engine.destroy()
    return found


def test_deepspeed_sums_sequence_ranks_in_zero_0_to_2_averages_in_zero_3_and_clips_that():
    where = {
        "share": page_line(PAGE, "Each rank's share gives the single-process gradient under ZeRO-0")
        + " / "
        + page_line(PAGE, "the whole gradient is the sum over the sequence ranks")
        + " / "
        + page_line(PAGE, "ZeRO-3's default reduce-scatter divides by the whole group's size"),
        "tutorial": page_line(PAGE, "It gives the gradient times the number of sequence ranks"),
        "per-rank mean": page_line(PAGE, "A per-rank mean over the rank's own tokens gives what")
        + " / "
        + page_line(PAGE, "is the mean over all tokens only when every"),
    }
    clip = page_line(PAGE, "the test's SGD step is clipped exactly where the gradient")
    for world in (2, 4):
        outputs = on_ranks(deepspeed_sequence_rank, world)
        for masked, stage, kind in itertools.product((False, True), range(4), SP_LOSSES):
            *_, reference, norm = sequence(masked)
            factor = (1 if kind == "share" else world) / (world if stage == 3 else 1)
            counted = "5 of 8 tokens counted" if masked else "all counted"
            for rank, found in outputs.items():
                case = f"{world} ranks, {counted}, ZeRO-{stage}, {kind}, rank {rank}"
                grad, update, logged = found[masked, stage, kind]
                grad, update = torch.tensor(grad), torch.tensor(update)
                if kind == "per-rank mean" and masked:  # not a multiple of the gradient
                    cosine = torch.nn.functional.cosine_similarity(grad, reference, dim=0)
                    assert cosine < 1 - 1e-4, f"{where[kind]}: {case}: cosine {cosine}"
                    continue
                ratio = (grad / reference).tolist()
                assert torch.allclose(grad, factor * reference, rtol=1e-5, atol=1e-6), (
                    f"{where[kind]}: {case}: {ratio} times the single-process gradient"
                )
                clipped = factor * reference * min(1, 1.5 / factor)  # the clip is at 1.5 * norm
                assert torch.allclose(update, clipped, rtol=1e-5, atol=1e-6), f"{clip}: {case}"
                if stage:  # ZeRO-0 in float32 logs no norm
                    assert math.isclose(logged, factor * norm, rel_tol=1e-5), f"{clip}: {case}"


def test_transformers_sp_loss_backpropagates_the_share_and_rescales_it_for_zero_3(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    from transformers import Trainer
    from transformers.integrations.deepspeed import deepspeed_sp_compute_loss

    where = page_line(PAGE, "The Trainer's loss under DeepSpeed")
    assert "return deepspeed_sp_compute_loss(" in inspect.getsource(Trainer.compute_loss), where
    source = inspect.getsource(deepspeed_sp_compute_loss)
    for wanted in (
        "(local_sum + (totals[0] - local_sum.detach())) / totals[1]",  # the share's gradient
        'if is_deepspeed_zero3_enabled() and deepspeed_version < version.parse("0.20.2"):',
        "local_sum = local_sum * pc.sp_size",
    ):
        assert wanted in source, f"{where}: deepspeed_sp_compute_loss lacks {wanted!r}"
