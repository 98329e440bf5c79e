"""Claims of docs/training/rl-fine-tuning.md: the ratio clip, verl's dual clip and the
mismatch bias, with the page's snippets over seeds, bands, ratios and advantages."""

from __future__ import annotations

import itertools

import pytest
import torch

from tests.support.claims import page_line, snippet_definitions, snippet_fixture

PAGE = "training/rl-fine-tuning.md"
FOLDER = "training/rl-fine-tuning/"
RATIOS = (0.3, 0.5, 0.75, 0.85, 0.95, 1.0, 1.1, 1.18, 1.25, 1.35, 1.6, 2.5, 7.0, 40.0)
ADVANTAGES = (-9.0, -1.0, -0.1, 0.1, 1.0, 9.0)
BANDS = ((0.2, 0.2), (0.2, 0.28), (0.1, 0.5), (0.3, 0.15))
ratio_ns = snippet_fixture(FOLDER + "ratio_clip_gradient_by_ratio_and_advantage.md")
mismatch_ns = snippet_fixture(FOLDER + "grad_clip_keeps_the_mismatch_bias.md")


def sample_gradient(ns, seed, ratio, adv, dual_clip=None):
    """The gradient on the logits of one sample (action 0) at `ratio`, and grad log pi(0)."""
    torch.manual_seed(seed)
    logits = torch.randn(4, requires_grad=True)
    logp = torch.log_softmax(logits, 0)[0]
    old_logp = logp.detach() - torch.tensor(ratio).log()
    ns["surrogate_loss"](logp, old_logp, torch.tensor(adv), dual_clip).backward()
    pi = torch.softmax(logits.detach(), 0)
    return logits.grad, torch.eye(4)[0] - pi


@pytest.fixture
def band(ratio_ns):
    """Sets the snippet's band; puts its own (0.2, 0.28) back after the test."""
    yield lambda low, high: ratio_ns.update(EPS_LOW=low, EPS_HIGH=high)
    ratio_ns.update(EPS_LOW=0.2, EPS_HIGH=0.28)


def test_ratio_clip_zeroes_exactly_outside_the_band_on_the_advantage_side(ratio_ns, band):
    where = page_line(PAGE, "Where the clipped term is strictly smaller")
    answer = page_line(PAGE, "on the side its advantage pushes")
    unbounded = page_line(PAGE, "The ratio clip does not bound the gradient norm")
    for (eps_low, eps_high), seed in itertools.product(BANDS, range(4)):
        band(eps_low, eps_high)
        for ratio, adv in itertools.product(RATIOS, ADVANTAGES):
            grad, grad_logp = sample_gradient(ratio_ns, seed, ratio, adv)
            clipped = (adv > 0 and ratio > 1 + eps_high) or (adv < 0 and ratio < 1 - eps_low)
            case = f"seed {seed}, band ({eps_low}, {eps_high}), r {ratio}, A {adv}"
            if clipped:
                assert grad.abs().max() == 0, f"{where} / {answer}: {case}: {grad}"
            else:
                expected = ratio * abs(adv) * grad_logp.norm()
                assert torch.isclose(grad.norm(), expected, rtol=1e-4), (
                    f"{where} / {unbounded}: {case}: norm {grad.norm()}, not r |A| |grad log pi|"
                )


def test_dapo_band_keeps_ratio_1_25_and_symmetric_band_clips_it(ratio_ns, band):
    where = page_line(PAGE, "Ratio 1.25 still gets its")
    for seed in range(20):
        band(0.2, 0.28)
        kept = ratio_ns["grad_norm"](1.25, 1.0, seed=seed)
        band(0.2, 0.2)
        dropped = ratio_ns["grad_norm"](1.25, 1.0, seed=seed)
        assert kept > 0 and dropped == 0, f"{where}: seed {seed}: {kept:.4g}, {dropped:.4g}"


def test_at_ratio_one_the_gradient_is_the_policy_gradient(ratio_ns, band):
    where = page_line(PAGE, "At ratio 1 the gradient is the plain")
    for (eps_low, eps_high), seed, adv in itertools.product(BANDS, range(20), ADVANTAGES):
        band(eps_low, eps_high)
        grad, grad_logp = sample_gradient(ratio_ns, seed, 1.0, adv)
        # the loss is -A log pi(0): its gradient is -A grad log pi(0)
        assert torch.allclose(grad, -adv * grad_logp, rtol=1e-5, atol=1e-6), (
            f"{where}: seed {seed}, band ({eps_low}, {eps_high}), A {adv}"
        )


def test_dual_clip_caps_the_loss_of_negative_advantages(ratio_ns):
    where = page_line(PAGE, "which caps the loss of a negative-advantage sample")
    for cap, seed, ratio, adv in itertools.product(
        (1.5, 3.0, 10.0), range(3), RATIOS, (-9.0, -1.0, -0.1)
    ):
        grad, _ = sample_gradient(ratio_ns, seed, ratio, adv, dual_clip=cap)
        plain, _ = sample_gradient(ratio_ns, seed, ratio, adv)
        case = f"dual clip {cap}, seed {seed}, r {ratio}, A {adv}"
        if ratio > cap:
            assert grad.abs().max() == 0, f"{where}: {case} still has a gradient"
        else:
            assert torch.equal(grad, plain), f"{where}: {case} changed the gradient"


def test_alone_a_sample_stops_near_its_band_edge():
    where = page_line(PAGE, "The band bounds how far a sample pulls itself")
    # its definitions only: the snippet's top level trains for 1000 steps
    ns = snippet_definitions(FOLDER + "ratio_clip_does_not_bound_the_ratio.md")
    lr = 0.03  # a step changes log pi by at most about lr * 1.3 * 2 here
    for seed, action, adv in itertools.product(range(2), (0, 3), (1.0, -1.0)):
        ratios, _ = ns["train_on_one_batch"](
            torch.tensor([action]), torch.tensor([adv]), steps=120, lr=lr, seed=seed
        )
        r = ratios.item()
        edge = 1 + ns["EPS_HIGH"] if adv > 0 else 1 - ns["EPS_LOW"]
        assert abs(r / edge - 1) < 0.06, f"{where}: seed {seed}, {action}, A {adv}: {r}, {edge}"


def test_norm_clip_keeps_the_direction_and_only_weights_remove_the_bias(mismatch_ns):
    direction = page_line(PAGE, "every cosine is")
    answer = page_line(PAGE, "leaves its direction where it was")
    biased = page_line(PAGE, "under the wrong distribution: biased")
    removes = page_line(PAGE, "removes that bias in expectation")
    ns = mismatch_ns
    for seed, mismatch in itertools.product(range(40), (0.1, 0.5, 1.0, 2.0, 4.0)):
        pi, mu, adv = ns["setup"](seed, mismatch)
        target = ns["expected_grad"](pi, pi, adv, 1.0)
        raw = ns["expected_grad"](pi, mu, adv, 1.0)
        weighted = ns["expected_grad"](pi, mu, adv, pi / mu)
        case = f"seed {seed}, mismatch {mismatch}"
        assert torch.cosine_similarity(raw, target, 0) < 1 - 1e-9, f"{biased}: {case}"
        assert torch.allclose(weighted, target, rtol=1e-9, atol=1e-12), f"{removes}: {case}"
        capped = ns["expected_grad"](pi, mu, adv, (pi / mu).clamp(max=3.0))
        for g, max_norm in itertools.product((raw, weighted, capped), (0.1, 1.0, 10.0)):
            clipped = ns["clip"](g, max_norm)
            before = torch.cosine_similarity(g, target, 0)
            after = torch.cosine_similarity(clipped, target, 0)
            msg = f"{case}, max_norm {max_norm}: cosine {before} -> {after}"
            assert abs(after - before) < 1e-12, f"{direction} / {answer}: {msg}"
            assert clipped.norm() <= max_norm * (1 + 1e-6), f"{direction}: {msg}: too long"
