"""Claims of docs/training/pitfalls.md, over random gradients and thresholds."""

from __future__ import annotations

import math

import numpy as np
import torch

from tests.support.claims import page_line, params_with, snippet_namespace

PAGE = "training/pitfalls.md"
clip_grad_norm_ = torch.nn.utils.clip_grad_norm_
get_total_norm = torch.nn.utils.get_total_norm


def test_float16_norm_is_inf_from_65520_and_zeroes_every_finite_entry():
    where = page_line(PAGE, "can still have a norm of 65520 or more")
    rng = np.random.default_rng(0)
    for _ in range(1500):
        size = int(rng.integers(1, 3000))
        g = torch.tensor(rng.standard_normal(size), dtype=torch.float32)
        g = (g / g.norm() * float(rng.uniform(65400, 65650))).half()
        assert torch.isfinite(g).all()
        true = g.double().norm().item()
        if abs(true - 65520) < 0.5:  # within the float32 sum's own rounding
            continue
        params = params_with([g])
        norm = clip_grad_norm_(params, max_norm=1.0).item()
        if true >= 65520:
            assert math.isinf(norm), f"{where}: true norm {true} gave {norm}"
            assert torch.all(params[0].grad == 0), f"{where}: an entry survived"
        else:
            assert math.isfinite(norm) and norm <= 65504.0, f"{where}: {true} -> {norm}"
            assert true <= 65504 or norm == 65504.0, f"{where}: {true} -> {norm}, not 65504"


def test_bfloat16_keeps_8_significant_bits():
    where = page_line(PAGE, "8 significant bits (7 stored")
    bits = 1 - math.log2(torch.finfo(torch.bfloat16).eps)
    assert bits == 8, f"{where}: bfloat16 has {bits} significant bits"
    assert round(bits * math.log10(2), 1) == 2.4, where
    assert math.isclose(torch.finfo(torch.bfloat16).max, 3.4e38, rel_tol=0.01), where


def test_float32_sum_of_squares_overflows():
    where = page_line(PAGE, "overflows to `inf` as soon as it passes about 3.4e38")
    big = float(torch.finfo(torch.float32).max)
    rng = np.random.default_rng(1)
    for _ in range(1000):
        size = int(rng.integers(1, 500))
        g = rng.standard_normal(size)
        g = g / np.linalg.norm(g) * math.sqrt(big) * 10 ** rng.uniform(-0.3, 0.3)
        g32 = torch.tensor(g, dtype=torch.float32)
        squares = float((g32.double() ** 2).sum())
        if abs(squares / big - 1) < 1e-5:
            continue
        norm = get_total_norm([g32]).item()
        assert math.isinf(norm) == (squares > big), f"{where}: sum {squares:.4e} -> {norm}"
        norm64 = get_total_norm([g32.double()]).item()
        assert math.isclose(norm64, math.sqrt(squares), rel_tol=1e-12), where


def test_a_tensor_listed_twice_is_counted_and_scaled_twice():
    where = page_line(PAGE, "is counted twice in the norm and then multiplied twice")
    rng = np.random.default_rng(2)
    for _ in range(300):
        weight = torch.tensor(rng.standard_normal(int(rng.integers(1, 40))), dtype=torch.float32)
        bias = torch.tensor(rng.standard_normal(int(rng.integers(1, 5))), dtype=torch.float32)
        params = params_with([weight, bias])
        c = float(10 ** rng.uniform(-2, 0.5))
        norm = clip_grad_norm_(params + [params[0]], max_norm=c).item()
        twice = math.sqrt(2 * weight.norm().item() ** 2 + bias.norm().item() ** 2)
        assert math.isclose(norm, twice, rel_tol=1e-5), f"{where}: norm {norm} != {twice}"
        factor = min(1.0, c / (norm + 1e-6))
        assert torch.allclose(params[0].grad, weight * factor**2, rtol=1e-5, atol=1e-12), where
        assert torch.allclose(params[1].grad, bias * factor, rtol=1e-5, atol=1e-12), where


def test_model_parameters_yields_a_tied_tensor_once():
    where = page_line(PAGE, "which yields each tensor once")
    for vocab, dim in [(10, 4), (50, 8), (7, 3)]:
        embed, head = torch.nn.Embedding(vocab, dim), torch.nn.Linear(dim, vocab, bias=False)
        head.weight = embed.weight  # tied
        model = torch.nn.ModuleDict(
            {"embed": embed, "head": head, "mid": torch.nn.Linear(dim, dim)}
        )
        ids = [id(p) for p in model.parameters()]
        assert len(ids) == len(set(ids)) == 3, f"{where}: a tied weight listed twice"


def test_infinite_max_norm_changes_nothing_finite_and_nans_everything_otherwise():
    where_finite = page_line(PAGE, "With a finite norm that factor is exactly 1.0")
    where_nan = page_line(PAGE, "every entry of every one of them")
    rng = np.random.default_rng(3)
    for trial in range(600):
        grads = [
            torch.tensor(
                rng.standard_normal(int(rng.integers(1, 30))) * 10.0 ** rng.uniform(-30, 30),
                dtype=torch.float32,
            )
            for _ in range(int(rng.integers(1, 4)))
        ]
        if trial % 2:  # one non-finite entry somewhere
            k = int(rng.integers(len(grads)))
            grads[k][int(rng.integers(len(grads[k])))] = [math.inf, -math.inf, math.nan][trial % 3]
        params = params_with(grads)
        norm = clip_grad_norm_(params, max_norm=math.inf)
        assert torch.equal(norm, get_total_norm(grads)) or torch.isnan(norm), where_nan
        if math.isfinite(norm.item()):
            for p, g in zip(params, grads):
                assert torch.equal(p.grad, g), f"{where_finite}: norm {norm.item()} changed it"
        else:
            for p in params:
                assert torch.isnan(p.grad).all(), f"{where_nan}: an entry is not NaN"
            untouched = params_with(grads)
            get_total_norm([p.grad for p in untouched])
            for p, g in zip(untouched, grads):
                assert torch.equal(p.grad.nan_to_num(), g.nan_to_num()), "get_total_norm changed it"


def test_global_clip_keeps_the_ratio_between_networks():
    where = page_line(PAGE, "The global clip keeps that ratio")
    rng = np.random.default_rng(4)
    for _ in range(300):
        a, b = (
            [
                torch.tensor(
                    rng.standard_normal(int(rng.integers(1, 20))) * 10 ** rng.uniform(-2, 2),
                    dtype=torch.float32,
                )
                for _ in range(2)
            ]
            for _ in range(2)
        )
        before = get_total_norm(a).item() / get_total_norm(b).item()
        params = params_with(a + b)
        clip_grad_norm_(params, max_norm=float(10 ** rng.uniform(-3, 1)))
        after = (
            get_total_norm([p.grad for p in params[:2]]).item()
            / get_total_norm([p.grad for p in params[2:]]).item()
        )
        assert math.isclose(after, before, rel_tol=1e-5), f"{where}: {before} -> {after}"


def test_previous_step_norm_lets_a_spike_through():
    ns = snippet_namespace("training/pitfalls/optimizer_in_backward.md")
    where = page_line(PAGE, "scales a sudden spike only by")
    previous_step, squares, limit = ns["previous_step"], ns["squares"], ns["MAX_NORM"]
    rng = np.random.default_rng(5)
    for trial in range(300):
        g = torch.tensor(rng.standard_normal(8), dtype=torch.float32)
        last = None if trial % 10 == 0 else float(10 ** rng.uniform(-2, 1))
        spike = max(last or 0.0, limit) * float(10 ** rng.uniform(1, 4))  # far above both
        p = torch.nn.Parameter(torch.zeros(8))
        p.grad = g / g.norm() * spike
        squares["now"], squares["last"] = 0.0, None if last is None else last**2
        previous_step(p)
        factor = 1.0 if last is None else min(1.0, limit / last)
        after = p.grad.norm().item()
        assert math.isclose(after, spike * factor, rel_tol=1e-5), where
        assert after > 5 * limit, f"{where}: the spike was cut to {after}"
