"""Claims of docs/guide/adaptive-optimizers.md, run with its snippets over seeds, spike
steps, betas and random noise distributions; the cheat sheet, why-gradients-explode and
pytorch-api restate some of them, and the same sweeps guard their lines."""

from __future__ import annotations

import math

import numpy as np
import torch

from tests.support.claims import page_line, snippet_fixture, snippet_namespace

PAGE = "guide/adaptive-optimizers.md"
CHEAT = "cheat-sheet.md"
SNIP = "guide/adaptive-optimizers/"
INF = float("inf")
spike = snippet_fixture(SNIP + "spike_under_sgd_and_adamw.md")
regime = snippet_fixture(SNIP + "adamw_spike_step_early_and_late.md")


def test_one_factor_on_every_gradient_leaves_adamw_unchanged():
    where = page_line(
        PAGE, "would leave\nAdamW's steps as they were, as long as the gradients stay"
    )
    ns = snippet_namespace(SNIP + "adam_step_ignores_gradient_scale.md")
    for scale in (1e-2, 1e-4, 1e-6):  # the first step, from the snippet itself
        step = ns["one_step"](torch.optim.AdamW, scale, weight_decay=0.0)
        full = ns["one_step"](torch.optim.AdamW, 1.0, weight_decay=0.0)
        assert abs(step / full - 1) < 0.05, f"{where}: first step {step} at {scale}, {full} at 1"
    # A whole run: the same factor on every gradient of 100 steps.
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        grads = [torch.randn(50, generator=gen) for _ in range(100)]
        ends = []
        for scale in (1.0, 1e-3):
            p = torch.nn.Parameter(torch.zeros(50))
            opt = torch.optim.AdamW([p], lr=0.01, weight_decay=0.0)
            for g in grads:
                p.grad = g * scale
                opt.step()
            ends.append(p.detach().clone())
        change = ((ends[0] - ends[1]).norm() / ends[0].norm()).item()
        assert change < 1e-3, f"{where}: seed {seed}: the run moved by {change:.1e}"


def test_clip_is_idle_without_the_spike_and_keeps_v(spike):
    where = page_line(PAGE, "clips nothing without the spike")
    where_v = page_line(PAGE, "Under Adam the clip's first job is to keep one batch out")
    where_v += " / " + page_line(CHEAT, "It keeps a spike out of AdamW's moment estimates")
    max_norm = spike["MAX_NORM"]
    for seed in (*range(5), 7):
        calm = spike["train"](seed, "AdamW", max_norm, False)
        plain = spike["train"](seed, "AdamW", INF, True)
        clip = spike["train"](seed, "AdamW", max_norm, True)
        assert calm["clipped"] == 0, f"{where}: seed {seed}: the clip acts without the spike"
        assert clip["clipped"] == 1, f"{where}: seed {seed}: {clip['clipped']} steps clipped"
        grow, grow_clip = (r["v"][1] / r["v"][0] for r in (plain, clip))
        assert grow > 1000 and grow_clip < 2, f"{where_v}: seed {seed}: v x{grow}, x{grow_clip}"
        assert plain["next 50"] < clip["next 50"], f"{where_v}: seed {seed}: next 50 not shorter"
        assert plain["final"] > 3 * clip["final"], f"{where_v}: seed {seed}: end not worse"
        assert abs(clip["final"] / calm["final"] - 1) < 0.1, f"{where_v}: seed {seed}: end"
        ratio = plain["spike step"] / clip["spike step"]
        assert 1.5 < ratio < 3, f"{where}: seed {seed}: spike step {ratio:.2f} x the clipped one"
    for seed in range(2):
        ends = {spike["train"](seed, "SGD", m, s)["final"] for m in (INF, max_norm) for s in (0, 1)}
        assert max(ends) / min(ends) < 1.01, f"{where}: seed {seed}: SGD runs end apart: {ends}"


def test_adamw_spike_step_meets_the_bound_and_depends_on_the_regime(regime):
    where = page_line(PAGE, "so that weight moves by about")
    where_early = page_line(PAGE, "Early in a run, while t is small against 1 / (1 − β₂)")
    where_late = page_line(PAGE, "later in a run with β₂ = 0.999 an unclipped spike moves each")
    where_095 = page_line(PAGE, "unclipped spike step stays under twice the clipped one")
    where_early += " / " + page_line(CHEAT, "It shortens AdamW's spike step several times over")
    where_late += " / " + page_line(
        "guide/why-gradients-explode.md", "so the clip shortens a late spike step several times"
    )
    train, bound, max_norm = regime["train"], regime["spike_bound"], regime["MAX_NORM"]
    # (spike step, beta2, seeds, check of plain/clipped)
    cases = [
        (10, 0.999, range(3), lambda r: r < 2.5, where_early),
        (50, 0.999, (0, 1, 2, 3, 5), lambda r: r < 2.5, where_early),
        (2000, 0.999, (0, 1, 4), lambda r: r > 5, where_late),
        (50, 0.95, range(3), lambda r: r < 2, where_095),
        (300, 0.95, range(3), lambda r: r < 2, where_095),
    ]
    for spike_at, beta2, seeds, check, where_ratio in cases:
        for seed in seeds:
            plain = train(spike_at, beta2, INF, seed)
            clip = train(spike_at, beta2, max_norm, seed)
            ratio = plain["largest"] / bound(spike_at + 1, beta2)
            case = f"spike at {spike_at}, beta2 {beta2}, seed {seed}"
            assert 0.95 < ratio < 1.15, f"{where}: {case}: one weight moved {ratio:.3f} x bound"
            steps = plain["spike step"] / clip["spike step"]
            assert check(steps), f"{where_ratio}: {case}: unclipped / clipped = {steps:.2f}"
    # The bound's two regimes, from the formula itself.
    assert all(bound(t, 0.999) < 1 for t in range(1, 101)), where_early
    assert bound(51, 0.999) < 1 < bound(2001, 0.999) < 3.17, where_early
    assert abs(bound(10**6, 0.999) - 3.162) < 1e-3, where_late
    limit = 0.1 / math.sqrt(0.001)
    assert f"{limit:.2f}" == "3.16" and abs(bound(10**6, 0.95) - 0.447) < 1e-3, where


def test_clipping_most_steps_does_not_slow_adamw():
    where = page_line(PAGE, "steps is not slowed: here it ends lower")
    where += " / " + page_line("guide/pytorch-api.md", "AdamW clipped on most steps ends lower")
    ns = snippet_namespace(SNIP + "clip_every_step.md")
    for seed in range(9):
        plain, _ = ns["train"]("AdamW", 1e9, seed)
        clipped, count = ns["train"]("AdamW", 0.1, seed)
        assert count > 150, f"{where}: seed {seed}: only {count} of 200 steps clipped"
        assert clipped < plain, f"{where}: seed {seed}: clipped {clipped:.2e}, plain {plain:.2e}"


def test_muon_first_step_ignores_the_scale(monkeypatch):
    where = page_line(
        PAGE, "on a\nstep from an empty buffer, a global gradient clip barely changes"
    )
    where_first = page_line(PAGE, "first step is 0.0975 · *g*")
    ns = snippet_namespace(SNIP + "muon_step_ignores_gradient_scale.md")
    for seed in range(4):
        torch.manual_seed(seed)
        ns["w0"], ns["g0"] = torch.randn(64, 32), torch.randn(64, 32)
        steps = [ns["muon_step"](s, 0.0) for s in (1.0, 1e-2, 1e-4, 1e-6)]
        assert max(steps) / min(steps) < 1.01, f"{where}: seed {seed}: steps {steps}"
        crossover = 1e-7 / (0.0975 * ns["g0"].norm().item())
        collapsed = ns["muon_step"](crossover / 1e5, 0.0) < 0.01 * steps[0]
        assert collapsed, f"{where}: seed {seed}: no collapse far below the eps crossover"
    # What reaches Newton-Schulz on a first step is 0.0975 times the gradient.
    import torch.optim._muon as muon_module

    seen = []
    original = muon_module._zeropower_via_newtonschulz

    def spy(update, *args):
        seen.append(update.clone())
        return original(update, *args)

    monkeypatch.setattr(muon_module, "_zeropower_via_newtonschulz", spy)
    g = torch.randn(8, 4)
    p = torch.nn.Parameter(torch.zeros(8, 4))
    p.grad = g.clone()
    torch.optim.Muon([p]).step()
    assert torch.allclose(seen[0], 0.0975 * g, rtol=1e-5), where_first


def test_muon_clip_changes_the_updates_after_a_spike():
    where = page_line(PAGE, "With momentum, a\nglobal clip is not a no-op on Muon")
    where_repeat = page_line(PAGE, "the plain run repeats its\nspike step")
    where += " / " + page_line(CHEAT, "and Muon's momentum buffer")
    ns = snippet_namespace(SNIP + "muon_momentum_keeps_the_spike.md")
    updates, cos, at = ns["updates"], ns["cos"], ns["SPIKE"]
    for seed in (0, 1, 5):
        (plain, _), (clipped, _) = updates(INF, seed), updates(ns["MAX_NORM"], seed)
        before = [cos(plain[t], clipped[t]) for t in range(at)]
        assert min(before) > 0.999, f"{where}: seed {seed}: runs differ before the spike"
        assert cos(plain[at], clipped[at]) < 0.9, f"{where}: seed {seed}: same spike update"
        after = [cos(plain[at + k], clipped[at + k]) for k in range(1, 10)]
        assert max(after) < 0.6, f"{where}: seed {seed}: cosines after the spike {after}"
        repeat = [cos(plain[at + k], plain[at]) for k in range(0, 51, 5)]
        assert min(repeat) > 0.99, f"{where_repeat}: seed {seed}: {repeat}"
    # Outside the regime: without momentum the clip is a no-op on every step.
    (plain, _), (clipped, _) = updates(INF, 0, 0.0), updates(ns["MAX_NORM"], 0, 0.0)
    worst = min(cos(a, b) for a, b in zip(plain, clipped))
    assert worst > 0.999, f"{where}: without momentum the clip should not matter ({worst})"


def test_clipped_gradient_bias_symmetric_and_skewed():
    where = page_line(PAGE, "the clipped gradient is biased, whether the noise is symmetric")
    where_sign = page_line(PAGE, "though never reversed, which holds for")
    where_min = page_line(PAGE, "Symmetric noise only keeps the minimum in place")
    ns = snippet_namespace(SNIP + "clipped_gradient_mean_symmetric_and_skewed.md")
    mean_clipped = ns["mean_clipped"]
    rng = np.random.default_rng(0)
    for _ in range(300):
        half = rng.uniform(0.1, 5.0, rng.integers(1, 5))
        probs = rng.dirichlet(np.ones(len(half))) / 2
        noise = [(float(v), float(p)) for v, p in zip(half, probs)]
        noise += [(-v, p) for v, p in noise]
        c = float(rng.uniform(0.2, 4.0))
        assert abs(mean_clipped(0.0, noise, c)) < 1e-12, f"{where_min}: not zero at the minimum"
        for x in rng.uniform(-6, 6, 20):
            x = float(x)
            mean = mean_clipped(x, noise, c)
            active = any(abs(x + v) > c for v, _ in noise)
            assert -1e-12 <= mean / x <= 1 + 1e-12, f"{where_sign}: reversed or longer at {x}"
            if active:
                assert mean / x < 1 - 1e-9, f"{where}: no bias at {x} though the clip acts"
            else:
                assert abs(mean - x) < 1e-12, f"{where}: bias at {x} though the clip is idle"
    skewed = [(-1.0, 0.9), (9.0, 0.1)]
    assert mean_clipped(0.0, skewed, 2.0) < -0.5, f"{where_min}: skewed noise, zero at 0"
    assert abs(mean_clipped(1 - 0.2 / 0.9, skewed, 2.0)) < 1e-12, where_min
