"""A small site with the real one's plugins and strictness, built in a temporary folder, so
a test reads MkDocs' own output for a page it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """site_name: mini
strict: true
validation: {omitted_files: warn, absolute_links: warn, unrecognized_links: warn, anchors: warn}
theme: {name: material, font: false}
plugins:
  - search
  - mkdocs-jupyter: {execute: true, allow_errors: false, include: ["*.py"], custom_mathjax_url: ""}
markdown_extensions:
  - pymdownx.superfences
  - pymdownx.snippets: {base_path: [snippets], check_paths: true}
nav: [index.md, b.md, nb.py]
"""


def mini_site(root: Path, pages: dict[str, str], config: str = CONFIG):
    for folder in ("docs", "snippets"):
        (root / folder).mkdir()
    (root / "mkdocs.yml").write_text(config)
    for name, text in {"b.md": "# B\n", "nb.py": "# %%\nx = 1\n", **pages}.items():
        (root / "docs" / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
