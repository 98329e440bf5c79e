"""`python -m tests.support.changed` prints the snippets changed since the merge base (committed
or not, new ones too), or `all` where no base is known: never silently none (make check/outputs)."""

from __future__ import annotations

import subprocess

from tests.support.paths import ROOT


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def merge_base() -> str | None:
    """With the upstream, else (on a branch other than main) with the local main; or None."""
    if upstream := _git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"):
        return _git("merge-base", "HEAD", upstream)
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    if branch not in (None, "main", "HEAD") and _git("rev-parse", "--verify", "-q", "main"):
        return _git("merge-base", "HEAD", "main")
    return None


def changed_snippets() -> list[str] | None:
    """Snippet files changed since the merge base (None: no base known, check all)."""
    if (base := merge_base()) is None:
        return None
    diff = _git("diff", "--name-only", base, "--", "snippets") or ""
    new = _git("ls-files", "--others", "--exclude-standard", "snippets") or ""
    names = {n for n in (diff + "\n" + new).split() if n.endswith(".md") and (ROOT / n).exists()}
    return sorted(names)


if __name__ == "__main__":
    changed = changed_snippets()
    print("all" if changed is None else "\n".join(changed))
