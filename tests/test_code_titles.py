"""The build-time hooks for reading and copying code, checked on their own and on the
built site:

* docs/overrides/hooks/code_titles.py titles each snippet's block with the file
  name a reader saves it under, and highlights the lines between
  ``# highlight: start`` and ``# highlight: end`` without changing what the copy
  button copies (the whole block, which runs as is);
* docs/overrides/hooks/phone_tables.py lets inline code wrap only between names
  and labels the cells of tables that stack on phones.

How they look in a browser is measured by tests/test_reading.py.
"""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import markdown
import pytest

from tests.support import fences
from tests.support.paths import DOCS, ROOT, SNIPPETS

HOOKS = ROOT / "docs" / "overrides" / "hooks"


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(f"hook_{name}", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


code_titles = load_hook("code_titles")
phone_tables = load_hook("phone_tables")

HIGHLIGHTED_LINE = re.compile(r'(?:</span>)?(?:<a [^>]*></a>)?<span class="hll">')
MULTI_PROCESS = re.compile(r"^# torchrun\b|get_context\(\s*\"fork\"\s*\)", re.M)


def snippet_code(target: str) -> list[str]:
    """The lines of the snippet's python block, as pytest-codeblocks runs it."""
    (block,) = [f for f in fences.read_fences(SNIPPETS / target) if f.info == "python"]
    return list(block.body)


def render(page_markdown: str) -> str:
    """A page through the site's own Markdown pipeline (snippets, superfences,
    highlight, tabs) with the hook's preprocessor, as mkdocs would run it."""
    md = markdown.Markdown(
        extensions=[
            "attr_list",
            "md_in_html",
            "pymdownx.highlight",
            "pymdownx.superfences",
            "pymdownx.tabbed",
            "pymdownx.snippets",
            code_titles.TitleExtension(),
        ],
        extension_configs={
            "pymdownx.snippets": {"base_path": [str(SNIPPETS)], "check_paths": True},
            "pymdownx.tabbed": {"alternate_style": True},
        },
    )
    return md.convert(code_titles.on_page_markdown(page_markdown, None, None, None))


def text_of(block_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", block_html))


# --- the title and highlight rules ----------------------------------------------------------


def test_a_snippet_is_titled_with_its_idea_as_a_python_file():
    assert code_titles.title_for("guide/x/clip_once.md", ["import torch"]) == "clip_once.py"


def test_a_torchrun_script_is_titled_with_the_name_torchrun_runs():
    code = ["# torchrun --nproc-per-node 2 train_ddp.py", "import torch"]
    assert code_titles.title_for("training/ddp/anything.md", code) == "train_ddp.py"


def test_highlight_markers_are_dropped_and_the_lines_between_them_numbered():
    code = [
        "import torch",
        "# highlight: start",
        "a = 1",
        "    b = 2",
        "    # highlight: end",
        "c = 3",
        "# highlight: start",
        "d = 4",
        "# highlight: end",
    ]
    kept, lines = code_titles.highlighted(code, "x.md")
    assert kept == ["import torch", "a = 1", "    b = 2", "c = 3", "d = 4"]
    assert lines == [2, 3, 5]
    assert code_titles.spans(lines) == "2-3 5"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (["# highlight: start", "a = 1"], "never closed"),
        (["a = 1", "# highlight: end"], "without a start"),
        (["# highlight: start", "# highlight: start"], "inside another"),
    ],
)
def test_unbalanced_highlight_markers_fail_the_build_with_the_snippet_named(code, says):
    with pytest.raises(ValueError, match=says) as error:
        code_titles.highlighted(code, "snippets/training/ddp/x.md")
    assert "snippets/training/ddp/x.md" in str(error.value)


def test_an_include_renders_with_its_title_and_highlights_and_the_file_is_unchanged():
    target = "training/ddp/train_ddp_amp_accumulation.md"
    before = (SNIPPETS / target).read_text(encoding="utf-8")
    out = render(f'Text.\n\n--8<-- "{target}"\n\nMore text.\n')
    assert (SNIPPETS / target).read_text(encoding="utf-8") == before
    assert '<span class="filename">train_ddp.py</span>' in out
    assert '<span class="filename">Output</span>' in out, "the output block keeps its title"
    assert 'class="hll"' in out
    assert "highlight: start" not in out and "code_titles" not in out


def test_an_include_inside_a_content_tab_is_titled_too():
    target = "guide/frameworks/clip_same_gradients_pytorch.md"
    out = render(f'=== "PyTorch"\n\n    --8<-- "{target}"\n\n=== "Other"\n\n    Text.\n')
    assert '<span class="filename">clip_same_gradients_pytorch.py</span>' in out


# --- the snippets ---------------------------------------------------------------------------


def multi_process_snippets() -> list[Path]:
    return sorted(
        path
        for path in SNIPPETS.rglob("*.md")
        for fence in fences.read_fences(path)
        if fence.info == "python" and MULTI_PROCESS.search("\n".join(fence.body))
    )


def test_every_multi_process_snippet_highlights_the_lines_to_take_away():
    found = multi_process_snippets()
    assert len(found) >= 8, f"only {len(found)} torchrun or fork-based snippets found"
    bare = []
    for path in found:
        target = path.relative_to(SNIPPETS).as_posix()
        if not code_titles.highlighted(snippet_code(target), target)[1]:
            bare.append(f"snippets/{target}")
    assert not bare, (
        "these snippets start processes, so most of their lines are harness (ports, spawning, "
        "timeouts); put `# highlight: start` and `# highlight: end` comment lines around the "
        "lines a reader takes away (CONTRIBUTING.md, 'Block titles and highlighted lines'):\n"
        + "\n".join(bare)
    )


# --- the built site -------------------------------------------------------------------------


def built_page(site: Path, page: Path) -> Path:
    relative = page.relative_to(DOCS)
    if relative.name == "index.md":
        return site / relative.parent / "index.html"
    return site / relative.with_suffix("") / "index.html"


def test_every_snippet_block_on_the_site_carries_its_file_name(site: Path):
    wrong = []
    for page in fences.markdown_files(DOCS):
        targets = [
            target
            for _, target in fences.includes(page)
            if target and (SNIPPETS / target).is_file()
        ]
        if not targets:
            continue
        want = [code_titles.title_for(t, snippet_code(t)) for t in targets]
        shown = [
            html.unescape(title)
            for title in re.findall(
                r'<span class="filename">([^<]*)</span>',
                built_page(site, page).read_text(encoding="utf-8"),
            )
            if title != "Output"
        ]
        if shown != want:
            wrong.append(f"docs/{page.relative_to(DOCS)}: titles {shown}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_highlighted_blocks_copy_the_whole_snippet(site: Path):
    """What the copy button copies (the block's text) is the snippet without its two
    kinds of marker comment, and the highlighted lines are the ones between them."""
    problems = []
    for path in multi_process_snippets():
        target = path.relative_to(SNIPPETS).as_posix()
        kept, lines = code_titles.highlighted(snippet_code(target), target)
        title = code_titles.title_for(target, kept)
        page = DOCS / (target.rsplit("/", 1)[0] + ".md")
        built = built_page(site, page).read_text(encoding="utf-8")
        block = re.search(
            rf'<span class="filename">{re.escape(title)}</span><pre>(.*?)</pre>', built, re.S
        )
        if not block:
            problems.append(f"{target}: no block titled {title} on {page.relative_to(DOCS)}")
            continue
        code = re.search(r"<code>(.*)</code>", block.group(1), re.S).group(1)
        if text_of(code).rstrip("\n") != "\n".join(kept):
            problems.append(f"{target}: the block's text is not the snippet's code")
        # Each highlighted line is <a id="__codelineno-..."></a><span class="hll">line\n</span>.
        marked = [text_of(row) for row in code.split("\n") if HIGHLIGHTED_LINE.match(row)]
        if marked != [kept[n - 1] for n in lines]:
            problems.append(f"{target}: highlighted {marked[:2]}..., not the marked lines")
    assert not problems, "\n".join(problems)


def test_inline_code_gets_wrap_points_that_do_not_change_its_text():
    source = "<p><code>torch.nn.utils.clip_grad_norm_(model.parameters(), c)</code></p>"
    out = phone_tables._wrap_points(source)
    assert out.replace("<wbr>", "") == source
    assert "utils.<wbr>clip_grad_norm_(<wbr>model.<wbr>parameters(), c)" in out
    # A decimal point is not the end of a name: `1.0` never wraps as `1.` / `0`.
    number = "<td><code>tf.clip_by_global_norm(grads, clip_norm=1.0)</code></td>"
    out = phone_tables._wrap_points(number)
    assert out.replace("<wbr>", "") == number
    assert "tf.<wbr>clip_by_global_norm(<wbr>grads, clip_norm=1.0)" in out
    assert phone_tables._wrap_points("<code>eps=0.5, x.y</code>") == (
        "<code>eps=0.5, x.<wbr>y</code>"
    )
    pre = "<pre><code>a.b(c)</code></pre>"
    assert phone_tables._outside_pre(pre, phone_tables._wrap_points) == pre


def test_code_blocks_get_no_wrap_points(site: Path):
    wrapped = [
        str(html_file.relative_to(site))
        for html_file in site.rglob("*.html")
        if any(
            "<wbr>" in block
            for block in re.findall(r"<pre\b.*?</pre>", html_file.read_text(encoding="utf-8"), re.S)
        )
    ]
    assert not wrapped, (
        f"<wbr> inside code blocks (it would be copied into nothing, but is noise): {wrapped}"
    )


def test_stacked_table_cells_are_labelled_with_their_column(site: Path):
    checked, wrong = 0, []
    for html_file in sorted(site.rglob("index.html")):
        text = html_file.read_text(encoding="utf-8")
        for table in re.findall(r'<table role="table">.*?</table>', text, re.S):
            headers = [
                text_of(h).strip() for h in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S)
            ]
            for row in re.findall(r'<tr role="row">(.*?)</tr>', table, re.S)[1:]:
                labels = [html.unescape(x) for x in re.findall(r'data-label="([^"]*)"', row)]
                checked += 1
                if labels != headers[: len(labels)] or not labels:
                    wrong.append(
                        f"{html_file.relative_to(site)}: cells labelled {labels}, headers {headers}"
                    )
    assert checked > 30, f"only {checked} rows of stacked tables found"
    assert not wrong, "\n".join(wrong[:10])
