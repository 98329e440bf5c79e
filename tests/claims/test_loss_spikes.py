"""Claims of docs/training/loss-spikes.md: masked skips, GradScaler's underflow, AdamW's
spike step, the skip rule (and its OLMo-core and zclip oracles), skipping without a sync."""

from __future__ import annotations

import itertools
import math
import random
from unittest import mock

import pytest
import torch

from tests.support.claims import (
    on_ranks,
    page_line,
    snippet_definitions,
    snippet_fixture,
    snippet_namespace,
)
from tests.support.paths import DOCS

PAGE = "training/loss-spikes.md"
masked = snippet_fixture("training/loss-spikes/masked_skip_writes_nan_unless_zeroed.md")
scaler = snippet_fixture("training/loss-spikes/gradscaler_scale_underflows_to_zero.md")


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().contiguous().view(torch.int32)


def _snapshot(p, state):
    return [_bits(t) for t in (p, state["m"], state["v"], state["step"])]


def _cases():
    """(seed, hyperparameters, finite gradient) for the masked-update sweeps."""
    for seed in range(12):
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
            assert torch.equal(a, b), f"{where}: seed {seed}, {hyper}, {grad}: {name} changed"


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
            assert torch.equal(t.isnan(), bad), f"{where}: seed {seed}: {name} {t}, grad {grad}"
            assert torch.equal(_bits(t)[~bad], b[~bad]), f"{where}: finite {name} entries changed"
        assert torch.equal(_bits(state["step"]), before[3]), f"{where}: seed {seed}: step moved"


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
            f"{where}: seed {seed}, gradient entry {kind}: the zeroed-first skip changed the state"
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
    assert all(s == 0.0 for s in scales[zero:]), f"{where_zero}: the scale left 0.0"
    first_inf = next(i for i, s in enumerate(scales) if math.isinf(_inverse(s)))
    assert scales[first_inf] <= 2.0**-128 < scales[first_inf - 1], (
        f"{where_inf}: 1/scale first overflows at scale {scales[first_inf]:.3g}, not 2^-128"
    )
    if init_scale == 2.0**16:
        assert (zero, first_inf) == (166, 144), f"{where_inf}: {zero} and {first_inf} skips"
    for skips, nan_expected in ((first_inf - 1, False), (first_inf, True), (zero + 5, True)):
        scales, weights = train([True] * skips + [False] * 3, seed=seed, init_scale=init_scale)
        nan = weights.isnan().all().item()
        assert nan == nan_expected and (nan or weights.isfinite().all()), (
            f"{where_inf}: after {skips} skips (scale {scales[skips]:.3g}) NaN weights: {nan}"
        )
        if skips > zero:
            assert all(s == 0.0 for s in scales[skips:]), f"{where_zero}: clean batches moved it"


def _adamw_spike(betas, spike_at, seed, n=128, lr=1e-3):
    """|update| / lr of each coordinate of torch.optim.AdamW at a 10^4-times spike."""
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
            case = f"{where}: betas {betas}, spike at step {t}, seed {seed}: moved {moved} x lr"
            assert ((moved - formula).abs() < 0.03 * formula).all(), f"{case}, not {formula:.3f}"
            assert moved.max().item() < 1.02, f"{case}, more than about lr"


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.9, 0.95), (0.95, 0.99), (0.8, 0.99)])
def test_adamw_spike_step_late_moves_each_coordinate_by_the_bound(betas):
    where = page_line(PAGE, "Once `v` has settled it is")
    beta1, beta2 = betas
    bound = (1 - beta1) / math.sqrt(1 - beta2)
    late = math.ceil(5 / (1 - beta2))  # beta2^t below 0.007: v has settled
    for seed in range(1 if betas == (0.9, 0.999) else 3):
        moved = _adamw_spike(betas, late, seed)
        assert ((moved - bound).abs() < 0.03 * bound).all(), (
            f"{where}: betas {betas}, spike at {late}, seed {seed}: moved {moved} x lr, not {bound}"
        )
    printed = {(0.9, 0.999): "3.16", (0.9, 0.95): "0.45"}
    if betas in printed:
        assert f"{bound:.2f}" == printed[betas] and printed[betas] in (DOCS / PAGE).read_text(), (
            f"{where}: the page's {printed[betas]} for betas {betas} is {bound:.4f}"
        )


def test_a_recorded_non_finite_value_skips_every_step_until_it_leaves():
    where = page_line(PAGE, "one non-finite value in its history makes the rule skip")
    rule_class = snippet_namespace("training/loss-spikes/skip_step_rule.md")["SkipOnSpike"]
    for seed, window, kind, which in itertools.product(
        range(4), (8, 33, 128), (math.nan, math.inf, -math.inf), ("loss", "norm")
    ):
        warm = max(2, window // 2) - 1  # the first step the rule may skip
        for at in sorted({1, warm // 2, warm, warm + 5, 2 * window}):
            g = torch.Generator().manual_seed(seed)
            n = at + window + 3
            losses = (2.0 + 0.05 * torch.randn(n, generator=g)).tolist()
            norms = (1.0 + 0.1 * torch.randn(n, generator=g)).tolist()
            (losses if which == "loss" else norms)[at] = kind
            rule = rule_class(window=window, sigma=6.0)
            skips = [rule.should_skip(losses[t], norms[t]) for t in range(n)]
            skips[at] = None  # judged on the value itself (-inf is not "high")
            expected = [None if t == at else max(at, warm) <= t <= at + window for t in range(n)]
            assert skips == expected, (
                f"{where}: {which} {kind} at step {at}, window {window}, seed {seed}: skipped"
                f" {[t for t in range(n) if skips[t]]}, not {max(at + 1, warm)} to {at + window}"
            )


NO_SYNC = "training/loss-spikes/skip_nonfinite_without_host_sync.md"
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


def _no_host_reads(step, where=""):
    """`step`, run with every Python-level read of a tensor's value made to raise."""

    def refuse(*_, **__):
        raise AssertionError(f"{where}: a host read (a sync on a GPU) in the step path")

    def guarded(*args, **kwargs):
        with mock.patch.multiple(torch.Tensor, **dict.fromkeys(HOST_READS, refuse)):
            return step(*args, **kwargs)

    return guarded


def _sweep_cases(world):
    """(poisoned, bad steps, seed): NaN, inf, -inf or a label whose square overflows, on one
    rank or all, at the first step, the last, or two apart (not a streak)."""
    cases = []
    for value in (math.nan, math.inf, -math.inf, 1e20):
        for seed in range(2) if value == 1e20 or math.isnan(value) else (0,):
            for ranks in [(r,) for r in range(world)] + [tuple(range(world))]:
                for steps in ((0,), (9,), (3, 7)):
                    poisoned = {(t, r): value for t in steps for r in ranks}
                    cases.append((poisoned, steps, seed))
    return cases


def test_a_non_finite_step_is_skipped_alike_on_every_rank_without_a_host_sync():
    where = page_line(PAGE, "the ranks skip the same steps and stay bit for bit")
    where_sync = page_line(PAGE, "holds no `.item()`, `float()`, `bool()` or `if` on a tensor")
    ns = snippet_definitions(NO_SYNC)
    ns["guarded_step"] = _no_host_reads(ns["guarded_step"], where_sync)
    world = ns["WORLD_SIZE"]
    cases = _sweep_cases(world)

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
            assert skipped == list(steps), f"{where}: {case}: rank {rank} skipped {skipped}"
            assert all(math.isfinite(w) for w in weights), f"{where}: {case}: rank {rank}: NaN"
            assert weights == out[0][0][i][2], f"{where}: {case}: rank {rank} differs from 0"
            assert weights == never, f"{where}: {case}: rank {rank} differs from a clean run"


def test_a_streak_of_three_stops_every_rank_before_its_update():
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

    out = on_ranks(work, 2)
    runs = [(bad, stop) for bad, stop in cases for _ in range(4)]
    for i, (bad, stop) in enumerate(runs):
        steps = sorted({t for t, _ in bad})
        for rank in (0, 1):
            skipped, stopped, weights = out[rank][i]
            case = f"{where}: bad {sorted(bad)}: rank {rank} skipped {skipped}, {stopped!r}"
            if stop is None:
                assert stopped is None and skipped == steps, case
            else:
                assert stopped == f"stopped at step {stop}: 3 non-finite steps in a row", case
                assert skipped == [t for t in steps if t < stop], case
            assert all(math.isfinite(w) for w in weights), f"{case}: non-finite weights"
            assert weights == out[0][i][2], f"{case}: the ranks differ"


def test_without_the_all_reduce_a_loss_that_only_one_rank_sees_splits_the_ranks():
    from types import SimpleNamespace

    import torch.distributed as dist

    where = page_line(PAGE, "with the 1e20 label and no")
    ns = snippet_definitions(NO_SYNC)
    # only guarded_step uses `dist` (DDP's averaging is its own): drop its all-reduce
    ns["dist"] = SimpleNamespace(all_reduce=lambda *_, **__: None, ReduceOp=dist.ReduceOp)
    out = on_ranks(lambda rank, _: ns["train"](rank, {(5, 1): 1e20}), 2)
    assert out[0][0] == [] and out[1][0] == [5], f"{where}: skipped {out[0][0]}, {out[1][0]}"
    assert out[0][2] != out[1][2], f"{where}: the copies did not drift apart"


def _state_bits(opt, params):
    return {(i, k): _bits(v.float()) for i, p in enumerate(params) for k, v in opt.state[p].items()}


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
        state = _state_bits(opt, params)
        for p in params:
            p.grad = torch.randn_like(p) * 1e3
            p.grad[torch.randint(p.numel(), (2,))] = torch.tensor([math.nan, math.inf])
        opt.found_inf = torch.tensor(1.0)
        opt.step()
        case = f"{where}: fused {make}, found_inf = 1, seed {seed}"
        assert all(torch.equal(b, _bits(p)) for b, p in zip(before, params)), f"{case}: weights"
        after = _state_bits(opt, params)
        assert state.keys() == after.keys(), f"{case}: state"
        assert all(torch.equal(state[k], after[k]) for k in state), f"{case}: state"
        for other in (2.0, 0.5):  # a SUM of two flags, or anything but 1.0, steps
            for p in params:
                p.grad = torch.randn_like(p)
            steps = [opt.state[p]["step"].item() for p in params] if make != "SGD" else []
            opt.found_inf = torch.tensor(other)
            opt.step()
            if other == 2.0 and steps:
                now = [opt.state[p]["step"].item() for p in params]
                assert now == [t - 1 for t in steps], f"{where_other}: {make}: {steps} -> {now}"
            assert not any(torch.equal(b, _bits(p)) for b, p in zip(before, params)), (
                f"{where_other}: fused {make} with found_inf = {other} did not step"
            )
            before = [_bits(p) for p in params]


class OlmoCoreSkipRule:
    """OLMo-core's SkipStepOptimizer decision (src/olmo_core/optim/skip_step_optimizer.py at
    fa6c501, as in the ai2-olmo-core 3.0.0 wheel), re-derived line by line: the package
    itself pins filelock<4 against this project's pins."""

    def __init__(self, rolling_interval_length=128, sigma_factor=6):  # l.37-38
        self.length, self.sigma_factor = rolling_interval_length, sigma_factor
        self._losses: list[torch.Tensor] = []
        self._grad_norms: list[torch.Tensor] = []

    def record(self, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        # the latest_loss / latest_grad_norm setters (l.66-83)
        for history, value in ((self._losses, loss), (self._grad_norms, grad_norm)):
            history.append(value)
            while len(history) > self.length + 1:
                history.pop(0)

    def step_factor(self) -> float:  # get_step_factor (l.86-109)
        if len(self._losses) < max(2, self.length // 2):
            return 1.0
        loss_std, loss_mean = torch.std_mean(torch.stack(self._losses[:-1]))
        grad_norm_std, grad_norm_mean = torch.std_mean(torch.stack(self._grad_norms[:-1]))
        factor = torch.logical_and(
            (self._losses[-1] - loss_mean) <= self.sigma_factor * loss_std,
            (self._grad_norms[-1] - grad_norm_mean) <= self.sigma_factor * grad_norm_std,
        )
        return factor.float().item()


def _spiky(seed: int, steps: int, non_finite: bool) -> tuple[list[float], list[float]]:
    """A decaying loss and a noisy norm with spikes up and down (and NaN/inf if asked)."""
    rng = random.Random(seed)
    losses = [2.0 + 3.0 * math.exp(-t / 80) + rng.gauss(0, 0.05) for t in range(steps)]
    norms = [1.0 + 0.5 * math.exp(-t / 50) + abs(rng.gauss(0, 0.1)) for t in range(steps)]
    for _ in range(steps // 40):
        series = losses if rng.random() < 0.5 else norms
        series[rng.randrange(steps)] *= rng.choice([0.2, 1.5, 3.0, 30.0])
    for _ in range(2 if non_finite else 0):
        series = losses if rng.random() < 0.5 else norms
        series[rng.randrange(steps)] = rng.choice([math.nan, math.inf])
    return losses, norms


@pytest.mark.parametrize("non_finite", [False, True], ids=["finite", "nan"])
@pytest.mark.parametrize(
    ("seed", "window", "sigma"),
    [(0, 128, 6), (1, 128, 6), (2, 16, 6), (3, 16, 3), (4, 7, 2), (5, 32, 3)],
)
def test_skip_rule_decides_like_olmo_core(seed, window, sigma, non_finite):
    where = page_line(PAGE, "decisions against a step-by-step re-derivation of that file")
    rule_class = snippet_namespace("training/loss-spikes/skip_step_rule.md")["SkipOnSpike"]
    ours, theirs = rule_class(window=window, sigma=sigma), OlmoCoreSkipRule(window, sigma)
    skips = 0
    for t, (loss, norm) in enumerate(zip(*_spiky(seed, 400, non_finite))):
        theirs.record(torch.tensor(loss), torch.tensor(norm))
        skip = theirs.step_factor() == 0.0
        assert ours.should_skip(loss, norm) == skip, (
            f"{where}: step {t} (loss {loss}, norm {norm}): SkipOnSpike differs from"
            f" OLMo-core's rule, which says skip={skip}"
        )
        skips += skip
    assert 0 < skips < 400, f"the sequence made OLMo-core's rule skip {skips} of 400 steps"


@pytest.mark.parametrize(
    "settings",
    [
        {},  # the package's defaults
        {"max_grad_norm": None},
        {"max_grad_norm": 0.8, "warmup_steps": 10},
        {"alpha": 0.9, "z_thresh": 2.0, "max_grad_norm": None, "warmup_steps": 5},
    ],
    ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "defaults",
)
def test_zclip_snippet_matches_the_zclip_package(settings):
    import zclip

    where = page_line(PAGE, "The two agree exactly on every clipped norm")
    ours_class = snippet_definitions("training/loss-spikes/zclip_by_hand.md")["ZClip"]
    names = {"max_grad_norm": "max_norm", "warmup_steps": "warmup"}
    torch.manual_seed(0)
    ours = ours_class(**{names.get(key, key): value for key, value in settings.items()})
    theirs = zclip.ZClip(**settings)
    model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Linear(10, 1))
    clipped_steps = 0
    for step in range(200):
        scale = 0.3 + 0.2 * math.exp(-step / 60) + 0.03 * torch.randn(()).item()
        if step % 37 == 36:
            scale *= 10.0  # an outlier
        grads = [scale * torch.randn_like(p) / math.sqrt(p.numel()) for p in model.parameters()]
        results = []
        for clipper in (ours, theirs):
            for p, g in zip(model.parameters(), grads):
                p.grad = g.clone()
            clipper(model.parameters()) if clipper is ours else clipper.step(model)
            results.append([p.grad.clone() for p in model.parameters()])
        for a, b in zip(*results):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), (
                f"{where}: step {step}, {settings}: the clipped gradient differs from zclip's"
            )
        if ours.mean is not None:
            assert theirs.initialized, f"{where}: step {step}: our warm-up ended, zclip's did not"
            assert math.isclose(ours.mean, theirs.mean, rel_tol=1e-6), f"{where}: step {step}: mean"
            assert math.isclose(ours.var, theirs.var, rel_tol=1e-5), f"{where}: step {step}: var"
        before = torch.nn.utils.get_total_norm(grads)
        clipped_steps += torch.nn.utils.get_total_norm(results[1]) < before * (1 - 1e-4)
    assert clipped_steps > 0, f"{settings}: zclip never clipped; the comparison tested nothing"
