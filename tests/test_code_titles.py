"""docs/overrides/hooks/code_titles.py, on the built site (CONTRIBUTING.md, "Block titles and
highlighted lines"): titles, highlighted lines, the whole block copied, code light."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.support import fences
from tests.support.modules import load
from tests.support.paths import DOCS, SNIPPETS

code_titles = load(DOCS / "overrides" / "hooks" / "code_titles.py")

HIGHLIGHTED_LINE = re.compile(r'(?:</span>)?<span class="hll">')
MULTI_PROCESS = re.compile(r"^# torchrun\b|get_context\(\s*\"fork\"\s*\)", re.M)
TITLE = re.compile(r'<span class="filename">([^<]*)</span>')
MARKER_LINE = re.compile(r"^[ \t]*# highlight: (?:start|end)\n", re.M)
MARKED_PART = re.compile(r"^[ \t]*# highlight: start\n(.*?)^[ \t]*# highlight: end\n", re.M | re.S)


def snippet_code(target: str) -> str:
    """The snippet's python block, as pytest-codeblocks runs it."""
    (block,) = [f for f in fences.read_fences(SNIPPETS / target) if f.info == "python"]
    return "\n".join(block.body) + "\n"


def title(target: str) -> str:
    """`<idea>.py`, or the script a `# torchrun ... <name>.py` first line runs."""
    first = snippet_code(target).split("\n", 1)[0]
    return first.split()[-1] if first.startswith("# torchrun") else Path(target).stem + ".py"


def text_of(block_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", block_html))


def built_page(site: Path, page: Path) -> str:
    relative = page.relative_to(DOCS).with_suffix("")
    folder = relative.parent if relative.name == "index" else relative
    return (site / folder / "index.html").read_text(encoding="utf-8")


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


def test_every_multi_process_snippet_highlights_the_lines_to_take_away():
    found = [
        path.relative_to(SNIPPETS).as_posix()
        for path in sorted(SNIPPETS.rglob("*.md"))
        for fence in fences.read_fences(path)
        if fence.info == "python" and MULTI_PROCESS.search("\n".join(fence.body))
    ]
    assert len(found) >= 8, f"only {len(found)} torchrun or fork-based snippets found"
    bare = [
        f"snippets/{target}" for target in found if not MARKED_PART.search(snippet_code(target))
    ]
    assert not bare, (
        "these snippets start processes, so most of their lines are harness (ports, spawning, "
        "timeouts); put `# highlight: start` and `# highlight: end` comment lines around the "
        "lines a reader takes away (CONTRIBUTING.md, 'Block titles and highlighted lines'):\n"
        + "\n".join(bare)
    )


def test_every_snippet_block_on_the_site_is_titled_and_left_out_of_search(site: Path):
    """Includes inside content tabs too; the expected output keeps its "Output" title. Search
    leaves the blocks out, so a result previews the page's prose."""
    wrong = []
    for page in fences.markdown_files(DOCS):
        targets = [t for _, t in fences.includes(page) if t and (SNIPPETS / t).is_file()]
        if not targets:
            continue
        built = built_page(site, page)
        want = [title(t) for t in targets]
        shown = [html.unescape(t) for t in TITLE.findall(built) if t != "Output"]
        if shown != want:
            wrong.append(f"docs/{page.relative_to(DOCS)}: titles {shown}, expected {want}")
        outputs = sum('```text title="Output"' in (SNIPPETS / t).read_text() for t in targets)
        if TITLE.findall(built).count("Output") != outputs:
            wrong.append(f"docs/{page.relative_to(DOCS)}: not {outputs} blocks titled Output")
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    wrong += [
        f"/{d['location']}: code in the search index" for d in index["docs"] if "<pre" in d["text"]
    ]
    assert not wrong, "\n".join(wrong)


def test_highlighted_blocks_copy_the_whole_snippet(site: Path):
    """The block's text (what the copy button copies) is the snippet without its marker lines,
    and the highlighted lines are the ones between them."""
    problems, checked = [], 0
    for path in sorted(SNIPPETS.rglob("*.md")):
        if "# highlight: start" not in path.read_text():
            continue
        target, checked = path.relative_to(SNIPPETS).as_posix(), checked + 1
        code = snippet_code(target)
        page = DOCS / (target.rsplit("/", 1)[0] + ".md")
        block = re.search(
            rf'<span class="filename">{re.escape(title(target))}</span><pre>.*?<code>(.*?)</code>',
            built_page(site, page),
            re.S,
        )
        if not block:
            problems.append(f"{target}: no block titled {title(target)} on {page.name}")
            continue
        if text_of(block[1]) != MARKER_LINE.sub("", code):
            problems.append(f"{target}: the block's text is not the snippet's code")
        # Each highlighted line is <span class="hll">line\n</span>.
        marked = [text_of(row) for row in block[1].split("\n") if HIGHLIGHTED_LINE.match(row)]
        if marked != "".join(MARKED_PART.findall(code)).splitlines():
            problems.append(f"{target}: highlighted {marked[:2]}..., not the marked lines")
    assert checked >= 8 and not problems, "\n".join(problems)


def test_code_wraps_no_span_around_plain_tokens(site: Path):
    """Plain tokens are plain text in every page's code, notebooks' included, and a Markdown
    page's strings one type, which Material draws as it drew the tokens they replace."""
    material = next((site / "assets" / "stylesheets").glob("main.*.min.css")).read_text("utf-8")
    assert "--md-code-hl-name-color:var(--md-code-fg-color)" in material
    assert ".highlight .sa" not in material
    (strings,) = [r for r in material.split("}") if ".highlight .s2," in r]
    assert {".highlight .s,", ".highlight .s1,", ".highlight .si,"} <= set(
        re.findall(r"\S+ \S+,", strings)
    )
    plain = re.compile(r'<span class="(?:[nopw]|sa)">[^<]*</span>')
    string_part = re.compile(r'<span class="(?:s1|s2|si)">')
    wrapped = []
    for page in sorted(site.rglob("index.html")):
        text = page.read_text("utf-8")
        notebook = (page.parent / f"{page.parent.name}.ipynb").is_file()
        found = plain.findall(text) + ([] if notebook else string_part.findall(text))
        if found:
            wrapped.append(f"/{page.parent.relative_to(site)}/: {found[0]}")
    assert not wrapped, "tokens still in <span>s of their own:\n" + "\n".join(wrapped)
