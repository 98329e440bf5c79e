"""Measure what gradient clipping costs on this machine.

    .venv/bin/python benchmarks/clip_cost.py            # full run, about a minute, prints a table
    .venv/bin/python benchmarks/clip_cost.py --quick    # tiny models, a few seconds
    .venv/bin/python benchmarks/clip_cost.py --record   # full run, then write the results:
        benchmarks/results/clip_cost.json      the measurements and the machine they come from
        benchmarks/results/clip_cost_table.md  the table included by docs/beyond/cost.md
        docs/beyond/img/clip_cost.svg          the plot shown on that page
    .venv/bin/python benchmarks/clip_cost.py --render benchmarks/results/clip_cost.json \
        --table OUT.md --plot OUT.svg          # redraw the table and plot from a JSON file

For each model (the parameters of a stack of Linear(width, width) layers, weight and
bias each, float32 on the CPU, every gradient set), it times

* ``clip_grad_norm_`` with ``foreach=True`` and with ``foreach=False``,
* ``get_total_norm`` alone (the norm, without the scaling),
* ``clip_grad_value_`` with ``foreach=True`` and with ``foreach=False``,
* one ``AdamW`` step with PyTorch's defaults and one with ``fused=True``, and one
  ``SGD`` step (momentum 0.9) with the defaults,

and reports the median of repeated calls, as a multiple of the memory floor and of the
default AdamW step. The calls are interleaved (one of each operation per round), so a
burst of load from other programs slows all of them alike.

The memory floor of an operation is the time the simplest kernels need to move the
bytes it cannot avoid moving: each pass that only reads a model-sized array costs one
``buffer.sum()`` of a contiguous float32 buffer as large as the model, and each pass
that reads and writes one in place costs one ``buffer.mul_(1.0)`` of it (FLOOR_PASSES
counts the passes). Both are measured on this machine in the same rounds, and so is
``Tensor.copy_`` into a second buffer, reported as the copy bandwidth.
No number here is asserted by a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "clip_cost.json"
TABLE = ROOT / "benchmarks" / "results" / "clip_cost_table.md"
PLOT = ROOT / "docs" / "beyond" / "img" / "clip_cost.svg"

# (label, number of Linear layers, width): parameters = layers * (width**2 + width).
FULL_MODELS = [
    ("1M params, 32 tensors", 16, 256),
    ("1M params, 1000 tensors", 500, 44),
    ("10M params, 80 tensors", 40, 512),
    ("100M params, 200 tensors", 100, 1024),
]
QUICK_MODELS = [
    ("10k params, 8 tensors", 4, 48),
    ("10k params, 50 tensors", 25, 20),
]

MAX_NORM = 1.0
CLIP_VALUE = 0.01

# The passes over model-sized arrays that each operation cannot avoid, for its
# memory floor: (passes that only read, passes that read and write in place).
FLOOR_PASSES = {
    "clip_grad_norm_, foreach=True": (1, 1),  # read for the norm, then scale in place
    "clip_grad_norm_, foreach=False": (1, 1),
    "get_total_norm (norm only)": (1, 0),
    "clip_grad_value_, foreach=True": (0, 1),  # clamp in place
    "clip_grad_value_, foreach=False": (0, 1),
    "AdamW step, defaults": (1, 3),  # read grad; update param, exp_avg, exp_avg_sq in place
    "AdamW step, fused=True": (1, 3),
    "SGD step, momentum 0.9": (1, 2),  # read grad; update param, momentum buffer in place
}
OPERATIONS = list(FLOOR_PASSES)
CLIPPING = OPERATIONS[:5]
REFERENCE = "AdamW step, defaults"
COLUMNS = ("Model", "Operation", "Median time", "× memory floor", "× default AdamW step")


def machine_info(threads: int) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": round(os.getloadavg()[0], 2)
        if hasattr(os, "getloadavg")
        else None,
        "date": datetime.date.today().isoformat(),
    }


def interleaved_medians(
    calls: dict, budget: float, min_rounds: int = 5, max_rounds: int = 30
) -> dict:
    """Median wall time of each call, timed in rounds of one call each, after a warm-up."""
    estimate = 0.0
    for fn in calls.values():
        fn()  # warm-up: first-call costs (optimizer state, allocations) are not timed
        start = time.perf_counter()
        fn()
        estimate += time.perf_counter() - start
    rounds = max(min_rounds, min(max_rounds, int(budget * len(calls) / max(estimate, 1e-9))))
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), rounds) for name, t in times.items()}


def measure_model(label: str, layers: int, width: int, budget: float, min_rounds: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    params = []
    for _ in range(layers):
        for shape in ((width, width), (width,)):
            p = torch.nn.Parameter(torch.randn(shape, generator=generator) * 0.02)
            p.grad = torch.randn(shape, generator=generator)
            params.append(p)
    grads = [p.grad for p in params]
    n = sum(p.numel() for p in params)
    torch.nn.utils.clip_grad_norm_(params, MAX_NORM)  # gradients of a realistic size from here on

    source, target, scratch = (torch.randn(n, generator=generator) for _ in range(3))
    adamw = torch.optim.AdamW(params, lr=1e-6)
    fused = torch.optim.AdamW(params, lr=1e-6, fused=True)
    sgd = torch.optim.SGD(params, lr=1e-6, momentum=0.9)
    calls = {
        "clip_grad_norm_, foreach=True": lambda: torch.nn.utils.clip_grad_norm_(
            params, MAX_NORM, foreach=True
        ),
        "clip_grad_norm_, foreach=False": lambda: torch.nn.utils.clip_grad_norm_(
            params, MAX_NORM, foreach=False
        ),
        "get_total_norm (norm only)": lambda: torch.nn.utils.get_total_norm(grads),
        "clip_grad_value_, foreach=True": lambda: torch.nn.utils.clip_grad_value_(
            params, CLIP_VALUE, foreach=True
        ),
        "clip_grad_value_, foreach=False": lambda: torch.nn.utils.clip_grad_value_(
            params, CLIP_VALUE, foreach=False
        ),
        "AdamW step, defaults": adamw.step,
        "AdamW step, fused=True": fused.step,
        "SGD step, momentum 0.9": sgd.step,
        "floor: read pass": lambda: source.sum(),
        "floor: in-place pass": lambda: scratch.mul_(1.0),
        "copy_": lambda: target.copy_(source),
    }
    timed = interleaved_medians(calls, budget, min_rounds)
    read_s, inplace_s = timed["floor: read pass"][0], timed["floor: in-place pass"][0]

    return {
        "label": label,
        "layers": layers,
        "width": width,
        "params": n,
        "tensors": len(params),
        "rounds": timed["copy_"][1],
        "read_pass_s": read_s,
        "inplace_pass_s": inplace_s,
        "bandwidth_gb_per_s": {
            "read": n * 4 / read_s / 1e9,
            "in-place read+write": 2 * n * 4 / inplace_s / 1e9,
            "copy_ read+write": 2 * n * 4 / timed["copy_"][0] / 1e9,
        },
        "operations": {
            name: {
                "median_s": timed[name][0],
                "floor_s": FLOOR_PASSES[name][0] * read_s + FLOOR_PASSES[name][1] * inplace_s,
            }
            for name in OPERATIONS
        },
    }


def run(models: list[tuple[str, int, int]], budget: float, min_rounds: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    info = machine_info(threads)
    measured = []
    for label, layers, width in models:
        print(f"measuring {label} ...", file=sys.stderr, flush=True)
        measured.append(measure_model(label, layers, width, budget, min_rounds))
    return {
        "machine": info,
        "settings": {
            "dtype": "float32",
            "device": "cpu",
            "max_norm": MAX_NORM,
            "clip_value": CLIP_VALUE,
            "statistic": (
                "median over interleaved rounds (one call of each operation per round), "
                "after one warm-up call"
            ),
            "floor_passes": FLOOR_PASSES,
        },
        "models": measured,
    }


def format_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def rows(results: dict) -> list[tuple[str, str, str, str, str]]:
    table = []
    for model in results["models"]:
        ops = model["operations"]
        adamw = ops[REFERENCE]["median_s"]
        for name in OPERATIONS:
            op = ops[name]
            table.append(
                (
                    model["label"],
                    name,
                    format_time(op["median_s"]),
                    f"{op['median_s'] / op['floor_s']:.1f}",
                    f"{op['median_s'] / adamw:.2f}",
                )
            )
    return table


def machine_line(results: dict) -> str:
    m = results["machine"]
    return (
        f"{m['cpu']}, {m['logical_cores']} logical cores, torch.set_num_threads({m['torch_threads']}), "
        f"torch {m['torch']}, Python {m['python']}, {m['system']}, {m['date']}, "
        f"load average {m['load_average_at_start']} at the start"
    )


def bandwidths(model: dict) -> str:
    return ", ".join(f"{kind} {gbs:.1f} GB/s" for kind, gbs in model["bandwidth_gb_per_s"].items())


def console_table(results: dict) -> str:
    table = [COLUMNS, *rows(results)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = [f"Machine: {machine_line(results)}"]
    for model in results["models"]:
        lines.append(f"Bandwidth, {model['label']}: {bandwidths(model)}")
    for i, row in enumerate(table):
        cells = [c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def markdown_table(results: dict) -> str:
    lines = [
        "<!-- Generated by benchmarks/clip_cost.py --record from benchmarks/results/clip_cost.json. "
        "Do not edit by hand. -->",
        "",
        f"Recorded on: {machine_line(results)}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for model, operation, *numbers in rows(results):
        lines.append("| " + " | ".join([model, f"`{operation}`", *numbers]) + " |")
    lines.append("")
    lines.append("Bandwidth measured in the same rounds, for the memory floor:")
    lines.append("")
    for model in results["models"]:
        lines.append(f"- {model['label']}: {bandwidths(model)} ({model['rounds']} rounds)")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    plt.rcParams.update(
        {
            "svg.hashsalt": "clip-cost",  # stable ids: the same JSON gives the same file
            "svg.fonttype": "none",  # text stays text (smaller, searchable)
            "font.size": 10,
        }
    )
    labels = [m["label"].replace(", ", "\n") for m in results["models"]]
    x = list(range(len(labels)))
    styles = {
        "clip_grad_norm_, foreach=True": ("#1f77b4", "o", "-"),
        "clip_grad_norm_, foreach=False": ("#d62728", "s", "--"),
        "get_total_norm (norm only)": ("#2ca02c", "^", "-."),
        "clip_grad_value_, foreach=True": ("#9467bd", "D", ":"),
        "clip_grad_value_, foreach=False": ("#ff7f0e", "P", ":"),
        "SGD step, momentum 0.9": ("#7f7f7f", "v", "-"),
        "AdamW step, fused=True": ("#8c564b", "*", "--"),
        "AdamW step, defaults": ("#000000", "x", "-"),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5), facecolor="white")
    for name, (color, marker, line) in styles.items():
        ops = [m["operations"][name] for m in results["models"]]
        floor = [op["median_s"] / op["floor_s"] for op in ops]
        left.plot(x, floor, color=color, marker=marker, linestyle=line, label=name)
        if name in CLIPPING:
            adamw = [m["operations"][REFERENCE]["median_s"] for m in results["models"]]
            right.plot(
                x,
                [100 * op["median_s"] / a for op, a in zip(ops, adamw)],
                color=color,
                marker=marker,
                linestyle=line,
            )
    left.axhline(1.0, color="#444444", linewidth=0.8)
    left.set_yscale("log")
    left.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    left.set_title("Time ÷ memory floor (log scale; 1× = at the floor)", fontsize=10)
    right.set_ylim(bottom=0)
    right.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}%"))
    right.set_title("Clipping time as % of one AdamW step (defaults)", fontsize=10)
    for ax in (left, right):
        ax.set_facecolor("white")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=8)
        ax.grid(True, which="major", axis="y", color="#dddddd")
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    machine = results["machine"]
    threads = machine["torch_threads"]
    fig.suptitle(
        f"{machine['cpu']}, {threads} thread{'s' if threads != 1 else ''}, "
        f"torch {machine['torch']}, float32",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None}, facecolor="white")
    plt.close(fig)


def render(results: dict, table: Path, plot_path: Path) -> None:
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text(markdown_table(results), encoding="utf-8")
    plot(results, plot_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny models, a few seconds (a smoke test)"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the JSON, the Markdown table and the SVG plot (full run only)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch.set_num_threads for the run (default: %(default)s)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: redraw the table and plot from this JSON file",
    )
    parser.add_argument(
        "--table", type=Path, default=TABLE, help="where --record/--render write the table"
    )
    parser.add_argument(
        "--plot", type=Path, default=PLOT, help="where --record/--render write the plot"
    )
    args = parser.parse_args(argv)

    if args.render:
        render(json.loads(args.render.read_text(encoding="utf-8")), args.table, args.plot)
        return 0
    if args.quick and args.record:
        parser.error("--record keeps full runs only; drop --quick")

    models, budget, min_rounds = (QUICK_MODELS, 0.01, 3) if args.quick else (FULL_MODELS, 0.6, 5)
    results = run(models, budget, min_rounds, args.threads)
    print(console_table(results), end="")
    if args.record:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        render(results, args.table, args.plot)
        print(f"wrote {RESULTS.relative_to(ROOT)}, {args.table}, {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
