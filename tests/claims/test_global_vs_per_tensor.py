"""Claims of docs/guide/global-vs-per-tensor.md: the snippet's `clipped(per_tensor, max_norm)`
on random gradients of its model's shapes."""

from __future__ import annotations

import numpy as np
import torch

from tests.support.claims import page_line, snippet_fixture

PAGE = "guide/global-vs-per-tensor.md"
ns = snippet_fixture("guide/global-vs-per-tensor/global_vs_per_tensor_on_a_two_layer_model.md")


def random_gradients(ns, rng, spread=2.0):
    """Gradients of the model's shapes, each tensor at its own scale."""
    return [
        torch.tensor(
            rng.standard_normal(tuple(p.shape)) * 10.0 ** rng.uniform(-spread, spread),
            dtype=torch.float32,
        )
        for p in ns["model"].parameters()
    ]


def norms(grads):
    return np.array([torch.linalg.vector_norm(g).item() for g in grads], dtype=np.float64)


def flat(grads):
    return torch.cat([g.flatten() for g in grads]).double()


def test_global_clip_one_factor_for_all_and_bounded_by_c(ns):
    where = page_line(PAGE, "Global clipping scales all four tensors by the same factor")
    bound = page_line(PAGE, "the only one of the two that bounds the length")
    rng = np.random.default_rng(0)
    for _ in range(400):
        ns["original"][:] = random_gradients(ns, rng)
        total = float(torch.nn.utils.get_total_norm(ns["original"]))
        c = total * 10.0 ** rng.uniform(-3, 1)
        out = ns["clipped"](False, max_norm=c)
        factor = torch.clamp(c / (torch.tensor(total) + 1e-6), max=1.0)
        for a, g in zip(out, ns["original"]):
            assert torch.allclose(a, g * factor, rtol=1e-6, atol=0), f"{where}: factors differ"
        cosine = torch.nn.functional.cosine_similarity(flat(out), flat(ns["original"]), dim=0)
        assert cosine > 1 - 1e-6, f"{where}: the direction changed (cosine {cosine})"
        after = torch.linalg.vector_norm(flat(out)).item()
        assert after <= c * (1 + 1e-6), f"{bound}: global clip left norm {after} > c = {c}"


def test_per_tensor_bounds_the_total_by_c_sqrt_k_and_turns_the_update(ns):
    where = page_line(PAGE, "Each tensor clipped to *c* means the whole update can be as long")
    turn = page_line(PAGE, "whenever it scales the tensors by different factors")
    rng = np.random.default_rng(1)
    k = len(list(ns["model"].parameters()))
    reached = turned = 0
    for trial in range(400):
        # scales within 10x of each other, so that every tensor weighs in the direction
        ns["original"][:] = random_gradients(ns, rng, spread=0.5)
        before = norms(ns["original"])
        c = float(np.quantile(before, rng.uniform(0, 1))) if trial % 4 else before.min() / 2
        out = ns["clipped"](True, max_norm=c)
        total = torch.linalg.vector_norm(flat(out)).item()
        assert total <= c * k**0.5 * (1 + 1e-6), f"{where}: {total} > c sqrt(k)"
        if before.min() > c * 1.01:  # every tensor clipped: the bound is reached,
            # up to PyTorch's 1e-6 (each tensor lands at c * norm / (norm + 1e-6))
            reach = c * np.sqrt(np.sum((before / (before + 1e-6)) ** 2))
            assert np.isclose(total, reach, rtol=1e-5), f"{where}: {total} != c sqrt(k)"
            assert reach > c * k**0.5 * (1 - 1e-6 / before.min()), where
            reached += 1
        factors = norms(out) / before
        cosine = torch.nn.functional.cosine_similarity(flat(out), flat(ns["original"]), dim=0)
        if factors.max() > factors.min() * 1.01:
            assert cosine < 1 - 1e-9, f"{turn}: different factors, same direction"
            turned += 1
    assert reached > 50 and turned > 100
