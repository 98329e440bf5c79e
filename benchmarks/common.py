"""What the benchmarks share: the repository on sys.path, timing, child processes, --record."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:  # run as a script: tests.support reads the snippets' code
    sys.path.insert(0, str(ROOT))
CPU = platform.processor() or platform.machine()
TORCH = torch.__version__.split("+")[0]


def seconds(call) -> float:
    """The wall time of one call."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def markdown(columns: tuple[str, ...], rows: list[tuple[str, ...]], align: str) -> list[str]:
    """A Markdown table; `align` has an l or r for each column."""
    rule = ["---:" if side == "r" else "---" for side in align]
    return ["| " + " | ".join(row) + " |" for row in (columns, rule, *rows)]


def child_json(script: str, arg: str, env: dict | None = None) -> dict:
    """What `script --child arg` returns, measured in a fresh process."""
    done = subprocess.run(
        [sys.executable, script, "--child", arg],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{Path(script).name} --child {arg}:\n{done.stderr}"
    return json.loads(done.stdout.splitlines()[-1])


def main(doc: str, results: Path, children: tuple[str, ...], child, measure) -> None:
    """`--child NAME` prints child(NAME) as JSON; else print measure(), and --record saves it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--child", choices=children)
    parser.add_argument("--record", action="store_true", help=f"write {results.name}")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    text = measure()
    print(text, end="")
    if args.record:
        results.write_text(text)
