"""Two costs of clipping at scale, on CPU; docs/beyond/cost.md includes the results.

1. FSDP2: `clip_grad_norm_` on `fully_shard`'s DTensor gradients on two gloo ranks, first and
   later calls, against plain tensors and the page's `clip_local_shards_` (same norm?).
2. `torch.compile` of `clip_grad_norm_` + an AdamW step against eager, compiled cold.

One thread per process (run it with OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import os
import time

import torch
from common import CPU, RESULTS, TORCH, child_json, main, markdown, seconds

from tests.support.claims import on_ranks, snippet_definitions

SNIPPET = "beyond/cost/torchrun_clip_local_shards.md"
TOTAL, COUNTS, ROUNDS = 2**20, (16, 64, 256, 1024, 2048), 30
WIDTH, LAYERS, CALLS = 256, 8, 20  # the compiled model: LAYERS x Linear(WIDTH, WIDTH)
KINDS = ("foreach", "fused")  # the AdamW implementations compiled
DTENSOR_COLUMNS = ("N", "plain tensors, one process", "DTensor, first call", "DTensor, later calls")
LOCAL_COLUMNS = ("N", "first call", "later calls", "same norm as `clip_grad_norm_`")
COMPILED_COLUMNS = ("AdamW", "eager", "compiled", "compiled / eager")
COMPILED_COLUMNS += ("first compiled call (compiling)",)


class Vectors(torch.nn.Module):
    """TOTAL parameters in `count` 1-D tensors; the loss is their sum of squares."""

    def __init__(self, count: int):
        super().__init__()
        self.vectors = torch.nn.ParameterList(torch.randn(TOTAL // count) for _ in range(count))

    def forward(self):
        return sum(v.square().sum() for v in self.vectors)


def first_and_fastest(call) -> tuple[float, float]:
    """Seconds of the first call, and of the fastest of ROUNDS calls after it."""
    times = [seconds(call) for _ in range(ROUNDS + 1)]
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


def compiled_child(kind: str) -> dict:
    """Fastest per-call seconds eager and compiled, and the first compiled call's."""
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
    compile_s = seconds(compiled)
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
    return {"eager": min(rounds[eager]), "compiled": min(rounds[compiled]), "compile": compile_s}


def ms(seconds: float, base: float = 0.0, spec: str = ".1f") -> str:
    """Seconds in ms (or s), and with a `base`, their ratio to it."""
    text = f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.1f} s"
    return f"{text} ({seconds / base:{spec}}×)" if base else text


def measure() -> str:
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    plain_times = {count: plain(count) for count in COUNTS}
    fsdp = on_ranks(sharded, 2, timeout=600)[0]  # rank 0's times
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}
    comp = {kind: child_json(__file__, kind, env) for kind in KINDS}
    dtensor, local = [], []
    for count, base in plain_times.items():
        (first, later), (local_first, local_later) = fsdp[count]["dtensor"], fsdp[count]["local"]
        dtensor.append((f"{count:,}", ms(base), ms(first, base, ",.0f"), ms(later, base)))
        same = "yes" if fsdp[count]["same"] else "no"
        local.append((f"{count:,}", ms(local_first), ms(local_later, base), same))
    compiled = [
        (f"`{kind}=True`", f"{r['eager'] * 1e6:.0f} µs", f"{r['compiled'] * 1e6:.0f} µs")
        + (f"{r['compiled'] / r['eager']:.2f}", f"{r['compile']:.1f} s")
        for kind, r in comp.items()
    ]
    machine, params = f"{CPU}, {os.cpu_count()} cores", LAYERS * (WIDTH * WIDTH + WIDTH)
    lines = [
        f"<!-- generated by benchmarks/clip_at_scale.py --record; {machine}, one thread per "
        f"process, torch {TORCH}; do not edit -->",
        "",
        f"Recorded on {machine} (load average {load:.1f} at the start), torch {TORCH}, one "
        "thread per process, CPU only. Ratios are from one run.",
        "",
        f"FSDP2 (`fully_shard`) on 2 gloo ranks: {TOTAL:,} parameters in N 1-D tensors, "
        f"`clip_grad_norm_(params, 1.0)`; later calls: fastest of {ROUNDS}.",
        "",
        *markdown(DTENSOR_COLUMNS, dtensor, "rrrr"),
        "",
        "The same gradients clipped by the page's `clip_local_shards_` (ratios to the plain clip):",
        "",
        *markdown(LOCAL_COLUMNS, local, "rrrl"),
        "",
        f"`torch.compile` of one function doing `clip_grad_norm_` and an AdamW step, "
        f"{LAYERS} × `Linear({WIDTH}, {WIDTH})` ({params:,} parameters in {2 * LAYERS} "
        f"tensors), fastest of {ROUNDS} rounds of {CALLS} calls:",
        "",
        *markdown(COMPILED_COLUMNS, compiled, "lrrrr"),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main(__doc__, RESULTS / "clip_at_scale.md", KINDS, compiled_child, measure)
