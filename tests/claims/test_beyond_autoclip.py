"""Claims of docs/beyond/autoclip.md: the page's `AutoClip`, and zclip's defaults as pinned."""

from __future__ import annotations

import inspect

import pytest
import torch

from tests.support.claims import page_line, params_with, snippet_namespace

PAGE = "beyond/autoclip.md"
SNIPPET = "beyond/autoclip/threshold_follows_gradient_history.md"


def _params(seed: int, scale: float = 1.0, shapes=((6, 4), (6,), (3, 6), (3,))):
    gen = torch.Generator().manual_seed(seed)
    return params_with(
        [torch.randn(s, generator=gen) * torch.rand(1, generator=gen) * 10 * scale for s in shapes]
    )


def _flat(params):
    return torch.cat([p.grad.flatten() for p in params])


def test_the_percentile_does_not_depend_on_the_gradients_scale():
    where = page_line(PAGE, "which does not depend on the\nscale of the gradients")
    AutoClip = snippet_namespace(SNIPPET)["AutoClip"]
    for percentile in (0, 25, 90, 100):
        for k in (1e-3, 7.0, 1e3):
            base, scaled = AutoClip(percentile), AutoClip(percentile)
            for step in range(20):
                a, b = _params(step), _params(step, scale=k)
                before_a, before_b = _flat(a), _flat(b)
                _, t_a = base(a)
                _, t_b = scaled(b)
                case = f"{where}: gradients x{k}, step {step}, p={percentile}"
                assert t_b == pytest.approx(k * t_a, rel=1e-5), f"{case}: threshold {t_b}"
                f_a = _flat(a).norm() / before_a.norm()
                f_b = _flat(b).norm() / before_b.norm()
                # only the +1e-6 of clip_grads_with_norm_ does not scale
                tol = 1e-5 + 2e-6 / before_b.norm().item()
                assert f_b.item() == pytest.approx(f_a.item(), rel=tol), f"{case}: {f_a}, {f_b}"


def test_the_first_step_is_clipped_at_its_own_norm():
    where = page_line(PAGE, "so the first step is left as it is (up to the 10⁻⁶")
    AutoClip = snippet_namespace(SNIPPET)["AutoClip"]
    for percentile in (0, 1, 10, 25, 50, 90, 100):
        for seed in range(5):
            for scale in (1e-4, 1e-2, 1.0, 1e3):
                params = _params(seed, scale)
                before = _flat(params).clone()
                norm, threshold = AutoClip(percentile)(params)
                case = f"{where}: p={percentile}, seed {seed}, scale {scale}"
                assert threshold == pytest.approx(norm, rel=1e-6), f"{case}: {threshold}, {norm}"
                factor = threshold / (norm + 1e-6)
                assert torch.allclose(_flat(params), before * factor, rtol=1e-6), case


def test_the_global_clip_never_changes_the_direction():
    where_global = page_line(PAGE, "which the global norm clip of the paper never does")
    where_per = page_line(PAGE, "whenever two\ntensors get different factors it changes")
    AutoClip = snippet_namespace(SNIPPET)["AutoClip"]
    per_tensor_changed = 0
    for percentile in (0, 10, 25):
        clipper = AutoClip(percentile)
        for step in range(40):
            params = _params(1000 + step, scale=10.0 ** ((step % 7) - 3))
            before = _flat(params).clone()
            clipper(params)
            cos = torch.nn.functional.cosine_similarity(_flat(params), before, dim=0)
            assert cos.item() > 1 - 1e-6, f"{where_global}: step {step}, p={percentile}: {cos}"
            # The package's default: one clip per tensor, each at its own threshold.
            per = _params(1000 + step)
            thresholds = [0.5 * p.grad.norm().item() * (1 + i) for i, p in enumerate(per)]
            factors = []
            before = _flat(per).clone()
            for p, t in zip(per, thresholds):
                n = torch.nn.utils.clip_grad_norm_([p], t)
                factors.append(min(1.0, t / (n.item() + 1e-6)))
            if max(factors) - min(factors) > 1e-3:
                per_tensor_changed += 1
                cos = torch.nn.functional.cosine_similarity(_flat(per), before, dim=0)
                assert cos.item() < 1 - 1e-6, f"{where_per}: factors {factors}, same direction"
    assert per_tensor_changed > 100


def test_zclip_defaults_clip_every_step_to_one():
    where_defaults = page_line(PAGE, "which are also\nthe defaults of that implementation")
    where_every = page_line(PAGE, "clips every step to at most that")
    where_none = page_line(PAGE, "Pass `max_grad_norm=None` for the z-score rule alone")
    import zclip

    defaults = {name: p.default for name, p in inspect.signature(zclip.ZClip).parameters.items()}
    expected = {"alpha": 0.97, "z_thresh": 2.5, "max_grad_norm": 1.0, "warmup_steps": 25}
    assert {k: defaults[k] for k in expected} == expected, f"{where_defaults}: {defaults}"
    above_one_unclipped = 0
    for seed in range(3):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 2))
        clip, alone = zclip.ZClip(), zclip.ZClip(max_grad_norm=None)
        for step in range(60):
            scale = 10.0 ** torch.empty(1).uniform_(-2, 2).item()
            grads = [torch.randn_like(p) * scale for p in model.parameters()]
            for z, bound in ((clip, True), (alone, False)):
                for p, g in zip(model.parameters(), grads):
                    p.grad = g.clone()
                before = z.step(model)
                after = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]).item()
                if bound:
                    assert after <= 1.0 * (1 + 1e-6), (
                        f"{where_every}: seed {seed}, step {step}: {after}"
                    )
                elif before > 1.0 and after == pytest.approx(before, rel=1e-6):
                    above_one_unclipped += 1
    assert above_one_unclipped > 30, f"{where_none}: {above_one_unclipped} norms above 1 kept"


def test_a_low_percentile_clips_most_steps_a_high_one_few():
    where = page_line(
        PAGE, "A low *p* clips\n    most steps and a high *p* only the rare largest ones"
    )
    AutoClip = snippet_namespace(SNIPPET)["AutoClip"]
    for seed in range(3):
        fractions = {}
        for percentile in (10, 90):
            clipper, clipped = AutoClip(percentile), 0
            for step in range(200):
                params = _params(seed * 1000 + step)
                norm, threshold = clipper(params)
                clipped += norm > threshold * (1 + 1e-6)
            fractions[percentile] = clipped / 200
        assert fractions[10] > 0.5 and fractions[90] < 0.2, f"{where}: seed {seed}: {fractions}"
