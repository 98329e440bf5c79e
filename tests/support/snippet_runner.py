"""How the suite runs one code block of snippets/, and what it says when the block fails.

pytest-codeblocks finds the blocks and stays the runner the design names; tests/support/guards.py
gives each of its items this `run_block` instead of pytest-codeblocks' own, so that:

* the block is compiled with its snippet's path and line numbers: a traceback points at
  `snippets/<page>/<idea>.md:LINE`, shows that line, and names the exception type;
* a wrong output is shown as a unified diff, with the command that rewrites it;
* the block runs in an empty temporary directory, and fails if it leaves files there;
* a block that imports a library which starts threads (JAX, TensorFlow, Transformers...)
  runs in its own Python process, so that later fork-based blocks cannot deadlock;
* a block whose first line is `# torchrun --nproc-per-node N <name>.py` is saved as
  `<name>.py` and run exactly that way, with torchrun, and rank 0's output is checked;
* with `--update-outputs` (`make outputs`), a wrong or missing expected output is
  rewritten in the snippet file from what the block printed.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from tests.support import fences
from tests.support.paths import ROOT

# Libraries that start threads when imported (JAX, TensorFlow, tokenizers, ...). A block
# that imports one runs in its own Python process: forking the pytest process after
# they started threads (as the multi-process snippets do) can deadlock.
ISOLATED = re.compile(
    r"^\s*(?:import|from)\s+(?:jax|optax|flax|tensorflow|keras|transformers|lightning|"
    r"pytorch_lightning|deepspeed|accelerate|zclip|opacus)\b",
    re.M,
)
LAUNCHER = (
    "import sys\n"
    "source = open(sys.argv[1], encoding='utf-8').read()\n"
    "code = compile('\\n' * int(sys.argv[3]) + source, sys.argv[2], 'exec')\n"
    "exec(code, {'__MODULE__': '__main__'})\n"
)
TORCHRUN = re.compile(r"^# torchrun --nproc-per-node (?P<n>\d+) (?P<script>[\w-]+\.py)\s*$")
OUTPUT_FENCE = '```text title="Output"'
UPDATE_HINT = "make outputs SNIPPETS={path}"
TORCHRUN_TIMEOUT_S = 300


class SnippetFailure(Exception):
    """A block failed; the message is what the contributor reads, nothing else."""


@dataclass
class Outcome:
    output: str
    rewritten: bool = False


def where(path: Path, line: int) -> str:
    try:
        shown = path.resolve().relative_to(ROOT)
    except ValueError:
        shown = path
    return f"{shown}:{line}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _snippet_frames(error: BaseException, path: Path) -> tuple[str, int | None]:
    """The traceback from the first frame in the snippet on, and the last line run there."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [i for i, frame in enumerate(frames) if Path(frame.filename) == path]
    kept = frames[mine[0] :] if mine else frames
    text = "".join(traceback.format_list(kept))
    text += "".join(traceback.format_exception_only(type(error), error))
    return text, (frames[mine[-1]].lineno if mine else None)


def _exec_python(code: str, path: Path, fence_line: int) -> str:
    # Blank lines in front keep the block's line numbers those of the Markdown file.
    compiled = compile("\n" * fence_line + code, str(path), "exec")
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            # The same globals pytest-codeblocks gives a block (so __name__ is not "__main__").
            exec(compiled, {"__MODULE__": "__main__"})
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        text, line = _snippet_frames(error, path)
        raise SnippetFailure(
            f"{where(path, line or fence_line + 1)}: the block raised "
            f"{type(error).__name__}: {error}\n\nTraceback (snippet frames first):\n{text}"
            f"\nOutput printed before the error:\n{buffer.getvalue() or '(nothing)'}"
        ) from None
    return buffer.getvalue()


def _run_isolated(code: str, path: Path, fence_line: int, cwd: Path) -> str:
    """Run the block in a fresh Python process, compiled with its snippet's path and lines."""
    scratch = Path(tempfile.mkdtemp(prefix="snippet-code-"))
    try:
        (scratch / "block.py").write_text(code, encoding="utf-8")
        (scratch / "launch.py").write_text(LAUNCHER, encoding="utf-8")
        argv = [sys.executable, str(scratch / "launch.py"), str(scratch / "block.py"), str(path)]
        argv.append(str(fence_line))
        try:
            done = subprocess.run(
                argv, cwd=cwd, capture_output=True, text=True, timeout=TORCHRUN_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise SnippetFailure(
                f"{where(path, fence_line + 1)}: the block did not finish in "
                f"{TORCHRUN_TIMEOUT_S} s. Bound every wait."
            ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        lines = re.findall(rf'File "{re.escape(str(path))}", line (\d+)', done.stderr)
        line = int(lines[-1]) if lines else fence_line + 1
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise SnippetFailure(
            f"{where(path, line)}: the block raised {error}\n\n"
            f"Traceback (the block ran in its own process):\n"
            + "\n".join(done.stderr.splitlines()[-60:])
            + f"\n\nOutput printed before the error:\n{done.stdout or '(nothing)'}"
        )
    return done.stdout


def _run_command(argv: list[str] | str, path: Path, line: int, cwd: Path, **kwargs) -> str:
    timeout = kwargs.pop("timeout", TORCHRUN_TIMEOUT_S)
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired as expired:
        raise SnippetFailure(
            f"{where(path, line)}: the block did not finish in {timeout} s. Bound every wait "
            f"(timeouts on joins, queues and process groups).\n{expired.stderr or ''}"
        ) from None
    if done.returncode != 0:
        raise SnippetFailure(
            f"{where(path, line)}: the block exited with status {done.returncode}.\n"
            f"stderr (last 60 lines):\n" + "\n".join(done.stderr.splitlines()[-60:])
        )
    return done.stdout


def _run_torchrun(code: str, path: Path, fence_line: int, cwd: Path, nproc: str, script: str):
    (cwd / script).write_text(code, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        nproc,
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        script,
    ]
    output = _run_command(argv, path, fence_line + 1, cwd, env=env)
    (cwd / script).unlink()
    return output


def _expected_fence(path: Path, fence_line: int) -> fences.Fence | None:
    blocks = fences.read_fences(path)
    for fence, following in zip(blocks, [*blocks[1:], None]):
        if fence.line == fence_line:
            return following if following and following.is_expected_output else None
    return None


def rewrite_output(path: Path, fence_line: int, output: str) -> None:
    """Replace (or add) the expected-output block under the block at fence_line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    body = output.rstrip("\n").split("\n") if output else []
    expected = _expected_fence(path, fence_line)
    if expected is not None:
        start, end = expected.line, expected.line + len(expected.body)  # body lines only
        lines[start:end] = body
    else:
        block = next(f for f in fences.read_fences(path) if f.line == fence_line)
        after = fence_line + len(block.body) + 1  # index just past the closing fence
        new = ["", "<!--pytest-codeblocks:expected-output-->", "", OUTPUT_FENCE, *body, "```"]
        lines[after:after] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_block(block, path: Path, update: bool) -> Outcome:
    """Run one pytest-codeblocks CodeBlock from `path`; raise SnippetFailure on any problem."""
    path = Path(path).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="snippet-"))
    here = Path.cwd()
    try:
        os.chdir(workdir)
        first = block.code.split("\n", 1)[0]
        torchrun = TORCHRUN.match(first) if block.syntax == "python" else None
        if torchrun:
            output = _run_torchrun(
                block.code, path, block.lineno, workdir, torchrun["n"], torchrun["script"]
            )
        elif block.syntax == "python" and ISOLATED.search(block.code):
            output = _run_isolated(block.code, path, block.lineno, workdir)
        elif block.syntax == "python":
            output = _exec_python(block.code, path, block.lineno)
        else:
            shell = "/bin/bash" if block.syntax == "bash" else None
            output = _run_command(
                block.code, path, block.lineno + 1, workdir, shell=True, executable=shell
            )
        left = sorted(p.name for p in workdir.iterdir())
        if left:
            raise SnippetFailure(
                f"{where(path, block.lineno)}: the block left files behind ({', '.join(left)}). "
                "A pasted snippet must not litter the reader's folder: write into a "
                "tempfile.TemporaryDirectory() and let it clean up."
            )
    finally:
        os.chdir(here)
        shutil.rmtree(workdir, ignore_errors=True)

    expected = block.expected_output
    if expected is not None and block.expected_output_ignore_whitespace:
        if re.sub(r"\s+", "", expected) == re.sub(r"\s+", "", output):
            return Outcome(output)
    if expected == output or (expected is None and block.syntax != "python"):
        return Outcome(output)
    if update:
        rewrite_output(path, block.lineno, output)
        return Outcome(output, rewritten=True)
    if expected is None:
        raise SnippetFailure(
            f"{where(path, block.lineno)}: this block has no expected-output block. Create it "
            f"from what the block prints with `{UPDATE_HINT.format(path=where(path, 0)[:-2])}`."
        )
    fence = _expected_fence(path, block.lineno)
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            output.splitlines(keepends=True),
            fromfile="expected (in the snippet)",
            tofile="printed by the block",
        )
    )
    line = fence.line if fence else block.lineno
    raise SnippetFailure(
        f"{where(path, line)}: the block printed something other than its expected output.\n"
        f"{diff}\n{_what_to_do(path)}"
    )


def _what_to_do(path: Path) -> str:
    from tests.support.changed import changed_snippets

    in_repo = ROOT in path.resolve().parents
    changed = changed_snippets() if in_repo else None
    relative = path.resolve().relative_to(ROOT).as_posix() if in_repo else None
    other_path = "ATEN_CPU_CAPABILITY" in os.environ or "MKL_CBWR" in os.environ
    if (changed is not None and relative not in changed) or other_path:
        why = "on another CPU path (one thread, portable kernels)" if other_path else "here"
        return (
            f"This output differs {why} from what was recorded"
            + (
                ", and you did not change this snippet"
                if changed and relative not in changed
                else ""
            )
            + ": it depends on the CPU (kernels, MKL, thread count), so it differs on some "
            "reader's machine. Do not record this machine's number (`make outputs` would "
            "make another CPU fail): print a value rounded to what float32 can promise, "
            "or a statement about it, and record that."
        )
    return (
        f"If the new output is right, rewrite it with "
        f"`{UPDATE_HINT.format(path=where(path, 0)[:-2])}` and check `git diff`; "
        "otherwise fix the code. (Print rounded numbers, so every CPU prints the same.)"
    )
