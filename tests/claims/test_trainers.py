"""Claims of docs/training/trainers.md: when the HF Trainer, Accelerate, Lightning and
DeepSpeed clip and what they log, run with the page's snippets or read from the pinned
packages' source."""

from __future__ import annotations

import inspect
import math
import os
import warnings

import pytest
import torch

from tests.support.claims import page_line, params_with, snippet_fixture

# Lightning 2.6.6 on PyTorch 2.14.1: a deprecation inside Lightning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\)")
PAGE = "training/trainers.md"

# Thresholds on both sides of the snippets' batch-gradient norm, and 0 (measure only).
MAX_GRAD_NORMS = [0, 1.0, 12.0, 12.5, 100.0]
ACCUMULATION = [1, 2, 4]
hf = snippet_fixture("training/trainers/hf_trainer_clips_once_logs_pre_clip_norm.md")
lightning = snippet_fixture("training/trainers/lightning_clip_norm_value_once_per_step.md")
manual = snippet_fixture("training/trainers/lightning_manual_clip_in_on_before_optimizer_step.md")


@pytest.fixture(scope="module")
def hf_runs(hf):
    return {
        (max_grad_norm, steps): hf["train"](
            per_device_train_batch_size=8 // steps,
            gradient_accumulation_steps=steps,
            max_grad_norm=max_grad_norm,
        )
        for max_grad_norm in MAX_GRAD_NORMS
        for steps in ACCUMULATION
    }


def test_trainer_clips_once_per_optimizer_step_through_accelerate(hf_runs):
    where = page_line(PAGE, "once per optimizer step after the last micro-batch")
    where_zero = page_line(PAGE, "runs once and `clip_grads_with_norm_` not at all")
    where_accelerate = page_line(PAGE, "scales with\n`torch.nn.utils.clip_grads_with_norm_` unless")
    for (max_grad_norm, steps), run in hf_runs.items():
        case = f"max_grad_norm={max_grad_norm}, accumulation {steps}"
        assert run["forwards"] == steps, f"{where}: {case}: {run['forwards']} forwards"
        expected = [max_grad_norm if max_grad_norm > 0 else math.inf]
        assert run["max_norms"] == expected, (
            f"{where}: {case}: Accelerator.clip_grad_norm_ called with {run['max_norms']}"
        )
        calls = {"get_total_norm": 1, "clip_grads_with_norm_": int(max_grad_norm > 0)}
        assert run["torch_calls"] == {**calls, "clip_grad_norm_": 0}, (
            f"{where_zero} / {where_accelerate}: {case}: torch.nn.utils calls {run['torch_calls']}"
        )


def test_trainer_logs_the_pre_clip_norm(hf, hf_runs):
    where = page_line(PAGE, "the norm measured by hand **before** clipping")
    where_above = page_line(PAGE, "logged values above `max_grad_norm` are expected")
    model = hf["Tiny"]()
    torch.nn.functional.mse_loss(model.linear(hf["x"]), hf["y"]).backward()
    norm = hf["flat"](p.grad for p in model.parameters()).norm().item()
    for (max_grad_norm, steps), run in hf_runs.items():
        case = f"max_grad_norm={max_grad_norm}, accumulation {steps}"
        assert run["logged"] == pytest.approx([norm], rel=1e-5), (
            f"{where}: {case}: logged {run['logged']}, pre-clip norm {norm}"
        )
        limit = max_grad_norm if max_grad_norm > 0 else math.inf
        assert run["at_step"] == pytest.approx([min(norm, limit)], rel=1e-5), (
            f"{where}: {case}: norm at optimizer.step {run['at_step']}, not min({norm}, {limit})"
        )
        if 0 < max_grad_norm < norm:
            assert run["logged"][0] > max_grad_norm, f"{where_above}: {case}"


def test_transformers_source_max_grad_norm_mixed_meshes_and_deepspeed(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")  # no accelerator probing
    from transformers import Trainer, TrainingArguments
    from transformers.integrations import deepspeed

    where = page_line(PAGE, "`TrainingArguments.max_grad_norm` defaults to `1.0`")
    assert TrainingArguments.__dataclass_fields__["max_grad_norm"].default == 1.0, where
    where = page_line(PAGE, "`_mixed_mesh_grad_norm` takes one norm per mesh")
    assert "self._mixed_mesh_grad_norm(" in inspect.getsource(Trainer._clip_grad_norm), where
    source = inspect.getsource(Trainer._mixed_mesh_grad_norm)
    for wanted in (
        "params_by_mesh[param.grad.device_mesh",
        "get_total_norm([p.grad for p in params])",
        "torch.linalg.vector_norm(torch.stack(norms))",
        'if max_norm != float("inf"):',
        "clip_grads_with_norm_(params, max_norm, total_norm)",
    ):
        assert wanted in source, f"{where}: _mixed_mesh_grad_norm lacks {wanted!r}"
    where = page_line(PAGE, 'a config value of `"auto"` for `gradient_clipping` is filled')
    wanted = 'fill_match("gradient_clipping", args.max_grad_norm'
    assert wanted in inspect.getsource(deepspeed.HfTrainerDeepSpeedConfig), where


@pytest.fixture(scope="module")
def accelerator(hf):  # after the Trainer's: one AcceleratorState per process
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def test_accelerate_inf_max_norm_leaves_gradients_untouched(accelerator):
    where = page_line(PAGE, "so the gradients are left as they are, even an infinite one")
    where_torch = page_line(PAGE, "would still multiply, and turn an infinite norm")
    for seed in range(4):
        gen = torch.Generator().manual_seed(seed)
        for size in (1, 5, 64):
            finite = 10 * torch.randn(size, generator=gen)
            for bad in (None, math.inf, -math.inf):
                grad = finite.clone()
                if bad is not None:
                    grad[torch.randint(size, (1,), generator=gen)] = bad
                case = f"seed {seed}, size {size}, {bad or 'finite'}"
                (p,) = params_with([grad])
                norm = accelerator.clip_grad_norm_([p], math.inf)
                assert torch.equal(p.grad, grad), f"{where}: {case}: the gradient changed"
                assert torch.equal(norm, torch.nn.utils.get_total_norm([grad])), (
                    f"{where}: {case}: returned {norm}, not the gradient's norm"
                )
                (p,) = params_with([grad])
                torch.nn.utils.clip_grad_norm_([p], math.inf)
                ok = p.grad.isnan().all() if bad else torch.equal(p.grad, grad)
                assert ok, f"{where_torch}: {case}: torch's clip at max_norm=inf gave {p.grad}"


def test_accelerate_source_fsdp1_and_deepspeed_branches():
    from accelerate import Accelerator

    where = page_line(PAGE, "Under FSDP1 it uses the wrapped model's own `clip_grad_norm_`")
    lines = [line.strip() for line in inspect.getsource(Accelerator.clip_grad_norm_).splitlines()]
    lines = [line for line in lines if line]
    assert "if parameters == [p for p in model.parameters()]:" in lines, where
    assert "return model.clip_grad_norm_(max_norm, norm_type)" in lines, where
    fall_through = (
        "return self._clip_grad_norm_dtensor_aware(list(parameters), max_norm, norm_type=norm_type)"
    )
    assert lines[-1] == fall_through, f"{where}: another list no longer falls through"
    where = page_line(PAGE, "clips each rank's shard by its own norm, with no all-reduce")
    per_mesh = inspect.getsource(Accelerator._clip_grad_norm_dtensor_aware)
    assert "all_reduce" not in per_mesh and "full_tensor()" in per_mesh, where
    where = page_line(PAGE, "DeepSpeed it does not clip (the engine does")
    assert "deepspeed_engine_wrapped.get_global_grad_norm()" in "\n".join(lines), where


def test_deepspeed_source_default_and_fp32_clip(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    from deepspeed.runtime import constants
    from deepspeed.runtime.engine import DeepSpeedEngine

    where = page_line(PAGE, "`GRADIENT_CLIPPING_DEFAULT`, is `1.0` as of DeepSpeed 0.19.8")
    assert constants.GRADIENT_CLIPPING_DEFAULT == 1.0, where
    where = page_line(PAGE, "The engine clips only when the value is\nabove 0")
    source = inspect.getsource(DeepSpeedEngine._take_model_step)
    assert "self.gradient_clipping() > 0.0" in source, where
    assert "self.clip_fp32_gradients()" in source, f"{where}: the engine clips float32 itself"


def test_lightning_source_defaults_and_strategies(tmp_path):
    from lightning.pytorch import Trainer
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.plugins.precision.fsdp import FSDPPrecision
    from lightning.pytorch.strategies import ModelParallelStrategy
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    where = page_line(PAGE, "`Trainer(gradient_clip_val=None)`: `None` disables clipping")
    parameters = inspect.signature(Trainer.__init__).parameters
    assert parameters["gradient_clip_val"].default is None, where
    assert parameters["gradient_clip_algorithm"].default is None, where
    where = page_line(PAGE, '`gradient_clip_algorithm="norm"` raises `MisconfigurationException`')
    with pytest.raises(MisconfigurationException, match="not supported"):
        FSDPPrecision("32-true").clip_grad_by_norm(None, 1.0)
    where = page_line(PAGE, 'does not use that plugin and\nallows `"norm"`')
    assert "FSDPPrecision" not in inspect.getsource(ModelParallelStrategy), where
    assert FSDPPrecision.clip_grad_by_norm is not Precision.clip_grad_by_norm, where
    where = page_line(PAGE, "CPU and switches to `bf16-mixed`, which has no scaler")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = ("logger", "enable_checkpointing", "enable_progress_bar", "enable_model_summary")
        trainer = Trainer(
            accelerator="cpu",
            precision="16-mixed",
            default_root_dir=tmp_path,
            **dict.fromkeys(quiet, False),
        )
    plugin = trainer.precision_plugin
    assert plugin.precision == "bf16-mixed" and plugin.scaler is None, where


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
    where = page_line(PAGE, "Four `training_step` calls give one clip")
    where_none = page_line(PAGE, "the hook still runs at every step")
    for steps in ACCUMULATION:
        model = lightning["fit"](accumulate_grad_batches=steps, **clip)
        case = f"{clip or 'no gradient_clip_val'}, accumulation {steps}"
        assert model.steps == 4, f"{where}: {case}: {model.steps} training steps"
        assert len(model.seen) == 4 // steps, f"{where}: {case}: {len(model.seen)} clips"
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


@pytest.mark.parametrize("scale", [16.0, 256.0, 1024.0, 4096.0])  # 65536 overflows fp16
def test_lightning_manual_clip_in_hook_and_by_hand(manual, scale):
    where_raise = page_line(PAGE, "Unscaling `opt.optimizer` by hand stops the run")
    where_twice = page_line(PAGE, "Unscaling `opt`, the wrapper, raises nothing")
    where_hook = page_line(PAGE, "Clipping in `on_before_optimizer_step` sees 12.2")
    try:
        manual["fit"]("inner", scale)
    except RuntimeError as error:
        assert "already been called" in str(error), f"{where_raise}: {error}"
    else:
        pytest.fail(f"{where_raise}: no RuntimeError")
    twice = manual["fit"]("wrapper", scale)
    assert float(twice.norm) == pytest.approx(12.21, rel=1e-3), f"{where_twice}: {twice.norm}"
    assert float(twice.update) * scale == pytest.approx(1.0, rel=1e-3), (
        f"{where_twice}: update / lr {float(twice.update)}, not 1/{scale}"
    )
    hook = manual["fit"](None, scale)
    assert float(hook.norm) == pytest.approx(12.21, rel=1e-3), f"{where_hook}: {hook.norm}"
    assert float(hook.update) == pytest.approx(1.0, rel=1e-5), f"{where_hook}: {hook.update}"
