"""What a claim test needs: a snippet's own code, and the page line it guards.

A claim test checks a general sentence of a page ("always", "bit for bit", "about
the same") over the range the sentence quantifies over. It imports the code the
reader copies, with `snippet_namespace`, and names the sentence it guards with
`page_line`, so a failure says which line of which page to fix.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re

from tests.paths import DOCS, ROOT, SNIPPETS


def _prints(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
        for n in ast.walk(node)
    )


def snippet_namespace(snippet: str, demo: bool = False) -> dict:
    """Run a snippet's ```python block and return its global names.

    `snippet` is a path relative to snippets/ ("guide/frameworks/x.md"). Without
    `demo`, top-level statements that print (the demonstration a reader sees) are
    left out; imports, definitions and set-up run as written. With `demo`, the
    whole block runs and what it prints is discarded.
    """
    path = SNIPPETS / snippet
    block = re.search(r"```python\n(.*?)\n```", path.read_text(), re.S)
    assert block, f"{path.relative_to(ROOT)}: no ```python block"
    tree = ast.parse(block.group(1))
    if not demo:
        tree.body = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef) or not _prints(node)
        ]
    namespace: dict = {"__name__": f"snippet:{snippet}"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(tree, str(path), "exec"), namespace)
    return namespace


def page_line(page: str, phrase: str) -> str:
    """`docs/<page>:LINE` of the line where `phrase` starts; fails if the page lost it.

    White space in `phrase` matches any run of white space, so a phrase may span a
    line break of the Markdown source.
    """
    text = (DOCS / page).read_text()
    pattern = r"\s+".join(map(re.escape, phrase.split()))
    found = re.search(pattern, text)
    assert found, (
        f"docs/{page} no longer says {phrase!r}: this claim test guards that sentence;"
        " point the test at the sentence that replaced it, or remove the test with it"
    )
    return f"docs/{page}:{text.count(chr(10), 0, found.start()) + 1}"
