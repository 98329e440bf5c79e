"""Check your own run (docs/training/check-your-run.md), against its Python snippets.

The page computes, in the reader's browser (docs/assets/check-your-run.js), what the
snippets in snippets/training/check-your-run/ print. In Debian's Chromium:

* with the built-in sample, every number the page shows is the one the snippets'
  checked output prints, digit for digit, and the sample is the snippets'
  ``sample_norms()``, value for value;
* a TensorBoard and a W&B export of the sample (pasted, and loaded as a file) give the
  same numbers, with the export's own step numbers; other thresholds, non-finite
  values and Python's rounding of exact ties are checked against the snippets' code;
* it works from the keyboard, fits a 390 x 844 screen, has no axe violations in the
  light and dark schemes, and sends nothing while it reads a paste or a file.

Without a browser, the snippets' rules are checked against the loss-spikes page's own
code (OLMo-core's skip rule, the ZClip class), over the range the page's sentences
claim.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import new_page
from tests.support.claims import page_line, snippet_namespace
from tests.support.paths import SNIPPETS

PAGE = "training/check-your-run.md"
URL = "training/check-your-run/"
FOLDER = "training/check-your-run"
PERCENTILES = f"{FOLDER}/percentiles_and_steps_clipped.md"
SKIP = f"{FOLDER}/skip_rule_on_the_norm.md"
ZCLIP = f"{FOLDER}/zclip_on_the_norm.md"


# --- what the snippets print, and their code ---------------------------------------------


def checked_output(snippet: str) -> list[str]:
    """The lines of a snippet's checked output (written by the suite, never by hand)."""
    text = (SNIPPETS / snippet).read_text()
    block = re.search(
        r"<!--pytest-codeblocks:expected-output-->\s*```text[^\n]*\n(.*?)\n```", text, re.S
    )
    assert block, f"snippets/{snippet}: no checked output"
    return block.group(1).splitlines()


@pytest.fixture(scope="module")
def code() -> dict:
    """The functions the page's snippets define (the reader's code, run as written)."""
    return {
        "sample_norms": snippet_namespace(PERCENTILES)["sample_norms"],
        "skip_rule": snippet_namespace(SKIP)["skip_rule"],
        "zclip": snippet_namespace(ZCLIP)["zclip"],
    }


def g4(x: float) -> str:
    return f"{x:#.4g}"


def expected_numbers(code: dict, norms: list[float], steps: list, max_norm: float) -> dict:
    """What the page should show for these norms, computed by the snippets' code."""
    array = np.array(norms)
    p10, p50, p90, p99 = np.percentile(array, [10, 50, 90, 99])
    n = len(norms)

    def clips(threshold: float) -> tuple[str, str]:
        k = int((array > threshold).sum())
        return str(k), f"{100 * k / n:.1f}"

    outliers = code["zclip"](norms)
    capped = {t for t, *_ in outliers} | {t for t, x in enumerate(norms) if x > max_norm}
    return {
        "p10": g4(p10),
        "p50": g4(p50),
        "p90": g4(p90),
        "p99": g4(p99),
        "max": g4(array.max()),
        "clip": clips(max_norm),
        "p90-clip": clips(p90),
        "skip": [
            [str(steps[t]), g4(x), g4(mean), g4(std), g4((x - mean) / std)]
            for t, x, mean, std in code["skip_rule"](norms)
        ],
        "zclip": [[str(steps[t]), g4(x), g4(to), g4(z)] for t, x, to, z in outliers],
        "cap": (str(len(capped)), f"{100 * len(capped) / n:.1f}"),
    }


# --- what the page shows -------------------------------------------------------------------


def out(page: Page, name: str) -> str:
    return page.locator(f'[data-out="{name}"]').inner_text().strip()


def rows(page: Page, table: str) -> list[list[str]]:
    return page.locator(f'[data-table="{table}"] tbody tr').evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )


def shown_numbers(page: Page) -> dict:
    cap = re.search(r"clips (\d+) of \d+ steps in all \(([\d.]+) %\)", out(page, "zclip-cap"))
    return {
        "p10": out(page, "p10"),
        "p50": out(page, "p50"),
        "p90": out(page, "p90"),
        "p99": out(page, "p99"),
        "max": out(page, "max"),
        "clip": (out(page, "clip-count"), out(page, "clip-percent")),
        "p90-clip": (out(page, "p90-count"), out(page, "p90-percent")),
        "skip": rows(page, "skip"),
        "zclip": rows(page, "zclip"),
        "cap": cap.groups() if cap else None,
    }


def compare(shown: dict, expected: dict, where: str) -> None:
    wrong = [
        f"{key}: the page shows {shown[key]!r}, the snippets give {expected[key]!r}"
        for key in expected
        if shown[key] != expected[key]
    ]
    assert not wrong, (
        f"{where}: the page and its Python snippets disagree (docs/assets/check-your-run.js "
        "must compute and print as snippets/training/check-your-run/ does):\n" + "\n".join(wrong)
    )


def results_for(page: Page, count: int) -> None:
    """Wait until the page has read `count` values (the script waits 250 ms after typing)."""
    expect(page.locator('[data-role="results"]')).to_be_visible()
    expect(page.locator('[data-out="read"]')).to_contain_text(f"Read {count} values")


@pytest.fixture
def checker(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    with new_page(browser) as (page, watch):
        page.goto(base_url + URL)
        yield page
    assert not watch.errors + watch.external, "\n".join(watch.errors + watch.external)


def paste(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Your gradient norms").fill(text)


def set_max_norm(page: Page, value: str) -> None:
    page.get_by_label("max_norm", exact=True).fill(value)


# --- the sample: the page against the snippets' checked output ------------------------------


def parsed_snippet_outputs() -> dict:
    """Every number the three snippets print for the sample, from their checked output."""
    lines = checked_output(PERCENTILES)
    first = re.fullmatch(r"(\d+) norms: p10 (\S+), p50 (\S+), p90 (\S+)", lines[0])
    second = re.fullmatch(r"p99 (\S+), max (\S+)", lines[1])
    clip = [
        re.fullmatch(r"max_norm (\S+) clips (\d+) of \d+ steps \(([\d.]+) %\)", x)
        for x in lines[2:4]
    ]
    assert first and second and all(clip), f"snippets/{PERCENTILES}: unexpected output {lines}"
    assert clip[0].group(1) == "1.000" and clip[1].group(1) == first.group(4)
    skip = checked_output(SKIP)
    assert re.fullmatch(r"the skip rule flags (\d+) of \d+ steps", skip[0]), skip[0]
    skip_rows = [
        list(re.fullmatch(r"step (\d+): norm (\S+), mean (\S+), std (\S+), z (\S+)", x).groups())
        for x in skip[1:]
    ]
    zclip = checked_output(ZCLIP)
    zclip_rows = [
        list(re.fullmatch(r"step (\d+): norm (\S+) -> (\S+), z (\S+)", x).groups())
        for x in zclip[1:-1]
    ]
    cap = re.fullmatch(
        r"with its cap at max_norm 1\.0: (\d+) of \d+ steps \(([\d.]+) %\)", zclip[-1]
    )
    assert cap, zclip[-1]
    return {
        "count": first.group(1),
        "p10": first.group(2),
        "p50": first.group(3),
        "p90": first.group(4),
        "p99": second.group(1),
        "max": second.group(2),
        "clip": clip[0].group(2, 3),
        "p90-clip": clip[1].group(2, 3),
        "skip": skip_rows,
        "zclip": zclip_rows,
        "cap": cap.groups(),
    }


@pytest.mark.browser
def test_the_sample_shows_what_the_snippets_print(checker: Page, code: dict):
    where = page_line(PAGE, "the suite checks that the page shows exactly what the Python prints")
    printed = parsed_snippet_outputs()
    checker.get_by_role("button", name="Load the sample").click()
    results_for(checker, int(printed.pop("count")))
    compare(shown_numbers(checker), printed, where)
    # The sample is sample_norms(), value for value: the shortest text of each double.
    text = checker.get_by_role("textbox", name="Your gradient norms").input_value()
    expected = "step,grad_norm\n" + "".join(
        f"{t},{x!r}\n" for t, x in enumerate(code["sample_norms"]())
    )
    assert text == expected, (
        f"{where}: the page's sample is not the snippets' sample_norms() (the formula in "
        "docs/assets/check-your-run.js, sampleNorms, must be the snippets' one)"
    )
    assert out(checker, "clip") == "A max_norm of 1.0 clips 19 of 800 steps (2.4 %)."


# --- exports and other input ----------------------------------------------------------------


def tensorboard_csv(norms: list[float], steps: list[int]) -> str:
    lines = ["Wall time,Step,Value"]
    lines += [f"{1700000000.5 + 3 * i},{s},{x!r}" for i, (s, x) in enumerate(zip(steps, norms))]
    return "\n".join(lines) + "\n"


def wandb_csv(norms: list[float], steps: list[int]) -> str:
    """W&B's export: quoted names, __MIN/__MAX columns, and rows (here every fifth step
    has a loss logged alone) where the norm's cells are empty."""
    names = [
        "Step",
        "run-7 - train/grad_norm",
        "run-7 - train/grad_norm__MIN",
        "run-7 - train/grad_norm__MAX",
        "run-7 - train/loss",
    ]
    lines = [",".join(f'"{n}"' for n in names)]
    for i, (s, x) in enumerate(zip(steps, norms)):
        if i % 5 == 0:
            lines.append(f'"{s - 1}","","","","2.5"')
        lines.append(f'"{s}","{x!r}","{x / 2!r}","{x * 2!r}","2.25"')
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.browser
def test_tensorboard_and_wandb_exports_give_the_same_numbers_at_their_steps(
    checker: Page, code: dict
):
    norms = code["sample_norms"]()
    steps = [10 * t + 10 for t in range(len(norms))]
    expected = expected_numbers(code, norms, steps, 1.0)
    paste(checker, tensorboard_csv(norms, steps))
    results_for(checker, len(norms))
    expect(checker.locator('[data-out="read"]')).to_contain_text("\u201cValue\u201d")
    compare(shown_numbers(checker), expected, "a TensorBoard export, pasted")
    assert "steps 10 to 8000" in out(checker, "read")
    assert out(checker, "skip-summary").endswith(": 3010, 6010.")

    checker.get_by_label("or load a file").set_input_files(
        files=[
            {
                "name": "wandb.csv",
                "mimeType": "text/csv",
                "buffer": wandb_csv(norms, steps).encode(),
            }
        ]
    )
    expect(checker.locator('[data-out="read"]')).to_contain_text("of wandb.csv")
    results_for(checker, len(norms))
    expect(checker.locator('[data-out="read"]')).to_contain_text("run-7 - train/grad_norm\u201d")
    compare(shown_numbers(checker), expected, "a W&B export, loaded as a file")
    # The other numeric columns can be picked instead; the step column is not offered.
    options = checker.get_by_label("Column").locator("option").all_inner_texts()
    assert options == [
        "run-7 - train/grad_norm",
        "run-7 - train/grad_norm__MIN",
        "run-7 - train/grad_norm__MAX",
        "run-7 - train/loss",
    ], options
    checker.get_by_label("Column").select_option(label="run-7 - train/grad_norm__MAX")
    doubled = [2 * x for x in norms]
    compare(shown_numbers(checker), expected_numbers(code, doubled, steps, 1.0), "the __MAX column")


@pytest.mark.browser
def test_other_thresholds_and_the_90th_percentile_button(checker: Page, code: dict):
    norms = code["sample_norms"]()
    paste(checker, "\n".join(map(repr, norms)))
    results_for(checker, len(norms))
    assert "the column of numbers" in out(checker, "read")
    for value in ("0.7", "2", "0.75", "1e-3"):
        set_max_norm(checker, value)
        k = sum(x > float(value) for x in norms)
        expect(checker.locator('[data-out="clip"]')).to_have_text(
            f"A max_norm of {value} clips {k} of 800 steps ({100 * k / 800:.1f} %)."
            + (
                " More than half of the steps: the Tuning Playbook calls that extremely "
                "aggressive, in effect a smaller learning rate."
                if 2 * k > 800
                else ""
            )
        )
        union = {t for t, *_ in code["zclip"](norms)} | {
            t for t, x in enumerate(norms) if x > float(value)
        }
        assert f"ZClip clips {len(union)} of 800 steps in all" in out(checker, "zclip-cap")
    checker.get_by_role("button", name="Use it as max_norm").click()
    p90 = np.percentile(norms, 90)
    expect(checker.get_by_label("max_norm", exact=True)).to_have_value(str(float(g4(p90))))
    k = sum(x > float(g4(p90)) for x in norms)
    expect(checker.locator('[data-out="clip"]')).to_contain_text(f"clips {k} of 800 steps")


@pytest.mark.browser
def test_non_finite_values_are_listed_and_left_out(checker: Page, code: dict):
    norms = code["sample_norms"]()
    lines = [repr(x) for x in norms]
    lines[120:120] = ["nan"]
    lines[400:400] = ["inf", "-Infinity"]
    paste(checker, "grad_norm\n" + "\n".join(lines))
    results_for(checker, len(norms))
    read = out(checker, "read")
    assert (
        "3 non-finite values (nan at step 120, inf at step 400, -Infinity at step 401)" in read
    ), read
    # The finite values keep their step numbers: after the three, steps are shifted.
    steps = [t if t < 120 else t + 1 if t < 399 else t + 3 for t in range(len(norms))]
    compare(
        shown_numbers(checker), expected_numbers(code, norms, steps, 1.0), "with non-finite values"
    )


@pytest.mark.browser
def test_numbers_are_rounded_as_python_rounds_them(checker: Page, code: dict):
    """An exact tie rounds to even in Python, away from zero in JavaScript's toFixed."""
    norms = [1.0625] * 15 + [3.0]  # p50 is 1.0625, a tie at 4 digits; 1 of 16 = 6.25 %
    set_max_norm(checker, "2")
    paste(checker, "\n".join(map(str, norms)))
    results_for(checker, 16)
    expect(checker.locator('[data-out="clip"]')).to_contain_text("max_norm of 2 clips 1 of")
    compare(shown_numbers(checker), expected_numbers(code, norms, list(range(16)), 2.0), "ties")
    assert out(checker, "p50") == "1.062" and out(checker, "clip-percent") == "6.2"
    for text, shown in (
        ("0.00001234", "1.234e-05"),
        ("123456", "1.235e+05"),
        ("0.0001", "0.0001000"),
    ):
        paste(checker, text)
        expect(checker.locator('[data-out="max"]')).to_have_text(shown)
        assert shown == g4(float(text))


# --- keyboard, phone, accessibility, privacy -------------------------------------------------


@pytest.mark.browser
def test_it_works_from_the_keyboard(checker: Page, code: dict):
    checker.get_by_role("textbox", name="Your gradient norms").focus()
    checker.keyboard.press("Tab")
    expect(checker.get_by_role("button", name="Load the sample")).to_be_focused()
    checker.keyboard.press("Enter")
    results_for(checker, 800)
    status = checker.locator('[role="status"]')
    expect(status).to_contain_text("the skip rule flags 2, ZClip clips 10")
    assert status.get_attribute("data-out") == "status"
    max_norm = checker.get_by_label("max_norm", exact=True)
    max_norm.focus()
    checker.keyboard.press("Control+A")
    checker.keyboard.type("0.8460")
    k = sum(x > 0.846 for x in code["sample_norms"]())
    expect(checker.locator('[data-out="clip-count"]')).to_have_text(str(k))
    expect(status).to_contain_text(f"max_norm 0.8460 clips {100 * k / 800:.1f} % of steps")


@pytest.mark.browser
def test_it_fits_a_phone_screen(browser: Browser, base_url: str):  # noqa: F811
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
    with new_page(browser, **phone, is_mobile=True, has_touch=True) as (page, watch):
        page.goto(base_url + URL)
        page.get_by_role("button", name="Load the sample").tap()
        results_for(page, 800)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"/{URL} scrolls sideways on a 390 px phone ({width} px)"
        content = page.locator(".md-content").bounding_box()
        for part in (".run-check__plot", '[data-table="zclip"]', ".run-check__table--percentiles"):
            box = page.locator(part).bounding_box()
            assert (
                box["x"] >= content["x"] - 0.5
                and box["x"] + box["width"] <= content["x"] + content["width"] + 0.5
            ), f"{part} runs past the content column at 390 px: {box} in {content}"
    assert not watch.errors + watch.external, "\n".join(watch.errors + watch.external)


@pytest.mark.browser
@pytest.mark.parametrize(("system", "scheme"), [("light", "default"), ("dark", "slate")])
def test_no_axe_violations_with_results_shown(browser: Browser, base_url: str, system, scheme):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    with new_page(browser, color_scheme=system) as (page, _):
        page.goto(base_url + URL, wait_until="networkidle")
        assert page.locator("body").get_attribute("data-md-color-scheme") == scheme
        page.get_by_role("button", name="Load the sample").click()
        results_for(page, 800)
        results = Axe().run(page)
        assert not results.violations_count, f"/{URL} ({system}):\n{results.generate_report()}"


@pytest.mark.browser
def test_nothing_is_sent_while_it_reads(checker: Page, code: dict):
    where = page_line(PAGE, "the page sends nothing anywhere")
    checker.wait_for_load_state("networkidle")
    requests: list[str] = []
    checker.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    norms = code["sample_norms"]()
    paste(checker, "\n".join(map(repr, norms)))
    results_for(checker, 800)
    checker.get_by_label("or load a file").set_input_files(
        files=[
            {
                "name": "run.tsv",
                "mimeType": "text/tab-separated-values",
                "buffer": (
                    "step\tgrad_norm\n" + "".join(f"{t}\t{x!r}\n" for t, x in enumerate(norms))
                ).encode(),
            }
        ]
    )
    expect(checker.locator('[data-out="read"]')).to_contain_text("of run.tsv")
    checker.get_by_role("button", name="Load the sample").click()
    set_max_norm(checker, "0.9")
    expect(checker.locator('[data-out="clip"]')).to_contain_text("max_norm of 0.9")
    checker.wait_for_timeout(300)
    assert not requests, f"{where}: the page made requests while reading the norms: {requests}"


@pytest.mark.browser
def test_without_javascript_it_says_so(browser: Browser, base_url: str):  # noqa: F811
    with new_page(browser, java_script_enabled=False) as (page, _):
        page.goto(base_url + URL)
        expect(page.locator(".run-check__note")).to_be_visible()
        expect(page.locator(".run-check__form")).to_be_hidden()


# --- the snippets' rules are the loss-spikes page's ------------------------------------------


def random_norms(seed: int, steps: int = 400) -> list[float]:
    rng = random.Random(seed)
    norms = [math.exp(rng.gauss(0, 0.15)) * (1 + 4 / (1 + t)) for t in range(steps)]
    for _ in range(rng.randrange(0, 6)):
        norms[rng.randrange(steps)] *= rng.choice([1.3, 2, 5, 50])
    # A spike at the first step the skip rule may flag (63: 64 values held), or just before.
    norms[62 + seed % 2] *= 5
    return norms


def test_the_skip_rule_is_olmo_cores_on_the_norm(code: dict):
    """skip_rule flags exactly the steps SkipOnSpike (the loss-spikes page) skips when the
    loss never moves; with a loss that moves, it flags a subset of them, and the loss
    adds others."""
    where = page_line(PAGE, "The steps flagged here are therefore among those OLMo-core would skip")
    skip_on_spike = snippet_namespace("training/loss-spikes/skip_step_rule.md")["SkipOnSpike"]
    added = 0
    for seed in range(12):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed)
        flagged = {t for t, *_ in code["skip_rule"](norms)}
        rule = skip_on_spike()
        olmo = {t for t, x in enumerate(norms) if rule.should_skip(2.0, x)}
        # SkipOnSpike computes in float32: leave out the steps within round-off of the line.
        close = {t for t in range(63, len(norms)) if _margin(norms, t) < 1e-4}
        assert flagged - close == olmo - close, (
            f"{where}: seed {seed}: the norm-only rule flags {sorted(flagged)}, "
            f"OLMo-core's rule with a constant loss skips {sorted(olmo)}"
        )
        rng = random.Random(seed)
        losses = [2.0 + rng.gauss(0, 0.05) + (1.0 if rng.random() < 0.02 else 0.0) for _ in norms]
        rule = skip_on_spike()
        with_loss = {
            t for t, (loss, x) in enumerate(zip(losses, norms)) if rule.should_skip(loss, x)
        }
        assert flagged - close <= with_loss, (
            f"{where}: seed {seed}: steps {sorted(flagged - with_loss)} are flagged on the norm "
            "but OLMo-core would not skip them with a loss"
        )
        added += len(with_loss - flagged)
    assert added, f"{where}: a loss spike with a normal norm never added a step"


def _margin(norms: list[float], t: int) -> float:
    previous = np.array(norms[max(0, t - 128) : t])
    return abs(norms[t] - previous.mean() - 6 * previous.std(ddof=1)) / previous.std(ddof=1)


def test_zclip_is_the_loss_spikes_pages_class_and_ignores_max_norm(code: dict):
    """zclip() clips exactly the steps, to exactly the thresholds, of the ZClip class on the
    loss-spikes page, and that class's outliers are the same whatever its max_norm."""
    where = page_line(PAGE, "outliers do not depend on `max_norm`")
    zclip_class = snippet_namespace("training/loss-spikes/zclip_by_hand.md")["ZClip"]
    for seed in range(12):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed)
        by_cap = {}
        for max_norm in (None, 0.5, 1.0, 3.0):
            clipper = zclip_class(max_norm=max_norm)
            weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
            seen, averages = [], []
            for x in norms:
                weight.grad = torch.tensor([x], dtype=torch.float64)
                norm, clip = clipper([weight])
                seen.append(norm)
                averages.append((clipper.mean, clipper.var))
                if max_norm is None and clipper.mean is not None and len(seen) > 25:
                    by_cap.setdefault("clips", []).append((len(seen) - 1, norm, clip))
            by_cap[max_norm] = averages
        assert seen == norms, "a float64 gradient of one entry has norm |x| exactly"
        assert all(by_cap[c] == by_cap[None] for c in (0.5, 1.0, 3.0)), (
            f"{where}: seed {seed}: the ZClip class's averages change with max_norm"
        )
        expected = [(t, x, clip) for t, x, clip in by_cap["clips"] if clip != x]
        got = [(t, x, to) for t, x, to, _ in code["zclip"](norms)]
        assert got == expected, (
            f"{where}: seed {seed}: zclip() gives {got[:5]}..., the ZClip class {expected[:5]}..."
        )


def test_numpy_percentile_and_torch_quantile_agree(code: dict):
    where = page_line(PAGE, "and of `torch.quantile`")
    for seed in range(20):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed, 50 + 37 * seed)
        q = np.array([10, 50, 90, 99])
        by_numpy = np.percentile(norms, q)
        by_torch = torch.quantile(
            torch.tensor(norms, dtype=torch.float64), torch.tensor(q / 100, dtype=torch.float64)
        )
        assert [g4(x) for x in by_numpy] == [g4(x) for x in by_torch.tolist()], (
            f"{where}: seed {seed}: numpy {by_numpy}, torch {by_torch.tolist()}"
        )
        assert np.allclose(by_numpy, by_torch.numpy(), rtol=1e-12, atol=0), where


def test_what_the_page_notices_in_the_sample(code: dict):
    """The sample's facts that the page's "Notice" sentences state without a printed number."""
    norms = code["sample_norms"]()
    spikes = {300: 3.5, 450: 0.95, 600: 1.6, 601: 1.2}
    assert all(norms[t] == v for t, v in spikes.items())

    where = page_line(PAGE, "steps among the first 20, while the norm falls from above 3")
    clipped = {t for t, x in enumerate(norms) if x > 1.0}
    early = {t for t in clipped if t < 20}
    assert clipped == early | {300, 600, 601} and max(norms[:2]) > 3, (
        f"{where}: max_norm 1.0 clips {sorted(clipped)}"
    )
    where = page_line(PAGE, "most of them ordinary steps after step 400")
    at_p90 = [t for t, x in enumerate(norms) if x > np.percentile(norms, 90)]
    late = [t for t in at_p90 if t > 400 and t not in spikes]
    assert 2 * len(late) > len(at_p90), f"{where}: {len(late)} of {len(at_p90)}"

    where = page_line(PAGE, "with an ordinary norm at 600, 601 is flagged")
    flagged = [t for t, *_ in code["skip_rule"](norms)]
    assert flagged == [300, 600], f"{where}: {flagged}"
    calm = norms[:600] + [norms[599]] + norms[601:]
    assert 601 in [t for t, *_ in code["skip_rule"](calm)], where

    where = page_line(PAGE, "each by less than 0.06")
    ordinary = [(t, x - to, z) for t, x, to, z in code["zclip"](norms) if t not in spikes]
    assert len(ordinary) == 6 and all(0 < cut < 0.06 and 2.5 < z < 3 for _, cut, z in ordinary), (
        f"{where}: {ordinary}"
    )
