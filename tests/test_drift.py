"""Version stamps ("as of DeepSpeed 0.19.8") on the pages match constraints.txt."""

from pathlib import Path

from tests.support import drift
from tests.support.paths import ROOT

PINS = "deepspeed==0.19.8\ntorch==2.13.0\ntensorflow_cpu==2.21.0\n"


def report(problems: list[str]) -> str:
    return "\n".join(["", *problems])


def test_every_version_stamp_matches_constraints():
    assert not (problems := drift.stale_stamps(ROOT)), report(problems)


def test_every_stamp_name_stands_for_a_pinned_package():
    pins = drift.read_pins(ROOT / "constraints.txt")
    missing = {name: pkg for name, pkg in drift.NAMES.items() if drift.normalise(pkg) not in pins}
    assert not missing, f"stamp names with no pin in constraints.txt: {missing}"


def make_tree(tmp_path: Path, page: str, pins: str = PINS, notebook: str | None = None) -> Path:
    (tmp_path / "docs" / "experiments").mkdir(parents=True)
    (tmp_path / "docs" / "page.md").write_text(page, encoding="utf-8")
    if notebook is not None:
        (tmp_path / "docs" / "experiments" / "nb.py").write_text(notebook, encoding="utf-8")
    (tmp_path / "constraints.txt").write_text(pins, encoding="utf-8")
    return tmp_path


def test_correct_stamps_pass(tmp_path):
    page = "# Title\n\nIt clips once (as of DeepSpeed 0.19.8), like as of PyTorch\n2.13.0.\n"
    assert drift.stale_stamps(make_tree(tmp_path, page)) == []


def test_a_changed_stamp_fails_naming_file_and_line(tmp_path):
    page = "# Title\n\nText.\n\nDeepSpeed clips once, as of DeepSpeed 0.19.2.\n"
    assert drift.stale_stamps(make_tree(tmp_path, page)) == [
        'docs/page.md:5: says "as of DeepSpeed 0.19.2" but constraints.txt pins '
        "deepspeed==0.19.8. Re-check this page's claims about DeepSpeed against 0.19.8, "
        "then update the stamp."
    ]


def test_a_changed_pin_fails_naming_file_and_line(tmp_path):
    page = "# Title\n\nOne line,\nthen a wrapped stamp: as of\nTensorFlow 2.21.0.\n"
    assert drift.stale_stamps(make_tree(tmp_path, page)) == []
    moved = PINS.replace("tensorflow_cpu==2.21.0", "tensorflow-cpu==2.22.0")
    (tmp_path / "constraints.txt").write_text(moved, encoding="utf-8")
    assert drift.stale_stamps(tmp_path) == [
        'docs/page.md:4: says "as of TensorFlow 2.21.0" but constraints.txt pins '
        "tensorflow-cpu==2.22.0. Re-check this page's claims about TensorFlow against "
        "2.22.0, then update the stamp."
    ]


def test_notebook_markdown_cells_are_checked_and_code_is_not(tmp_path):
    notebook = (
        "# %% [markdown]\n"
        "# # A notebook\n"
        "#\n"
        "# Clipped as of PyTorch 2.12.0 here.\n"
        "\n"
        "# %%\n"
        "# as of PyTorch 1.0.0 in a code comment is not prose\n"
        "x = 1\n"
    )
    problems = drift.stale_stamps(make_tree(tmp_path, "# Title\n", notebook=notebook))
    assert len(problems) == 1, report(problems)
    assert problems[0].startswith('docs/experiments/nb.py:4: says "as of PyTorch 2.12.0"')


def test_unpinned_libraries_and_other_forms_are_flagged(tmp_path):
    page = (
        "as of Opacus 1.6.0\n"  # a stamp name whose package has no pin here
        "as of Megatron 0.9.0\n"  # not a library the site pins
        "as of torch 2.13.0\n"  # the package's name, not the stamp name
        "as of PyTorch v2.13.0\n"  # a leading v
        "as of March 2021, and as of Python 3.11\n"  # not stamps
    )
    problems = drift.stale_stamps(make_tree(tmp_path, page))
    assert [p.split(":")[1] for p in problems] == ["1", "2", "3", "4"], report(problems)
    assert "pins no opacus" in problems[0]
    assert "Megatron is not one of the libraries" in problems[1]
    assert 'Write it as "as of PyTorch 2.13.0"' in problems[2]
    assert 'Write it as "as of PyTorch 2.13.0"' in problems[3]


def test_a_source_link_to_a_branch_or_another_tag_fails(tmp_path):
    page = (
        "# Title\n\n"
        "[a](https://github.com/pytorch/pytorch/blob/main/torch/nn/utils/clip_grad.py)\n"
        "[b](https://github.com/pytorch/pytorch/blob/v2.12.0/torch/optim/adamw.py)\n"
        "[c](https://github.com/pytorch/pytorch/blob/v2.13.0/torch/optim/adamw.py)\n"
        "[d](https://github.com/deepspeedai/DeepSpeed/blob/d98e8a6/deepspeed/x.py)\n"
        "[e](https://github.com/clipping-guide/clipping-guide/blob/main/README.md)\n"
    )
    problems = drift.stale_stamps(make_tree(tmp_path, page))
    assert [p.split(":")[1] for p in problems] == ["3", "4"], report(problems)
    assert "link the tag v2.13.0" in problems[0]
