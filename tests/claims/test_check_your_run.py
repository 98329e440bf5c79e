"""Claims of docs/training/check-your-run.md about its snippets, checked against the
loss-spikes page's code (OLMo-core's skip rule, the ZClip class) over the range they speak of."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "training/check-your-run.md"
FOLDER = "training/check-your-run"


@pytest.fixture(scope="module")
def code() -> dict:
    return {
        "sample_norms": snippet_namespace(f"{FOLDER}/percentiles_and_steps_clipped.md")[
            "sample_norms"
        ],
        "skip_rule": snippet_namespace(f"{FOLDER}/skip_rule_on_the_norm.md")["skip_rule"],
        "zclip": snippet_namespace(f"{FOLDER}/zclip_on_the_norm.md")["zclip"],
    }


def g4(x: float) -> str:
    return f"{x:#.4g}"


def random_norms(seed: int, steps: int = 400) -> list[float]:
    rng = random.Random(seed)
    norms = [math.exp(rng.gauss(0, 0.15)) * (1 + 4 / (1 + t)) for t in range(steps)]
    for _ in range(rng.randrange(0, 6)):
        norms[rng.randrange(steps)] *= rng.choice([1.3, 2, 5, 50])
    norms[62 + seed % 2] *= 5  # at the first step the skip rule may flag (63), or just before
    return norms


def test_the_skip_rule_is_olmo_cores_on_the_norm(code: dict):
    """With a constant loss, skip_rule flags what SkipOnSpike skips; with a moving loss, a
    subset of it, and the loss adds others."""
    where = page_line(PAGE, "The steps flagged here are therefore among those OLMo-core would skip")
    skip_on_spike = snippet_namespace("training/loss-spikes/skip_step_rule.md")["SkipOnSpike"]
    added = 0
    for seed in range(12):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed)
        flagged = {t for t, *_ in code["skip_rule"](norms)}
        rule = skip_on_spike()
        olmo = {t for t, x in enumerate(norms) if rule.should_skip(2.0, x)}
        # SkipOnSpike computes in float32: leave out the steps within round-off of its line.
        close = set()
        for t in range(63, len(norms)):
            before = np.array(norms[max(0, t - 128) : t])
            line = before.mean() + 6 * before.std(ddof=1)
            close |= {t} if abs(norms[t] - line) < 1e-4 * before.std(ddof=1) else set()
        assert flagged - close == olmo - close, f"{where}: seed {seed}: {flagged} != {olmo}"
        rng = random.Random(seed)
        losses = [2.0 + rng.gauss(0, 0.05) + (rng.random() < 0.02) for _ in norms]
        rule = skip_on_spike()
        with_loss = {t for t, x in enumerate(norms) if rule.should_skip(losses[t], x)}
        assert flagged - close <= with_loss, f"{where}: seed {seed}: {flagged - with_loss}"
        added += len(with_loss - flagged)
    assert added, f"{where}: a loss spike with a normal norm never added a step"


def test_zclip_is_the_loss_spikes_pages_class_and_ignores_max_norm(code: dict):
    where = page_line(PAGE, "outliers do not depend on `max_norm`")
    zclip_class = snippet_namespace("training/loss-spikes/zclip_by_hand.md")["ZClip"]
    for seed in range(12):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed)
        averages, clips = {}, []
        for max_norm in (None, 0.5, 1.0, 3.0):
            clipper = zclip_class(max_norm=max_norm)
            weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
            averages[max_norm] = []
            for t, x in enumerate(norms):
                weight.grad = torch.tensor([x], dtype=torch.float64)
                norm, clip = clipper([weight])
                assert norm == x  # a float64 gradient of one entry has norm |x| exactly
                averages[max_norm].append((clipper.mean, clipper.var))
                if max_norm is None and clipper.mean is not None and t >= 25 and clip != x:
                    clips.append((t, x, clip))
        assert all(averages[c] == averages[None] for c in (0.5, 1.0, 3.0)), f"{where}: {seed}"
        got = [(t, x, to) for t, x, to, _ in code["zclip"](norms)]
        assert got == clips, f"{where}: seed {seed}: zclip() {got[:5]}, the class {clips[:5]}"


def test_numpy_percentile_and_torch_quantile_agree(code: dict):
    where = page_line(PAGE, "and of `torch.quantile`")
    q = np.array([10, 50, 90, 99])
    for seed in range(20):
        norms = code["sample_norms"]() if seed == 0 else random_norms(seed, 50 + 37 * seed)
        by_numpy = np.percentile(norms, q)
        by_torch = torch.quantile(torch.tensor(norms, dtype=torch.float64), torch.tensor(q / 100))
        assert np.allclose(by_numpy, by_torch.numpy(), rtol=1e-12, atol=0), f"{where}: {seed}"
        assert list(map(g4, by_numpy)) == list(map(g4, by_torch.tolist())), f"{where}: {seed}"


def test_what_the_page_notices_in_the_sample(code: dict):
    """The facts the page's "Notice" sentences state without a printed number."""
    norms = code["sample_norms"]()
    spikes = {300: 3.5, 450: 0.95, 600: 1.6, 601: 1.2}
    assert all(norms[t] == v for t, v in spikes.items())
    where = page_line(PAGE, "steps among the first 20, while the norm falls from above 3")
    clipped = {t for t, x in enumerate(norms) if x > 1.0}
    assert clipped == {t for t in clipped if t < 20} | {300, 600, 601}, f"{where}: {clipped}"
    assert max(norms[:2]) > 3, where
    where = page_line(PAGE, "most of them ordinary steps after step 400")
    at_p90 = [t for t, x in enumerate(norms) if x > np.percentile(norms, 90)]
    late = [t for t in at_p90 if t > 400 and t not in spikes]
    assert 2 * len(late) > len(at_p90), f"{where}: {len(late)} of {len(at_p90)}"
    where = page_line(PAGE, "with an ordinary norm at 600, 601 is flagged")
    assert [t for t, *_ in code["skip_rule"](norms)] == [300, 600], where
    calm = norms[:600] + [norms[599]] + norms[601:]
    assert 601 in [t for t, *_ in code["skip_rule"](calm)], where
    where = page_line(PAGE, "each by less than 0.06")
    ordinary = [(t, x - to, z) for t, x, to, z in code["zclip"](norms) if t not in spikes]
    assert len(ordinary) == 6, f"{where}: {ordinary}"
    assert all(0 < cut < 0.06 and 2.5 < z < 3 for _, cut, z in ordinary), f"{where}: {ordinary}"
