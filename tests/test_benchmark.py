"""benchmarks/clip_cost.py runs and prints a complete report (both floors, every model
and operation, the bytes summary, the training iteration), its recorded JSON holds every
field the page relies on, and what the site shows from it (the tables in
benchmarks/results/, the light and dark plots in docs/beyond/img/) is exactly what that
JSON produces. No timing is asserted: timings depend on the machine."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys

from tests.support.paths import ROOT

SCRIPT = ROOT / "benchmarks" / "clip_cost.py"
RESULTS = ROOT / "benchmarks" / "results" / "clip_cost.json"
TABLE = ROOT / "benchmarks" / "results" / "clip_cost_table.md"
PLOT = ROOT / "docs" / "beyond" / "img" / "clip_cost.svg"
DARK_PLOT = ROOT / "docs" / "beyond" / "img" / "clip_cost-dark.svg"
TIME = re.compile(r"^\d+(\.\d+)? (s|ms|µs)$")
REDO = (
    "Re-record with `.venv/bin/python benchmarks/clip_cost.py --record --threads 1 --note ...` and "
    "commit the JSON, the table and both plots."
)


def benchmark_module():
    spec = importlib.util.spec_from_file_location("clip_cost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def positive(text: str) -> bool:
    return math.isfinite(float(text)) and float(text) > 0


def check_row(cells: list[str], where: str) -> None:
    """A row of the operations table: model, operation, time, GB/s and two ratios."""
    assert len(cells) == 6, f"{where}: expected 6 columns, got {cells}"
    assert TIME.match(cells[2]), f"{where}: {cells[2]!r} is not a time"
    for number in cells[3:]:
        assert positive(number), f"{where}: bad number {number!r}"


def check_summary_row(cells: list[str], where: str) -> None:
    """A row of the bytes summary: model, size, cache residency, two ratios, the saving."""
    assert len(cells) == 6, f"{where}: expected 6 columns, got {cells}"
    assert re.match(r"^\d+(\.\d+)? (B|KiB|MiB|GiB)$", cells[1]), f"{where}: size {cells[1]!r}"
    assert re.match(r"^(yes, [\d.]+% of the L\d|no, [\d.]+× the L\d|unknown)$", cells[2]), (
        f"{where}: cache residency {cells[2]!r}"
    )
    assert positive(cells[3]), f"{where}: bad ratio {cells[3]!r}"
    assert cells[4] == "0.43 (3/7)", f"{where}: the byte ratio of clip to fused AdamW is 3/7"
    assert re.match(r"^-?\d+% \([-−]?[\d.]+ (s|ms|µs)\)$", cells[5]), f"{where}: {cells[5]!r}"


def test_quick_run_prints_a_complete_report():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--threads", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"`clip_cost.py --quick` failed:\n{done.stderr}"
    module = benchmark_module()
    out = done.stdout
    lines = out.splitlines()
    assert lines[0].startswith("Machine: "), f"the report does not say which machine ran it:\n{out}"
    for threads in module.thread_keys(module.os.cpu_count() or 1):
        assert f"Streaming floor, {threads}, " in out, f"no streaming floor, {threads}:\n{out}"
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines]
    for label, _, _ in module.QUICK_MODELS:
        assert f"Kernel floor, {label}: read " in out, f"no kernel floor for {label}:\n{out}"
        for operation in module.OPERATIONS:
            found = [row for row in rows if row[:2] == [label, operation]]
            assert len(found) == 1, f"no single row for {label} / {operation} in:\n{out}"
            check_row(found[0], f"{label} / {operation}")
        summary = [row for row in rows if row[0] == label and "0.43 (3/7)" in row]
        assert len(summary) == 1, f"no single bytes-summary row for {label} in:\n{out}"
        check_summary_row(summary[0], f"summary / {label}")
    assert "Training iteration: TinyLM, " in out, f"no training iteration in:\n{out}"
    for variant in (module.CLIP_THEN_STEP, module.CLIP_IN_STEP):
        assert f"  {variant}: forward + backward " in out, f"no iteration row for {variant}"
    assert "share of the iteration: " in out, f"no clip share of the iteration in:\n{out}"


def test_recorded_json_covers_every_field_the_page_uses():
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    module = benchmark_module()
    machine = results["machine"]
    for key in ("cpu", "logical_cores", "torch_threads", "torch", "python", "date"):
        assert machine.get(key) not in (None, ""), f"{RESULTS}: machine info lacks {key}. {REDO}"
    for key in ("load_average_at_end", "run_wall_s", "run_cpu_s", "note"):
        assert results.get(key) not in (None, ""), (
            f"{RESULTS} lacks {key}, which says how loaded the machine was; record with "
            f"--note saying what else ran on it. {REDO}"
        )
    llc = machine.get("last_level_cache")
    assert llc and llc["size_bytes"] > 0, f"{RESULTS}: no last-level cache size. {REDO}"
    floor = results["streaming_floor"]
    assert floor["buffer_bytes"] >= module.STREAM_LLC_MULTIPLE * llc["size_bytes"], (
        f"{RESULTS}: the streaming floor's buffer is not {module.STREAM_LLC_MULTIPLE}× the "
        f"last-level cache, so it may be measuring the cache. {REDO}"
    )
    threads = module.thread_keys(machine["logical_cores"])
    assert list(floor["gb_per_s"]) == threads, f"{RESULTS}: streaming floors {threads}? {REDO}"
    assert [m["label"] for m in results["models"]] == [m[0] for m in module.FULL_MODELS], (
        f"{RESULTS} was not recorded with the models the script measures now. {REDO}"
    )
    for model in results["models"]:
        where = f"{RESULTS}: {model['label']}"
        assert list(model["operations"]) == module.OPERATIONS, f"{where}. {REDO}"
        assert model["gradient_bytes"] == 4 * model["params"], f"{where}: float32 is 4 bytes"
        assert list(model["streaming_floor_gb_per_s"]) == threads, f"{where}. {REDO}"
        for name, op in model["operations"].items():
            assert op["floats_moved"] == module.FLOATS_MOVED[name], (
                f"{where}: {name} was recorded with another byte count. {REDO}"
            )
    # the byte counts the page states
    assert module.FLOATS_MOVED[module.CLIP] == 3 and module.FLOATS_MOVED[module.FUSED] == 7
    assert module.FLOATS_MOVED[module.CLIP_THEN_STEP] == 10
    assert module.FLOATS_MOVED[module.CLIP_IN_STEP] == 9
    it = results["training_iteration"]
    for variant in (module.CLIP_THEN_STEP, module.CLIP_IN_STEP):
        assert list(it["median_s"][variant]) == ["forward + backward", "clip", "optimizer step"]
    assert it["clipped_rounds"] > 0, (
        f"{RESULTS}: the training iteration never clipped (median norm "
        f"{it['median_gradient_norm']:.3f}, max_norm {it['max_norm']}); lower LM_MAX_NORM"
    )
    assert it["max_parameter_difference_after_one_step"] < 1e-5, (
        f"{RESULTS}: after one step from equal states the two ways to clip disagree by "
        f"{it['max_parameter_difference_after_one_step']:.2e}; see tests/test_fused_path.py"
    )


def tables(markdown: str) -> dict[str, list[list[str]]]:
    """The Markdown tables of the report, by their first header cell and column count."""
    found, current = {}, None
    for line in markdown.splitlines():
        if not line.startswith("| "):
            current = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if current is None:
            current = found.setdefault(" | ".join(cells), [])
        elif not cells[0].startswith("---"):
            current.append(cells)
    return found


def test_recorded_tables_and_plots_are_what_the_json_gives(tmp_path):
    table, plot = tmp_path / "table.md", tmp_path / "plot.svg"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--render", str(RESULTS), "--table", str(table)]
        + ["--plot", str(plot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert table.read_text(encoding="utf-8") == TABLE.read_text(encoding="utf-8"), (
        f"{TABLE} does not match {RESULTS}. {REDO}"
    )
    assert plot.read_bytes() == PLOT.read_bytes(), f"{PLOT} does not match {RESULTS}. {REDO}"
    dark = tmp_path / "plot-dark.svg"
    assert dark.read_bytes() == DARK_PLOT.read_bytes(), (
        f"{DARK_PLOT} does not match {RESULTS}. {REDO}"
    )
    module = benchmark_module()
    found = tables(TABLE.read_text(encoding="utf-8"))
    operations = found.get(" | ".join(module.COLUMNS), [])
    summary = found.get(" | ".join(module.SUMMARY_COLUMNS), [])
    models = len(module.FULL_MODELS)
    assert len(operations) == models * len(module.OPERATIONS), f"{TABLE}: operations table"
    assert len(summary) == models, f"{TABLE}: the bytes summary needs a row per model"
    for row in operations:
        check_row(row, f"{TABLE}: {row}")
    for row in summary:
        check_summary_row(row, f"{TABLE}: {row}")


def test_cost_page_quotes_the_recorded_run():
    """The numbers the cost page's prose quotes for the floors and the training iteration
    are those of benchmarks/results/clip_cost.json (re-recording means updating them)."""
    results = json.loads(RESULTS.read_text())
    page = (ROOT / "docs" / "beyond" / "cost.md").read_text()
    floor = results["streaming_floor"]["gb_per_s"]
    expected = {
        "single-thread streaming read": f"{floor['1 thread']['read']:.1f} GB/s",
        "single-thread streaming read+write": f"{floor['1 thread']['read+write']:.1f} GB/s",
        "all-thread streaming read": f"{floor['2 threads']['read']:.1f}",
        "all-thread streaming read+write": f"{floor['2 threads']['read+write']:.1f} GB/s",
    }
    iteration = results["training_iteration"]["best_s"]["clip_grad_norm_, then fused AdamW step"]
    total = sum(iteration.values())
    expected |= {
        "forward + backward": f"forward and backward took {iteration['forward + backward'] * 1e3:.1f} ms",
        "clip": f"`clip_grad_norm_` {iteration['clip'] * 1e3:.2f} ms",
        "optimizer step": f"{iteration['optimizer step'] * 1e3:.2f} ms",
        "clip's share": f"clipping was {iteration['clip'] / total:.1%} of the iteration",
    }
    missing = {what: text for what, text in expected.items() if text not in page}
    assert not missing, (
        f"docs/beyond/cost.md does not quote the recorded run for {sorted(missing)}: expected "
        f"{missing}. After re-recording, update the prose to the new numbers."
    )
