"""Stamps ("as of <Name> <version>", may wrap) and source links that constraints.txt contradicts.

Pages are docs/**/*.md and the Markdown cells of the notebooks docs/experiments/*.py."""

from __future__ import annotations

import re
from pathlib import Path

# Each stamp name and the package in constraints.txt it stands for.
NAMES = dict(
    PyTorch="torch", Transformers="transformers", Accelerate="accelerate",
    Lightning="lightning", DeepSpeed="deepspeed", Keras="keras", JAX="jax", Optax="optax",
    TensorFlow="tensorflow-cpu", zclip="zclip", Opacus="opacus",
)  # fmt: skip
NOT_LIBRARIES = {"Python"}  # capitalised, followed by a version, and no stamp
CANDIDATE = re.compile(
    r"\bas\s+of\s+(?P<name>[A-Za-z][\w-]*)\s+(?P<version>v?\d+(?:\.\d+)*(?:[.+-]?[a-z]+\d*)*)"
)
# A pinned library's repository: its package, and its tags' form.
REPOS = {
    "pytorch/pytorch": ("torch", "v{}"), "huggingface/transformers": ("transformers", "v{}"),
    "huggingface/accelerate": ("accelerate", "v{}"), "pytorch/opacus": ("opacus", "v{}"),
    "Lightning-AI/pytorch-lightning": ("lightning", "{}"),
    "deepspeedai/DeepSpeed": ("deepspeed", "v{}"), "keras-team/keras": ("keras", "v{}"),
    "jax-ml/jax": ("jax", "jax-v{}"), "google-deepmind/optax": ("optax", "v{}"),
    "tensorflow/tensorflow": ("tensorflow-cpu", "v{}"),
}  # fmt: skip
SOURCE_LINK = re.compile(
    r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/(?:blob|tree)/(?P<ref>[^/\s)]+)"
)
PIN = re.compile(r"^\s*(?P<package>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[^\s;#]+)")


def normalise(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def read_pins(constraints: Path) -> dict[str, str]:
    lines = constraints.read_text(encoding="utf-8").splitlines()
    return {normalise(m["package"]): m["version"] for m in map(PIN.match, lines) if m}


def page_text(page: Path) -> list[tuple[int, str]]:
    """(line, text) of a page's prose: a notebook's Markdown cells without their "# "."""
    lines = page.read_text(encoding="utf-8").splitlines()
    if page.suffix == ".md":
        return list(enumerate(lines, 1))
    prose, in_markdown = [], False
    for number, line in enumerate(lines, 1):
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line or "[md]" in line
        elif in_markdown and (line.startswith("#") or not line.strip()):
            prose.append((number, line[2:] if line.startswith("# ") else line.lstrip("#")))
    return prose


def _message(where: str, found: re.Match, pins: dict[str, str]) -> str | None:
    name, version, stamp = found["name"], found["version"], " ".join(found[0].split())
    if name in NAMES and not version.startswith("v"):
        package, pinned = NAMES[name], pins.get(normalise(NAMES[name]))
        if pinned is None:
            return (
                f'{where}: says "{stamp}" but constraints.txt pins no {package}. Pin it '
                "(requirements.txt, then make lock) or cite the claim as read from the "
                "library's source at a named tag, and say it is read, not run."
            )
        if version != pinned:
            return (
                f'{where}: says "{stamp}" but constraints.txt pins {package}=={pinned}. '
                f"Re-check this page's claims about {name} against {pinned}, then update the stamp."
            )
        return None
    aliases = {normalise(n): n for n in NAMES} | {normalise(p): n for n, p in NAMES.items()}
    if (known := aliases.get(normalise(name))) is not None:
        pinned = pins.get(normalise(NAMES[known]), "<its pin in constraints.txt>")
        return (
            f'{where}: "{stamp}" is not in the stamp form, so the drift check cannot read it. '
            f'Write it as "as of {known} {pinned}" (after checking the claim against {pinned}).'
        )
    if name[0].isupper() and "." in version and name not in NOT_LIBRARIES:
        return (
            f'{where}: says "{stamp}", but {name} is not one of the libraries the site pins '
            f"({', '.join(NAMES)}). Cite it as read from <repo> <file> at <tag or commit> and "
            "say the claim is read, not run; or pin the library and use its stamp name."
        )


def _link_message(where: str, link: re.Match, pins: dict[str, str]) -> str | None:
    repo, ref = link["repo"], link["ref"]
    package, tag_form = REPOS[repo]
    tag = tag_form.format(pins.get(normalise(package), "<pin>"))
    if ref == tag or re.fullmatch(r"[0-9a-f]{7,40}", ref):
        return None
    if ref in ("main", "master") or re.search(r"\d+\.\d+", ref):
        return (
            f"{where}: links {repo} at {ref!r}, but the site checks {package} at its pin: "
            f"link the tag {tag} (or the commit read), after checking the sentence against it."
        )


def stale_stamps(root: Path) -> list[str]:
    """One message per stamp or source link in root/docs that root/constraints.txt contradicts."""
    pins = read_pins(root / "constraints.txt")
    problems = []
    for page in sorted([*(root / "docs").rglob("*.md"), *(root / "docs/experiments").glob("*.py")]):
        prose = page_text(page)
        name = page.relative_to(root).as_posix()
        text = "\n".join(line for _, line in prose)
        for found in CANDIDATE.finditer(text):
            number = prose[text.count("\n", 0, found.start())][0]
            problems.append(_message(f"{name}:{number}", found, pins))
        for number, line in prose:
            for link in SOURCE_LINK.finditer(line):
                if link["repo"] in REPOS:
                    problems.append(_link_message(f"{name}:{number}", link, pins))
    return [p for p in problems if p]
