"""Sweeps for the general sentences of docs/training/loss-spikes.md.

- A masked skip (OLMo-core's 0/1 factor) leaves the state exactly as it was for
  any finite gradient, writes NaN where the gradient is NaN or inf, and is safe
  for both once the gradient is zeroed first: the snippet's own
  `masked_adamw_step` / `safe_masked_adamw_step`, over seeds, hyperparameters,
  gradient scales from 1e-30 to 1e30 and random non-finite entries.
- GradScaler's scale falls to 0.0 and stays there, and a clean batch after
  1/scale has overflowed writes NaN into the weights: the snippet's own `train`,
  over seeds and initial scales.
- AdamW's spike step, early and late in a run: there is no snippet for it on the
  page (the adaptive-optimizers page measures it), so the sweep runs
  `torch.optim.AdamW` itself, over betas, spike steps and seeds, and checks the
  page's formula, its two regimes and its two printed values.
- The answer box: a non-finite loss or norm in the skip rule's history makes it
  skip every step after its warm-up until the value leaves the window: the
  snippet's own `SkipOnSpike`, over seeds, windows, positions (inside and after
  the warm-up), NaN, inf and -inf, in the loss and in the norm.
- Skip and stop without a host sync: the snippet's own `train` and `guarded_step`, in
  gloo ranks, with every Python-level read of a tensor's value made to raise in the
  step path, over which rank and which steps get a NaN, an inf, a -inf or a label
  whose square overflows (loss inf, gradient finite), and seeds: the ranks skip the
  same steps and equal a run that never saw them, bit for bit; a streak of 3 stops
  every rank before its update; without the all-reduce the overflowing label splits
  the ranks; fused Adam, AdamW and SGD with `found_inf` = 1 leave the weights and
  the state as they were, NaN and inf in the gradients or not.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.support.claims import page_line, snippet_namespace
from tests.support.paths import DOCS

PAGE = "training/loss-spikes.md"
MASKED = "training/loss-spikes/masked_skip_writes_nan_unless_zeroed.md"
SCALER = "training/loss-spikes/gradscaler_scale_underflows_to_zero.md"


@pytest.fixture(scope="module")
def masked():
    return snippet_namespace(MASKED)


@pytest.fixture(scope="module")
def scaler():
    return snippet_namespace(SCALER)


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().contiguous().view(torch.int32)


def _snapshot(p, state):
    return [_bits(t) for t in (p, state["m"], state["v"], state["step"])]


def _cases(seeds=range(12)):
    """(seed, hyperparameters, finite gradient) for the masked-update sweeps."""
    for seed in seeds:
        g = torch.Generator().manual_seed(1000 + seed)
        u = torch.rand(4, generator=g).tolist()
        hyper = {
            "lr": 10 ** (-4 + 3 * u[0]),
            "betas": (0.8 + 0.19 * u[1], 0.9 + 0.0999 * u[2]),
            "weight_decay": 0.2 * u[3],
        }
        for exponent in (-30, -8, 0, 3, 19, 30):
            yield seed, hyper, 10.0**exponent * torch.randn(6, generator=g)


def test_masked_skip_keeps_the_state_for_any_finite_gradient(masked):
    where = page_line(PAGE, "With a finite gradient, a step skipped this way leaves")
    step, trained = masked["masked_adamw_step"], masked["trained"]
    for seed, hyper, grad in _cases():
        p, state = trained(seed)
        before = _snapshot(p, state)
        step(p, grad, state, torch.tensor(0.0), **hyper)
        after = _snapshot(p, state)
        for name, a, b in zip(("weights", "m", "v", "step"), before, after):
            assert torch.equal(a, b), (
                f"{where}: a masked skip (factor 0) changed {name} with a finite"
                f" gradient of scale {grad.abs().max().item():.1e} (seed {seed},"
                f" {hyper}); the page says it leaves the state exactly as it was"
            )


def test_masked_skip_writes_nan_where_the_gradient_is_not_finite(masked):
    where = page_line(PAGE, "With a NaN or an infinite gradient it does not")
    step, trained = masked["masked_adamw_step"], masked["trained"]
    for seed, hyper, grad in _cases():
        g = torch.Generator().manual_seed(seed)
        bad = torch.rand(6, generator=g) < 0.4
        bad[seed % 6] = True  # at least one entry
        kinds = torch.tensor([math.nan, math.inf, -math.inf])
        grad = torch.where(bad, kinds[torch.randint(3, (6,), generator=g)], grad)
        p, state = trained(seed)
        before = _snapshot(p, state)
        step(p, grad, state, torch.tensor(0.0), **hyper)
        for name, t, b in zip(("weights", "m", "v"), (p, state["m"], state["v"]), before):
            assert torch.equal(t.isnan(), bad), (
                f"{where}: with factor 0 and a gradient non-finite at {bad.tolist()},"
                f" {name} is NaN at {t.isnan().tolist()} (seed {seed}); the page says"
                " the masked update writes NaN exactly where the gradient is not finite"
            )
            assert torch.equal(_bits(t)[~bad], b[~bad]), (
                f"{where}: the masked skip also changed the finite entries of {name}"
            )
        assert torch.equal(_bits(state["step"]), before[3]), (
            f"{where}: the step count moved on a masked skip (seed {seed})"
        )


def test_zeroing_the_gradient_first_makes_a_masked_skip_safe(masked):
    where = page_line(PAGE, "A masked skip must first replace the skipped step's gradients")
    step = masked["masked_adamw_step"]
    safe, trained = masked["safe_masked_adamw_step"], masked["trained"]
    kinds = (None, math.nan, math.inf, -math.inf)
    for i, (seed, hyper, grad) in enumerate(_cases()):
        kind = kinds[i % 4]
        if kind is not None:
            grad = grad.clone()
            grad[i % 6] = kind
        p, state = trained(seed)
        before = _snapshot(p, state)
        safe(p, grad, state, torch.tensor(0.0), **hyper)
        assert all(torch.equal(a, b) for a, b in zip(before, _snapshot(p, state))), (
            f"{where}: the zeroed-first masked skip changed the state (seed {seed},"
            f" gradient entry {kind}); the page says it is safe for any gradient"
        )
        if kind is None:  # a step that is taken is the same step as before
            p1, s1 = trained(seed)
            p2, s2 = trained(seed)
            step(p1, grad, s1, torch.tensor(1.0), **hyper)
            safe(p2, grad, s2, torch.tensor(1.0), **hyper)
            assert all(torch.equal(a, b) for a, b in zip(_snapshot(p1, s1), _snapshot(p2, s2))), (
                f"{where}: zeroing first changed a step that is taken (factor 1)"
            )


# The initial scales: the default, powers of two, and two that are not.
SCALES = [(0, 2.0**16), (1, 2.0**16), (2, 1.0), (3, 2.0**-100), (4, 3e-30), (5, 1000.0)]


def _inverse(scale: float) -> float:
    return torch.tensor(scale).double().reciprocal().float().item()


@pytest.mark.parametrize(("seed", "init_scale"), SCALES)
def test_gradscaler_scale_reaches_zero_stays_and_poisons_a_clean_batch(scaler, seed, init_scale):
    where_zero = page_line(PAGE, "and it stays 0.0")
    where_inf = page_line(PAGE, "Already from 2⁻¹²⁸, 144 skips from 2¹⁶")
    train = scaler["train"]
    length = int(math.log2(init_scale)) + 160  # 2^k reaches 0.0 after k + 150 skips
    scales, weights = train([True] * length, seed=seed, init_scale=init_scale)
    assert 0.0 in scales, f"{where_zero}: the scale never reached 0.0 in {length} skips"
    zero = scales.index(0.0)
    assert all(s == 0.0 for s in scales[zero:]), (
        f"{where_zero}: the scale left 0.0 (seed {seed}, init {init_scale})"
    )
    first_inf = next(i for i, s in enumerate(scales) if math.isinf(_inverse(s)))
    assert scales[first_inf] <= 2.0**-128 < scales[first_inf - 1], (
        f"{where_inf}: 1/scale first overflows at scale {scales[first_inf]:.3g},"
        " not where the scale falls to 2^-128"
    )
    if init_scale == 2.0**16:
        assert (zero, first_inf) == (166, 144), (
            f"{where_inf}: from 2^16, the scale reached 0.0 after {zero} skips and"
            f" 1/scale overflowed after {first_inf}; the page says 166 and 144"
        )
    for skips, nan_expected in ((first_inf - 1, False), (first_inf, True), (zero + 5, True)):
        scales, weights = train([True] * skips + [False] * 3, seed=seed, init_scale=init_scale)
        nan = weights.isnan().all().item()
        assert nan == nan_expected and (nan or weights.isfinite().all()), (
            f"{where_inf}: after {skips} skips (scale {scales[skips]:.3g}, seed"
            f" {seed}) clean batches left NaN weights: {nan}; the page says a clean"
            " batch writes NaN once 1/scale is inf, and trains normally before"
        )
        if skips > zero:
            assert all(s == 0.0 for s in scales[skips:]), (
                f"{where_zero}: clean batches moved the scale off 0.0"
            )


def _adamw_spike(betas, spike_at, seed, n=128, lr=1e-3):
    """|update| / lr of each coordinate at a spike step of torch.optim.AdamW.

    The spike is 10^4 times an ordinary gradient and dominates every coordinate."""
    g = torch.Generator().manual_seed(seed)
    grads = (0.3 + 0.5 * torch.randn(spike_at + 1, n, generator=g)) / n**0.5
    sign = torch.randn(n, generator=g).sign()
    grads[spike_at] = 1e4 * sign / n**0.5
    p = torch.nn.Parameter(torch.zeros(n))
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, weight_decay=0.0)
    for grad in grads:
        p.grad = grad.clone()
        before = p.detach().clone()
        opt.step()
    return (p.detach() - before).abs() / lr


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.9, 0.95), (0.95, 0.99)])
def test_adamw_spike_step_early_follows_the_bias_corrected_formula(betas):
    where = page_line(PAGE, "that is at most about the learning rate")
    beta1, beta2 = betas
    for seed in range(2):
        for spike_at in (0, 1, 4, 9, 19, 49, 99):  # the first tens of steps
            t = spike_at + 1
            formula = (1 - beta1) / math.sqrt(1 - beta2) * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            moved = _adamw_spike(betas, spike_at, seed)
            assert ((moved - formula).abs() < 0.03 * formula).all(), (
                f"{where}: betas {betas}, spike at step {t} (seed {seed}): coordinates"
                f" moved by {moved.min().item():.3f} to {moved.max().item():.3f} x lr,"
                f" not about the page's formula, {formula:.3f}"
            )
            assert moved.max().item() < 1.02, (
                f"{where}: betas {betas}, spike at step {t} (seed {seed}): a coordinate"
                f" moved by {moved.max().item():.3f} x lr; the page says at most about"
                " the learning rate in the first tens of steps"
            )


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.9, 0.95), (0.95, 0.99), (0.8, 0.99)])
def test_adamw_spike_step_late_moves_each_coordinate_by_the_bound(betas):
    where = page_line(PAGE, "Once `v` has settled it is")
    beta1, beta2 = betas
    bound = (1 - beta1) / math.sqrt(1 - beta2)
    late = math.ceil(5 / (1 - beta2))  # beta2^t below 0.007: v has settled
    for seed in range(1 if betas == (0.9, 0.999) else 3):
        moved = _adamw_spike(betas, late, seed)
        assert ((moved - bound).abs() < 0.03 * bound).all(), (
            f"{where}: betas {betas}, spike at step {late} (seed {seed}): coordinates"
            f" moved by {moved.min().item():.3f} to {moved.max().item():.3f} x lr,"
            f" not about (1 - beta1) / sqrt(1 - beta2) = {bound:.3f}"
        )
    printed = {(0.9, 0.999): "3.16", (0.9, 0.95): "0.45"}
    if betas in printed:
        assert f"{bound:.2f}" == printed[betas] and printed[betas] in (DOCS / PAGE).read_text(), (
            f"{where}: the page's {printed[betas]} for betas {betas} is {bound:.4f}"
        )


def test_a_recorded_non_finite_value_skips_every_step_until_it_leaves():
    where = page_line(PAGE, "one non-finite value in its history makes the rule skip")
    rule_class = snippet_namespace("training/loss-spikes/skip_step_rule.md")["SkipOnSpike"]
    for seed in range(4):
        for window in (8, 33, 128):
            warm = max(2, window // 2) - 1  # the first step the rule may skip
            for at in sorted({1, warm // 2, warm, warm + 5, 2 * window}):
                for kind in (math.nan, math.inf, -math.inf):
                    for which in ("loss", "norm"):
                        g = torch.Generator().manual_seed(seed)
                        n = at + window + 3
                        losses = (2.0 + 0.05 * torch.randn(n, generator=g)).tolist()
                        norms = (1.0 + 0.1 * torch.randn(n, generator=g)).tolist()
                        (losses if which == "loss" else norms)[at] = kind
                        rule = rule_class(window=window, sigma=6.0)
                        skips = [rule.should_skip(losses[t], norms[t]) for t in range(n)]
                        # step `at` itself is judged on the value (-inf is not "high");
                        # every later step has the value among the previous ones
                        skips[at] = None
                        expected = [
                            None if t == at else max(at, warm) <= t <= at + window for t in range(n)
                        ]
                        assert skips == expected, (
                            f"{where}: {which} {kind} at step {at}, window {window}, seed"
                            f" {seed}: skipped {[t for t in range(n) if skips[t]]} after it,"
                            f" the page says steps {max(at + 1, warm)} to {at + window}"
                            " (every step after the warm-up until the value leaves the"
                            " window), and no other"
                        )


# --- Skip and stop without a host sync -------------------------------------------

NO_SYNC = "training/loss-spikes/skip_nonfinite_without_host_sync.md"
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


def _no_host_reads(step, where=""):
    """`step`, run with every Python-level read of a tensor's value made to raise."""

    def guarded(*args, **kwargs):
        def refuse(*_, **__):
            raise AssertionError(
                f"{where}: a host read (a sync on a GPU) in the step path: keep the"
                " decision a tensor, or reword the page"
            )

        saved = {name: getattr(torch.Tensor, name) for name in HOST_READS}
        for name in HOST_READS:
            setattr(torch.Tensor, name, refuse)
        try:
            return step(*args, **kwargs)
        finally:
            for name, method in saved.items():
                setattr(torch.Tensor, name, method)

    return guarded


def _ranks_start_fast():
    """DDP and torch.optim.Optimizer() import torch._dynamo (seconds): import it once
    here, before the ranks fork, instead of in every rank."""
    import torch._dynamo  # noqa: F401


def _sweep_cases(world):
    """(poisoned, bad steps, seed): NaN, inf, -inf and a label whose square
    overflows (loss inf, gradient finite), on one rank or on all, at the first step,
    the last, and two steps apart (not a streak)."""
    cases = []
    for value in (math.nan, math.inf, -math.inf, 1e20):
        for seed in range(2) if value == 1e20 or math.isnan(value) else (0,):
            for ranks in [(r,) for r in range(world)] + [tuple(range(world))]:
                for steps in ((0,), (9,), (3, 7)):
                    poisoned = {(t, r): value for t in steps for r in ranks}
                    cases.append((poisoned, steps, seed))
    return cases


def test_a_non_finite_step_is_skipped_alike_on_every_rank_without_a_host_sync():
    from tests.support.claims import on_ranks, snippet_definitions

    where = page_line(PAGE, "the ranks skip the same steps and stay bit for bit")
    where_sync = page_line(PAGE, "holds no `.item()`, `float()`, `bool()` or `if` on a tensor")
    ns = snippet_definitions(NO_SYNC)
    ns["guarded_step"] = _no_host_reads(ns["guarded_step"], where_sync)
    world = ns["WORLD_SIZE"]
    cases = _sweep_cases(world)
    _ranks_start_fast()

    def work(rank, _):
        try:  # the patch itself works: a host read in the step path would fail
            _no_host_reads(lambda: torch.ones(()).item())()
            raise RuntimeError("the host-read patch did not raise")
        except AssertionError:
            pass
        never = {  # the runs that never saw the bad steps
            (steps, seed): ns["train"](rank, {}, dropped=set(steps), seed=seed)[2]
            for _, steps, seed in cases
        }
        return [ns["train"](rank, poisoned, seed=seed) for poisoned, _, seed in cases], never

    out = on_ranks(work, world)
    for i, (poisoned, steps, seed) in enumerate(cases):
        case = f"world {world}, seed {seed}, bad labels {poisoned}"
        for rank in range(world):
            skipped, stopped, weights = out[rank][0][i]
            never = out[rank][1][steps, seed]
            assert stopped is None, f"{where}: {case}: rank {rank} {stopped}"
            assert skipped == list(steps), (
                f"{where}: {case}: rank {rank} skipped {skipped}, not the bad steps"
            )
            assert all(math.isfinite(w) for w in weights), (
                f"{where}: {case}: rank {rank} has non-finite weights"
            )
            assert weights == out[0][0][i][2], (
                f"{where}: {case}: rank {rank}'s weights differ from rank 0's"
            )
            assert weights == never, (
                f"{where}: {case}: rank {rank}'s weights differ from a run that never"
                f" saw steps {steps}"
            )


def test_a_streak_of_three_stops_every_rank_before_its_update():
    from tests.support.claims import on_ranks, snippet_definitions

    where = page_line(PAGE, "the streak stopped both")
    ns = snippet_definitions(NO_SYNC)
    ns["guarded_step"] = _no_host_reads(ns["guarded_step"])
    # (bad (step, rank) pairs, where the run stops): the ranks may take turns
    cases = [
        ({(6, 1), (7, 1), (8, 1)}, 8),
        ({(2, 0), (3, 1), (4, 0)}, 4),
        ({(0, 0), (1, 0), (1, 1), (2, 1)}, 2),
        ({(2, 1), (3, 1), (5, 1), (6, 0)}, None),  # broken streak: no stop
        ({(8, 0), (9, 1)}, None),
    ]

    def work(rank, _):
        return [
            ns["train"](rank, {key: value for key in bad}, seed=seed)
            for bad, _ in cases
            for value in (math.nan, 1e20)
            for seed in range(2)
        ]

    _ranks_start_fast()
    out = on_ranks(work, 2)
    runs = [(bad, stop) for bad, stop in cases for _ in range(4)]
    for i, (bad, stop) in enumerate(runs):
        steps = sorted({t for t, _ in bad})
        for rank in (0, 1):
            skipped, stopped, weights = out[rank][i]
            if stop is None:
                assert stopped is None and skipped == steps, (
                    f"{where}: bad {sorted(bad)}: rank {rank} skipped {skipped}, {stopped}"
                )
            else:
                assert stopped == f"stopped at step {stop}: 3 non-finite steps in a row", (
                    f"{where}: bad {sorted(bad)}: rank {rank}: {stopped!r}, not a stop at"
                    f" step {stop}"
                )
                assert skipped == [t for t in steps if t < stop], (
                    f"{where}: bad {sorted(bad)}: rank {rank} skipped {skipped}"
                )
            assert all(math.isfinite(w) for w in weights), (
                f"{where}: bad {sorted(bad)}: rank {rank} has non-finite weights"
            )
            assert weights == out[0][i][2], f"{where}: bad {sorted(bad)}: the ranks differ"


def test_without_the_all_reduce_a_loss_that_only_one_rank_sees_splits_the_ranks():
    from types import SimpleNamespace

    import torch.distributed as dist

    from tests.support.claims import on_ranks, snippet_definitions

    where = page_line(PAGE, "with the 1e20 label and no")
    ns = snippet_definitions(NO_SYNC)
    # only guarded_step uses `dist` (DDP's averaging is its own): drop its all-reduce
    ns["dist"] = SimpleNamespace(all_reduce=lambda *_, **__: None, ReduceOp=dist.ReduceOp)
    _ranks_start_fast()
    out = on_ranks(lambda rank, _: ns["train"](rank, {(5, 1): 1e20}), 2)
    assert out[0][0] == [] and out[1][0] == [5], (
        f"{where}: without the all-reduce rank 0 skipped {out[0][0]} and rank 1"
        f" {out[1][0]}; the page says rank 0 steps and rank 1 skips"
    )
    assert out[0][2] != out[1][2], f"{where}: the copies did not drift apart"


@pytest.mark.parametrize("make", ["Adam", "AdamW", "SGD"])
def test_a_fused_optimizer_with_found_inf_leaves_weights_and_state_untouched(make):
    where = page_line(PAGE, "leave the weights and their state untouched where it")
    where_other = page_line(PAGE, "Any other value takes the step")
    for seed in range(5):
        torch.manual_seed(seed)
        params = [torch.nn.Parameter(torch.randn(n)) for n in (7, 1, 33)]
        kwargs = {"momentum": 0.9, "weight_decay": 0.1} if make == "SGD" else {}
        opt = getattr(torch.optim, make)(params, lr=0.1, fused=True, **kwargs)
        for _ in range(3):
            for p in params:
                p.grad = torch.randn_like(p)
            opt.step()
        before = [_bits(p) for p in params]
        state = {
            (i, k): _bits(v.float()) for i, p in enumerate(params) for k, v in opt.state[p].items()
        }
        for p in params:
            p.grad = torch.randn_like(p) * 1e3
            p.grad[torch.randint(p.numel(), (2,))] = torch.tensor([math.nan, math.inf])
        opt.found_inf = torch.tensor(1.0)
        opt.step()
        assert all(torch.equal(b, _bits(p)) for b, p in zip(before, params)), (
            f"{where}: fused {make} with found_inf = 1 changed the weights (seed {seed})"
        )
        after = {
            (i, k): _bits(v.float()) for i, p in enumerate(params) for k, v in opt.state[p].items()
        }
        assert state.keys() == after.keys() and all(
            torch.equal(state[k], after[k]) for k in state
        ), f"{where}: fused {make} with found_inf = 1 changed its state (seed {seed})"
        for other in (2.0, 0.5):  # a SUM of two flags, or anything but 1.0, steps
            for p in params:
                p.grad = torch.randn_like(p)
            steps = [opt.state[p]["step"].item() for p in params] if make != "SGD" else []
            opt.found_inf = torch.tensor(other)
            opt.step()
            if other == 2.0 and steps:
                now = [opt.state[p]["step"].item() for p in params]
                assert now == [t - 1 for t in steps], (
                    f"{where_other}: fused {make} with found_inf = 2.0 moved the step count"
                    f" from {steps} to {now}; the page says back by one"
                )
            assert not any(torch.equal(b, _bits(p)) for b, p in zip(before, params)), (
                f"{where_other}: fused {make} with found_inf = {other} did not step"
            )
            before = [_bits(p) for p in params]
