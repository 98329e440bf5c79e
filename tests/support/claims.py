"""What claim tests share: a snippet's own code, the page line a claim guards, ranks."""

from __future__ import annotations

import ast
import contextlib
import io
import re

from tests.support.paths import DOCS, ROOT, SNIPPETS


def _prints(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
        for n in ast.walk(node)
    )


def _is_definition(node: ast.AST) -> bool:
    return isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef) or (
        isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.Tuple)
    )


def _run(snippet: str, keep) -> dict:
    """The global names of a snippet's ```python block, run with only the top-level
    statements `keep` accepts; what it prints is discarded."""
    path = SNIPPETS / snippet
    block = re.search(r"```python\n(.*?)\n```", path.read_text(), re.S)
    assert block, f"{path.relative_to(ROOT)}: no ```python block"
    tree = ast.parse(block.group(1))
    tree.body = [node for node in tree.body if keep(node)]
    namespace: dict = {"__name__": f"snippet:{snippet}"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(tree, str(path), "exec"), namespace)
    return namespace


def snippet_namespace(snippet: str, demo: bool = False) -> dict:
    """A snippet's global names (`snippet` relative to snippets/). Without `demo`, the
    top-level statements that print (the demonstration a reader sees) are left out."""
    if demo:
        return _run(snippet, lambda node: True)
    definition = ast.FunctionDef | ast.ClassDef
    return _run(snippet, lambda node: isinstance(node, definition) or not _prints(node))


def snippet_fixture(snippet: str):
    """A module-scoped fixture of `snippet_namespace(snippet)`, named by the name it is
    assigned to (`masked = snippet_fixture(...)`)."""
    import pytest

    def namespace():
        return snippet_namespace(snippet)

    return pytest.fixture(scope="module")(namespace)


def page_line(page: str, phrase: str) -> str:
    """`docs/<page>:LINE` of the line where `phrase` starts; fails if the page lost it.

    White space in `phrase` matches any run of white space, so a phrase may span a
    line break of the Markdown source.
    """
    text = (DOCS / page).read_text()
    pattern = r"\s+".join(map(re.escape, phrase.split()))
    found = re.search(pattern, text)
    assert found, (
        f"docs/{page} no longer says {phrase!r}: this claim test guards that sentence;"
        " point the test at the sentence that replaced it, or remove the test with it"
    )
    return f"docs/{page}:{text.count(chr(10), 0, found.start()) + 1}"


def params_with(grads, dtype=None) -> list:
    """Parameters whose `.grad` are copies of `grads` (tensors or arrays)."""
    import torch

    grads = [torch.as_tensor(g, dtype=dtype) for g in grads]
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    return params


def snippet_definitions(snippet: str) -> dict:
    """A snippet's imports, functions, classes and constants only, not its top-level run
    (which may start processes)."""
    return _run(snippet, _is_definition)


def on_ranks(work, world: int, timeout: float = 120) -> dict:
    """{rank: work(rank, world)} from `world` forked processes in a gloo group on
    127.0.0.1; a rank that raises fails the test with its traceback. Every process is
    gone when this returns."""
    import datetime
    import multiprocessing
    import socket
    import traceback

    import torch
    import torch._dynamo  # noqa: F401  (DDP and Optimizer() import it: once, before the fork)
    import torch.distributed as dist

    def main(rank, port, results):
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
                results.put((rank, work(rank, world)))
            finally:
                dist.destroy_process_group()
        except BaseException:
            results.put((rank, traceback.format_exc()))

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    ranks = [context.Process(target=main, args=(r, port, results)) for r in range(world)]
    try:
        for process in ranks:
            process.start()
        outputs = {}
        for _ in ranks:
            rank, output = results.get(timeout=timeout)
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
