"""Serve a built site on 127.0.0.1, gzip-compressed as GitHub Pages serves it, and start
Debian's Chromium: shared by the browser tests (tests/conftest.py) and scripts/lighthouse.py."""

from __future__ import annotations

import gzip
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HOST = "127.0.0.1"
# Debian's Chromium, or the Chromium-based browser (Chrome, Edge) that SITE_BROWSER names
CHROMIUM = Path(os.environ.get("SITE_BROWSER", "/usr/bin/chromium"))
CHROMIUM_ARGS = (  # no background traffic (Lighthouse: tools/lighthouse/lighthouserc.json)
    *("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"),
    *("--disable-component-update", "--disable-sync", "--no-first-run"),
)
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".map"}


class _Handler(SimpleHTTPRequestHandler):
    """Static files over HTTP/1.1, gzip for text when the client accepts it, no log lines."""

    protocol_version = "HTTP/1.1"
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")  # what GitHub Pages sends
        super().end_headers()

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts_gzip and path.suffix in COMPRESSIBLE and path.is_file()):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)  # what do_GET copies out


@contextmanager
def serve(site: Path | str) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a free port) while the block runs; yields the base URL ending in '/'."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(
            f"{site} has no index.html: build the site first (mkdocs build --strict)"
        )
    server = ThreadingHTTPServer((HOST, 0), partial(_Handler, directory=os.fspath(site)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def built_pages(site: Path | str) -> list[Path]:
    """The built pages' HTML files; not 404.html (its links assume the published URL)."""
    return sorted(p for p in Path(site).rglob("*.html") if p.name != "404.html")


def page_paths(site: Path | str) -> list[str]:
    """URL paths of the built pages ('', 'guide/the-math/', ...)."""
    return [p.relative_to(site).as_posix().removesuffix("index.html") for p in built_pages(site)]


def is_local(url: str) -> bool:
    """True when loading ``url`` stays on this machine (127.0.0.1 or an in-page scheme)."""
    parts = urlsplit(url)
    web = parts.scheme in ("http", "https", "ws", "wss")
    return parts.scheme in LOCAL_SCHEMES or web and parts.hostname == HOST


def launch_chromium(playwright):
    """Start Debian's Chromium through Playwright with the shared flags (no browser download)."""
    return playwright.chromium.launch(executable_path=os.fspath(CHROMIUM), args=list(CHROMIUM_ARGS))
