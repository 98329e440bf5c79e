"""The GitHub workflows are valid and pass a security linter, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

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
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_pass_zizmor_with_no_findings():
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_full_commit_sha():
    uses = [(p.name, m) for p in WORKFLOWS for m in re.findall(r"uses:\s*(\S+)", p.read_text())]
    unpinned = [
        f"{name}: {ref}"
        for name, ref in uses
        if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref)
    ]
    assert uses and not unpinned, "pin these actions to a full commit SHA:\n" + "\n".join(unpinned)


def test_the_site_is_deployed_only_after_the_tests_pass_on_the_same_commit():
    import yaml

    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())["jobs"]
    steps = [step.get("run", "") for step in jobs["build"]["steps"]]
    assert "bash .ci/run" in steps, (
        "pages.yml: the build job must run the whole suite (bash .ci/run)"
    )
    assert steps.index("bash .ci/run") < next(
        i for i, s in enumerate(steps) if "mkdocs build" in s
    ), "pages.yml: run the suite before building the site that is uploaded"
    assert jobs["deploy"]["needs"] == "build", "pages.yml: the deploy must need the tested build"


def test_every_action_is_pinned_by_commit_and_none_runs_on_node20():
    uses = [
        line.split("uses:")[1].strip()
        for workflow in WORKFLOWS
        for line in workflow.read_text().splitlines()
        if "uses: " in line and "./" not in line
    ]
    assert uses, "no actions found"
    for action in uses:
        assert re.match(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d", action), (
            f"{action}: pin actions by full commit SHA with the release as a comment"
        )
    node20 = {
        "actions/cache@0057852",
        "actions/deploy-pages@d6db901",
        "actions/upload-pages-artifact@7b1f4a7",
    }
    assert not [a for a in uses if a[: a.index("@") + 8] in node20], (
        "an action still runs on node20"
    )
