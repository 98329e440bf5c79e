"""Clipping folded into the fused AdamW step (what benchmarks/clip_cost.py times as
"get_total_norm, clip in fused step's grad_scale", and what docs/beyond/cost.md shows)
updates the parameters as `clip_grad_norm_` followed by the same fused step does."""

from __future__ import annotations

import importlib.util
import sys

import torch
from torch.testing import assert_close

from tests.support.paths import ROOT

SCRIPT = ROOT / "benchmarks" / "clip_cost.py"
WHERE = f"clip_in_fused_step in {SCRIPT.relative_to(ROOT)}"


def clip_in_fused_step():
    spec = importlib.util.spec_from_file_location("clip_cost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.clip_in_fused_step


def twin_parameters(seed: int = 0) -> tuple[list, list]:
    generator = torch.Generator().manual_seed(seed)
    shapes = [(64, 32), (32,), (10, 64), (10,)]
    first = [torch.nn.Parameter(torch.randn(s, generator=generator)) for s in shapes]
    second = [torch.nn.Parameter(p.detach().clone()) for p in first]
    return first, second


def test_folded_clip_gives_the_parameters_of_clip_then_step():
    fold = clip_in_fused_step()
    reference, folded = twin_parameters()
    opt_ref = torch.optim.AdamW(reference, lr=1e-2, fused=True)
    opt_fold = torch.optim.AdamW(folded, lr=1e-2, fused=True)
    generator = torch.Generator().manual_seed(1)
    clipped_steps = 0
    for step, scale in enumerate([5.0, 0.01, 3.0, 0.002, 8.0]):  # above and below max_norm
        for p, q in zip(reference, folded):
            p.grad = torch.randn(p.shape, generator=generator) * scale
            q.grad = p.grad.clone()
        norm_ref = torch.nn.utils.clip_grad_norm_(reference, max_norm=1.0)
        opt_ref.step()
        norm_fold = fold(opt_fold, [q.grad for q in folded], max_norm=1.0)
        clipped_steps += bool(norm_ref > 1.0)
        where = f"{WHERE}, step {step} (gradient norm {norm_ref:.3f})"
        assert_close(norm_fold, norm_ref, msg=f"{where}: the returned norm differs")
        for p, q in zip(reference, folded):
            assert_close(q, p, msg=lambda m: f"{where}: parameters differ: {m}")
            assert_close(q.grad, p.grad, msg=lambda m: f"{where}: the gradients left differ: {m}")
            for key in ("exp_avg", "exp_avg_sq"):
                assert_close(
                    opt_fold.state[q][key],
                    opt_ref.state[p][key],
                    msg=lambda m, key=key: f"{where}: {key} differs: {m}",
                )
        assert not hasattr(opt_fold, "grad_scale"), (
            f"{where}: optimizer.grad_scale is still set after the step, so a later plain "
            "step() would divide the gradients by it; delete it after the step"
        )
    assert clipped_steps == 3, f"the test meant 3 of 5 steps to clip, {clipped_steps} did"


def test_below_the_threshold_the_folded_step_is_bit_for_bit_the_plain_one():
    fold = clip_in_fused_step()
    reference, folded = twin_parameters(seed=2)
    opt_ref = torch.optim.AdamW(reference, lr=1e-2, fused=True)
    opt_fold = torch.optim.AdamW(folded, lr=1e-2, fused=True)
    generator = torch.Generator().manual_seed(3)
    for p, q in zip(reference, folded):
        p.grad = torch.randn(p.shape, generator=generator) * 0.001
        q.grad = p.grad.clone()
    opt_ref.step()  # no clipping at all: the norm is far below max_norm
    fold(opt_fold, [q.grad for q in folded], max_norm=1.0)
    for p, q in zip(reference, folded):
        assert torch.equal(p, q), (
            f"{WHERE}: with a clip coefficient of 1 the fused step divides by 1.0, which "
            f"is exact, yet the parameters differ by {(p - q).abs().max().item():.2e}"
        )


def test_one_training_step_of_a_model_agrees():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 4))
    twin = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 4))
    twin.load_state_dict(model.state_dict())
    x, y = torch.randn(32, 16) * 10, torch.randint(4, (32,))
    opt_ref = torch.optim.AdamW(model.parameters(), lr=1e-2, fused=True)
    opt_fold = torch.optim.AdamW(twin.parameters(), lr=1e-2, fused=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    torch.nn.functional.cross_entropy(twin(x), y).backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)
    assert norm > 0.1, f"the test needs a gradient norm above 0.1 to clip, got {norm:.4f}"
    opt_ref.step()
    clip_in_fused_step()(opt_fold, [p.grad for p in twin.parameters()], max_norm=0.1)
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert_close(q, p, msg=lambda m, name=name: f"{WHERE}: parameter {name} differs: {m}")
