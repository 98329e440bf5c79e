"""Runs one block of snippets/ for pytest-codeblocks (guards.py swaps it in for the plugin's own).

A block runs in an empty folder it must leave empty, in its own process if it imports a library
that starts threads (a later fork could deadlock), and under torchrun if its first line says so.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from tests.support import changed, fences
from tests.support.paths import ROOT

ISOLATED = re.compile(
    r"^\s*(?:import|from)\s+(?:jax|optax|flax|tensorflow|keras|transformers|lightning|"
    r"pytorch_lightning|deepspeed|accelerate|zclip|opacus)\b",
    re.M,
)
# Runs the block from stdin, compiled with its snippet's path and line numbers.
LAUNCHER = (
    "import sys\ncode = '\\n' * int(sys.argv[2]) + sys.stdin.read()\n"
    "exec(compile(code, sys.argv[1], 'exec'), {'__MODULE__': '__main__'})"
)
TORCHRUN = re.compile(r"^# torchrun --nproc-per-node (?P<n>\d+) (?P<script>[\w-]+\.py)\s*$")
TIMEOUT_S = 300


class SnippetFailure(Exception):
    """A block failed; the message is all the contributor reads."""


def where(path: Path, line: int) -> str:
    path = path.resolve()
    return f"{path.relative_to(ROOT) if ROOT in path.parents else path}:{line}"


def _exec_python(code: str, path: Path, fence_line: int) -> str:
    compiled = compile("\n" * fence_line + code, str(path), "exec")
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compiled, {"__MODULE__": "__main__"})  # pytest-codeblocks' globals
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        frames = traceback.extract_tb(error.__traceback__)
        mine = [i for i, frame in enumerate(frames) if Path(frame.filename) == path]
        text = "".join(traceback.format_list(frames[mine[0] :] if mine else frames))
        text += "".join(traceback.format_exception_only(type(error), error))
        line = frames[mine[-1]].lineno if mine else fence_line + 1
        raise SnippetFailure(
            f"{where(path, line)}: the block raised {type(error).__name__}: {error}\n\n"
            f"Traceback (snippet frames first):\n{text}"
            f"\nOutput printed before the error:\n{buffer.getvalue() or '(nothing)'}"
        ) from None
    return buffer.getvalue()


SHUTDOWN_ABORT = (
    "\n\nA process aborted in the interpreter's shutdown (a gloo worker thread, "
    "pytorch/pytorch#190489): end a torchrun script as the others do, with "
    "`sys.stdout.flush()` and `os._exit(0)` after `dist.destroy_process_group()`."
)


def _run(argv: list[str] | str, path: Path, line: int, **kwargs) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, **kwargs)
    except subprocess.TimeoutExpired as expired:
        raise SnippetFailure(
            f"{where(path, line)}: the block did not finish in {TIMEOUT_S} s. Bound every wait "
            f"(timeouts on joins, queues and process groups).\n{expired.stderr or ''}"
        ) from None
    if done.returncode != 0:
        lines = re.findall(rf'File "{re.escape(str(path))}", line (\d+)', done.stderr)
        last = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise SnippetFailure(
            f"{where(path, int(lines[-1]) if lines else line)}: the block failed (exit status "
            f"{done.returncode}): {last[0]}\n\nstderr (last 60 lines):\n"
            + "\n".join(done.stderr.splitlines()[-60:])
            + f"\n\nOutput printed before the error:\n{done.stdout or '(nothing)'}"
            + (SHUTDOWN_ABORT if "terminate called without" in done.stderr else "")
        )
    return done.stdout


def _run_torchrun(code: str, path: Path, line: int, nproc: str, script: str) -> str:
    Path(script).write_text(code, encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", nproc]
    argv += ["--master-addr", "127.0.0.1", "--master-port", port, script]
    output = _run(argv, path, line, env={**os.environ, "OMP_NUM_THREADS": "1"})
    Path(script).unlink()
    return output


def _block_and_output(path: Path, fence_line: int) -> tuple:
    """The fence at fence_line, and the expected-output fence under it, if any."""
    blocks = fences.read_fences(path)
    for block, following in zip(blocks, [*blocks[1:], None]):
        if block.line == fence_line:
            return block, following if following and following.is_expected_output else None
    return None, None


def rewrite_output(path: Path, fence_line: int, output: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    body = output.rstrip("\n").split("\n") if output else []
    block, expected = _block_and_output(path, fence_line)
    if expected is not None:
        lines[expected.line : expected.line + len(expected.body)] = body
    else:
        after = fence_line + len(block.body) + 1  # just past the closing fence
        marker = f"<!--{fences.EXPECTED_OUTPUT}-->"
        lines[after:after] = ["", marker, "", '```text title="Output"', *body, "```"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_block(block, path: Path, update: bool) -> bool:
    """Run a pytest-codeblocks CodeBlock; raise SnippetFailure, or say if its output was rewritten."""
    path = Path(path).resolve()
    with (
        tempfile.TemporaryDirectory(prefix="snippet-", ignore_cleanup_errors=True) as folder,
        contextlib.chdir(folder),
    ):
        torchrun = TORCHRUN.match(block.code.split("\n", 1)[0])
        if block.syntax == "python" and torchrun:
            output = _run_torchrun(block.code, path, block.lineno + 1, *torchrun.groups())
        elif block.syntax == "python" and ISOLATED.search(block.code):
            argv = [sys.executable, "-c", LAUNCHER, str(path), str(block.lineno)]
            output = _run(argv, path, block.lineno + 1, input=block.code)
        elif block.syntax == "python":
            output = _exec_python(block.code, path, block.lineno)
        else:
            shell = "/bin/bash" if block.syntax == "bash" else None
            output = _run(block.code, path, block.lineno + 1, shell=True, executable=shell)
        if left := sorted(os.listdir(folder)):
            raise SnippetFailure(
                f"{where(path, block.lineno)}: the block left files behind ({', '.join(left)}). "
                "A pasted snippet must not litter the reader's folder: write into a "
                "tempfile.TemporaryDirectory() and let it clean up."
            )

    expected = block.expected_output
    if expected == output or (expected is None and block.syntax != "python"):
        return False
    if update:
        rewrite_output(path, block.lineno, output)
        return True
    command = f"make outputs SNIPPETS={where(path, 0)[:-2]}"
    if expected is None:
        raise SnippetFailure(
            f"{where(path, block.lineno)}: this block has no expected-output block. Create it "
            f"from what the block prints with `{command}`."
        )
    fence = _block_and_output(path, block.lineno)[1]
    lines = expected.splitlines(keepends=True), output.splitlines(keepends=True)
    diff = "".join(
        difflib.unified_diff(*lines, "expected (in the snippet)", "printed by the block")
    )
    raise SnippetFailure(
        f"{where(path, fence.line if fence else block.lineno)}: the block printed something "
        f"other than its expected output.\n{diff}\n{what_to_do(path, command)}"
    )


def what_to_do(path: Path, command: str) -> str:
    """Record the new output, unless it differs only on this machine or CPU path."""
    edited = changed.changed_snippets() if ROOT in path.resolve().parents else None
    untouched = edited is not None and path.resolve().relative_to(ROOT).as_posix() not in edited
    other_path = "ATEN_CPU_CAPABILITY" in os.environ or "MKL_CBWR" in os.environ
    if not (untouched or other_path):
        return (
            f"If the new output is right, rewrite it with `{command}` and check `git diff`; "
            "otherwise fix the code. (Print rounded numbers, so every CPU prints the same.)"
        )
    how = "on another CPU path (one thread, portable kernels)" if other_path else "here"
    return (
        f"This output differs {how} from what was recorded"
        f"{', and you did not change this snippet' if untouched else ''}: it depends on the CPU "
        "(kernels, MKL, thread count), so it differs on some reader's machine. Do not record "
        "this machine's number (`make outputs` would make another CPU fail): print a value "
        "rounded to what float32 can promise, or a statement about it, and record that."
    )
