"""Two costs of clipping at scale, on CPU; docs/beyond/cost.md includes the results.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/clip_at_scale.py           # about 2 minutes
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/clip_at_scale.py --record  # and writes
                                                   # benchmarks/results/clip_at_scale.md

1. FSDP2: `clip_grad_norm_` on the DTensor gradients of `fully_shard`, 2**20 parameters in
   N 1-D tensors, on two gloo ranks (`on_ranks`: forked, 127.0.0.1, every wait bounded, no
   process left behind): its first call (DTensor's sharding propagation not yet cached) and its
   later calls, against the same clip on plain tensors in one process and the page's
   `clip_local_shards_` (local shards, one all-reduce), whose norm must be the same.
2. `torch.compile` of a function doing `clip_grad_norm_` and an AdamW step, against eager;
   each optimizer in a fresh process with Inductor's caches off, so compiling is cold.

One thread per process. No test asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tests.support reads the snippet's code
    sys.path.insert(0, str(ROOT))
from tests.support.claims import on_ranks, snippet_definitions  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "clip_at_scale.md"
SNIPPET = "beyond/cost/torchrun_clip_local_shards.md"
TOTAL, COUNTS, ROUNDS = 2**20, (16, 64, 256, 1024, 2048), 30
WIDTH, LAYERS, CALLS = 256, 8, 20  # the compiled model: LAYERS x Linear(WIDTH, WIDTH)


class Vectors(torch.nn.Module):
    """TOTAL parameters in `count` 1-D tensors; the loss is their sum of squares."""

    def __init__(self, count: int):
        super().__init__()
        self.vectors = torch.nn.ParameterList(torch.randn(TOTAL // count) for _ in range(count))

    def forward(self):
        return sum(v.square().sum() for v in self.vectors)


def first_and_fastest(call) -> tuple[float, float]:
    """Seconds of the first call, and of the fastest of ROUNDS calls after it."""
    times = []
    for _ in range(ROUNDS + 1):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times[0], min(times[1:])


def plain(count: int) -> float:
    torch.manual_seed(0)
    params = list(Vectors(count).parameters())
    for p in params:
        p.grad = 2 * p.detach()
    return first_and_fastest(lambda: torch.nn.utils.clip_grad_norm_(params, 1.0))[1]


def sharded(rank: int, world: int) -> dict:
    """On each rank of on_ranks' gloo group: {count: times and whether the norms agree}."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh, found = init_device_mesh("cpu", (world,)), {}
    clip_local_shards_ = snippet_definitions(SNIPPET)["clip_local_shards_"]
    for count in (3, *COUNTS):  # 3 tensors first: DTensor's one-time start-up, not kept
        torch.manual_seed(0)
        model = fully_shard(Vectors(count), mesh=mesh)
        model().backward()
        params = list(model.parameters())
        # The local clip first: it uses no DTensor operation, so it warms no DTensor cache.
        local = first_and_fastest(lambda: clip_local_shards_(params, 1.0))
        dtensor = first_and_fastest(lambda: torch.nn.utils.clip_grad_norm_(params, 1.0))
        norm = torch.nn.utils.clip_grad_norm_(params, 1e9).full_tensor()
        same = torch.allclose(clip_local_shards_(params, 1e9), norm, rtol=1e-5)
        found[count] = {"local": local, "dtensor": dtensor, "same": same}
    return found


def compiled_child(kind: str) -> None:
    """Prints JSON: fastest per-call seconds eager and compiled, and the first compiled call."""
    torch.set_num_threads(1)

    def clip_and_step():
        torch.manual_seed(0)
        model = torch.nn.Sequential(*(torch.nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)))
        params = list(model.parameters())
        for p in params:
            p.grad = torch.randn_like(p)
        optimizer = torch.optim.AdamW(params, lr=1e-3, **{kind: True})

        def step():
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()

        return step, params

    eager, eager_params = clip_and_step()
    compiled, compiled_params = clip_and_step()
    compiled = torch.compile(compiled)
    start = time.perf_counter()
    compiled()
    compile_s = time.perf_counter() - start
    eager()
    rounds = {eager: [], compiled: []}
    for _ in range(ROUNDS):  # interleaved rounds of CALLS calls each
        for fn, times in rounds.items():
            start = time.perf_counter()
            for _ in range(CALLS):
                fn()
            times.append((time.perf_counter() - start) / CALLS)
    for a, b in zip(eager_params, compiled_params):  # the same number of steps, the same result
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    times = {"eager": min(rounds[eager]), "compiled": min(rounds[compiled])}
    print(json.dumps({**times, "compile": compile_s}))


def compiled(kind: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"torch.compile, {kind}:\n{done.stderr}"
    return json.loads(done.stdout.splitlines()[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.1f} s"


def table(plain_times: dict, fsdp: dict, comp: dict, load: float) -> str:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    version = torch.__version__.split("+")[0]
    lines = [
        f"<!-- generated by benchmarks/clip_at_scale.py --record; {machine}, one thread per "
        f"process, torch {version}; do not edit -->",
        "",
        f"Recorded on {machine} (load average {load:.1f} at the start), torch {version}, one "
        "thread per process, CPU only. Ratios are from one run.",
        "",
        f"FSDP2 (`fully_shard`) on 2 gloo ranks: {TOTAL:,} parameters in N 1-D tensors, "
        f"`clip_grad_norm_(params, 1.0)`; later calls: fastest of {ROUNDS}.",
        "",
        "| N | plain tensors, one process | DTensor, first call | DTensor, later calls |",
        "| ---: | ---: | ---: | ---: |",
    ]
    local = [
        "",
        "The same gradients clipped by the page's `clip_local_shards_` (ratios to the plain clip):",
        "",
        "| N | first call | later calls | same norm as `clip_grad_norm_` |",
        "| ---: | ---: | ---: | --- |",
    ]
    for count in COUNTS:
        base = plain_times[count]
        first, later = fsdp[count]["dtensor"]
        local_first, local_later = fsdp[count]["local"]
        lines.append(
            f"| {count:,} | {ms(base)} | {ms(first)} ({first / base:,.0f}×) | {ms(later)} "
            f"({later / base:.1f}×) |"
        )
        local.append(
            f"| {count:,} | {ms(local_first)} | {ms(local_later)} ({local_later / base:.1f}×) "
            f"| {'yes' if fsdp[count]['same'] else 'no'} |"
        )
    lines += local
    params = LAYERS * (WIDTH * WIDTH + WIDTH)
    lines += [
        "",
        f"`torch.compile` of one function doing `clip_grad_norm_` and an AdamW step, "
        f"{LAYERS} × `Linear({WIDTH}, {WIDTH})` ({params:,} parameters in {2 * LAYERS} "
        f"tensors), fastest of {ROUNDS} rounds of {CALLS} calls:",
        "",
        "| AdamW | eager | compiled | compiled / eager | first compiled call (compiling) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, r in comp.items():
        lines.append(
            f"| `{kind}=True` | {r['eager'] * 1e6:.0f} µs | {r['compiled'] * 1e6:.0f} µs "
            f"| {r['compiled'] / r['eager']:.2f} | {r['compile']:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["foreach", "fused"])
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    if args.child:
        return compiled_child(args.child)
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    plain_times = {count: plain(count) for count in COUNTS}
    fsdp = on_ranks(sharded, 2, timeout=600)[0]  # rank 0's times
    comp = {kind: compiled(kind) for kind in ("foreach", "fused")}
    text = table(plain_times, fsdp, comp, load)
    print(text, end="")
    if args.record:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
