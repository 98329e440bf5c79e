"""Reading and copying on every built page, in a real browser (Debian's Chromium).

What a reader sees must be what they copy, so nothing may hide past an edge:

* at 1366×900 (a laptop) no code block scrolls sideways: not a snippet, not its
  output, not a notebook's input or output cell;
* at 390×844 (a phone) no table is wider than the content column, and the cheat
  sheet's clipping call fits its block;
* on both, inline code wraps only between identifiers, never inside one
  (`model.pa` / `rameters()`);
* on both, each page's answer, and the block to copy in it, starts on the first
  screen.

One browser page visits every page once and measures it at both widths (loaded
at one, resized to the other; the order alternates, so one resize per page); the
time it took is printed with -s.

Hidden content tabs and closed <details> are shown while measuring, so a block in
a tab not yet clicked is checked too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from scripts.site_server import page_paths
from tests.support.browser import new_page

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CHEAT_SHEET = "cheat-sheet/"
# The call a reader copies from the cheat sheet; its line must fit a phone screen.
KEY_CALL = "clip_grad_norm_("

# Shows every tab's content and every <details> body, so that hidden blocks are measured.
SHOW_HIDDEN = """() => {
  const style = document.createElement('style');
  style.id = 'reading-test-show-hidden';
  style.textContent = '.tabbed-content > .tabbed-block { display: block !important; }';
  document.head.appendChild(style);
  document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
}"""

# For every code block (Markdown `pre > code`, notebook input and output cells,
# which are `pre` without `code`): how far its text runs past the visible width,
# in CSS pixels, and its first line. A block overflows when the element that
# holds its text, or the scrolling box around a notebook cell, is wider inside
# than it is shown.
MEASURE_CODE = """() => {
  const blocks = [];
  for (const pre of document.querySelectorAll('.md-content pre')) {
    if (pre.closest('.md-sidebar, .md-search, .md-footer')) continue;
    const text = pre.querySelector(':scope > code') || pre;
    if (!text.getClientRects().length) continue;  // not rendered
    const boxes = [text];
    const around = pre.parentElement;
    if (around && getComputedStyle(around).overflowX !== 'visible') boxes.push(around);
    const hidden = Math.max(...boxes.map(b => b.scrollWidth - b.clientWidth));
    const lines = text.innerText.split('\\n').filter(l => l.trim());
    const title = pre.parentElement.querySelector(':scope > .filename');
    blocks.push({
      hidden,
      first: (lines[0] || '').trim().slice(0, 70),
      title: title ? title.textContent.trim() : '',
      notebook: !!pre.closest('.jupyter-wrapper'),
    });
  }
  return blocks;
}"""

# Tables against the content column: their full (scroll) width, their header.
MEASURE_TABLES = """() => {
  const column = document.querySelector('.md-content__inner');
  const width = column.clientWidth;
  return [...column.querySelectorAll('table')].filter(t => t.getClientRects().length).map(t => ({
    width: t.scrollWidth,
    column: width,
    header: [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()).join(' | ')
      || t.innerText.trim().split('\\n')[0].slice(0, 70),
  }));
}"""

# Inline code (not in a code block) that wraps: each place where it wraps, and
# whether the characters on both sides belong to one identifier.
MEASURE_INLINE = r"""() => {
  const word = /[A-Za-z0-9_]/;
  const found = [];
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
        found.push({code: text, at: text.slice(0, i) + ' / ' + text.slice(i),
                    table: !!code.closest('table')});
      }
    }
  }
  return found;
}"""

# Where the page's answer starts, scrolled to the top: the "Answer" box (a notebook:
# its "Answer:" paragraph) and the first code block inside it, in CSS pixels from the
# top of the window.
MEASURE_ANSWER = """() => {
  const content = document.querySelector('.md-content');
  const title = [...content.querySelectorAll('.admonition-title')]
    .find(t => t.textContent.trim() === 'Answer');
  const box = title ? title.parentElement : [...content.querySelectorAll('strong')]
    .find(s => s.textContent.trim() === 'Answer:');
  if (!box) return null;
  const code = title ? box.querySelector('pre') : null;
  return {
    top: box.getBoundingClientRect().top + scrollY,
    code: code ? code.getBoundingClientRect().top + scrollY : null,
    screen: innerHeight,
  };
}"""

# The widest line of each code block containing `needle`, against the block's
# text width (without its padding).
MEASURE_LINES = """(needle) => {
  const out = [];
  for (const code of document.querySelectorAll('.md-content pre > code')) {
    const style = getComputedStyle(code);
    const room = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const probe = document.createElement('span');
    probe.textContent = 'x'.repeat(100);
    code.appendChild(probe);
    const ch = probe.getBoundingClientRect().width / 100;
    probe.remove();
    for (const line of code.innerText.split('\\n')) {
      if (line.includes(needle)) out.push({line, width: line.length * ch, room});
    }
  }
  return out;
}"""


@dataclass
class Reading:
    """What one pass over the site measured, page by page."""

    pages: list[str] = field(default_factory=list)
    desktop_code: dict[str, list[dict]] = field(default_factory=dict)
    phone_code: dict[str, list[dict]] = field(default_factory=dict)
    phone_tables: dict[str, list[dict]] = field(default_factory=dict)
    inline_breaks: dict[str, list[dict]] = field(default_factory=dict)
    key_lines: list[dict] = field(default_factory=list)
    answers: dict[str, dict | None] = field(default_factory=dict)
    seconds: float = 0.0


@pytest.fixture(scope="module")
def reading(browser, base_url: str, site) -> Reading:  # noqa: F811 - the shared fixtures
    result = Reading(pages=page_paths(site))
    start = time.perf_counter()
    with new_page(browser, viewport=DESKTOP) as (page, watch):
        for number, path in enumerate(result.pages):
            where = "/" + path
            watch.where = where
            # Every other page is loaded at the phone width: one resize per page, not two.
            sizes = (DESKTOP, PHONE) if number % 2 == 0 else (PHONE, DESKTOP)
            response = page.goto(base_url + path, wait_until="load")
            assert response is not None and response.ok, (
                f"{where}: HTTP {response and response.status}"
            )
            page.evaluate(SHOW_HIDDEN)
            breaks = []
            for size in sizes:
                if page.viewport_size != size:
                    page.set_viewport_size(size)
                width = f"{size['width']} px"
                breaks += [dict(b, width=width) for b in page.evaluate(MEASURE_INLINE)]
                result.answers[f"{where} at {width}"] = page.evaluate(MEASURE_ANSWER)
                if size == DESKTOP:
                    result.desktop_code[where] = page.evaluate(MEASURE_CODE)
                    continue
                result.phone_code[where] = page.evaluate(MEASURE_CODE)
                result.phone_tables[where] = page.evaluate(MEASURE_TABLES)
                if path == CHEAT_SHEET:
                    result.key_lines = page.evaluate(MEASURE_LINES, KEY_CALL)
            result.inline_breaks[where] = breaks
    result.seconds = time.perf_counter() - start
    print(f"\nreading checks: {len(result.pages)} pages at two widths in {result.seconds:.1f} s")
    return result


def where_and_what(block: dict) -> str:
    name = f"block titled {block['title']!r}" if block["title"] else "untitled block"
    kind = "notebook cell" if block["notebook"] else name
    return f"{kind} starting {block['first']!r}"


def test_every_page_was_measured(reading: Reading):
    assert len(reading.pages) > 20, f"only {len(reading.pages)} built pages found"
    assert sum(map(len, reading.desktop_code.values())) > 100, (
        "fewer than 100 code blocks measured over the site: did the selector stop matching?"
    )
    assert sum(map(len, reading.phone_tables.values())) > 10, "fewer than 10 tables measured"


def test_no_code_block_scrolls_sideways_at_1366_px(reading: Reading):
    wide = [
        f"{where}: {where_and_what(block)} hides {block['hidden']} px on the right"
        for where, blocks in reading.desktop_code.items()
        for block in blocks
        if block["hidden"] > 1
    ]
    assert not wide, (
        f"{len(wide)} code block(s) scroll sideways at 1366x900, so a reader sees a cut line "
        "(scrollbars are invisible on macOS and phones). Wrap the snippet's long lines "
        "(79 columns, `make format`), shorten its printed lines, or, for a notebook cell, "
        "shorten the line in docs/experiments/; if every line is short, the block's font or "
        "padding in docs/assets/site.css is too large:\n" + "\n".join(wide)
    )


def test_no_table_is_wider_than_the_column_on_a_phone(reading: Reading):
    wide = [
        f"{where}: the table headed {table['header']!r} is {table['width']} px wide, "
        f"the column {table['column']} px"
        for where, tables in reading.phone_tables.items()
        for table in tables
        if table["width"] > table["column"] + 1
    ]
    assert not wide, (
        f"{len(wide)} table(s) scroll sideways at 390x844, so a column is cut off on a phone. "
        "Give the table fewer or shorter columns, or let it stack into one card per row on "
        'phones: put <div class="stack-on-phone" markdown> and a blank line above it, a blank '
        'line and </div> below it (CONTRIBUTING.md, "Tables on phones"):\n' + "\n".join(wide)
    )


def test_inline_code_never_wraps_inside_an_identifier(reading: Reading):
    broken = [
        f"{where} at {b['width']}: `{b['code']}` wraps as `{b['at']}`"
        + (" (in a table)" if b["table"] else "")
        for where, breaks in reading.inline_breaks.items()
        for b in breaks
    ]
    assert not broken, (
        f"{len(broken)} inline code span(s) wrap in the middle of a name, so a reader cannot "
        "tell where the name ends. docs/assets/site.css lets inline code wrap only at spaces "
        "and punctuation; shorten the span or add a space where it may wrap:\n" + "\n".join(broken)
    )


def test_cheat_sheet_key_call_fits_a_phone(reading: Reading):
    assert reading.key_lines, (
        f"no line containing {KEY_CALL!r} found in the code blocks of /{CHEAT_SHEET}"
    )
    cut = [
        f"{line['line'].strip()!r} needs {line['width']:.0f} px, the block has {line['room']:.0f} px"
        for line in reading.key_lines
        if line["width"] > line["room"] + 1
    ]
    assert not cut, (
        f"on /{CHEAT_SHEET} at 390x844 the key call is cut off: break it over lines in "
        "snippets/cheat-sheet/ (a trailing comma keeps ruff from joining them):\n" + "\n".join(cut)
    )


# How much of the answer must show on the first screen: its first lines of text, and
# the first lines of the block to copy.
SHOWN_PX = 120


def test_every_page_shows_its_answer_on_the_first_screen(reading: Reading):
    late = []
    for where, answer in reading.answers.items():
        if answer is None:
            late.append(f"{where}: no answer box found")
            continue
        if answer["top"] > answer["screen"] - SHOWN_PX:
            late.append(f"{where}: the answer starts at {answer['top']:.0f} px")
        if answer["code"] is not None and answer["code"] > answer["screen"] - SHOWN_PX:
            late.append(f"{where}: the block to copy starts at {answer['code']:.0f} px")
    assert not late, (
        "a reader from a search should meet the answer, and the block to copy, on the first "
        f"screen (more than {SHOWN_PX} px of them above the fold at 1366x900 and 390x844). "
        "Shorten what stands above them: the title, the answer's sentences:\n" + "\n".join(late)
    )
