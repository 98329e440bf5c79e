"""benchmarks/clip_cost.py runs and prints a complete table, and what the site shows
from it (the table in benchmarks/results/, the plot in docs/beyond/img/) is exactly what
its recorded JSON produces. No timing is asserted: timings depend on the machine."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys

from tests.paths import ROOT

SCRIPT = ROOT / "benchmarks" / "clip_cost.py"
RESULTS = ROOT / "benchmarks" / "results" / "clip_cost.json"
TABLE = ROOT / "benchmarks" / "results" / "clip_cost_table.md"
PLOT = ROOT / "docs" / "beyond" / "img" / "clip_cost.svg"
TIME = re.compile(r"^\d+(\.\d+)? (s|ms|µs)$")
REDO = (
    "Re-record with `.venv/bin/python benchmarks/clip_cost.py --record` and commit all three files."
)


def benchmark_module():
    spec = importlib.util.spec_from_file_location("clip_cost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def check_row(cells: list[str], where: str) -> None:
    assert len(cells) == 5, f"{where}: expected 5 columns, got {cells}"
    assert TIME.match(cells[2]), f"{where}: {cells[2]!r} is not a time"
    for ratio in cells[3:]:
        assert math.isfinite(float(ratio)) and float(ratio) > 0, f"{where}: bad ratio {ratio!r}"


def test_quick_run_prints_a_complete_table():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--threads", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"`clip_cost.py --quick` failed:\n{done.stderr}"
    module = benchmark_module()
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Machine: "), (
        f"the table does not say which machine ran it:\n{done.stdout}"
    )
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines]
    for label, _, _ in module.QUICK_MODELS:
        for operation in module.OPERATIONS:
            found = [row for row in rows if row[:2] == [label, operation]]
            assert len(found) == 1, f"no single row for {label} / {operation} in:\n{done.stdout}"
            check_row(found[0], f"{label} / {operation}")


def test_recorded_json_covers_every_model_and_operation():
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    module = benchmark_module()
    for key in ("cpu", "logical_cores", "torch_threads", "torch", "python", "date"):
        assert results["machine"].get(key) not in (None, ""), (
            f"{RESULTS}: machine info lacks {key}. {REDO}"
        )
    assert [m["label"] for m in results["models"]] == [m[0] for m in module.FULL_MODELS], (
        f"{RESULTS} was not recorded with the models the script measures now. {REDO}"
    )
    for model in results["models"]:
        assert list(model["operations"]) == module.OPERATIONS, (
            f"{RESULTS}: {model['label']}. {REDO}"
        )


def test_recorded_table_and_plot_are_what_the_json_gives(tmp_path):
    table, plot = tmp_path / "table.md", tmp_path / "plot.svg"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--render",
            str(RESULTS),
            "--table",
            str(table),
            "--plot",
            str(plot),
        ],
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
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith(("| Model", "| ---")):
            check_row([cell.strip() for cell in line.strip("|").split("|")], f"{TABLE}: {line}")
