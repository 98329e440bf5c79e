"""Browser pages for the tests, each in a fresh context, watched for what the site must not do."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from playwright.sync_api import Browser, BrowserContext, Page

from scripts.site_server import is_local

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TOUCH = {"is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Watch:
    """A context's console errors, uncaught exceptions and requests to other hosts (aborted)."""

    def __init__(self, context: BrowserContext) -> None:
        self.where = ""
        self.errors: list[str] = []
        self.external: list[str] = []
        context.route("**/*", self._route)
        context.on("console", self._console)
        context.on(
            "weberror",
            lambda error: self.errors.append(f"{self.where or '?'}: uncaught: {error.error}"),
        )

    def _console(self, message) -> None:
        if message.type == "error":
            source = message.page.url if message.page else self.where or "?"
            self.errors.append(
                f"{source}: console error: {message.text} ({message.location.get('url', '')})"
            )

    def _route(self, route) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            try:
                source = route.request.frame.url
            except Exception:  # a request from a worker has no frame
                source = self.where or "?"
            self.external.append(f"{source}: requested {url}")
            route.abort("blockedbyclient")

    def check(self) -> None:
        assert not self.errors + self.external, "\n".join(self.errors + self.external)


@contextlib.contextmanager
def new_page(browser: Browser, url: str = "", **options) -> Iterator[tuple[Page, Watch]]:
    """A page in a fresh context (a light desktop unless told otherwise), at ``url``, and its Watch."""
    context = browser.new_context(**{**DESKTOP, **options})
    try:
        watch = Watch(context)
        page = context.new_page()
        if url:
            page.goto(url)
        yield page, watch
    finally:
        context.close()
