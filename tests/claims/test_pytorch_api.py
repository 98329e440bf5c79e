"""Sweeps of the general sentences on docs/guide/pytorch-api.md.

- The "With SGD" note of the logging section: under AdamW a threshold that clips
  most steps need not slow training, and on the adaptive-optimizers page's
  clip-every-step problem AdamW clipped on most steps ends lower than unclipped:
  that snippet's own `train`, on seeds the adaptive-optimizers claim test does
  not use.
"""

from __future__ import annotations

from tests.support.claims import page_line, snippet_namespace

PAGE = "guide/pytorch-api.md"


def test_clipping_most_steps_does_not_slow_adamw():
    where = page_line(PAGE, "AdamW clipped on most steps ends lower than unclipped")
    ns = snippet_namespace("guide/adaptive-optimizers/clip_every_step.md")
    for seed in (6, 7, 8):
        plain, _ = ns["train"]("AdamW", 1e9, seed)
        clipped, count = ns["train"]("AdamW", 0.1, seed)
        assert count > 100, f"{where}: seed {seed}: only {count} of 200 steps clipped"
        assert clipped < plain, f"{where}: seed {seed}: clipped {clipped:.2e} >= {plain:.2e}"
