"""Reading on every built page at 1366 x 900 (a laptop) and 390 x 844 (a phone), with hidden
tabs and closed <details> opened first so that their blocks are measured too."""

from __future__ import annotations

import pytest

from scripts.site_server import page_paths
from tests.support.browser import LAPTOP, PHONE, new_page

pytestmark = pytest.mark.browser

CHEAT_SHEET = "cheat-sheet/"
KEY_CALL = "clip_grad_norm_("  # the cheat sheet's call, whose line must fit a phone
SHOWN_PX = 120  # how much of the answer, and of its block to copy, the first screen shows

SHOW_HIDDEN = """() => {
  const style = document.head.appendChild(document.createElement('style'));
  style.textContent = '.tabbed-content > .tabbed-block { display: block !important; }';
  document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
}"""

# Each code block (`pre > code`; a notebook cell is a `pre` alone): how many CSS pixels of
# it are hidden on the right, in the element holding its text or a scrolling box around it.
MEASURE_CODE = """() => {
  const blocks = [];
  for (const pre of document.querySelectorAll('.md-content pre')) {
    const text = pre.querySelector(':scope > code') || pre;
    if (!text.getClientRects().length) continue;  // not rendered
    const around = pre.parentElement, boxes = [text];
    if (getComputedStyle(around).overflowX !== 'visible') boxes.push(around);
    const first = text.innerText.split('\\n').find(l => l.trim()) || '';
    const title = around.querySelector(':scope > .filename');
    blocks.push({hidden: Math.max(...boxes.map(b => b.scrollWidth - b.clientWidth)),
                 first: first.trim().slice(0, 70), title: title ? title.textContent.trim() : '(untitled)'});
  }
  return blocks;
}"""

# Tables against the content column: their full (scroll) width, their header.
MEASURE_TABLES = """() => {
  const column = document.querySelector('.md-content__inner');
  return [...column.querySelectorAll('table')].filter(t => t.getClientRects().length).map(t => ({
    width: t.scrollWidth, column: column.clientWidth,
    header: [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()).join(' | ')
      || t.innerText.trim().slice(0, 70)}));
}"""

# Each place where inline code wraps between two characters of one identifier.
MEASURE_INLINE = r"""() => {
  const word = /\w/, found = [];
  for (const code of document.querySelectorAll('.md-content code')) {
    if (code.closest('pre') || code.getClientRects().length < 2) continue;
    const chars = [];
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (rect) chars.push({c: node.data[i], top: rect.top, height: rect.height});
      }
    }
    for (let i = 1; i < chars.length; i++) {
      const a = chars[i - 1], b = chars[i];
      if (b.top > a.top + a.height / 2 && word.test(a.c) && word.test(b.c)) {
        const text = chars.map(x => x.c).join('');
        found.push({code: text, wraps: text.slice(0, i) + ' / ' + text.slice(i),
                    table: !!code.closest('table')});
      }
    }
  }
  return found;
}"""

# Where the "Answer" box (a notebook's "Answer:" paragraph) and the first code block in it
# start, in CSS pixels from the top of the page (null: not found).
MEASURE_ANSWER = """() => {
  const content = document.querySelector('.md-content');
  const title = [...content.querySelectorAll('.admonition-title')]
    .find(t => t.textContent.trim() === 'Answer');
  const box = title ? title.parentElement : [...content.querySelectorAll('strong')]
    .find(s => s.textContent.trim() === 'Answer:');
  const top = element => element ? element.getBoundingClientRect().top + scrollY : null;
  return {top: top(box), code: top(title && box.querySelector('pre')), screen: innerHeight};
}"""

# Each code line containing `needle`: its width against the width its block has for text.
MEASURE_LINES = """(needle) => {
  const out = [];
  for (const code of document.querySelectorAll('.md-content pre > code')) {
    const style = getComputedStyle(code);
    const room = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const probe = code.appendChild(document.createElement('span'));
    probe.textContent = 'x'.repeat(100);
    const ch = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const lines = code.innerText.split('\\n').filter(line => line.includes(needle));
    out.push(...lines.map(line => ({line, width: line.length * ch, room})));
  }
  return out;
}"""


@pytest.fixture(scope="module")
def reading(browser, base_url: str, site) -> dict[str, list[dict]]:
    """What every page shows at both sizes, each loaded at one and resized to the other."""
    found = {"code": [], "tables": [], "inline": [], "answers": [], "key lines": []}
    with new_page(browser, viewport=LAPTOP) as (page, _):
        for number, path in enumerate(page_paths(site)):
            response = page.goto(base_url + path)
            assert response and response.ok, f"/{path}: HTTP {response and response.status}"
            page.evaluate(SHOW_HIDDEN)
            for size in (LAPTOP, PHONE) if number % 2 == 0 else (PHONE, LAPTOP):
                if page.viewport_size != size:
                    page.set_viewport_size(size)
                at = f"/{path} at {size['width']} px"
                found["inline"] += [dict(b, at=at) for b in page.evaluate(MEASURE_INLINE)]
                found["answers"].append(dict(page.evaluate(MEASURE_ANSWER), at=at))
                if size == LAPTOP:
                    found["code"] += [dict(b, at=at) for b in page.evaluate(MEASURE_CODE)]
                    continue
                found["tables"] += [dict(t, at=at) for t in page.evaluate(MEASURE_TABLES)]
                if path == CHEAT_SHEET:
                    found["key lines"] = page.evaluate(MEASURE_LINES, KEY_CALL)
    blocks, tables = len(found["code"]), len(found["tables"])
    assert blocks > 100 and tables > 10, f"{blocks} code blocks, {tables} tables: selectors broken?"
    return found


def test_no_code_block_scrolls_sideways_at_1366_px(reading: dict):
    wide = [
        f"{b['at']}: the block {b['title']} starting {b['first']!r} hides {b['hidden']} px on the right"
        for b in reading["code"]
        if b["hidden"] > 1
    ]
    assert not wide, (
        "code blocks scroll sideways at 1366x900, where scrollbars may not show: wrap the "
        "snippet's long lines (`make format`) or its printed ones, or a notebook's line in "
        "docs/experiments/; if all are short, see the font in docs/assets/site.css:\n"
        + "\n".join(wide)
    )


def test_no_table_is_wider_than_the_column_on_a_phone(reading: dict):
    wide = [
        f"{t['at']}: the table headed {t['header']!r} is {t['width']} px wide, "
        f"the column {t['column']} px"
        for t in reading["tables"]
        if t["width"] > t["column"] + 1
    ]
    assert not wide, (
        "tables scroll sideways at 390x844: give them fewer or shorter columns, or stack "
        'them on phones (CONTRIBUTING.md, "Tables on phones"):\n' + "\n".join(wide)
    )


def test_inline_code_never_wraps_inside_an_identifier(reading: dict):
    broken = [
        f"{b['at']}: `{b['code']}` wraps as `{b['wraps']}`"
        + (" (in a table)" if b["table"] else "")
        for b in reading["inline"]
    ]
    assert not broken, (
        "inline code wraps inside a name (docs/assets/site.css lets it wrap at punctuation "
        "only): shorten the span or add a space where it may wrap:\n" + "\n".join(broken)
    )


def test_cheat_sheet_key_call_fits_a_phone(reading: dict):
    lines = reading["key lines"]
    assert lines, f"no line containing {KEY_CALL!r} found in the code blocks of /{CHEAT_SHEET}"
    cut = [
        f"{line['line'].strip()!r} needs {line['width']:.0f} px, the block has {line['room']:.0f} px"
        for line in lines
        if line["width"] > line["room"] + 1
    ]
    assert not cut, (
        f"on /{CHEAT_SHEET} at 390x844 the key call is cut off: break it over lines in "
        "snippets/cheat-sheet/ (a trailing comma keeps ruff from joining them):\n" + "\n".join(cut)
    )


def test_every_page_shows_its_answer_on_the_first_screen(reading: dict):
    late = []
    for answer in reading["answers"]:
        fold = answer["screen"] - SHOWN_PX
        if answer["top"] is None:
            late.append(f"{answer['at']}: no answer box found")
        elif answer["top"] > fold:
            late.append(f"{answer['at']}: the answer starts at {answer['top']:.0f} px")
        if answer["code"] is not None and answer["code"] > fold:
            late.append(f"{answer['at']}: the block to copy starts at {answer['code']:.0f} px")
    assert not late, (
        "a reader from a search should meet the answer, and the block to copy, on the first "
        f"screen (more than {SHOWN_PX} px of them above the fold at 1366x900 and 390x844). "
        "Shorten what stands above them: the title, the answer's sentences:\n" + "\n".join(late)
    )
