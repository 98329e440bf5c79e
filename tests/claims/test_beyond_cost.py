"""Claim tests for docs/beyond/cost.md: the source facts the page reads (as of the
pinned torch) and its general sentences, run with the page's own snippet code."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import Counter

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from tests.support.claims import page_line, snippet_namespace

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
    """Source fact, at the installed torch: clip_grads_with_norm_ clamps the
    coefficient and multiplies unconditionally (no branch on it), and at run time
    the multiplication runs on every gradient when the norm is below max_norm."""
    where = page_line(PAGE, "`clip_grad_norm_` always does both of its passes")
    where_cost = page_line(PAGE, "So its cost does not depend on whether it clips")
    where_every = page_line(PAGE, "paid every step whether or not it clips")
    source = textwrap.dedent(inspect.getsource(torch.nn.utils.clip_grads_with_norm_))
    assert "torch.clamp(clip_coef, max=1.0)" in source, (
        f"{where}: torch {torch.__version__}'s clip_grads_with_norm_ no longer clamps "
        "the coefficient with torch.clamp(clip_coef, max=1.0); re-read it and fix the "
        "paragraph (and its stamp)"
    )
    tree = ast.parse(source)
    branches = [
        ast.unparse(node.test)
        for node in ast.walk(tree)
        if isinstance(node, ast.If | ast.IfExp) and "clip_coef" in ast.unparse(node.test)
    ]
    assert not branches, (
        f"{where}: torch {torch.__version__}'s clip_grads_with_norm_ now branches on "
        f"the coefficient ({branches}); the page says it always multiplies: fix it"
    )
    assert "_foreach_mul_(" in source and ".mul_(" in source, (
        f"{where}: clip_grads_with_norm_ no longer multiplies with _foreach_mul_ / mul_"
    )
    # At run time, below the threshold: one multiplication per gradient either way.
    for seed in range(3):
        grads = _grads(seed, count=9, scale=1e-3)
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for foreach in (True, False):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            calls = _aten_calls(
                lambda: torch.nn.utils.clip_grad_norm_(params, 1e3, foreach=foreach)
            )
            assert calls["aten::mul_"] == len(params), (
                f"{where_cost} and {where_every}: with the norm below max_norm, "
                "clip_grad_norm_("
                f"foreach={foreach}) ran {calls['aten::mul_']} mul_ for {len(params)} "
                "gradients; the page says it always does its second pass"
            )
            assert all(torch.equal(p.grad, g) for p, g in zip(params, grads)), (
                f"{where_cost}: multiplying by the clamped coefficient 1.0 changed a gradient"
            )


def test_foreach_on_cpu_calls_the_per_tensor_kernel_for_each_tensor():
    """On CPU, _foreach_norm and _foreach_mul_ run one per-tensor kernel per tensor."""
    where = page_line(PAGE, "because on CPU the foreach operations are a C++ loop")
    for count in (1, 7, 50):
        tensors = _grads(count, count=count, scale=1.0)
        norms = _aten_calls(lambda: torch._foreach_norm(tensors, 2))
        muls = _aten_calls(lambda: torch._foreach_mul_(tensors, torch.tensor(0.5)))
        assert norms["aten::linalg_vector_norm"] == count, (
            f"{where}: on CPU torch._foreach_norm over {count} tensors ran "
            f"{norms['aten::linalg_vector_norm']} linalg_vector_norm kernels, not one "
            f"per tensor, in torch {torch.__version__}; re-read native_functions.yaml"
        )
        assert muls["aten::mul_"] == count, (
            f"{where}: on CPU torch._foreach_mul_ over {count} tensors ran "
            f"{muls['aten::mul_']} mul_ kernels, not one per tensor"
        )


def test_foreach_changes_the_speed_not_the_result():
    """foreach=True and False: the same norm and bit-for-bit the same gradients."""
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
                assert torch.equal(norm_on, norm_off), (
                    f"{where}: the returned norms differ ({norm_on} vs {norm_off}, "
                    f"seed {seed}, {count} tensors, scale {scale})"
                )
                assert all(torch.equal(a, b) for a, b in zip(on, off)), (
                    f"{where_bits}: foreach=True and False gave different gradients "
                    f"(seed {seed}, {count} tensors, scale {scale})"
                )


def test_split_api_is_exactly_clip_grad_norm_():
    """get_total_norm then clip_grads_with_norm_ equals clip_grad_norm_ bit for bit."""
    where = page_line(PAGE, "which is exactly\n  those two in a row")
    for seed in range(8):
        for scale in (1e-3, 10.0):
            grads = _grads(seed, 12, scale)
            one = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
            two = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
            for a, b, g in zip(one, two, grads):
                a.grad, b.grad = g.clone(), g.clone()
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
    """The folded clip gives the same parameters and gradients to float tolerance
    over several steps, bit for bit when the coefficient is 1; a non-fused AdamW
    (for-loop or foreach) refuses the scale."""
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
                if exact:
                    assert all(torch.equal(p, q) for p, q in pairs), (
                        f"{where_bits}: with the coefficient 1 the folded step differs "
                        f"(seed {seed}, step {step})"
                    )
                    assert all(torch.equal(p.grad, q.grad) for p, q in pairs)
                else:
                    assert all(
                        torch.allclose(p, q, rtol=1e-5, atol=1e-6) for p, q in pairs
                    ) and all(
                        torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7) for p, q in pairs
                    ), (
                        f"{where_same}: the folded step drifted from clip + fused step "
                        f"(seed {seed}, max_norm {max_norm}, step {step})"
                    )
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
            assert "Expected grad_scale and found_inf" in str(error), (
                f"{where_refuses}: the non-fused AdamW (foreach={foreach}) now fails "
                f"with {error!r}; update the page's quoted message"
            )
        else:
            pytest.fail(
                f"{where_refuses}: a non-fused AdamW (foreach={foreach}) accepted "
                f"grad_scale in torch {torch.__version__}; fix the page"
            )
