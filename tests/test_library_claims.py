"""Guards for what docs/training/trainers.md reads from the installed packages.

The page runs most of its claims as snippets; these tests pin the ones that
rest on a constant, a signature or a line of source. When a pin in
constraints.txt changes and one fails, re-check the sentence its message
names, update the page
(and its "as of <Name> <version>" stamps), then this test.
"""

import contextlib
import inspect

import pytest

PAGE = "docs/training/trainers.md"


def _recheck(section, sentence):
    return f"re-check {PAGE}, section '{section}': {sentence}"


def test_transformers_max_grad_norm_default_is_one():
    from transformers import TrainingArguments

    field = TrainingArguments.__dataclass_fields__["max_grad_norm"]
    assert field.default == 1.0, _recheck(
        "Hugging Face Trainer",
        "'max_grad_norm defaults to 1.0' and the table row",
    )


def test_transformers_trainer_clips_through_accelerate():
    from transformers import Trainer

    source = inspect.getsource(Trainer._clip_grad_norm)
    assert "self.accelerator.clip_grad_norm_(" in source, _recheck(
        "Hugging Face Trainer", "'it calls Accelerate's clip_grad_norm_'"
    )
    assert "self._mixed_mesh_grad_norm(" in source, _recheck(
        "Hugging Face Trainer",
        "'on DTensors of different meshes the Trainer bypasses Accelerate'",
    )


def test_transformers_max_grad_norm_zero_only_measures():
    from transformers import Trainer

    loop = inspect.getsource(Trainer._run_epoch)
    assert "if self.args.max_grad_norm > 0:" in loop, _recheck(
        "Hugging Face Trainer", "'unless you set it to 0'"
    )
    measure = inspect.getsource(Trainer._get_grad_norm)
    assert 'clip_grad_norm_(model.parameters(), float("inf"))' in measure, _recheck(
        "Hugging Face Trainer",
        "'with max_grad_norm=0 the Trainer still calls Accelerate's clip_grad_norm_, "
        "with max_norm=inf, only to measure the norm it logs'",
    )


def test_transformers_mixed_mesh_norm_per_mesh():
    from transformers import Trainer

    source = inspect.getsource(Trainer._mixed_mesh_grad_norm)
    for wanted in (
        "params_by_mesh[param.grad.device_mesh",
        "get_total_norm([p.grad for p in params])",
        "torch.linalg.vector_norm(torch.stack(norms))",
        'if max_norm != float("inf"):',
        "clip_grads_with_norm_(params, max_norm, total_norm)",
    ):
        assert wanted in source, _recheck(
            "Hugging Face Trainer",
            "'_mixed_mesh_grad_norm takes one norm per mesh, combines them and "
            f"scales with the same two functions' (missing {wanted!r})",
        )


@pytest.fixture(scope="module")
def accelerator():
    import os

    os.environ.setdefault("DS_ACCELERATOR", "cpu")  # no accelerator probing
    from accelerate import Accelerator

    return Accelerator(cpu=True)


@pytest.mark.parametrize("max_norm", [1.0, float("inf")])
def test_accelerate_clip_calls_total_norm_then_scales(accelerator, max_norm):
    from unittest import mock

    import torch

    utils = torch.nn.utils
    names = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_"]
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([3.0, 4.0, 12.0])
    with contextlib.ExitStack() as stack:
        calls = {
            name: stack.enter_context(mock.patch.object(utils, name, wraps=getattr(utils, name)))
            for name in names
        }
        norm = accelerator.clip_grad_norm_([p], max_norm)
    counts = {name: call.call_count for name, call in calls.items()}
    scalings = 1 if max_norm < float("inf") else 0
    assert counts == {
        "get_total_norm": 1,
        "clip_grads_with_norm_": scalings,
        "clip_grad_norm_": 0,
    }, _recheck(
        "Accelerate",
        f"'get_total_norm once, clip_grads_with_norm_ unless max_norm is inf, "
        f"never torch.nn.utils.clip_grad_norm_' (max_norm={max_norm}: {counts}); "
        "and the Hugging Face Trainer section, which says the same",
    )
    assert abs(norm.item() - 13.0) < 1e-5, _recheck("Accelerate", "'returns the pre-clip norm'")


def test_accelerate_fsdp1_falls_through_for_other_parameters():
    from accelerate import Accelerator

    source = inspect.getsource(Accelerator.clip_grad_norm_)
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    sentence = (
        "'under FSDP1 it uses the wrapped model's own clip_grad_norm_ only when "
        "the parameters are exactly that prepared model's; any other list falls "
        "through to the per-mesh path'"
    )
    assert "if parameters == [p for p in model.parameters()]:" in lines, _recheck(
        "Accelerate", sentence
    )
    assert "return model.clip_grad_norm_(max_norm, norm_type)" in lines, _recheck(
        "Accelerate", sentence
    )
    fall_through = (
        "return self._clip_grad_norm_dtensor_aware(list(parameters), max_norm, norm_type=norm_type)"
    )
    assert lines[-1] == fall_through, _recheck("Accelerate", sentence)
    per_mesh = inspect.getsource(Accelerator._clip_grad_norm_dtensor_aware)
    assert "all_reduce" not in per_mesh and "full_tensor()" in per_mesh, _recheck(
        "Accelerate",
        "'on FSDP1's plain local shards it measures each rank's shard by its own "
        "norm, with no all-reduce' (only DTensor norms are combined)",
    )


def test_accelerate_returns_deepspeed_global_norm():
    from accelerate import Accelerator

    source = inspect.getsource(Accelerator.clip_grad_norm_)
    assert "deepspeed_engine_wrapped.get_global_grad_norm()" in source, _recheck(
        "Accelerate",
        "'under DeepSpeed, clip_grad_norm_ returns the engine's get_global_grad_norm()'",
    )


def test_lightning_gradient_clip_val_default_is_none():
    from lightning.pytorch import Trainer

    parameters = inspect.signature(Trainer.__init__).parameters
    assert parameters["gradient_clip_val"].default is None, _recheck(
        "PyTorch Lightning", "'gradient_clip_val=None: no clip by default'"
    )
    assert parameters["gradient_clip_algorithm"].default is None, _recheck(
        "PyTorch Lightning", "'gradient_clip_algorithm: norm when not set'"
    )


def test_lightning_fsdp_strategy_refuses_norm():
    from lightning.pytorch.plugins.precision.fsdp import FSDPPrecision
    from lightning.pytorch.utilities.exceptions import (
        MisconfigurationException,
    )

    with pytest.raises(MisconfigurationException, match="not supported"):
        FSDPPrecision("32-true").clip_grad_by_norm(None, 1.0)


def test_lightning_model_parallel_strategy_allows_norm():
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.plugins.precision.fsdp import FSDPPrecision
    from lightning.pytorch.strategies import ModelParallelStrategy

    source = inspect.getsource(ModelParallelStrategy)
    assert "FSDPPrecision" not in source, _recheck(
        "PyTorch Lightning",
        "'ModelParallelStrategy (FSDP2, TP) allows \"norm\"'",
    )
    assert FSDPPrecision.clip_grad_by_norm is not Precision.clip_grad_by_norm


def test_lightning_cpu_16_mixed_becomes_bf16(tmp_path):
    import warnings

    from lightning.pytorch import Trainer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = Trainer(
            accelerator="cpu",
            precision="16-mixed",
            default_root_dir=tmp_path,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    plugin = trainer.precision_plugin
    assert plugin.precision == "bf16-mixed" and plugin.scaler is None, _recheck(
        "PyTorch Lightning",
        "'Trainer(precision=\"16-mixed\") on the CPU switches to bf16-mixed, without a GradScaler'",
    )


def test_deepspeed_gradient_clipping_default_is_one(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")  # no accelerator probing
    from deepspeed.runtime import constants

    assert constants.GRADIENT_CLIPPING_DEFAULT == 1.0, _recheck(
        "DeepSpeed",
        "'GRADIENT_CLIPPING_DEFAULT is 1.0 as of DeepSpeed 0.19.8' and the table row",
    )


def test_deepspeed_fp32_clip_only_without_fp16_bf16_zero(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")  # no accelerator probing
    from deepspeed.runtime.engine import DeepSpeedEngine

    source = inspect.getsource(DeepSpeedEngine._take_model_step)
    assert "self.gradient_clipping() > 0.0" in source, _recheck(
        "DeepSpeed", "'the engine clips only when the value is above 0'"
    )
    assert "self.clip_fp32_gradients()" in source, _recheck(
        "DeepSpeed",
        "'for float32 the engine clips itself; with fp16, bf16 or ZeRO the optimizer wrapper does'",
    )


def test_transformers_fills_deepspeed_clipping_from_max_grad_norm(monkeypatch):
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")  # no accelerator probing
    from transformers.integrations import deepspeed

    source = inspect.getsource(deepspeed.HfTrainerDeepSpeedConfig)
    wanted = 'fill_match("gradient_clipping", args.max_grad_norm'
    assert wanted in source, _recheck(
        "Hugging Face Trainer",
        '\'a config value of "auto" for gradient_clipping is filled from '
        "max_grad_norm, and a number that differs stops the run'",
    )
