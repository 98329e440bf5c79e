"""The built site in a real browser: Debian's Chromium, driven by Playwright.

The browser and the local server are session fixtures (tests/conftest.py). Without
/usr/bin/chromium these tests skip locally and fail in CI (CI=true), where .ci/run
installs it.
"""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from scripts.site_server import page_paths
from tests.support.browser import new_page

pytestmark = pytest.mark.browser

EXPLORER = "guide/explorer/"
EPS = 1e-6  # PyTorch's guard in clip_grad_norm_


def test_every_page_loads_without_errors_or_external_requests(
    browser: Browser, base_url: str, site
):
    paths = page_paths(site)
    with new_page(browser) as (page, watch):
        for path in paths:
            watch.where = "/" + path
            response = page.goto(base_url + path, wait_until="load")
            assert response is not None and response.ok, (
                f"/{path}: HTTP {response and response.status}"
            )
        # late requests of the last page (pages before: the next goto)
        page.wait_for_load_state("networkidle")
    problems = watch.errors + watch.external
    assert not problems, (
        f"{len(problems)} problem(s) over {len(paths)} pages (the site must load nothing from other hosts "
        "and log no errors):\n" + "\n".join(problems)
    )


def test_every_page_has_no_axe_violations_in_either_scheme(browser: Browser, base_url: str, site):
    from axe_playwright_python.sync_playwright import Axe

    axe, problems = Axe(), []
    for system, scheme in (("light", "default"), ("dark", "slate")):
        with new_page(browser, color_scheme=system) as (page, _):
            for path in page_paths(site):
                page.goto(base_url + path, wait_until="networkidle")
                shown = page.locator("body").get_attribute("data-md-color-scheme")
                assert shown == scheme, f"/{path} in a {system} system is drawn in {shown!r}"
                results = axe.run(page)
                if results.violations_count:
                    problems.append(f"/{path} ({system}):\n{results.generate_report()}")
    assert not problems, (
        f"axe-core found violations on {len(problems)} page(s) and scheme(s):\n"
        + "\n".join(problems)
    )


# --- a heading reached by a link -----------------------------------------------------------

DEEP_LINKS = (
    "guide/pytorch-api/#where-the-call-goes-in-the-loop",
    "training/mixed-precision/#when-the-scaler-skips-a-step",
)

# Resolves once the page has kept still for ten frames (the browser's scroll to the anchor).
SCROLL_SETTLED = """() => new Promise(done => {
  let last = scrollY, still = 0;
  const frame = () => {
    still = scrollY === last ? still + 1 : 0;
    last = scrollY;
    if (still >= 10) done(); else requestAnimationFrame(frame);
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
    """docs/assets/site.css gives headings a scroll margin below the header and Material's
    back-to-top button, which shows when the reader scrolls up."""
    covered = []
    for phone in (True, False):
        size = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
        with new_page(browser, viewport=size, is_mobile=phone, has_touch=phone) as (page, _):
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


# --- errata verdicts -------------------------------------------------------------------------

# Each verdict cell of the errata: its label's word and kind, its colours, whether it shows.
VERDICTS = """() => [...document.querySelectorAll('td[data-label="Verdict"]')].map(td => {
  const label = td.querySelector(':scope > .verdict');
  if (!label) return {cell: td.innerText.trim()};
  const style = getComputedStyle(label);
  return {cell: td.innerText.trim(), word: label.innerText.trim().toLowerCase(),
          kind: label.className.replace('verdict verdict-', ''),
          colours: `${style.color} on ${style.backgroundColor}`,
          shown: label.getClientRects().length > 0};
})"""


def test_errata_verdicts_are_coloured_labels_that_say_their_word(browser: Browser, base_url: str):
    """docs/errata.md wraps each verdict in <span class="verdict verdict-KIND">: the word stays
    its text (what a screen reader reads), the colour repeats it (site.css; axe checks the
    contrast), on a phone's stacked cards too."""
    for scheme in ("light", "dark"):
        phone = {"width": 390, "height": 844}
        with new_page(browser, viewport=phone, color_scheme=scheme) as (page, _):
            page.goto(base_url + "errata/")
            cells = [c for c in page.evaluate(VERDICTS) if c["cell"] != "As above"]
        assert len(cells) >= 20, f"only {len(cells)} verdict cells found on /errata/"
        wrong = [c for c in cells if c.get("word") != c.get("kind") or not c["shown"]]
        assert not wrong, f"verdicts that are not a shown label of their own kind: {wrong}"
        colours = {c["kind"]: c["colours"] for c in cells}
        assert len(set(colours.values())) == len(colours) == 4, f"{scheme}: {colours}"


# --- the clipping explorer -----------------------------------------------------------------


def norm_clip(g: tuple[float, float], c: float) -> tuple[float, float]:
    k = min(1.0, c / (math.hypot(*g) + EPS))
    return (g[0] * k, g[1] * k)


def value_clip(g: tuple[float, float], c: float) -> tuple[float, float]:
    return (min(c, max(-c, g[0])), min(c, max(-c, g[1])))


def angle(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    if math.hypot(*a) == 0 or math.hypot(*b) == 0:
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
    by_value, by_norm = value_clip(g, c), norm_clip(g, c)
    expected = {
        "original-x": g[0],
        "original-y": g[1],
        "original-norm": math.hypot(*g),
        "value-x": by_value[0],
        "value-y": by_value[1],
        "value-length": math.hypot(*by_value),
        "value-angle": angle(g, by_value),
        "norm-x": by_norm[0],
        "norm-y": by_norm[1],
        "norm-length": math.hypot(*by_norm),
        "norm-angle": angle(g, by_norm),
        "c": c,
    }
    wrong = []
    for name, want in expected.items():
        got = shown(page, name)
        # The page rounds lengths and components to 3 decimals, angles and c to 1.
        tolerance = (0.05 if name.endswith("angle") or name == "c" else 0.0005) + 1e-9
        if (want is None) != (got is None) or (want is not None and abs(got - want) > tolerance):
            wrong.append(f"{name}: page shows {got}, the formula gives {want}")
    # The picture agrees with the table: each arrow ends at its vector (SVG's y points down).
    for name, vector in (("original", g), ("value", by_value), ("norm", by_norm)):
        line = page.locator(f'[data-draw="{name}"]')
        tip = (float(line.get_attribute("x2")), -float(line.get_attribute("y2")))
        if math.dist(tip, vector) > 1e-3:  # the still picture (no JavaScript) rounds to 3 decimals
            wrong.append(f"the {name} arrow ends at {tip}, not at {vector}")
    assert not wrong, f"g = {g}, c = {c}:\n" + "\n".join(wrong)


@pytest.fixture(scope="module")
def explorer(browser: Browser, base_url: str) -> Page:
    with new_page(browser) as (page, watch):
        page.goto(base_url + EXPLORER)
        yield page
    assert not watch.errors + watch.external, "\n".join(watch.errors + watch.external)


@pytest.mark.parametrize(
    ("g", "c"),
    [
        ((4.0, 1.5), 2.0),  # the page's starting example
        ((4.0, 1.0), 1.0),  # value clipping turns g by 31 degrees
        ((3.0, 1.0), 1.0),  # the math page's example: 26.57 degrees, length 1.4142
        ((-3.0, 0.5), 1.0),
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


def test_explorer_arrow_keys_move_the_gradient(page: Page, base_url: str):
    page.goto(base_url + EXPLORER)
    handle = page.locator('[data-role="handle"]')
    assert handle.get_attribute("tabindex") == "0", "the arrow tip must be reachable with Tab"
    page.get_by_label("gy (vertical)").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(handle).to_be_focused()  # the tip comes right before the inputs in the tab order
    for key in ("ArrowLeft", "ArrowLeft", "Shift+ArrowDown", "ArrowDown"):
        page.keyboard.press(key)
    expect(page.get_by_label("gx (horizontal)")).to_have_value("3.8")
    expect(page.get_by_label("gy (vertical)")).to_have_value("0.4")
    check_numbers(page, (3.8, 0.4), 2.0)


def test_explorer_follows_a_pointer_drag(page: Page, base_url: str):
    page.goto(base_url + EXPLORER)
    box = page.locator('[data-role="plane"]').bounding_box()

    def screen(x: float, y: float) -> tuple[float, float]:  # the viewBox is -5.6 .. 5.6 both ways
        return (
            box["x"] + (x + 5.6) / 11.2 * box["width"],
            box["y"] + (5.6 - y) / 11.2 * box["height"],
        )

    page.mouse.move(*screen(4.0, 1.5))
    page.mouse.down()
    page.mouse.move(*screen(-2.0, 3.0), steps=8)
    page.mouse.up()
    expect(page.get_by_label("gx (horizontal)")).to_have_value("-2")
    expect(page.get_by_label("gy (vertical)")).to_have_value("3")
    check_numbers(page, (-2.0, 3.0), 2.0)


def test_explorer_reads_without_javascript(browser: Browser, base_url: str):
    with new_page(browser, java_script_enabled=False) as (page, _):
        page.goto(base_url + EXPLORER)
        expect(page.locator(".clip-explorer__note")).to_be_visible()
        expect(page.locator('[data-role="controls"]')).to_be_hidden()
        check_numbers(page, (4.0, 1.5), 2.0)  # the still example is right too


def test_explorer_fits_a_phone_screen(browser: Browser, base_url: str):
    phone = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2}
    with new_page(browser, **phone, is_mobile=True, has_touch=True) as (page, _):
        page.goto(base_url + EXPLORER)
        width = page.evaluate("document.documentElement.scrollWidth")
        plane = page.locator('[data-role="plane"]').bounding_box()
        assert width <= 360, (
            f"the explorer page scrolls sideways at phone width ({width} px > 360 px)"
        )
        assert 250 <= plane["width"] <= 360, f"the plane is {plane['width']} px wide at phone width"
        page.locator('[data-role="plane"]').tap(
            position={"x": plane["width"] * 0.25, "y": plane["height"] * 0.25}
        )
        check_numbers(
            page,
            (
                float(page.get_by_label("gx (horizontal)").input_value()),
                float(page.get_by_label("gy (vertical)").input_value()),
            ),
            2.0,
        )


def test_explorer_plane_and_numbers_fit_one_phone_screen(browser: Browser, base_url: str):
    """While a reader drags on a phone, the numbers under the plane stay in view with it."""
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
    with new_page(browser, **phone, is_mobile=True, has_touch=True) as (page, _):
        page.goto(base_url + EXPLORER)
        header = page.locator(".md-header").bounding_box()["height"]
        page.locator('[data-role="plane"]').scroll_into_view_if_needed()
        plane = page.locator('[data-role="plane"]').bounding_box()
        table = page.locator(".clip-explorer__table").bounding_box()
        span = table["y"] + table["height"] - plane["y"]
        assert plane["y"] <= table["y"], "the numbers come before the plane on a phone"
        assert span <= 844 - header, (
            f"from the top of the plane to the bottom of its numbers is {span:.0f} px, more than "
            f"the {844 - header:.0f} px a 390 x 844 screen shows under the header "
            "(docs/assets/explorer.css: the one-column layout)"
        )


def test_explorer_is_above_the_fold_on_a_laptop(browser: Browser, base_url: str):
    with new_page(browser, viewport={"width": 1366, "height": 900}) as (page, _):
        page.goto(base_url + EXPLORER)
        widget = page.locator(".clip-explorer").bounding_box()
        bottom = widget["y"] + widget["height"]
        assert bottom <= 900, (
            f"at 1366 x 900 the explorer ends {bottom:.0f} px down, below the fold: keep the text "
            "above it short (docs/guide/explorer.md) and its two-column layout compact"
        )


def test_explorer_axis_labels_subscript_x_and_y(page: Page, base_url: str):
    """Unicode has no subscript y; U+1D67 (the old label) is a Greek subscript gamma."""
    page.goto(base_url + EXPLORER)
    labels = page.locator(".clip-explorer__label").all_text_contents()
    assert labels == ["gx", "gy"], f"the axis labels read {labels}"
    subscripts = page.locator(".clip-explorer__label .clip-explorer__sub").all_text_contents()
    assert subscripts == ["x", "y"]
    assert "\u1d67" not in page.locator(".clip-explorer").inner_text()


# --- search and the colour scheme ------------------------------------------------------------


def test_search_finds_a_page_by_a_word_from_its_body(page: Page, base_url: str):
    page.goto(base_url)
    query = page.locator('input[data-md-component="search-query"]')
    query.click()
    query.press_sequentially("keyboard")  # in the explorer's body text, not in a title
    # Retried until it holds: the index loads in a web worker, and each keystroke replaces the
    # results (reading them one by one could meet a list that is being replaced).
    explorer = page.locator(f'.md-search-result__item a[href*="{EXPLORER}"]')
    expect(explorer.first).to_be_attached(timeout=15_000)


def test_palette_toggle_switches_light_and_dark(page: Page, base_url: str):
    page.goto(base_url + EXPLORER)
    body = page.locator("body")
    value_arrow = page.locator('[data-draw="value"]')

    def scheme() -> str:
        return body.get_attribute("data-md-color-scheme")

    def stroke() -> str:
        return value_arrow.evaluate("line => getComputedStyle(line).stroke")

    seen = [(scheme(), stroke())]
    for _ in range(3):  # system preference -> light -> dark -> system preference
        page.locator('form[data-md-component="palette"] label.md-header__button:visible').click()
        seen.append((scheme(), stroke()))
    schemes = [entry[0] for entry in seen]
    assert "default" in schemes and "slate" in schemes, f"the toggle went through {schemes}"
    strokes = {entry[0]: entry[1] for entry in seen}
    assert strokes["default"] != strokes["slate"], (
        "the explorer keeps its light colours in the dark scheme"
    )


@pytest.mark.parametrize(
    ("system", "stored", "expected"),
    [
        ("dark", None, "slate"),  # a first visit follows the system from the first paint
        ("light", None, "default"),
        (
            "dark",
            {
                "index": 1,
                "color": {
                    "media": "(prefers-color-scheme: light)",
                    "scheme": "default",
                    "primary": "indigo",
                    "accent": "indigo",
                },
            },
            "default",
        ),  # a stored choice wins
    ],
)
def test_the_scheme_is_applied_before_materials_javascript_runs(
    browser: Browser, base_url: str, system: str, stored, expected: str
):
    """docs/overrides/partials/javascripts/palette.html sets the scheme while the page is
    parsed: with Material's bundle blocked, the body already has it."""
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


def test_the_html_classes_material_sets_are_there_early_and_undone_without_material(
    browser: Browser, base_url: str
):
    """docs/overrides/main.html sets `js` (for `no-js`) and `js-focus-visible` in the head;
    Material's script would set them later and restyle the page. Without Material's script,
    docs/assets/site.js puts `no-js` back so the no-JavaScript styles apply."""
    with new_page(browser) as (page, _):
        page.goto(base_url)
        classes = page.evaluate("document.documentElement.className").split()
        page.route("**/assets/javascripts/bundle.*.min.js", lambda route: route.abort())
        page.goto(base_url + EXPLORER)
        blocked = page.evaluate("document.documentElement.className").split()
    assert "js" in classes and "no-js" not in classes and "js-focus-visible" in classes, classes
    assert "no-js" in blocked and "js" not in blocked and "js-focus-visible" not in blocked, (
        f"with Material's script blocked, <html> has the classes {blocked}: "
        "docs/assets/site.js should have put `no-js` back"
    )
