"""benchmarks/clip_cost.py: its report, recorded JSON, committed plots and folded clip.
No timing is asserted: timings depend on the machine."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import torch
from torch.testing import assert_close

from tests.support.modules import load
from tests.support.paths import DOCS, ROOT

SCRIPT = ROOT / "benchmarks" / "clip_cost.py"
bench = load(SCRIPT)
REDO = (
    "Re-record with `.venv/bin/python benchmarks/clip_cost.py --record --threads 1 --note ...` "
    "and commit the JSON, the report and both plots."
)


def test_quick_run_prints_a_complete_report():
    command = [sys.executable, str(SCRIPT), "--quick", "--threads", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, f"`clip_cost.py --quick` failed:\n{done.stderr}"
    labels = [label for label, _, _ in bench.QUICK_MODELS]
    assert out.startswith("Recorded on: "), f"the report does not name the machine:\n{out}"
    for threads in bench.thread_keys(os.cpu_count() or 1):
        assert f"- Streaming floor, {threads}, " in out, f"no streaming floor, {threads}:\n{out}"
    rows = [tuple(line[2:-2].split(" | ")) for line in out.splitlines() if line.startswith("| ")]
    assert {bench.COLUMNS, bench.SUMMARY_COLUMNS} <= set(rows), f"table headers:\n{out}"
    operations = [row for row in rows if row[1].startswith("`")]
    expected = [(label, f"`{op}`") for label in labels for op in bench.OPERATIONS]
    assert [row[:2] for row in operations] == expected, f"operations table:\n{out}"
    for row in operations:
        numbers = [float(cell) for cell in row[3:]]
        assert re.fullmatch(r"[\d.]+ (s|ms|µs)", row[2]), f"{row}: no time"
        assert all(math.isfinite(x) and x > 0 for x in numbers), f"{row}: not a ratio"
    summary = rows[rows.index(bench.SUMMARY_COLUMNS) + 2 :]  # the last table
    assert [row[0] for row in summary] == labels, f"no bytes summary per model:\n{out}"
    for label in labels:
        assert f"- Kernel floor, {label} (" in out, f"no kernel floor for {label}:\n{out}"
    for variant in (bench.CLIP_THEN_STEP, bench.CLIP_IN_STEP):
        assert f"- {variant}: forward + backward " in out, f"no iteration for {variant}:\n{out}"
    difference = re.search(r"after one step from equal states: (\S+)\n", out)
    assert difference and float(difference.group(1)) < 1e-5, (
        f"the two ways to clip in the training iteration disagree after one step:\n{out}"
    )


def test_recorded_json_has_every_field_the_page_uses():
    results = json.loads(bench.JSON.read_text(encoding="utf-8"))
    machine, where = results["machine"], bench.JSON.name
    for key in ("cpu", "logical_cores", "torch_threads", "torch", "python", "date", "caches"):
        assert machine.get(key) not in (None, "", []), f"{where}: no machine {key}. {REDO}"
    for key in ("load_average_at_end", "run_wall_s", "run_cpu_s", "note"):
        assert results.get(key) not in (None, ""), f"{where}: no {key} (how loaded?). {REDO}"
    llc, floor = machine["last_level_cache"], results["streaming_floor"]
    assert floor["buffer_bytes"] >= bench.STREAM_LLC_MULTIPLE * llc["size_bytes"], (
        f"{where}: the streaming buffer may fit in the last-level cache. {REDO}"
    )
    threads = bench.thread_keys(machine["logical_cores"])
    assert list(floor["gb_per_s"]) == threads, f"{where}: streaming floors {threads}? {REDO}"
    labels = [label for label, _, _ in bench.FULL_MODELS]
    assert [m["label"] for m in results["models"]] == labels, f"{where}: other models. {REDO}"
    # the floats each operation moves, as the page's table states them
    page_counts = dict(zip(bench.OPERATIONS, (3, 3, 1, 2, 2, 7, 7, 5, 10, 9)))
    for model in results["models"]:
        moved = {name: op["floats_moved"] for name, op in model["operations"].items()}
        assert moved == bench.FLOATS_MOVED == page_counts, f"{where}: {model['label']}. {REDO}"
        assert list(model["streaming_floor_gb_per_s"]) == threads, f"{where}. {REDO}"
    it = results["training_iteration"]
    for variant in (bench.CLIP_THEN_STEP, bench.CLIP_IN_STEP):
        assert tuple(it["best_s"][variant]) == bench.PHASES, f"{where}: {variant}. {REDO}"
    assert it["clipped_rounds"] == it["rounds"], f"{where}: the page says every round clips"
    assert it["max_parameter_difference_after_one_step"] < 1e-5, f"{where}: the two ways differ"
    # the clip's share of the iteration: a two-digit number, which the prose-number rule skips
    phases = it["best_s"][bench.CLIP_THEN_STEP]
    share = f"clipping was {phases['clip'] / sum(phases.values()):.1%} of the iteration"
    page = (DOCS / "beyond" / "cost.md").read_text(encoding="utf-8")
    assert share in page, f"docs/beyond/cost.md should say '{share}', as {where} does"


def test_committed_report_and_plots_are_what_the_json_renders_to(tmp_path):
    table, plot = tmp_path / "report.md", tmp_path / "plot.svg"
    bench.render(json.loads(bench.JSON.read_text(encoding="utf-8")), table, plot)
    dark = tmp_path / "plot-dark.svg", bench.PLOT.with_name("clip_cost-dark.svg")
    for fresh, committed in [(table, bench.TABLE), (plot, bench.PLOT), dark]:
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"{committed.relative_to(ROOT)} is not what {bench.JSON.name} renders to. {REDO}"
        )


def test_clip_in_the_fused_step_equals_clip_grad_norm_then_the_step():
    """Steps above and below max_norm: the same norm, parameters, gradients, AdamW moments."""
    ops = {op.name: op for op in bench.OPERATION_LIST}
    plain, folded = bench.make_model(3, 16), bench.make_model(3, 16)
    for model in (plain, folded):
        model.fused.param_groups[0]["lr"] = 1e-2
    generator, clipped = torch.Generator().manual_seed(1), 0
    for step, scale in enumerate([5.0, 0.01, 3.0, 0.002, 8.0]):
        for p, q in zip(plain.params, folded.params):
            p.grad.copy_(torch.randn(p.shape, generator=generator) * scale)
            q.grad.copy_(p.grad)
        norm, _ = ops[bench.CLIP_THEN_STEP].call(plain)()
        folded_norm = ops[bench.CLIP_IN_STEP].call(folded)()
        clipped += bool(norm > bench.MAX_NORM)
        where = f"{bench.CLIP_IN_STEP!r}, step {step} (gradient norm {norm:.3f})"
        assert_close(folded_norm, norm, msg=f"{where}: the returned norm differs")
        for p, q in zip(plain.params, folded.params):  # parameter, gradient, AdamW state
            mine, theirs = (q, q.grad, folded.fused.state[q]), (p, p.grad, plain.fused.state[p])
            assert_close(mine, theirs, msg=lambda m: f"{where}: {m}")
        assert not hasattr(folded.fused, "grad_scale"), f"{where}: grad_scale left set"
    assert clipped == 3, f"the test meant 3 of its 5 steps to clip; {clipped} did"
