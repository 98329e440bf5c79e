"""Claims of docs/beyond/cost.md: torch's clip source as pinned, and the page's snippets."""

from __future__ import annotations

import ast
import inspect
import itertools
import math
import textwrap
from collections import Counter
from unittest import mock

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from tests.support.claims import (
    on_ranks,
    page_line,
    params_with,
    snippet_definitions,
    snippet_namespace,
)

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


LOCAL = "beyond/cost/torchrun_clip_local_shards.md"
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


class _HostRead(Exception):
    pass


def _reads_host(fn) -> bool:
    """Whether fn() reads a tensor's value in Python (a host sync on a GPU)."""

    def refuse(*_, **__):
        raise _HostRead

    with mock.patch.multiple(torch.Tensor, **dict.fromkeys(HOST_READS, refuse)):
        try:
            fn()
        except _HostRead:
            return True
    return False


class _Params(torch.nn.Module):
    def __init__(self, shapes):
        super().__init__()
        self.ps = torch.nn.ParameterList(torch.randn(s) for s in shapes)

    def forward(self):
        return sum((p.sin() * p).sum() for p in self.ps)


def test_clip_local_shards_gives_clip_grad_norm_s_norm_and_gradients_without_a_host_read():
    where = page_line(PAGE, "the same norm and the same clipped gradients as `clip_grad_norm_`")
    where_sync = page_line(PAGE, "`clip_local_shards_` reads no value on the host")
    shapes = {  # rows fewer than ranks (empty shards), odd splits, many tensors
        "snippet-like": [(16, 16), (16,)] * 4 + [(1, 16), (1,)],
        "odd 1-D": [(5,), (7,), (1,), (3,), (11,)],
        "60 tensors": [(3, 4), (2,), (9,)] * 20,
    }

    def work(rank, world):
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh, problems = init_device_mesh("cpu", (world,)), []
        clip_local_shards_ = snippet_definitions(LOCAL)["clip_local_shards_"]
        for seed, (name, shape), max_norm in itertools.product(
            range(3),
            shapes.items(),
            (1e-2, 1e3),  # clips, and does not
        ):
            case = f"world {world}, seed {seed}, {name}, max_norm {max_norm}"
            ours, theirs = [], []
            for model in (ours, theirs):
                torch.manual_seed(seed)
                model.append(fully_shard(_Params(shape), mesh=mesh))
                model[0]().backward()
            ours, theirs = ours[0], theirs[0]
            norm = []
            if _reads_host(lambda: norm.append(clip_local_shards_(ours.parameters(), max_norm))):
                problems.append(f"{where_sync}: {case}")
                continue
            expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm).full_tensor()
            same = all(
                torch.allclose(p.grad.full_tensor(), q.grad.full_tensor(), 1e-5, 1e-7)
                for p, q in zip(ours.parameters(), theirs.parameters())
            )
            if not (torch.allclose(norm[0], expected, rtol=1e-5) and same):
                problems.append(f"{where}: {case}: {norm[0]} against {expected}, {same}")
        return problems

    for world in (2, 3):
        problems = [p for out in on_ranks(work, world).values() for p in out]
        assert not problems, "\n".join(problems)


def test_clip_grad_norm_reads_the_host_only_where_the_page_says():
    where_none = page_line(PAGE, "With its defaults, `clip_grad_norm_` reads no value")
    where_error = page_line(PAGE, "`error_if_nonfinite=True` branches in Python")
    where_max = page_line(PAGE, "A `max_norm` passed as a tensor")
    where_log = page_line(PAGE, "formatting the norm in an f-string")
    clip = torch.nn.utils.clip_grad_norm_
    assert _reads_host(lambda: torch.ones(()).item()), "the host-read patch does not work"
    for seed, scale, foreach, p in itertools.product(
        range(4), (1e-3, 1e3, math.nan, math.inf), (None, True, False), (1.0, 2.0, math.inf)
    ):
        case = f"seed {seed}, scale {scale}, foreach={foreach}, norm_type={p}"
        grads = _grads(seed, 12, 1.0)
        grads[seed] = grads[seed] * scale
        params = params_with(grads)
        assert not _reads_host(lambda: clip(params, 1.0, p, foreach=foreach)), where_none
        norm = clip(params, 1.0, p, foreach=foreach)
        assert _reads_host(lambda: clip(params, 1.0, p, True, foreach)), f"{where_error}: {case}"
        assert _reads_host(lambda: clip(params, torch.tensor(1.0), p)), f"{where_max}: {case}"
        assert _reads_host(lambda: f"{norm:.3f}"), f"{where_log}: {case}"


def test_dtensor_first_call_cost_is_where_the_page_says():
    from torch.distributed.tensor import _sharding_prop
    from torch.distributed.tensor._ops import _tensor_ops

    where_stack = page_line(PAGE, "now builds one output strategy")
    where_loop = page_line(PAGE, "scans the specs of all *N* arguments")
    where_cache = page_line(PAGE, "caches the result")
    source = inspect.getsource(_sharding_prop.ShardingPropagator.propagate_op_sharding_non_cached)
    loops = [
        node
        for node in ast.walk(ast.parse(textwrap.dedent(source)))
        if isinstance(node, ast.For) and ast.unparse(node.iter) == "op_strategy.children"
    ]
    assert any(
        "_propagate_use_strided_shard_flag(strategy, op_schema)" in ast.unparse(loop)
        for loop in loops
    ), f"{where_loop}: no longer called once per tensor with the whole schema"
    flag = inspect.getsource(_sharding_prop._propagate_use_strided_shard_flag)
    assert "for spec in op_schema.args_spec:" in flag, f"{where_loop}: no longer scans every spec"
    init = inspect.getsource(_sharding_prop.ShardingPropagator.__init__)
    assert "LocalLRUCache(\n            self.propagate_op_sharding_non_cached" in init, where_cache
    stack = ast.parse(textwrap.dedent(inspect.getsource(_tensor_ops.stack_strategy)))
    appends = [
        node
        for node in ast.walk(stack)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "op_strategy.strategies.append"
    ]
    in_loops = [n for loop in ast.walk(stack) if isinstance(loop, ast.For) for n in ast.walk(loop)]
    assert len(appends) == 1 and appends[0] not in in_loops, f"{where_stack}: {len(appends)}"


WRAPPED = {"Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "ASGD", "NAdam", "RAdam",
           "RMSprop", "Rprop", "SGD"}  # fmt: skip
UNWRAPPED = {"Muon", "Adafactor", "LBFGS", "SparseAdam"}


def _graphs_holding_the_clip(make, grads) -> list[set[str]]:
    """torch._dynamo.explain of clip_grad_norm_ then step(): the ops of each graph with the clip."""
    params = params_with(grads)
    optimizer = make(params)

    def clip_and_step():
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    torch._dynamo.reset()
    graphs = torch._dynamo.explain(clip_and_step)().graphs
    clips = [g for g in graphs if "_foreach_norm" in str(g.graph)]
    return [{str(n.target) for n in g.graph.nodes if n.op == "call_function"} for g in clips]


def test_compile_never_puts_the_clip_and_the_step_in_one_graph():
    where = page_line(PAGE, "never traces")
    where_list = page_line(PAGE, "The wrapped ones are Adadelta")
    from torch.optim.optimizer import _use_grad_for_differentiable

    source = inspect.getsource(_use_grad_for_differentiable)
    assert source.count("torch._dynamo.graph_break()") == 2, f"{where}: {source}"
    every = {
        name
        for name, cls in vars(torch.optim).items()
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
        and cls is not torch.optim.Optimizer
    }  # fmt: skip
    assert every == WRAPPED | UNWRAPPED, f"{where_list}: torch.optim now has {sorted(every)}"
    for name in every:
        wrapped = "@_use_grad_for_differentiable" in inspect.getsource(
            getattr(torch.optim, name).step
        )
        assert wrapped == (name in WRAPPED), f"{where_list}: {name}.step wrapped: {wrapped}"
    for make in (
        lambda ps: torch.optim.AdamW(ps, foreach=True),
        lambda ps: torch.optim.AdamW(ps, fused=True),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=True),
    ):
        clips = _graphs_holding_the_clip(make, _grads(0, 4, 1.0))
        assert len(clips) == 1, f"{where}: {len(clips)} graphs hold the clip"
        steps = {
            o for o in clips[0] if "lerp" in o or "fused" in o or "add" in o and "foreach" in o
        }
        assert not steps, f"{where}: the clip's graph holds {steps}"
    matrices = [torch.randn(4, 4, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    clips = _graphs_holding_the_clip(lambda ps: torch.optim.Muon(ps, lr=0.02), matrices)
    assert len(clips) == 1 and any("mm" in o for o in clips[0]), (
        f"{where_list}: Muon's step no longer compiles with the clip: {clips}"
    )
