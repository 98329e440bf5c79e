"""The GitHub workflows are valid and pass a security linter, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed; run `make test` (it installs requirements.txt)"
    return found


def test_there_is_a_test_workflow_and_a_pages_workflow():
    assert {p.name for p in WORKFLOWS} >= {"tests.yml", "pages.yml"}


def test_workflows_match_the_github_schema():
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_pass_zizmor_with_no_findings():
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_full_commit_sha():
    uses = [(p.name, m) for p in WORKFLOWS for m in re.findall(r"uses:\s*(\S+)", p.read_text())]
    unpinned = [f"{name}: {ref}" for name, ref in uses if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref)]
    assert uses and not unpinned, "pin these actions to a full commit SHA:\n" + "\n".join(unpinned)
