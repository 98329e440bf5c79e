"""Version stamps ("as of DeepSpeed 0.19.8") and source links match constraints.txt."""

import pytest

from tests.support import drift
from tests.support.paths import ROOT

PINS = "deepspeed==0.19.8\ntorch==2.13.0\ntensorflow_cpu==2.21.0\n"
TORCH = "https://github.com/pytorch/pytorch/blob"


def test_every_version_stamp_and_source_link_matches_constraints():
    assert not (problems := drift.stale_stamps(ROOT)), "\n".join(["", *problems])


CASES = {  # a page (a notebook where it starts with "# %%"): what each problem starts with
    "(as of DeepSpeed 0.19.8), as of PyTorch\n2.13.0, as of March 2021, as of Python 3.11": [],
    "Text,\nwrapped: as of\nTensorFlow 2.20.0.": [
        'docs/page.md:2: says "as of TensorFlow 2.20.0" but constraints.txt pins '
        "tensorflow-cpu==2.21.0. Re-check this page's claims about TensorFlow against 2.21.0"
    ],
    "as of Opacus 1.6.0": ['docs/page.md:1: says "as of Opacus 1.6.0" but constraints.txt pins no'],
    "as of Megatron 0.9.0": ['docs/page.md:1: says "as of Megatron 0.9.0", but Megatron is not'],
    "as of torch 2.13.0": ['docs/page.md:1: "as of torch 2.13.0" is not in the stamp form'],
    f"[a]({TORCH}/main/x.py)\n[b]({TORCH}/v2.12.0/x.py)": [
        "docs/page.md:1: links pytorch/pytorch at 'main'",
        "docs/page.md:2: links pytorch/pytorch at 'v2.12.0', but the site checks torch at its pin: "
        "link the tag v2.13.0",
    ],
    f"[c]({TORCH}/v2.13.0/x.py) [d]({TORCH}/d98e8a6/x.py) [e](https://github.com/o/r/blob/main/x)": [],
    "# %% [markdown]\n# Clipped as of PyTorch 2.12.0.\n\n# %%\n# as of PyTorch 1.0.0 in code": [
        'docs/experiments/nb.py:2: says "as of PyTorch 2.12.0"'
    ],
}


@pytest.mark.parametrize(("page", "expected"), CASES.items())
def test_a_stamp_or_link_the_pins_contradict_is_named_with_its_line(tmp_path, page, expected):
    (tmp_path / "docs" / "experiments").mkdir(parents=True)
    name = "experiments/nb.py" if page.startswith("# %%") else "page.md"
    (tmp_path / "docs" / name).write_text(page, encoding="utf-8")
    (tmp_path / "constraints.txt").write_text(PINS, encoding="utf-8")
    problems = drift.stale_stamps(tmp_path)
    assert len(problems) == len(expected) and all(map(str.startswith, problems, expected)), problems
