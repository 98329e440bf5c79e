"""Claim tests for docs/training/trainers.md: the general sentences about when
the Hugging Face Trainer, Accelerate and Lightning clip, and what they log.

Each test runs the page's own snippet code (`train`, `fit`) over the settings
the sentence speaks of (thresholds below and above the norm, 0, accumulation
steps, loss scales), and names the line it guards. The Transformers and
Lightning imports are slow, so each snippet is loaded once per module.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

# Lightning 2.6.6 on PyTorch 2.14.1: a deprecation inside Lightning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\)")

PAGE = "training/trainers.md"
HF = "training/trainers/hf_trainer_clips_once_logs_pre_clip_norm.md"
LIGHTNING = "training/trainers/lightning_clip_norm_value_once_per_step.md"
MANUAL = "training/trainers/lightning_manual_clip_in_on_before_optimizer_step.md"

# The batch gradient of the snippets' Linear(4, 1) has norm 12.2147: thresholds
# far below it, at the default, just below it, just above it and far above it,
# and 0 (measure only).
MAX_GRAD_NORMS = [0, 1.0, 12.0, 12.5, 100.0]
ACCUMULATION = [1, 2, 4]


@pytest.fixture(scope="module")
def hf():
    return snippet_namespace(HF)


@pytest.fixture(scope="module")
def hf_runs(hf):
    runs = {}
    for max_grad_norm in MAX_GRAD_NORMS:
        for steps in ACCUMULATION:
            runs[max_grad_norm, steps] = hf["train"](
                per_device_train_batch_size=8 // steps,
                gradient_accumulation_steps=steps,
                max_grad_norm=max_grad_norm,
            )
    return runs


def _pre_clip_norm(hf) -> float:
    model = hf["Tiny"]()
    torch.nn.functional.mse_loss(model.linear(hf["x"]), hf["y"]).backward()
    return hf["flat"](p.grad for p in model.parameters()).norm().item()


def test_trainer_clips_once_per_optimizer_step(hf_runs):
    """One measure and at most one scaling per optimizer step, after the last
    micro-batch, whatever the threshold and the accumulation."""
    where = page_line(PAGE, "once per optimizer step after the last micro-batch")
    where_zero = page_line(PAGE, "runs once and `clip_grads_with_norm_` not at all")
    for (max_grad_norm, steps), run in hf_runs.items():
        case = f"max_grad_norm={max_grad_norm}, accumulation {steps}"
        assert run["forwards"] == steps, f"{where}: {case}: {run['forwards']} forwards"
        expected = [max_grad_norm if max_grad_norm > 0 else math.inf]
        assert run["max_norms"] == expected, (
            f"{where}: {case}: Accelerator.clip_grad_norm_ called with "
            f"{run['max_norms']}, not once with {expected}: re-read the Trainer's "
            "clip branch and fix the sentence"
        )
        calls = run["torch_calls"]
        scalings = 1 if max_grad_norm > 0 else 0
        assert calls == {
            "get_total_norm": 1,
            "clip_grads_with_norm_": scalings,
            "clip_grad_norm_": 0,
        }, (
            f"{where_zero}: {case}: torch.nn.utils calls {calls}; the page says one "
            "get_total_norm, one clip_grads_with_norm_ (none at max_grad_norm=0) and "
            "no clip_grad_norm_: fix the page and the snippet's prose"
        )


def test_trainer_logs_the_pre_clip_norm(hf, hf_runs):
    """The logged grad_norm is the norm before clipping, for every threshold;
    the gradient reaching optimizer.step has norm min(norm, max_grad_norm)."""
    where = page_line(PAGE, "the norm measured by hand **before** clipping")
    where_above = page_line(PAGE, "logged values above `max_grad_norm` are expected")
    norm = _pre_clip_norm(hf)
    for (max_grad_norm, steps), run in hf_runs.items():
        case = f"max_grad_norm={max_grad_norm}, accumulation {steps}"
        assert run["logged"] == pytest.approx([norm], rel=1e-5), (
            f"{where}: {case}: logged {run['logged']}, pre-clip norm {norm}"
        )
        limit = max_grad_norm if max_grad_norm > 0 else math.inf
        assert run["at_step"] == pytest.approx([min(norm, limit)], rel=1e-5), (
            f"{where}: {case}: norm at optimizer.step {run['at_step']}, "
            f"expected min({norm}, {limit})"
        )
        if 0 < max_grad_norm < norm:
            assert run["logged"][0] > max_grad_norm, f"{where_above}: {case}"


@pytest.fixture(scope="module")
def accelerator(hf):  # after the Trainer's: one AcceleratorState per process
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def _gradients():
    """Gradients with and without non-finite entries, of several sizes."""
    for seed in range(4):
        gen = torch.Generator().manual_seed(seed)
        for size in (1, 5, 64):
            grad = 10 * torch.randn(size, generator=gen)
            yield f"seed {seed}, {size} finite", grad
            for bad in (math.inf, -math.inf):
                spoiled = grad.clone()
                spoiled[torch.randint(size, (1,), generator=gen)] = bad
                yield f"seed {seed}, {size} with {bad}", spoiled


def test_accelerate_inf_max_norm_leaves_gradients_untouched(accelerator):
    """max_norm=inf in Accelerate only measures, even an infinite norm; torch's
    clip_grad_norm_ with max_norm=inf does not (NaN), as the page says."""
    where = page_line(PAGE, "so the gradients are left as they are, even an infinite one")
    where_torch = page_line(PAGE, "would still multiply, and turn an infinite norm")
    for case, grad in _gradients():
        p = torch.nn.Parameter(torch.zeros_like(grad))
        p.grad = grad.clone()
        norm = accelerator.clip_grad_norm_([p], math.inf)
        assert torch.equal(p.grad, grad), f"{where}: {case}: the gradient changed"
        assert torch.equal(norm, torch.nn.utils.get_total_norm([grad])), (
            f"{where}: {case}: returned {norm}, not the norm of the gradient"
        )
        p.grad = grad.clone()
        torch.nn.utils.clip_grad_norm_([p], math.inf)
        if torch.isfinite(grad).all():
            assert torch.equal(p.grad, grad), f"{where_torch}: {case}: finite changed"
        else:
            assert p.grad.isnan().all(), (
                f"{where_torch}: {case}: torch's clip with max_norm=inf no longer "
                "turns an infinite norm into NaN: fix the sentence and the pitfalls page"
            )


@pytest.fixture(scope="module")
def lightning():
    return snippet_namespace(LIGHTNING)


@pytest.mark.parametrize(
    "clip",
    [
        {},
        {"gradient_clip_val": 1.0},
        {"gradient_clip_val": 0.5, "gradient_clip_algorithm": "value"},
    ],
    ids=["none", "norm", "value"],
)
def test_lightning_clips_once_per_optimizer_step(lightning, clip):
    """The clip hook runs once per optimizer step for every accumulation; without
    gradient_clip_val it runs and changes nothing."""
    where = page_line(PAGE, "Four `training_step` calls give one clip")
    where_none = page_line(PAGE, "the hook still runs at every step")
    for steps in ACCUMULATION:
        model = lightning["fit"](accumulate_grad_batches=steps, **clip)
        case = f"{clip or 'no gradient_clip_val'}, accumulation {steps}"
        assert model.steps == 4, f"{where}: {case}: {model.steps} training steps"
        assert len(model.seen) == 4 // steps, (
            f"{where}: {case}: {len(model.seen)} clips for {4 // steps} optimizer steps"
        )
        for before, after in model.seen:
            if not clip:
                assert torch.equal(before, after), f"{where_none}: {case}: changed"
            elif clip.get("gradient_clip_algorithm") == "value":
                assert torch.equal(after, before.clamp(-0.5, 0.5)), f"{where}: {case}"
            else:
                expected = min(before.norm().item(), 1.0)
                assert after.norm().item() == pytest.approx(expected, rel=1e-5), (
                    f"{where}: {case}: norm {before.norm()} -> {after.norm()}"
                )


@pytest.fixture(scope="module")
def manual():
    return snippet_namespace(MANUAL)


# Loss scales whose scaled fp16 backward stays finite on these targets; at 65536
# it overflows and the GradScaler skips the step, a different story.
SCALES = [16.0, 256.0, 1024.0, 4096.0]


def test_lightning_manual_clip_in_hook_and_by_hand(manual):
    """For every loss scale: unscaling opt.optimizer by hand raises, unscaling
    the wrapper divides twice (update 1/scale), clipping in the hook gives 1."""
    where_raise = page_line(PAGE, "Unscaling `opt.optimizer` by hand stops the run")
    where_twice = page_line(PAGE, "Unscaling `opt`, the wrapper, raises nothing")
    where_hook = page_line(PAGE, "Clipping in `on_before_optimizer_step` sees 12.2")
    for scale in SCALES:
        try:
            manual["fit"]("inner", scale)
        except RuntimeError as error:
            assert "already been called" in str(error), f"{where_raise}: {error}"
        else:
            pytest.fail(f"{where_raise}: scale {scale}: no RuntimeError")
        twice = manual["fit"]("wrapper", scale)
        assert float(twice.norm) == pytest.approx(12.21, rel=1e-3), (
            f"{where_twice}: scale {scale}: the clip saw {float(twice.norm)}"
        )
        assert float(twice.update) * scale == pytest.approx(1.0, rel=1e-3), (
            f"{where_twice}: scale {scale}: update / lr {float(twice.update)}, not 1/{scale}"
        )
        hook = manual["fit"](None, scale)
        assert float(hook.norm) == pytest.approx(12.21, rel=1e-3), (
            f"{where_hook}: scale {scale}: the hook's clip saw {float(hook.norm)}"
        )
        assert float(hook.update) == pytest.approx(1.0, rel=1e-5), (
            f"{where_hook}: scale {scale}: update / lr {float(hook.update)}"
        )
