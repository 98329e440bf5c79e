"""The own-run checker (docs/training/check-your-run.md) shows what its snippets print."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import PHONE, new_page
from tests.support.claims import page_line, snippet_namespace
from tests.support.paths import SNIPPETS

pytestmark = pytest.mark.browser

PAGE = "training/check-your-run.md"
URL = "training/check-your-run/"
SNIPPET = {  # a function the page computes again -> the snippet that defines it
    "sample_norms": "training/check-your-run/percentiles_and_steps_clipped.md",
    "skip_rule": "training/check-your-run/skip_rule_on_the_norm.md",
    "zclip": "training/check-your-run/zclip_on_the_norm.md",
}


@pytest.fixture(scope="module")
def code() -> dict:
    return {name: snippet_namespace(path)[name] for name, path in SNIPPET.items()}


def g4(x: float) -> str:
    return f"{x:#.4g}"


def expected_numbers(code: dict, norms: list[float], steps: list, max_norm: float) -> dict:
    array, n = np.array(norms), len(norms)
    outliers = code["zclip"](norms)
    capped = {t for t, *_ in outliers} | {t for t, x in enumerate(norms) if x > max_norm}
    p = dict(zip(("p10", "p50", "p90", "p99"), np.percentile(array, [10, 50, 90, 99])))
    k, k90 = int((array > max_norm).sum()), int((array > p["p90"]).sum())
    return {
        **{name: g4(x) for name, x in p.items()},
        "max": g4(array.max()),
        "clip": [str(k), f"{100 * k / n:.1f}"],
        "p90-clip": [str(k90), f"{100 * k90 / n:.1f}"],
        "skip": [
            [str(steps[t]), g4(x), g4(mean), g4(std), g4((x - mean) / std)]
            for t, x, mean, std in code["skip_rule"](norms)
        ],
        "zclip": [[str(steps[t]), g4(x), g4(to), g4(z)] for t, x, to, z in outliers],
        "cap": [str(len(capped)), f"{100 * len(capped) / n:.1f}"],
    }


SHOWN = r"""() => {
  const out = name => document.querySelector(`[data-out="${name}"]`).innerText.trim();
  const rows = table => [...document.querySelectorAll(`[data-table="${table}"] tbody tr`)]
    .map(row => [...row.cells].map(cell => cell.textContent.trim()));
  const cap = out('zclip-cap').match(/clips (\d+) of \d+ steps in all \(([\d.]+) %\)/);
  return {p10: out('p10'), p50: out('p50'), p90: out('p90'), p99: out('p99'), max: out('max'),
          clip: [out('clip-count'), out('clip-percent')],
          'p90-clip': [out('p90-count'), out('p90-percent')],
          skip: rows('skip'), zclip: rows('zclip'), cap: cap && cap.slice(1)};
}"""


def compare(page: Page, expected: dict, where: str) -> None:
    shown = page.evaluate(SHOWN)
    wrong = [f"{k}: shown {shown[k]}, computed {v}" for k, v in expected.items() if shown[k] != v]
    assert not wrong, f"{where}: check-your-run.js and its snippets disagree:\n" + "\n".join(wrong)


def results_for(page: Page, count: int) -> None:
    """Wait until the page has read `count` values."""
    expect(page.locator('[data-out="read"]')).to_contain_text(f"Read {count} values")


def type_max_norm(page: Page, value: str) -> None:
    page.get_by_label("max_norm", exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)


@pytest.fixture
def checker(browser: Browser, base_url: str) -> Iterator[Page]:
    """The checker, loaded; each test that uses it also checks that it then sends nothing."""
    with new_page(browser) as (page, watch):
        page.goto(base_url + URL, wait_until="networkidle")
        sent: list[str] = []
        page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
        yield page
    watch.check()
    assert not sent, f"{page_line(PAGE, 'the page sends nothing anywhere')}: it requested {sent}"


def test_the_sample_shows_what_the_snippets_print(checker: Page, code: dict):
    where = page_line(PAGE, "the suite checks that the page shows exactly what the Python prints")
    norms = code["sample_norms"]()
    checker.get_by_role("textbox", name="Your gradient norms").focus()
    checker.keyboard.press("Tab")  # the button comes next, and Enter presses it
    expect(checker.get_by_role("button", name="Load the sample")).to_be_focused()
    checker.keyboard.press("Enter")
    results_for(checker, len(norms))
    status = checker.locator('[role="status"][data-out="status"]')
    expect(status).to_contain_text("the skip rule flags 2, ZClip clips 10")
    expected = expected_numbers(code, norms, list(range(len(norms))), 1.0)
    compare(checker, expected, where)
    outputs = [(SNIPPETS / s).read_text().split("expected-output-->")[1] for s in SNIPPET.values()]
    printed = {t.rstrip(".") for t in re.findall(r"\d[\d.e+-]*", " ".join(outputs))}
    shown = {v for value in expected.values() for v in np.ravel(value).tolist()}
    assert shown <= printed, f"{where}: the snippets print none of {shown - printed}"
    text = checker.get_by_role("textbox", name="Your gradient norms").input_value()
    assert text == "step,grad_norm\n" + "".join(f"{t},{x!r}\n" for t, x in enumerate(norms)), (
        f"{where}: the page's sample (sampleNorms) is not the snippets' sample_norms()"
    )


def pasted(case: str, sample: list[float]) -> tuple[str, list[float], list[int], str, str]:
    """The text pasted, its finite norms, their steps, max_norm, what the page says it read."""
    steps = list(range(len(sample)))
    if case == "lines":  # one number a line
        return "\n".join(map(repr, sample)), sample, steps, "1.0", "the column of numbers"
    if case == "tsv":
        tsv = "".join(f"{t}\t{x!r}\n" for t, x in enumerate(sample))
        return "step\tgrad_norm\n" + tsv, sample, steps, "1.0", "Read 800 values"
    if case == "tensorboard":  # its CSV export
        steps = [10 * t + 10 for t in steps]
        rows = [f"{1.7e9 + 3 * t},{s},{x!r}" for t, (s, x) in enumerate(zip(steps, sample))]
        return "Wall time,Step,Value\n" + "\n".join(rows), sample, steps, "1.0", "steps 10 to 8000"
    if case == "non-finite":
        lines = [repr(x) for x in sample]
        lines[120:120] = ["nan"]
        lines[400:400] = ["inf", "-Infinity"]
        steps = [t if t < 120 else t + 1 if t < 399 else t + 3 for t in steps]
        read = "3 non-finite values (nan at step 120, inf at step 400, -Infinity at step 401)"
        return "grad_norm\n" + "\n".join(lines), sample, steps, "1.0", read
    if case == "ties":  # Python rounds them to even, JavaScript's toFixed away from zero
        norms = [1.0625] * 15 + [3.0]  # p50 is 1.0625, and 1 of 16 steps is 6.25 %
        return "\n".join(map(str, norms)), norms, list(range(16)), "2", "Read 16 values"
    norms = [1.234e-05, 1e-04, 123456.0]  # printed 1.234e-05, 0.0001000, 1.235e+05
    return "0.00001234\n0.0001\n123456", norms, [0, 1, 2], "1.0", "Read 3 values"


@pytest.mark.parametrize("case", ["lines", "tsv", "tensorboard", "non-finite", "ties", "exponents"])
def test_pasted_norms_give_the_snippets_numbers(checker: Page, code: dict, case: str):
    text, norms, steps, max_norm, read = pasted(case, code["sample_norms"]())
    type_max_norm(checker, max_norm)
    checker.get_by_role("textbox", name="Your gradient norms").fill(text)
    results_for(checker, len(norms))
    expect(checker.locator('[data-out="read"]')).to_contain_text(read)
    compare(checker, expected_numbers(code, norms, steps, float(max_norm)), case)


def test_a_wandb_export_loaded_as_a_file_and_its_other_columns(checker: Page, code: dict):
    # W&B quotes its names, adds __MIN and __MAX columns, and leaves the norm's cells empty
    # in rows where only the loss was logged.
    norms = code["sample_norms"]()
    steps = [10 * t + 10 for t in range(len(norms))]
    names = ["Step", *(f"run-7 - train/grad_norm{s}" for s in ("", "__MIN", "__MAX"))]
    lines = [",".join(f'"{n}"' for n in [*names, "run-7 - train/loss"])]
    for i, (s, x) in enumerate(zip(steps, norms)):
        lines += [f'"{s - 1}","","","","2.5"'] if i % 5 == 0 else []
        lines.append(f'"{s}","{x!r}","{x / 2!r}","{x * 2!r}","2.25"')
    csv = ("\r\n".join(lines) + "\r\n").encode()
    checker.get_by_label("or load a file").set_input_files(
        files=[{"name": "wandb.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    expect(checker.locator('[data-out="read"]')).to_contain_text("of wandb.csv")
    results_for(checker, len(norms))
    expect(checker.locator('[data-out="read"]')).to_contain_text("run-7 - train/grad_norm\u201d")
    compare(checker, expected_numbers(code, norms, steps, 1.0), "a W&B export")
    column = checker.get_by_label("Column")  # every column of numbers but the step
    assert column.locator("option").all_inner_texts() == [*names[1:], "run-7 - train/loss"]
    column.select_option(label="run-7 - train/grad_norm__MAX")
    compare(checker, expected_numbers(code, [2 * x for x in norms], steps, 1.0), "__MAX")


def test_other_thresholds_and_the_90th_percentile_button(checker: Page, code: dict):
    norms = code["sample_norms"]()
    checker.get_by_role("button", name="Load the sample").click()
    results_for(checker, len(norms))
    clip = checker.locator('[data-out="clip"]')
    status = checker.locator('[role="status"][data-out="status"]')  # read out to screen readers
    for value in ("0.7", "2", "0.75", "1e-3"):
        type_max_norm(checker, value)
        k = sum(x > float(value) for x in norms)
        expect(clip).to_contain_text(f"max_norm of {value} clips {k} of 800 steps ({k / 8:.1f} %).")
        expect(status).to_contain_text(f"max_norm {value} clips {k / 8:.1f} % of steps")
        assert ("More than half of the steps" in clip.inner_text()) == (2 * k > 800), value
        compare(checker, expected_numbers(code, norms, range(800), float(value)), value)
    checker.get_by_role("button", name="Use it as max_norm").click()
    p90 = float(g4(np.percentile(norms, 90)))
    expect(checker.get_by_label("max_norm", exact=True)).to_have_value(str(p90))
    expect(clip).to_contain_text(f"clips {sum(x > p90 for x in norms)} of 800 steps")


@pytest.mark.parametrize("system", ["light", "dark"])
def test_results_fit_a_phone_and_pass_axe(browser: Browser, base_url: str, system: str):
    # A phone lays out Material's navigation drawer (every section's <nav>), which the axe pass
    # over every page (tests/test_browser.py, at desktop size) does not; this page stands for all.
    phone = {"viewport": PHONE, "device_scale_factor": 3, "color_scheme": system}
    with new_page(browser, base_url + URL, **phone) as (page, watch):
        page.get_by_role("button", name="Load the sample").click()
        results_for(page, 800)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"/{URL} scrolls sideways on a 390 px phone ({width} px)"
        column = page.locator(".md-content").bounding_box()
        for part in (".run-check__plot", '[data-table="zclip"]', ".run-check__table--percentiles"):
            box = page.locator(part).bounding_box()
            right = column["x"] + column["width"] + 0.5
            assert column["x"] - 0.5 <= box["x"] and box["x"] + box["width"] <= right, (
                f"{part} runs past the content column at 390 px: {box} in {column}"
            )
        results = Axe().run(page)
    assert not results.violations_count, f"/{URL} ({system}):\n{results.generate_report()}"
    watch.check()


def test_without_javascript_it_says_so(browser: Browser, base_url: str):
    with new_page(browser, base_url + URL, java_script_enabled=False) as (page, _):
        expect(page.locator(".run-check__note")).to_be_visible()
        expect(page.locator(".run-check__form")).to_be_hidden()
