"""Claims of docs/training/when-training-goes-unstable.md: the page's `read_the_log` on
seeded norm series (about 10 % step-to-step noise) with spikes, jumps and non-finite values,
and its rollback `train` on a stretch of 100 corrupted batches ending 200 before the end."""

from __future__ import annotations

import math
import re

import pytest
import torch

from tests.support.claims import page_line, snippet_fixture, snippet_namespace

PAGE = "training/when-training-goes-unstable.md"
SNIPPET = "training/when-training-goes-unstable/read_a_logged_norm_series.md"
STEPS = 400
NO_CLIP = 1e30  # max_norm: the clipped-share check never fires
rollback = snippet_fixture(
    "training/when-training-goes-unstable/roll_back_past_a_stretch_of_bad_batches.md"
)


@pytest.fixture(scope="module")
def read():
    return snippet_namespace(SNIPPET)["read_the_log"]


def steady(seed: int, steps: int = STEPS) -> list[float]:
    """A norm around 1 that varies by about 10 % from step to step."""
    g = torch.Generator().manual_seed(seed)
    return torch.exp(0.1 * torch.randn(steps, generator=g)).tolist()


def flagged(read, norms: list[float]) -> dict[int, tuple[str, str]]:
    """Step -> (what the log shows, remedy), for the steps the reader names."""
    losses = [0.0] * len(norms)
    return {t: (seen, todo) for t, seen, todo in read(norms, losses, NO_CLIP)}


def spikes(found: dict[int, tuple[str, str]]) -> list[int]:
    return sorted(t for t, (seen, _) in found.items() if seen.startswith("spike"))


def test_a_lasting_jump_is_skipped_for_a_few_steps_only(read):
    where = page_line(PAGE, "skipped for its first few steps only")
    jump_at = 200
    for seed in range(20):
        for factor in (1.5, 2.0, 5.0, 20.0, 1e4):
            norms = steady(seed)
            for t in range(jump_at, STEPS):
                norms[t] *= factor
            found = spikes(flagged(read, norms))
            if factor >= 3:  # a jump this large is always caught at first
                assert found[:1] == [jump_at], (
                    f"{where}: seed {seed}, a x{factor:g} jump at step {jump_at}"
                    f" is first flagged at {found[:1]}"
                )
            assert len(found) <= 6 and all(jump_at <= t < jump_at + 12 for t in found), (
                f"{where}: seed {seed}, a lasting x{factor:g} jump is flagged at {found}"
            )


def _skips_left_out(norms: list[float], window: int = 128, sigma: float = 6.0) -> list[int]:
    """The contrast the page names: the same rule, with skipped norms left out."""
    seen, skipped = [], []
    for t, norm in enumerate(norms):
        prev = torch.tensor(seen[-window:], dtype=torch.float64)
        if len(prev) >= window // 2:
            std, mean = torch.std_mean(prev)
            if norm - mean > sigma * std:
                skipped.append(t)
                continue
        seen.append(norm)
    return skipped


def test_leaving_skipped_norms_out_skips_every_step_after_a_jump():
    where = page_line(PAGE, "would skip every step")
    jump_at = 200
    recovered = 0  # outside the regime: doublings the contrast gets over
    for seed in range(10):
        norms = steady(seed)
        for t in range(jump_at, STEPS):
            norms[t] *= 2.0
        recovered += _skips_left_out(norms) != list(range(jump_at, STEPS))
    assert recovered, f"{where}: the contrast never recovers from a doubling: say so"
    for seed in range(10):
        for factor in (3.0, 5.0, 20.0, 1e4):
            norms = steady(seed)
            for t in range(jump_at, STEPS):
                norms[t] *= factor
            skipped = _skips_left_out(norms)
            assert skipped == list(range(jump_at, STEPS)), (
                f"{where}: seed {seed}, x{factor:g}: skipped {skipped[:5]}..."
            )


def test_a_spike_raises_the_bar_for_128_steps(read):
    where = page_line(PAGE, "passes unskipped for the next 128 steps")
    first = 150
    for seed in range(10):
        for gap in (*range(1, 129, 9), 127, 128, 129, 130, 160, 240):
            norms = steady(seed)
            norms[first] *= 20
            norms[first + gap] *= 3
            found = spikes(flagged(read, norms))
            assert first in found, f"{where}: seed {seed}: the x20 batch was not flagged"
            caught = first + gap in found
            assert caught == (gap > 128), f"{where}: seed {seed}, gap {gap}: skipped {caught}"


def test_a_tripled_norm_is_skipped_anywhere_after_64_steps(read):
    where = page_line(PAGE, "skipped wherever it falls after the first 64")
    for seed in range(12):
        g = torch.Generator().manual_seed(10_000 + seed)
        positions = (64, 65, *torch.randint(66, STEPS, (3,), generator=g).tolist())
        for at in positions:
            for factor in (3.0, 20.0, 1e4):
                norms = steady(seed)
                norms[at] *= factor
                found = spikes(flagged(read, norms))
                assert found == [at], f"{where}: seed {seed}: x{factor:g} at {at}: {found}"
    # Outside the regime: before 64 finite norms are held, nothing is flagged.
    for at in (1, 30, 63):
        norms = steady(0)
        norms[at] *= 1e4
        assert not spikes(flagged(read, norms)), f"{where}: flagged at {at}, before 64 norms"


def test_a_non_finite_norm_does_not_blind_the_rule(read):
    where = page_line(PAGE, "right after an `inf` is still skipped")
    for seed in range(6):
        for bad in (math.inf, math.nan):
            for gap in (1, 2, 5, 30, 127):
                norms = steady(seed)
                norms[200] = bad
                norms[200 + gap] *= 3
                found = flagged(read, norms)
                case = f"{where}: seed {seed}, {bad} then x3 after {gap}: {found}"
                assert found.get(200, ("", ""))[1] == "2. skip", case
                assert spikes(found) == [200 + gap], case


def test_the_third_non_finite_norm_in_a_row_says_stop(read):
    where = page_line(PAGE, "The third non-finite norm in a row says stop")
    for run in range(1, 7):
        for bad in (math.inf, -math.inf, math.nan):
            norms = steady(run)
            for t in range(200, 200 + run):
                norms[t] = bad
            found = flagged(read, norms)
            todo = [found[t][1] for t in range(200, 200 + run)]
            expected = ["2. skip"] * min(run, 2) + ["stop"] * max(0, run - 2)
            assert todo == expected, f"{where}: {run} {bad} norms in a row read {todo}"


ROLLBACK_SEEDS = range(4)


@pytest.fixture(scope="module")
def clean_loss(rollback):
    """The test loss of the run without bad batches, for each seed."""
    losses = {}
    for seed in ROLLBACK_SEEDS:
        x, y, _, x_test, y_test = rollback["make_data"](seed)
        losses[seed] = rollback["train"](x, y, x_test, y_test)[0]
    return losses


def _rolled_back(log: str) -> list[tuple[int, int, int]]:
    """(at, back to, on from) for each rollback the snippet's `train` logged."""
    found = re.findall(r"at (\d+) back to (\d+), on from (\d+)", log)
    return [tuple(map(int, event)) for event in found]


def test_rolling_back_recovers_where_clip_and_skip_do_not(rollback, clean_loss):
    where = page_line(PAGE, "ends within 1.5 times the clean run's test loss")
    where_skip = page_line(PAGE, "the skip rule alone lets most of a stretch through")
    make, train = rollback["make_data"], rollback["train"]
    for seed in ROLLBACK_SEEDS:
        x, y, y_bad, x_test, y_test = make(seed)  # batches 200 to 299 corrupted
        clean = clean_loss[seed]
        for name, how in (("the clip alone", {}), ("the clip and the skip", {"skip": True})):
            loss, log = train(x, y_bad, x_test, y_test, **how)
            assert loss >= 2.5 * clean, f"{where}: seed {seed}, {name}: {loss / clean:.2f} x clean"
            if how:
                skipped = [int(b) for b in log.split(", ")]
                assert len(skipped) <= 6 and all(200 <= b < 212 for b in skipped), (
                    f"{where_skip}: seed {seed}: skipped {skipped}"
                )
        loss, log = train(x, y_bad, x_test, y_test, roll_back=True)
        assert loss <= 1.5 * clean, f"{where}: seed {seed}: rolled back, {loss / clean:.2f} x clean"
        events = _rolled_back(log)
        assert len(events) == 1 and events[0][1] <= 200 and events[0][2] >= 300, (
            f"{where}: seed {seed}: logged {log!r}, not one rollback from before 200 to past 299"
        )


def test_a_longer_stretch_rolls_back_twice(rollback, clean_loss):
    where = page_line(PAGE, "rolls back a second time")
    make, train = rollback["make_data"], rollback["train"]
    for seed in range(2):
        x, _, y_bad, x_test, y_test = make(seed, bad=range(200, 350))
        clean = clean_loss[seed]  # the same clean batches as with 100 bad
        loss, log = train(x, y_bad, x_test, y_test, roll_back=True)
        events = _rolled_back(log)
        assert len(events) == 2 and events[0][1] == events[1][1] <= 200, f"{where}: {log!r}"
        assert events[1][2] >= 350 and loss <= 1.5 * clean, (
            f"{where}: seed {seed}: {log!r}, {loss / clean:.2f} x clean"
        )
