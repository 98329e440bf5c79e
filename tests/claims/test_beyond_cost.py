"""Claims of docs/beyond/cost.md: torch's clip source as pinned, and the page's snippets."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import Counter

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from tests.support.claims import page_line, params_with, snippet_namespace

PAGE = "beyond/cost.md"
FOREACH = "beyond/cost/foreach_changes_speed_not_result.md"
FOLDED = "beyond/cost/clip_folded_into_fused_adamw.md"


def _aten_calls(fn) -> Counter:
    """How many times each aten operator ran (nested calls included) during fn()."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return Counter(e.name for e in prof.events())


def _grads(seed: int, count: int, scale: float):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(int(torch.randint(1, 40, (1,), generator=gen)),) * (1 + i % 2) for i in range(count)]
    return [torch.randn(s, generator=gen) * scale for s in shapes]


def test_clip_grad_norm_always_multiplies_even_below_max_norm():
    where = page_line(PAGE, "`clip_grad_norm_` always does both of its passes")
    where_cost = page_line(PAGE, "So its cost does not depend on whether it clips")
    where_every = page_line(PAGE, "paid every step whether or not it clips")
    source = textwrap.dedent(inspect.getsource(torch.nn.utils.clip_grads_with_norm_))
    assert "torch.clamp(clip_coef, max=1.0)" in source, f"{where}: no longer clamps"
    tree = ast.parse(source)
    branches = [
        ast.unparse(node.test)
        for node in ast.walk(tree)
        if isinstance(node, ast.If | ast.IfExp) and "clip_coef" in ast.unparse(node.test)
    ]
    assert not branches, f"{where}: clip_grads_with_norm_ branches on {branches}"
    assert "_foreach_mul_(" in source and ".mul_(" in source, f"{where}: no _foreach_mul_ / mul_"
    for seed in range(3):  # below the threshold: one multiplication per gradient either way
        grads = _grads(seed, count=9, scale=1e-3)
        for foreach in (True, False):
            params = params_with(grads)
            calls = _aten_calls(
                lambda: torch.nn.utils.clip_grad_norm_(params, 1e3, foreach=foreach)
            )
            assert calls["aten::mul_"] == len(params), (
                f"{where_cost} / {where_every}: foreach={foreach}: {calls['aten::mul_']} mul_"
            )
            assert all(torch.equal(p.grad, g) for p, g in zip(params, grads)), where_cost


def test_foreach_on_cpu_calls_the_per_tensor_kernel_for_each_tensor():
    where = page_line(PAGE, "because on CPU the foreach operations are a C++ loop")
    for count in (1, 7, 50):
        tensors = _grads(count, count=count, scale=1.0)
        norms = _aten_calls(lambda: torch._foreach_norm(tensors, 2))
        muls = _aten_calls(lambda: torch._foreach_mul_(tensors, torch.tensor(0.5)))
        assert norms["aten::linalg_vector_norm"] == count, f"{where}: {count} tensors: {norms}"
        assert muls["aten::mul_"] == count, f"{where}: {count} tensors: {muls}"


def test_foreach_changes_the_speed_not_the_result():
    where = page_line(PAGE, "It changes the speed, not the result")
    where_bits = page_line(PAGE, "Both paths return the same norm and leave bit-for-bit")
    ns = snippet_namespace(FOREACH)
    clip = ns["clip"]
    for seed in range(8):
        for count in (1, 5, 40):
            for scale in (1e-4, 1.0, 1e3):  # below and above max_norm=1.0
                ns["grads"] = _grads(seed, count, scale)
                norm_on, on = clip(foreach=True)
                norm_off, off = clip(foreach=False)
                case = f"seed {seed}, {count} tensors, scale {scale}"
                assert torch.equal(norm_on, norm_off), f"{where}: {case}: {norm_on}, {norm_off}"
                assert all(torch.equal(a, b) for a, b in zip(on, off)), f"{where_bits}: {case}"


def test_split_api_is_exactly_clip_grad_norm_():
    where = page_line(PAGE, "which is exactly\n  those two in a row")
    for seed in range(8):
        for scale in (1e-3, 10.0):
            grads = _grads(seed, 12, scale)
            one, two = params_with(grads), params_with(grads)
            n1 = torch.nn.utils.clip_grad_norm_(one, 1.0)
            n2 = torch.nn.utils.get_total_norm([p.grad for p in two])
            torch.nn.utils.clip_grads_with_norm_(two, 1.0, n2)
            assert torch.equal(n1, n2) and all(
                torch.equal(a.grad, b.grad) for a, b in zip(one, two)
            ), f"{where}: the split API differs from clip_grad_norm_ (seed {seed})"


def _twins(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))
    twin = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))
    twin.load_state_dict(model.state_dict())
    return model, twin


def test_folded_clip_matches_clip_then_fused_step():
    where_same = page_line(PAGE, "The two ways give the same parameters and the same clipped")
    where_bits = page_line(PAGE, "bit for bit when the\ncoefficient is 1")
    where_refuses = page_line(PAGE, "a non-fused AdamW refuses the scale")
    ns = snippet_namespace(FOLDED)
    folded_step = ns["clip_in_fused_step"]
    for seed in range(4):
        for max_norm, exact in ((0.05, False), (0.5, False), (1e4, True)):
            model, twin = _twins(seed)
            one = torch.optim.AdamW(model.parameters(), lr=1e-2, fused=True)
            two = torch.optim.AdamW(twin.parameters(), lr=1e-2, fused=True)
            for step in range(5):
                x = torch.randn(32, 16) * (1 + 5 * step)
                y = torch.randint(4, (32,))
                for net, opt in ((model, one), (twin, two)):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(net(x), y).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                one.step()
                folded_step(two, list(twin.parameters()), max_norm)
                pairs = list(zip(model.parameters(), twin.parameters()))
                case = f"seed {seed}, max_norm {max_norm}, step {step}"
                if exact:
                    same = all(torch.equal(p, q) and torch.equal(p.grad, q.grad) for p, q in pairs)
                    assert same, f"{where_bits}: {case}"
                else:
                    assert all(
                        torch.allclose(p, q, rtol=1e-5, atol=1e-6)
                        and torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7)
                        for p, q in pairs
                    ), f"{where_same}: {case}"
    for foreach in (False, True):
        model, _ = _twins(0)
        torch.nn.functional.cross_entropy(
            model(torch.randn(8, 16)), torch.randint(4, (8,))
        ).backward()
        plain = torch.optim.AdamW(model.parameters(), lr=1e-2, foreach=foreach)
        plain.grad_scale = torch.tensor(2.0)
        try:
            plain.step()
        except AssertionError as error:
            assert "Expected grad_scale and found_inf" in str(error), f"{where_refuses}: {error}"
        else:
            pytest.fail(f"{where_refuses}: AdamW(foreach={foreach}) accepted grad_scale")
