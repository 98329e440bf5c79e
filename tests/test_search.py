"""Search: a query typed into Material's search box lists the page that answers it first."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import new_page

pytestmark = pytest.mark.browser

# query -> the page that answers it: the names of a page's subject, and questions readers type
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
    "keyboard": "guide/explorer/",  # a word of its body only, in no title or tag
}


def result_pages(page: Page, base: str, query: str) -> list[str]:
    """The pages of the search results for `query`, best first (one entry per page)."""
    box = page.locator('input[data-md-component="search-query"]')
    items = page.locator(".md-search-result__list > .md-search-result__item")
    box.fill("")
    box.press("End")  # Material searches on a key event
    expect(items).to_have_count(0)  # so no result of the query before can be read
    box.fill(query)
    box.press("End")
    expect(items.first).to_be_visible(timeout=15_000)  # the index loads in a web worker
    previous = None
    for _ in range(20):  # read until two reads agree: the list is replaced, not edited
        hrefs = items.evaluate_all("items => items.map(i => i.querySelector('a').href)")
        if hrefs == previous:
            break
        previous = hrefs
        page.wait_for_timeout(100)
    paths = [href.removeprefix(base).split("#")[0].split("?")[0] for href in hrefs]
    return list(dict.fromkeys(paths))


@pytest.fixture(scope="module")
def search_page(browser: Browser, base_url: str):
    with new_page(browser, base_url) as (page, watch):
        page.locator('input[data-md-component="search-query"]').click()
        yield page
    watch.check()


@pytest.mark.parametrize("query", CONCEPTS)
def test_search_puts_the_page_a_query_names_first(search_page: Page, base_url: str, query):
    expected = CONCEPTS[query]
    pages = result_pages(search_page, base_url, query)
    assert pages and pages[0] == expected, (
        f"searching {query!r} lists {pages[:5]}; /{expected} should come first. Give that page "
        "a tag for the query's specific word that no other page has (CONTRIBUTING.md: never a "
        "tag that starts with a word readers type in every question)"
    )
