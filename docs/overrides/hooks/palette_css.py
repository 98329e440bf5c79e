"""MkDocs hook: take out of Material's palette stylesheet the one rule that restyles every element twice at load.

Material's palette component (its JavaScript) marks ``<body>`` with the attribute
``data-md-color-switching`` while it applies a colour scheme, and removes it on the next
task. Its palette stylesheet holds the rule that gives the attribute its meaning::

    [data-md-color-switching] *, [data-md-color-switching] :after,
    [data-md-color-switching] :before { transition-duration: 0s !important }

A selector on an attribute of ``<body>`` followed by ``*`` makes the browser restyle
every element of the page when that attribute changes, and the component sets it and
removes it on every page load, not only when a reader switches schemes: two full
restyles inside Material's start-up task, the longest task of the load. Measured with
Chromium's tracing on the errata and "The cost of clipping" (4x CPU throttling), they
were about 40 % of all the elements styled at load, and Lighthouse's mobile Performance
rose by about 5 points on those pages without them (scripts/quality.py;
reports/quality.md).

Without the rule, the attribute matches nothing, so setting it costs nothing. What a
reader loses: when they switch between light and dark, the few things Material animates
(links, buttons, the header: colour fades of 125 to 250 ms) fade into the new scheme
instead of switching at once. Everything else switches at once as before.

The rule is removed from the built copy (``site/assets/stylesheets/palette.*.min.css``),
never from the installed package. If Material's stylesheet changes so that the rule is
not found exactly once, the build fails and says so (tests/test_palette_css.py).
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

RULE = (
    "[data-md-color-switching] *,[data-md-color-switching] :after,"
    "[data-md-color-switching] :before{transition-duration:0s!important}"
)


def strip_switching_rule(css: str, name: str = "palette.css") -> str:
    """``css`` without the switching rule; PluginError unless it is there exactly once."""
    found = css.count(RULE)
    if found != 1:
        raise PluginError(
            f"docs/overrides/hooks/palette_css.py: expected Material's rule {RULE!r} "
            f"exactly once in {name}, found it {found} times. Material's palette "
            "stylesheet has changed (a new mkdocs-material?): find the rule that "
            "sets transition-duration under [data-md-color-switching] and update RULE, "
            "or remove this hook from mkdocs.yml if the rule is gone."
        )
    return css.replace(RULE, "")


def on_post_build(config, **kwargs) -> None:
    sheets = sorted((Path(config["site_dir"]) / "assets" / "stylesheets").glob("palette.*.min.css"))
    if len(sheets) != 1:
        raise PluginError(
            "docs/overrides/hooks/palette_css.py: expected one "
            f"assets/stylesheets/palette.*.min.css in the built site, found {len(sheets)}; "
            "is the theme still Material with a `palette` in mkdocs.yml?"
        )
    sheet = sheets[0]
    sheet.write_text(strip_switching_rule(sheet.read_text("utf-8"), sheet.name), "utf-8")
