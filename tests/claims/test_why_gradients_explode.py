"""Claims of docs/guide/why-gradients-explode.md: a clipped SGD step's length. Its AdamW note
is swept with the page it links to, in test_adaptive_optimizers.py."""

from __future__ import annotations

import torch

from tests.support.claims import page_line, snippet_namespace

PAGE = "guide/why-gradients-explode.md"
ONE_STEP = "guide/why-gradients-explode/one_oversized_step_undoes_training.md"


def test_a_clipped_sgd_step_moves_the_weights_by_at_most_lr_times_max_norm():
    where = page_line(PAGE, "oversized batch then moves the weights by at most the learning rate")
    ns = snippet_namespace(ONE_STEP)
    lr, max_norm = 0.1, 1.0  # the values `step_on_bad_batch` uses
    before = torch.cat([p.detach().flatten() for p in ns["model"].parameters()])
    x, y, reached = ns["x"], ns["y"], 0
    for size in range(1, 33):
        for bad in (2.0, 10.0, 1e3, 1e6, -1e6):
            ns["x_bad"], ns["y_bad"] = x[-size:], y[-size:].clone()
            ns["y_bad"][0] = bad
            stepped, norm = ns["step_on_bad_batch"](clip=True)
            after = torch.cat([p.detach().flatten() for p in stepped.parameters()])
            moved = torch.linalg.vector_norm(after - before).item()
            case = f"{where}: batch of {size}, target {bad}, norm {norm:.1f}: moved {moved:.7f}"
            assert moved <= lr * max_norm * (1 + 1e-6), case
            if norm > 2 * max_norm:
                reached += 1
                assert moved > 0.999 * lr * max_norm, case
    assert reached > 100, f"{where}: only {reached} cases had a gradient above max_norm"
