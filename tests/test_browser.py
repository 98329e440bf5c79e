"""The built site in Debian's Chromium: every page, then the parts with a behaviour of their own."""

from __future__ import annotations

import contextlib
import math
import os
import re

import pytest
from axe_playwright_python.base import AXE_SCRIPT, AxeResults
from playwright.sync_api import Browser, Page, expect

from scripts.site_server import page_paths
from tests.support.browser import LAPTOP, PHONE, TOUCH, new_page

pytestmark = pytest.mark.browser

EXPLORER = "guide/explorer/"
EPS = 1e-6  # PyTorch's guard in clip_grad_norm_
SCHEMES = {"light": "default", "dark": "slate"}  # the system's scheme -> Material's
AXE_START = "() => { window.axeRun = axe.run(document, {resultTypes: ['violations']}); }"


@pytest.fixture(scope="module")
def every_page(browser: Browser, base_url: str, site) -> dict:
    """Every page in a light and a dark system scheme, axe-core run on each, side by side (slow)."""
    jobs = [(path, system) for path in page_paths(site) for system in SCHEMES]
    problems, violations = [], []
    width = max(1, (os.cpu_count() or 2) // 2)  # pages at a time, each in both schemes
    with contextlib.ExitStack() as stack:
        tabs = [
            stack.enter_context(new_page(browser, color_scheme=system))
            for _ in range(width)
            for system in SCHEMES
        ]
        for start in range(0, len(jobs), len(tabs)):
            batch = list(zip(tabs, jobs[start : start + len(tabs)]))
            for (page, watch), (path, system) in batch:
                watch.where = f"/{path} ({system})"
                response = page.goto(base_url + path)
                if not response or not response.ok:
                    problems.append(f"{watch.where}: HTTP {response and response.status}")
                shown = page.locator("body").get_attribute("data-md-color-scheme")
                if shown != SCHEMES[system]:
                    problems.append(f"{watch.where}: drawn in the {shown!r} scheme")
                page.evaluate(AXE_SCRIPT)
                page.evaluate(AXE_START)  # runs while the next page loads and is checked
            for (page, watch), _ in batch:
                results = AxeResults(page.evaluate("() => window.axeRun"))
                if results.violations_count:
                    violations.append(f"{watch.where}:\n{results.generate_report()}")
        for page, watch in tabs:
            page.wait_for_load_state("networkidle")  # the last pages' late requests
            problems += watch.errors + watch.external
    return {"pages": len(jobs) // 2, "problems": problems, "violations": violations}


def test_every_page_loads_without_errors_or_external_requests(every_page: dict):
    assert every_page["pages"] > 20, f"only {every_page['pages']} pages built"
    assert not every_page["problems"], (
        "pages that fail to load, log an error or request another host (the site loads "
        "nothing from other hosts):\n" + "\n".join(every_page["problems"])
    )


def test_every_page_has_no_axe_violations_in_either_scheme(every_page: dict):
    violations = every_page["violations"]
    assert not violations, "axe-core found violations:\n" + "\n".join(violations)


def norm_clip(g: tuple[float, float], c: float) -> tuple[float, float]:
    return tuple(x * min(1.0, c / (math.hypot(*g) + EPS)) for x in g)


def value_clip(g: tuple[float, float], c: float) -> tuple[float, float]:
    return tuple(min(c, max(-c, x)) for x in g)


def angle(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    if not (math.hypot(*a) and math.hypot(*b)):
        return None
    cosine = (a[0] * b[0] + a[1] * b[1]) / (math.hypot(*a) * math.hypot(*b))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def shown(page: Page, name: str) -> float | None:
    """A number from the explorer's table ('−1.250', '16.3°'), or None for '—' (undefined)."""
    text = page.locator(f'[data-out="{name}"]').inner_text().strip()
    if text == "\u2014":
        return None
    assert re.fullmatch(r"\u2212?\d+\.\d+°?", text), f"{name} shows {text!r}, not a number"
    return float(text.replace("\u2212", "-").rstrip("°"))


def set_threshold_by_keyboard(page: Page, c: float) -> None:
    """Home puts the slider at its minimum (0.1); each ArrowRight adds one step of 0.1."""
    slider = page.get_by_label("Threshold c")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(round((c - 0.1) / 0.1)):
        page.keyboard.press("ArrowRight")
    assert float(slider.input_value()) == pytest.approx(c)


def check_numbers(page: Page, g: tuple[float, float], c: float) -> None:
    """The table and the arrows against the formulas (lengths rounded to 3 decimals, angles to 1)."""
    wrong = [] if shown(page, "c") == pytest.approx(c) else [f"c shows {shown(page, 'c')}"]
    for name, v in (("original", g), ("value", value_clip(g, c)), ("norm", norm_clip(g, c))):
        want = {"x": v[0], "y": v[1], "norm" if name == "original" else "length": math.hypot(*v)}
        want |= {} if name == "original" else {"angle": angle(g, v)}
        for what, value in want.items():
            got = shown(page, f"{name}-{what}")
            tolerance = (0.05 if what == "angle" else 5e-4) + 1e-9
            if (value is None) != (got is None) or got is not None and abs(got - value) > tolerance:
                wrong.append(f"{name}-{what}: the page shows {got}, the formula gives {value}")
        line = page.locator(f'[data-draw="{name}"]')  # the arrow, in SVG's y-down coordinates
        tip = (float(line.get_attribute("x2")), -float(line.get_attribute("y2")))
        if math.dist(tip, v) > 1e-3:  # the still picture (no JavaScript) rounds to 3 decimals
            wrong.append(f"the {name} arrow ends at {tip}, not at {v}")
    assert not wrong, f"g = {g}, c = {c}:\n" + "\n".join(wrong)


@pytest.fixture(scope="module")
def explorer(browser: Browser, base_url: str) -> Page:
    with new_page(browser, base_url + EXPLORER) as (page, watch):
        yield page
    watch.check()


@pytest.mark.parametrize(
    ("g", "c"),
    [
        ((4.0, 1.5), 2.0),  # the page's starting example
        ((3.0, 1.0), 1.0),  # the math page's example: value clipping turns g by 26.57 degrees
        ((0.3, -0.2), 1.0),  # below the threshold: nothing changes
        ((5.0, -5.0), 0.5),  # a corner: value clipping keeps the direction, length c * sqrt(2)
        ((0.0, 4.0), 2.0),  # on an axis
        ((-2.5, -4.5), 3.3),
        ((1.8, 1.8), 2.0),  # inside the square, outside the circle
        ((0.0, 0.0), 1.0),  # no direction: the angles are undefined
    ],
)
def test_explorer_numbers_match_the_formulas(explorer: Page, g, c):
    explorer.get_by_label("gx (horizontal)").fill(str(g[0]))
    explorer.get_by_label("gy (vertical)").fill(str(g[1]))
    set_threshold_by_keyboard(explorer, c)
    check_numbers(explorer, g, c)


def test_explorer_follows_the_arrow_keys_and_a_pointer_drag(page: Page, base_url: str):
    page.goto(base_url + EXPLORER)
    gx, gy = page.get_by_label("gx ("), page.get_by_label("gy (")
    gy.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.locator('[data-role="handle"]')).to_be_focused()  # the tip, before the inputs
    for key in ("ArrowLeft", "ArrowLeft", "Shift+ArrowDown", "ArrowDown"):
        page.keyboard.press(key)
    expect(gx).to_have_value("3.8")
    expect(gy).to_have_value("0.4")
    check_numbers(page, (3.8, 0.4), 2.0)
    box = page.locator('[data-role="plane"]').bounding_box()

    def screen(x: float, y: float) -> tuple[float, float]:  # the plane's viewBox: -5.6 .. 5.6
        left, top = (x + 5.6) / 11.2, (5.6 - y) / 11.2
        return box["x"] + left * box["width"], box["y"] + top * box["height"]

    page.mouse.move(*screen(3.8, 0.4))
    page.mouse.down()
    page.mouse.move(*screen(-2.0, 3.0), steps=8)
    page.mouse.up()
    expect(gx).to_have_value("-2")
    expect(gy).to_have_value("3")
    check_numbers(page, (-2.0, 3.0), 2.0)


def test_explorer_reads_without_javascript(browser: Browser, base_url: str):
    with new_page(browser, base_url + EXPLORER, java_script_enabled=False) as (page, _):
        expect(page.locator(".clip-explorer__note")).to_be_visible()
        expect(page.locator('[data-role="controls"]')).to_be_hidden()
        check_numbers(page, (4.0, 1.5), 2.0)  # the still example is right too


def test_explorer_fits_a_phone_screen(browser: Browser, base_url: str):
    # At 360 px: no sideways scroll, no shrinking, a tap sets g. At 390 x 844: the plane and
    # its numbers fit one screen, so both show while dragging.
    small = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, **TOUCH}
    with new_page(browser, base_url + EXPLORER, **small) as (page, _):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the explorer scrolls sideways at 360 px ({width} px)"
        plane = page.locator('[data-role="plane"]')
        box = plane.bounding_box()
        assert 250 <= box["width"] <= 360, f"the plane is {box['width']} px wide at 360 px"
        plane.tap(position={"x": box["width"] * 0.25, "y": box["height"] * 0.25})
        gx, gy = (float(page.get_by_label(f"g{a} (").input_value()) for a in "xy")
        check_numbers(page, (gx, gy), 2.0)
        page.set_viewport_size(PHONE)
        header = page.locator(".md-header").bounding_box()["height"]
        plane.scroll_into_view_if_needed()
        box, table = plane.bounding_box(), page.locator(".clip-explorer__table").bounding_box()
        span = table["y"] + table["height"] - box["y"]
        assert box["y"] <= table["y"] and span <= 844 - header, (
            f"from the plane's top to its numbers' bottom is {span:.0f} px; under the header "
            f"a 390 x 844 screen shows {844 - header:.0f} px (explorer.css: one column)"
        )


def test_explorer_is_above_the_fold_on_a_laptop(browser: Browser, base_url: str):
    with new_page(browser, base_url + EXPLORER, viewport=LAPTOP) as (page, _):
        widget = page.locator(".clip-explorer").bounding_box()
        bottom = widget["y"] + widget["height"]
        assert bottom <= 900, (
            f"at 1366 x 900 the explorer ends {bottom:.0f} px down, below the fold: keep the "
            "text above it short (docs/guide/explorer.md) and its two columns compact"
        )
        labels = page.locator(".clip-explorer__label").all_text_contents()
        assert labels == ["gx", "gy"], f"the axis labels read {labels} (no Unicode subscript y)"


def test_palette_toggle_switches_light_and_dark(page: Page, base_url: str):
    page.goto(base_url + EXPLORER)
    toggle = page.locator('form[data-md-component="palette"] label.md-header__button:visible')
    strokes = {}  # Material's scheme -> the colour of the explorer's value-clipped arrow
    for _ in range(3):  # system preference -> light -> dark -> system preference
        toggle.click()
        scheme = page.locator("body").get_attribute("data-md-color-scheme")
        strokes[scheme] = page.locator('[data-draw="value"]').evaluate(
            "line => getComputedStyle(line).stroke"
        )
    assert strokes.keys() == {"default", "slate"}, f"the toggle went through {list(strokes)}"
    assert strokes["default"] != strokes["slate"], "the explorer keeps its light colours in dark"


LIGHT = {"media": "(prefers-color-scheme: light)", "scheme": "default", "primary": "indigo"}


@pytest.mark.parametrize(
    ("system", "stored", "expected"),
    [
        ("dark", None, "slate"),  # a first visit follows the system from the first paint
        ("light", None, "default"),
        ("dark", {"index": 1, "color": {**LIGHT, "accent": "indigo"}}, "default"),  # a choice
    ],
)
def test_the_scheme_is_applied_before_materials_javascript_runs(
    browser: Browser, base_url: str, system: str, stored, expected: str
):
    # docs/overrides/partials/javascripts/palette.html, run while the page is parsed
    with new_page(browser, color_scheme=system) as (page, _):
        page.route("**/assets/javascripts/bundle.*.min.js", lambda route: route.abort())
        if stored is not None:
            page.goto(base_url)  # __md_set: Material's inline helper, stored under its scope
            page.evaluate("value => __md_set('__palette', value)", stored)
        page.goto(base_url + EXPLORER)
        scheme = page.locator("body").get_attribute("data-md-color-scheme")
        media = page.locator("body").get_attribute("data-md-color-media")
    assert scheme == expected, (
        f"with the system in {system} mode and {'a stored' if stored else 'no stored'} choice, "
        f"the page is drawn in {scheme!r} until Material's JavaScript runs, not {expected!r}: "
        "see docs/overrides/partials/javascripts/palette.html"
    )
    if stored is None:
        assert media == "(prefers-color-scheme)", (
            f"data-md-color-media is {media!r}: it must be what Material's JavaScript sets "
            "(the first option's), or setting it again restyles the page"
        )


def test_the_html_classes_material_sets_are_undone_without_material(
    browser: Browser, base_url: str
):
    # docs/overrides/main.html sets them in the head, before Material's script would (restyling)
    with new_page(browser, base_url) as (page, _):
        classes = set(page.evaluate("document.documentElement.className").split())
        page.route("**/assets/javascripts/bundle.*.min.js", lambda route: route.abort())
        page.goto(base_url + EXPLORER)
        blocked = set(page.evaluate("document.documentElement.className").split())
    assert {"js", "js-focus-visible"} <= classes and "no-js" not in classes, classes
    assert "no-js" in blocked and not {"js", "js-focus-visible"} & blocked, (
        f"with Material's script blocked, <html> has the classes {blocked}: "
        "docs/assets/site.js should have put `no-js` back"
    )


DEEP_LINKS = (
    "guide/pytorch-api/#where-the-call-goes-in-the-loop",
    "training/mixed-precision/#when-the-scaler-skips-a-step",
)

# Resolves once the page has kept still for ten frames (the browser's scroll to the anchor).
SCROLL_SETTLED = """() => new Promise(done => {
  let last = scrollY, still = 0;
  const frame = () => {
    [still, last] = [scrollY === last ? still + 1 : 0, scrollY];
    still >= 10 ? done() : requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})"""

# [left, top, right, bottom] of the heading, the header and the back-to-top button (null
# while hidden), once the button's fade has ended.
BOXES = """async id => {
  const top = document.querySelector('.md-top');
  await Promise.all(top.getAnimations().map(a => a.finished));
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {heading: box(document.getElementById(id)),
          header: box(document.querySelector('.md-header')), top: top.hidden ? null : box(top)};
}"""


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_heading_reached_by_a_link_is_not_covered(browser: Browser, base_url: str):
    # docs/assets/site.css: a scroll margin below the header and the back-to-top button
    covered = []
    for size, touch in ((PHONE, TOUCH), (LAPTOP, {})):
        with new_page(browser, viewport=size, **touch) as (page, _):
            for link in DEEP_LINKS:
                anchor = link.split("#")[1]
                page.goto(base_url + link)
                assert page.locator(f"[id='{anchor}']").count() == 1, f"/{link}: no such anchor"
                page.evaluate(SCROLL_SETTLED)
                arrived = page.evaluate(BOXES, anchor)
                assert arrived["heading"][1] < size["height"] / 3, f"/{link} is not scrolled to"
                page.evaluate("scrollBy(0, -8)")  # a little up: Material shows the button
                page.wait_for_function("!document.querySelector('.md-top').hidden")
                up = page.evaluate(BOXES, anchor)
                for when, boxes in (("on arrival", arrived), ("scrolled up", up)):
                    covered += [
                        f"/{link} at {size['width']} px, {when}: by the {name} ({boxes[name]})"
                        for name in ("header", "top")
                        if boxes[name] and overlap(boxes["heading"], boxes[name])
                    ]
    assert not covered, "a heading reached by a link is covered:\n" + "\n".join(covered)


# Each verdict cell of the errata: its label's word and kind, its colours, whether it shows.
VERDICTS = """() => [...document.querySelectorAll('td[data-label="Verdict"]')].map(td => {
  const label = td.querySelector(':scope > .verdict'), style = label && getComputedStyle(label);
  return {cell: td.innerText.trim(), word: label?.innerText.trim().toLowerCase(),
          kind: label?.className.replace('verdict verdict-', ''),
          colours: label && `${style.color} on ${style.backgroundColor}`,
          shown: !!label?.getClientRects().length};
})"""


def test_errata_verdicts_are_coloured_labels_that_say_their_word(browser: Browser, base_url: str):
    # docs/errata.md's <span class="verdict verdict-KIND">: the word is its text, the colour
    # (site.css) repeats it, on a phone's stacked cards too
    for scheme in SCHEMES:
        phone = {"viewport": PHONE, "color_scheme": scheme}
        with new_page(browser, base_url + "errata/", **phone) as (page, _):
            cells = [c for c in page.evaluate(VERDICTS) if c["cell"] != "As above"]
        assert len(cells) >= 20, f"only {len(cells)} verdict cells found on /errata/"
        wrong = [c for c in cells if c.get("word") != c.get("kind") or not c["shown"]]
        assert not wrong, f"verdicts that are not a shown label of their own kind: {wrong}"
        colours = {c["kind"]: c["colours"] for c in cells}
        assert len(set(colours.values())) == len(colours) == 4, f"{scheme}: {colours}"
