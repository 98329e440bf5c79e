"""The copy-ready spike rules on "Loss spikes" agree with the code they reproduce.

- `SkipOnSpike` (snippets/training/loss-spikes/skip_step_rule.md) against a
  step-by-step re-derivation of OLMo-core's `SkipStepOptimizer`
  (src/olmo_core/optim/skip_step_optimizer.py at commit fa6c501, identical in the
  ai2-olmo-core 3.0.0 wheel). OLMo-core itself is not installed: it pins
  `filelock<4` against this project's other pins and pulls in about 25 cloud
  packages (boto3, google-cloud-storage, ...).
- `ZClip` (snippets/training/loss-spikes/zclip_by_hand.md) against the `zclip`
  package at the version pinned in constraints.txt.

The classes are taken from the snippet files themselves (their class definitions
and imports only, not the demo that follows), so the code a reader copies is the
code checked here.
"""

from __future__ import annotations

import ast
import math
import random
import re

import pytest
import torch
import zclip

from tests.support.paths import SNIPPETS

SPIKES = SNIPPETS / "training" / "loss-spikes"


def classes_from_snippet(path, *names):
    """Execute a snippet's imports and class definitions; return the named classes."""
    text = path.read_text()
    block = re.search(r"```python\n(.*?)\n```", text, re.S)
    assert block, f"{path}: no ```python block found"
    tree = ast.parse(block.group(1))
    kept = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom | ast.ClassDef)]
    namespace: dict = {}
    exec(compile(ast.Module(kept, type_ignores=[]), str(path), "exec"), namespace)
    missing = [n for n in names if n not in namespace]
    assert not missing, f"{path}: the snippet no longer defines {missing}; update this test"
    return [namespace[n] for n in names]


class OlmoCoreSkipRule:
    """OLMo-core's SkipStepOptimizer decision, re-derived line by line (fa6c501)."""

    def __init__(self, rolling_interval_length=128, sigma_factor=6):  # l.37-38
        self.rolling_interval_length = rolling_interval_length
        self.sigma_factor = sigma_factor
        self._losses: list[torch.Tensor] = []
        self._grad_norms: list[torch.Tensor] = []

    def record(self, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        # The latest_loss / latest_grad_norm setters (l.66-83): append, then pop
        # from the front while longer than rolling_interval_length + 1.
        self._losses.append(loss)
        while len(self._losses) > self.rolling_interval_length + 1:
            self._losses.pop(0)
        self._grad_norms.append(grad_norm)
        while len(self._grad_norms) > self.rolling_interval_length + 1:
            self._grad_norms.pop(0)

    def step_factor(self) -> float:
        # get_step_factor (l.86-109).
        if len(self._losses) < max(2, self.rolling_interval_length // 2):
            return 1.0
        loss_std, loss_mean = torch.std_mean(torch.stack(self._losses[:-1]))
        grad_norm_std, grad_norm_mean = torch.std_mean(torch.stack(self._grad_norms[:-1]))
        factor = torch.logical_and(
            (self._losses[-1] - loss_mean) <= self.sigma_factor * loss_std,
            (self._grad_norms[-1] - grad_norm_mean) <= self.sigma_factor * grad_norm_std,
        )
        return factor.float().item()


def spiky_sequence(seed: int, steps: int, non_finite: bool) -> tuple[list[float], list[float]]:
    """A decaying loss and a noisy norm with spikes up and down (and NaN/inf if asked)."""
    rng = random.Random(seed)
    losses = [2.0 + 3.0 * math.exp(-t / 80) + rng.gauss(0, 0.05) for t in range(steps)]
    norms = [1.0 + 0.5 * math.exp(-t / 50) + abs(rng.gauss(0, 0.1)) for t in range(steps)]
    for _ in range(steps // 40):
        t = rng.randrange(steps)
        series = losses if rng.random() < 0.5 else norms
        series[t] *= rng.choice([0.2, 1.5, 3.0, 30.0])
    if non_finite:
        for _ in range(2):
            series = losses if rng.random() < 0.5 else norms
            series[rng.randrange(steps)] = rng.choice([math.nan, math.inf])
    return losses, norms


CASES = [
    pytest.param(
        seed,
        window,
        sigma,
        non_finite,
        id=f"seed{seed}-w{window}-s{sigma}-{'nan' if non_finite else 'finite'}",
    )
    for seed, (window, sigma) in enumerate([(128, 6), (128, 6), (16, 6), (16, 3), (7, 2), (32, 3)])
    for non_finite in (False, True)
]


@pytest.mark.parametrize(("seed", "window", "sigma", "non_finite"), CASES)
def test_skip_rule_decides_like_olmo_core(seed, window, sigma, non_finite):
    (SkipOnSpike,) = classes_from_snippet(SPIKES / "skip_step_rule.md", "SkipOnSpike")
    losses, norms = spiky_sequence(seed, 400, non_finite)
    ours, theirs = SkipOnSpike(window=window, sigma=sigma), OlmoCoreSkipRule(window, sigma)
    our_skips, their_skips = [], []
    for t, (loss, norm) in enumerate(zip(losses, norms)):
        our_skips.append(ours.should_skip(loss, norm))
        theirs.record(torch.tensor(loss), torch.tensor(norm))
        their_skips.append(theirs.step_factor() == 0.0)
        assert our_skips[-1] == their_skips[-1], (
            f"step {t} (loss {loss}, norm {norm}, window {window}, sigma {sigma}): "
            f"SkipOnSpike says skip={our_skips[-1]}, OLMo-core's rule says skip={their_skips[-1]}; "
            "fix snippets/training/loss-spikes/skip_step_rule.md (or this re-derivation, "
            "if OLMo-core's file changed)"
        )
    # The comparison means something only if the rule both skipped and proceeded.
    assert 0 < sum(their_skips) < len(their_skips), (
        f"the test sequence made OLMo-core's rule skip {sum(their_skips)} of {len(their_skips)} steps; "
        "change spiky_sequence so that it tests both decisions"
    )


def test_skip_rule_never_skips_during_warm_up_and_keeps_a_nan_for_a_window():
    """Two properties the page states, on the re-derivation itself."""
    rule = OlmoCoreSkipRule(rolling_interval_length=128, sigma_factor=6)
    decisions = []
    for t in range(300):
        loss = 100.0 if t == 10 else (math.nan if t == 100 else 1.0 + 0.01 * (t % 3))
        rule.record(torch.tensor(loss), torch.tensor(1.0 + 0.01 * (t % 5)))
        decisions.append(rule.step_factor() == 0.0)
    assert not any(decisions[:63]), "a step was skipped with fewer than 64 values recorded"
    assert all(decisions[100:229]) and not decisions[229], (
        "a NaN at step 100 should make every step up to 228 a skip (it stays among the "
        "previous 128 values) and step 229 proceed"
    )


ZCLIP_SETTINGS = [
    {},  # the package's defaults
    {"max_grad_norm": None},
    {"max_grad_norm": 0.8, "warmup_steps": 10},
    {"alpha": 0.9, "z_thresh": 2.0, "max_grad_norm": None, "warmup_steps": 5},
]


def our_zclip_arguments(settings: dict) -> dict:
    names = {
        "alpha": "alpha",
        "z_thresh": "z_thresh",
        "max_grad_norm": "max_norm",
        "warmup_steps": "warmup",
    }
    return {names[key]: value for key, value in settings.items()}


@pytest.mark.parametrize(
    "settings",
    ZCLIP_SETTINGS,
    ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "defaults",
)
def test_zclip_snippet_matches_the_zclip_package(settings):
    (ZClip,) = classes_from_snippet(SPIKES / "zclip_by_hand.md", "ZClip")
    torch.manual_seed(0)
    ours, theirs = ZClip(**our_zclip_arguments(settings)), zclip.ZClip(**settings)
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
                f"step {step}, settings {settings}: the clipped gradient differs from zclip's "
                f"(norms {torch.linalg.vector_norm(a):.6g} against {torch.linalg.vector_norm(b):.6g}); "
                "fix snippets/training/loss-spikes/zclip_by_hand.md"
            )
        if ours.mean is not None:
            assert theirs.initialized, f"step {step}: our warm-up ended, zclip's did not"
            assert math.isclose(ours.mean, theirs.mean, rel_tol=1e-6), (
                f"step {step}: EMA mean differs"
            )
            assert math.isclose(ours.var, theirs.var, rel_tol=1e-5), (
                f"step {step}: EMA variance differs"
            )
        original = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
        clipped = math.sqrt(sum(float(g.pow(2).sum()) for g in results[1]))
        clipped_steps += clipped < original * (1 - 1e-4)
    assert clipped_steps > 0, (
        f"settings {settings}: zclip never clipped; the comparison tested nothing"
    )
