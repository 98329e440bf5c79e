"""Search answers: a query that names a page's subject, or asks what it answers, puts that
page first.

Each query is typed into Material's search box in Debian's Chromium (the same browser, server
and fixtures as tests/test_browser.py) and the first result's page is compared with the page
the query names. The ranking comes from the `tags:` of the page a concept belongs to (its front
matter, or a notebook header's `mkdocs:` entry; see CONTRIBUTING.md): Material's search ranks a
match in the tags above any match in titles or text, so a new page that mentions "DDP" on every
line does not push the DDP page down.

`python -m tests.test_search <site dir>` prints the rank of the expected page for each query
(the numbers quoted when the boosts were set).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import new_page

pytestmark = pytest.mark.browser

# query -> the page that answers it: the names of a page's subject, and the questions
# readers type (the issue that asked for answer-first pages measured the first ones).
CONCEPTS = {
    "AMP": "training/mixed-precision/",
    "mixed precision": "training/mixed-precision/",
    "exploding": "guide/why-gradients-explode/",
    "accumulation": "training/accumulation/",
    "DDP": "training/ddp/",
    "FSDP": "training/fsdp/",
    "AGC": "beyond/agc/",
    "DP-SGD": "beyond/dp-sgd/",
    "threshold": "experiments/choosing-the-threshold/",
    "clip gradients pytorch": "",
    "where to clip in training loop": "cheat-sheet/",
    "grad norm inf": "training/mixed-precision/",
    "adam clipping": "guide/adaptive-optimizers/",
    "does clipping matter with adamw": "guide/adaptive-optimizers/",
    "muon": "guide/adaptive-optimizers/",
    "GradScaler": "training/mixed-precision/",
    "bfloat16": "training/mixed-precision/",
    "max_norm value": "experiments/choosing-the-threshold/",
    "clip_grad_norm_ returns": "guide/pytorch-api/",
    "nan loss": "training/when-training-goes-unstable/",
    "training unstable": "training/when-training-goes-unstable/",
    "loss spike": "training/loss-spikes/",
    "deepspeed gradient_clipping": "training/trainers/",
    "lightning gradient_clip_val": "training/trainers/",
    "per sample gradient": "beyond/dp-sgd/",
    "value clipping vs norm clipping": "guide/the-math/",
    "per-tensor clipping": "guide/global-vs-per-tensor/",
    "keras clipnorm": "guide/frameworks/",
    "check my gradient norms": "training/check-your-run/",
    "GRPO": "training/rl-fine-tuning/",
    "ppo clip epsilon": "training/rl-fine-tuning/",
}


def result_pages(page: Page, base: str, query: str) -> list[str]:
    """The pages of the search results for `query`, best first (one entry per page).

    The query is typed into a freshly loaded page, so no result of an earlier query (or of a
    prefix of this one, while it is being typed) can be read instead."""
    page.goto(base)
    box = page.locator('input[data-md-component="search-query"]')
    box.click()
    box.press_sequentially(query)
    items = page.locator(".md-search-result__list > .md-search-result__item")
    expect(items.first).to_be_visible(timeout=15_000)  # the index loads in a web worker
    previous = None
    for _ in range(20):  # results of the last keystroke replace those of the one before
        hrefs = items.evaluate_all(
            "items => items.map(i => i.querySelector('a').getAttribute('href'))"
        )
        if hrefs == previous:
            break
        previous = hrefs
        page.wait_for_timeout(200)
    pages = []
    for href in hrefs:
        path = href.split("#", 1)[0].split("?", 1)[0]  # ?h=: search.highlight's terms
        path = path[len(base) :] if path.startswith(base) else path.lstrip("./")
        if path not in pages:
            pages.append(path)
    return pages


@pytest.fixture(scope="module")
def search_page(browser: Browser, base_url: str):  # noqa: F811 - the imported fixtures
    with new_page(browser) as (page, watch):
        yield page
    assert not watch.errors + watch.external, "\n".join(watch.errors + watch.external)


@pytest.mark.parametrize("query", CONCEPTS)
def test_search_puts_the_page_a_query_names_first(search_page: Page, base_url: str, query):  # noqa: F811
    expected = CONCEPTS[query]
    pages = result_pages(search_page, base_url, query)
    assert pages and pages[0] == expected, (
        f"searching {query!r} lists {pages[:5]}; {expected} should come first. Give it a "
        f"tag for the query's specific word (`tags:` in the front matter of "
        f"docs/{expected.rstrip('/')}.md, or the `mkdocs:` entry of a notebook's header) that no "
        "other page has; never a tag with a common word (clipping, gradient, training), which "
        "would outrank every page for any query with that word"
    )


def ranks(site: Path) -> dict[str, int | None]:
    """The 1-based rank of each query's expected page in the built `site` (None: not listed)."""
    from playwright.sync_api import sync_playwright

    from scripts.site_server import launch_chromium, serve

    found = {}
    with serve(site) as url, sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        page = chromium.new_page()
        for query, expected in CONCEPTS.items():
            pages = result_pages(page, url, query)
            found[query] = pages.index(expected) + 1 if expected in pages else None
            print(f"{query!r:18} rank {found[query]} of {len(pages)}: {pages[:3]}")
        chromium.close()
    return found


if __name__ == "__main__":
    ranks(Path(sys.argv[1]))
