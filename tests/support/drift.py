"""Find the version stamps on the site's pages that no longer match the lock file.

Every statement a page makes about another library names the version it was checked
against, as ``as of <Name> <version>`` (for example "as of DeepSpeed 0.19.8"), where
``<version>`` is that library's exact pin in ``constraints.txt``. When a pin moves, the
claims must be re-checked: ``stale_stamps`` returns one message per stamp that no longer
matches (or that names a library with no pin, or is written in another form), each
starting with ``path:line:`` and saying what to do.

Pages are the Markdown files in ``docs/`` and the Markdown cells of the Jupytext
notebooks ``docs/experiments/*.py``. A stamp may wrap across lines; its line is the
line where "as of" starts.
"""

from __future__ import annotations

import re
from pathlib import Path

# The names a stamp may use, and the package in constraints.txt each one stands for.
NAMES = {
    "PyTorch": "torch",
    "Transformers": "transformers",
    "Accelerate": "accelerate",
    "Lightning": "lightning",
    "DeepSpeed": "deepspeed",
    "Keras": "keras",
    "JAX": "jax",
    "Optax": "optax",
    "TensorFlow": "tensorflow-cpu",
    "zclip": "zclip",
    "Opacus": "opacus",
}
# Capitalised words that may be followed by a version without being a library stamp.
NOT_LIBRARIES = {"Python"}

# "as of", then a word, then something that starts like a version. Whitespace may be
# a line break (a wrapped sentence, or the "# " of a notebook's Markdown cell).
CANDIDATE = re.compile(
    r"\bas\s+of\s+(?P<name>[A-Za-z][\w-]*)\s+(?P<version>v?\d+(?:\.\d+)*(?:[.+-]?[a-z]+\d*)*)"
)
# Source links to a pinned library's repository, and how that repository names the
# pinned version's tag. A link to a branch (main, master) reads whatever the branch
# holds today; a link to another version's tag goes stale when the pin moves.
REPOS = {
    "pytorch/pytorch": ("torch", "v{}"),
    "huggingface/transformers": ("transformers", "v{}"),
    "huggingface/accelerate": ("accelerate", "v{}"),
    "Lightning-AI/pytorch-lightning": ("lightning", "{}"),
    "deepspeedai/DeepSpeed": ("deepspeed", "v{}"),
    "keras-team/keras": ("keras", "v{}"),
    "jax-ml/jax": ("jax", "jax-v{}"),
    "google-deepmind/optax": ("optax", "v{}"),
    "tensorflow/tensorflow": ("tensorflow-cpu", "v{}"),
    "pytorch/opacus": ("opacus", "v{}"),
}
SOURCE_LINK = re.compile(
    r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/(?:blob|tree)/(?P<ref>[^/\s)]+)"
)
PIN = re.compile(r"^\s*(?P<package>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[^\s;#]+)")


def normalise(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def read_pins(constraints: Path) -> dict[str, str]:
    """{normalised package name: pinned version} from a pip constraints file."""
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        found = PIN.match(line)
        if found:
            pins[normalise(found.group("package"))] = found.group("version")
    return pins


def page_text(page: Path) -> list[tuple[int, str]]:
    """(line number, text) of the prose of a page: every line of a Markdown file, the
    Markdown cells of a Jupytext percent-format notebook without their "# "."""
    lines = page.read_text(encoding="utf-8").splitlines()
    if page.suffix == ".md":
        return list(enumerate(lines, 1))
    prose, in_markdown = [], False
    for number, line in enumerate(lines, 1):
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line or "[md]" in line
            continue
        if in_markdown and (line.startswith("#") or not line.strip()):
            prose.append((number, line[2:] if line.startswith("# ") else line.lstrip("#")))
    return prose


def pages(docs: Path) -> list[Path]:
    return sorted([*docs.rglob("*.md"), *(docs / "experiments").glob("*.py")])


def _message(where: str, stamp: str, name: str, version: str, pins: dict[str, str]) -> str | None:
    aliases = {normalise(n): n for n in NAMES} | {normalise(p): n for n, p in NAMES.items()}
    if name in NAMES and not version.startswith("v"):
        package = NAMES[name]
        pinned = pins.get(normalise(package))
        if pinned is None:
            return (
                f'{where}: says "{stamp}" but constraints.txt pins no {package}. Pin it '
                "(requirements.txt, then make lock) or cite the claim as read from the "
                "library's source at a named tag, and say it is read, not run."
            )
        if version != pinned:
            return (
                f'{where}: says "{stamp}" but constraints.txt pins {package}=={pinned}. '
                f"Re-check this page's claims about {name} against {pinned}, then update "
                "the stamp."
            )
        return None
    known = aliases.get(normalise(name))
    if known is not None:
        pinned = pins.get(normalise(NAMES[known]), "<its pin in constraints.txt>")
        return (
            f'{where}: "{stamp}" is not in the stamp form, so the drift check cannot read '
            f'it. Write it as "as of {known} {pinned}" (after checking the claim against '
            f"{pinned})."
        )
    if name[0].isupper() and "." in version and name not in NOT_LIBRARIES:
        return (
            f'{where}: says "{stamp}", but {name} is not one of the libraries the site '
            f"pins ({', '.join(NAMES)}). Cite it as read from <repo> <file> at <tag or "
            "commit> and say the claim is read, not run; or pin the library and use its "
            "stamp name."
        )
    return None


def _link_message(where: str, repo: str, ref: str, pins: dict[str, str]) -> str | None:
    package, tag_form = REPOS[repo]
    tag = tag_form.format(pins.get(normalise(package), "<pin>"))
    if ref == tag or re.fullmatch(r"[0-9a-f]{7,40}", ref):
        return None
    if ref in ("main", "master") or re.search(r"\d+\.\d+", ref):
        return (
            f"{where}: links {repo} at {ref!r}, but the site checks {package} at its pin: "
            f"link the tag {tag} (or the commit read), after checking the sentence against it."
        )
    return None


def stale_stamps(root: Path) -> list[str]:
    """One message per version stamp or source link under root/docs that differs from
    root/constraints.txt."""
    pins = read_pins(root / "constraints.txt")
    problems = []
    for page in pages(root / "docs"):
        prose = page_text(page)
        text = "\n".join(line for _, line in prose)
        starts = [0]
        for _, line in prose:
            starts.append(starts[-1] + len(line) + 1)
        for found in CANDIDATE.finditer(text):
            index = sum(1 for start in starts[1:] if start <= found.start())
            where = f"{page.relative_to(root).as_posix()}:{prose[index][0]}"
            name, version = found.group("name"), found.group("version")
            stamp = " ".join(found.group(0).split())
            message = _message(where, stamp, name, version, pins)
            if message:
                problems.append(message)
        for number, line in prose:
            for link in SOURCE_LINK.finditer(line):
                if link.group("repo") in REPOS:
                    where = f"{page.relative_to(root).as_posix()}:{number}"
                    message = _link_message(where, link.group("repo"), link.group("ref"), pins)
                    if message:
                        problems.append(message)
    return problems
