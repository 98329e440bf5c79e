"""The GitHub workflows: valid, clean under zizmor (offline), pinned, and the suite gates the deploy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# Releases of actions that still run on node20, by the start of their commit.
NODE20 = (
    "actions/cache@0057852",
    "actions/deploy-pages@d6db901",
    "actions/upload-pages-artifact@7b1f4a7",
)


@pytest.mark.parametrize(
    "command",
    ["check-jsonschema --builtin-schema vendor.github-workflows", "zizmor --offline --no-progress"],
    ids=["schema", "zizmor"],
)
def test_workflows_pass(command):
    name, *options = command.split()
    tool = shutil.which(name, path=Path(sys.executable).parent) or shutil.which(name)
    assert tool, f"{name} is not installed; run `make test` (it installs requirements.txt)"
    files = sorted(map(str, WORKFLOWS.glob("*.yml")))
    done = subprocess.run([tool, *options, *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_commit_with_its_release_and_none_runs_on_node20():
    uses = re.findall(r"uses:\s*(.+)", "".join(p.read_text() for p in WORKFLOWS.glob("*.yml")))
    assert uses, "no actions found"
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d.*", action), (
            f"{action}: pin actions by full commit SHA with the release as a comment"
        )
        assert not action.startswith(NODE20), f"{action} still runs on node20"


def test_pull_requests_run_the_suite_and_the_site_deploys_only_after_it_passed():
    tests, pages = (yaml.safe_load((WORKFLOWS / f).read_text()) for f in ("tests.yml", "pages.yml"))
    assert "pull_request" in tests[True] and [
        s.get("run") for s in tests["jobs"]["test"]["steps"] if s.get("run")
    ] == ["bash .ci/run"], "tests.yml: every pull request runs `bash .ci/run`"
    steps = [step.get("run", "") for step in pages["jobs"]["build"]["steps"]]
    assert "bash .ci/run" in steps, "pages.yml: the build job must run the whole suite"
    assert steps.index("bash .ci/run") < next(
        i for i, s in enumerate(steps) if "mkdocs build" in s
    ), "pages.yml: run the suite before building the site that is uploaded"
    assert pages["jobs"]["deploy"]["needs"] == "build", "pages.yml: deploy only the tested build"
