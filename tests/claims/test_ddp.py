"""Claims of docs/training/ddp.md: clipping after DDP's backward() is single-process
clipping, with or without no_sync() accumulation; clipping before averaging is not.

The snippet starts its processes at import, so the sweep takes its definitions only
(imports, functions, constants) and runs its own `train(rank, how)` on new batches
and world sizes, in gloo processes it starts itself (fork, 127.0.0.1, a timeout on
every wait, every process stopped at the end).
"""

from __future__ import annotations

import ast
import datetime
import multiprocessing
import re
import socket
import traceback

import pytest
import torch
import torch.distributed as dist

from tests.paths import SNIPPETS
from tests.support.claims import page_line

PAGE = "training/ddp.md"
SNIPPET = "training/ddp/ddp_clip_matches_single_process.md"
HOWS = ["DDP, then clip", "DDP, 2 micro-batches with no_sync, then clip", "clip, then average"]


def definitions(snippet: str) -> dict:
    """The snippet's imports, functions and constant assignments, run without the
    statements that start processes or print."""
    source = re.search(r"```python\n(.*?)\n```", (SNIPPETS / snippet).read_text(), re.S)
    tree = ast.parse(source.group(1))
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    tree.body = [
        node
        for node in tree.body
        if isinstance(node, keep)
        or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.Tuple))
    ]
    namespace: dict = {"__name__": f"definitions:{snippet}"}
    exec(compile(tree, snippet, "exec"), namespace)
    return namespace


NS = definitions(SNIPPET)


def batches() -> list:
    """9 steps of 16 examples, from 3 seeds."""
    out = []
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        out += [
            (torch.randn(16, 8, generator=generator), torch.randn(16, 1, generator=generator))
            for _ in range(3)
        ]
    return out


def rank_main(rank, world, port, results):
    try:
        torch.set_num_threads(1)
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world,
            timeout=datetime.timedelta(seconds=20),
        )
        try:
            results.put((rank, {how: NS["train"](rank, how) for how in HOWS}))
        finally:
            dist.destroy_process_group()
    except BaseException:
        results.put((rank, traceback.format_exc()))


def run(world: int) -> dict:
    NS["batches"], NS["WORLD_SIZE"] = batches(), world  # the snippet's train() reads both
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    ranks = [
        context.Process(target=rank_main, args=(r, world, port, results)) for r in range(world)
    ]
    try:
        for process in ranks:
            process.start()
        outputs = {}
        for _ in ranks:
            rank, output = results.get(timeout=120)
            assert not isinstance(output, str), f"rank {rank} of {world} failed:\n{output}"
            outputs[rank] = output
        for process in ranks:
            process.join(timeout=30)
        return outputs
    finally:
        for process in ranks:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def reference() -> tuple[list[str], list[torch.Tensor]]:
    """One process, the whole batch of every step, the snippet's clip."""
    model = NS["new_model"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    norms, grads = [], []
    for x, y in batches():
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        norms.append(f"{torch.nn.utils.clip_grad_norm_(model.parameters(), NS['MAX_NORM']):.4f}")
        grads.append(NS["flat"](p.grad for p in model.parameters()))
        optimizer.step()
    return norms, grads


@pytest.mark.parametrize("world", [2, 4])
def test_clip_after_ddp_backward_is_single_process_and_clip_before_averaging_is_not(world):
    after = page_line(PAGE, "A plain `clip_grad_norm_` after `backward()` therefore measures the")
    no_sync = page_line(
        PAGE, "Under DDP, with or without `no_sync()` accumulation, both ranks measure the"
    )
    before = page_line(PAGE, "the average of clipped gradients is not the")
    expected_norms, expected_grads = reference()
    outputs = run(world)
    for rank, runs in sorted(outputs.items()):
        for how in HOWS[:2]:
            norms, grads = runs[how]
            same = [
                torch.allclose(torch.tensor(g), r, atol=1e-6) for g, r in zip(grads, expected_grads)
            ]
            close = all(abs(float(a) - float(b)) < 1.5e-4 for a, b in zip(norms, expected_norms))
            assert close and len(norms) == len(expected_norms) and all(same), (
                f"{after} / {no_sync}: {world} ranks, rank {rank}, {how!r}: norms {norms} vs one process"
                f" {expected_norms}, same update per step {same}. Say where clipping after DDP's backward()"
                " stops matching one process"
            )
        _, grads = runs["clip, then average"]
        differs = [
            not torch.allclose(torch.tensor(g), r, atol=1e-6) for g, r in zip(grads, expected_grads)
        ]
        assert all(differs), (
            f"{before}: {world} ranks, rank {rank}: clipping before averaging matched one process at steps"
            f" {[i for i, d in enumerate(differs) if not d]}; the sentence says it never does while the clip is active"
        )
