# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exploding gradients in practice
#
# **Answer:** clip. Without it, this recurrent network's loss jumps after
# its very first update and it never learns the task (in one seed the loss
# overflows to inf/NaN, in the other two the network ends no better than
# predicting 0); with each of the four clipping rules tried (value,
# per-tensor, global norm, AGC), no seed overflows and every seed ends
# better than predicting 0, global-norm clipping and AGC by a wide margin.
# At these thresholds every rule clips on most steps, so the threshold also
# acts as a step size.
#
# A small recurrent network, a learning rate that is not unusual for SGD with
# momentum, and four ways of clipping its gradients, all trained on the same
# data from the same initial weights.
# (Why gradients explode in the first place is the subject of
# [Why gradients explode](../../guide/why-gradients-explode/).)
#
# This page is a notebook that the site runs every time it is built: every
# number and figure below comes from that run, and cells left off the page
# assert that the text still describes them, so a change that breaks the
# story breaks the build. Download it as a
# [Jupytext script](exploding-gradients.py) (run it with
# `python exploding-gradients.py`) or as a
# [Jupyter notebook](exploding-gradients.ipynb); both hold every cell,
# the checks and the figure styling included. It needs only PyTorch and
# Matplotlib, and runs on a CPU in seconds.

# %%
import math
import time
from statistics import median

import matplotlib.pyplot as plt
import torch

# A tiny model: one thread is the fastest, and makes runs repeatable.
torch.set_num_threads(1)

# %% tags=["hide"]
# Figures with a transparent background and mid-tone colours, readable on
# the site's light and dark palettes alike.
# %config InlineBackend.figure_formats = ["svg"]
GREY = "#8c8c8c"
plt.rcParams.update({
    "figure.facecolor": "none", "axes.facecolor": "none",
    "savefig.facecolor": "none", "text.color": GREY,
    "axes.labelcolor": GREY, "axes.edgecolor": GREY,
    "axes.titlecolor": GREY, "xtick.color": GREY, "ytick.color": GREY,
    "grid.color": GREY, "grid.alpha": 0.25, "axes.grid": True,
    "legend.frameon": False, "font.size": 10, "axes.titlesize": 10,
    "svg.hashsalt": "exploding-gradients",
})
COLOURS = {"none": "#e8615a", "value": "#f0a030", "per-tensor": "#b57fd0",
           "global": "#4f9be0", "AGC": "#4fb06a"}

# %% [markdown]
# ## The task and the model
#
# Each input is a sequence of 20 numbers drawn from a standard normal
# distribution; the target is their sum divided by √20, so it has variance 1
# and a model that always predicts 0 has a mean squared error of about 1. The
# model is a recurrent network with 16 ReLU units whose recurrent matrix
# starts as the identity, so that at the start each unit adds its weighted
# input to its previous state (as long as the sum stays positive), plus a
# linear read-out of the last state.
#
# Training is plain SGD with momentum 0.9 and learning rate 0.01, batches of
# 32 fresh sequences, 150 steps. Every run with the same seed sees the same
# batches and starts from the same weights; only the clipping rule changes.

# %%
SEQ_LEN, HIDDEN, BATCH, STEPS = 20, 16, 32, 150
LR, MOMENTUM = 0.01, 0.9
SEEDS = (0, 1, 2)


def make_batches(seed):
    """STEPS batches of sequences and their targets, fixed by the seed."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(STEPS, BATCH, SEQ_LEN, 1, generator=generator)
    y = x.sum(dim=2) / math.sqrt(SEQ_LEN)
    return x, y


class SumRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(1, HIDDEN, nonlinearity="relu",
                                batch_first=True)
        self.readout = torch.nn.Linear(HIDDEN, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(HIDDEN))

    def forward(self, x):
        states, _ = self.rnn(x)
        return self.readout(states[:, -1])


# %% [markdown]
# ## Four clipping rules
#
# Each rule runs between `loss.backward()` and `optimizer.step()`, changes
# the gradients in place, and returns the number it compared with its
# threshold, so that we can see afterwards how often it clipped:
#
# - **value**: `clip_grad_value_` clamps every entry to [−0.1, 0.1]; it tests
#   the largest absolute entry.
# - **per-tensor**: `clip_grad_norm_` called on each parameter tensor on its
#   own, each rescaled to norm at most 1.
# - **global**: `clip_grad_norm_` on all parameters at once: the L2 norm of
#   all gradients together is rescaled to at most 1.
# - **AGC**, adaptive gradient clipping
#   ([Brock et al. 2021, §4](https://arxiv.org/abs/2102.06171)), unit-wise:
#   each row of a weight matrix (one unit's incoming weights) has its gradient
#   rescaled when the gradient's norm exceeds λ = 0.1 times the row's weight
#   norm, floored at ε = 10⁻³. As that paper's recipe (§5.1) and its
#   reference code do, the final linear layer's weight is not clipped; its
#   bias is. A bias vector counts as one unit, the convention of the
#   reference code's `unitwise_norm` (in
#   [`nfnets/agc_optax.py`](https://github.com/google-deepmind/deepmind-research/blob/master/nfnets/agc_optax.py));
#   [the AGC page](../../beyond/agc/) has a tested implementation.
#
# The thresholds are not tuned for each rule; the
# [next experiment](../choosing-the-threshold/) is about choosing them.

# %%
MAX_NORM = 1.0     # global and per-tensor rules
CLIP_VALUE = 0.1   # value rule
AGC_LAMBDA, AGC_EPS = 0.1, 1e-3


def no_clipping(model):
    grads = [p.grad for p in model.parameters()]
    return torch.nn.utils.get_total_norm(grads).item()


def value_clipping(model):
    largest = max(p.grad.abs().max().item() for p in model.parameters())
    torch.nn.utils.clip_grad_value_(model.parameters(), CLIP_VALUE)
    return largest


def per_tensor_clipping(model):
    clip = torch.nn.utils.clip_grad_norm_
    return max(clip(p, MAX_NORM).item() for p in model.parameters())


def global_clipping(model):
    clip = torch.nn.utils.clip_grad_norm_
    return clip(model.parameters(), MAX_NORM).item()


def unit_norms(t):
    """Norm of each row (unit) of a matrix; the whole norm of a vector."""
    return t.norm(dim=1, keepdim=True) if t.ndim > 1 else t.norm()


@torch.no_grad()
def adaptive_clipping(model):
    largest = 0.0
    for name, p in model.named_parameters():
        if name == "readout.weight":  # only the classifier weight is skipped
            continue
        ratio = unit_norms(p.grad) / unit_norms(p).clamp(min=AGC_EPS)
        largest = max(largest, ratio.max().item())
        scale = torch.where(ratio > AGC_LAMBDA, AGC_LAMBDA / ratio, 1.0)
        p.grad.mul_(scale)
    return largest


# name: (rule, its threshold, what it tests)
RULES = {
    "none": (no_clipping, None, "global gradient norm (L2)"),
    "value": (value_clipping, CLIP_VALUE, "largest |gradient entry|"),
    "per-tensor": (per_tensor_clipping, MAX_NORM,
                   "largest tensor norm (L2)"),
    "global": (global_clipping, MAX_NORM, "global gradient norm (L2)"),
    "AGC": (adaptive_clipping, AGC_LAMBDA,
            "largest ‖G‖ / ‖W‖ of a unit"),
}

# %% [markdown]
# ## The training loop
#
# Before the rule runs, we also record the global gradient norm, the same
# measure for every rule, so that the runs can be compared.

# %%
def train(rule, seed):
    xs, ys = make_batches(seed)
    torch.manual_seed(seed)
    model = SumRNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR,
                                momentum=MOMENTUM)
    record = {"loss": [], "norm": [], "tested": []}
    for x, y in zip(xs, ys):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        record["norm"].append(no_clipping(model))
        record["tested"].append(rule(model))
        optimizer.step()
        record["loss"].append(loss.item())
    return record


start = time.perf_counter()
runs = {name: [train(rule, seed) for seed in SEEDS]
        for name, (rule, _, _) in RULES.items()}
seconds = time.perf_counter() - start
print(f"{len(RULES) * len(SEEDS)} runs of {STEPS} steps: {seconds:.1f} s")

# %% [markdown]
# ## The loss
#
# One panel per seed; the grey line is the loss of always predicting 0, the
# mean of the target. A line that leaves the top of a panel has gone above
# 10⁴, and a × marks the step where a loss stopped being a number.

# %% alt="Training loss against step, log scale, one panel per seed, for no clipping and four clipping rules"
BASELINE = 1.0  # variance of the target: the loss of always predicting 0


def finite(values):
    return [v for v in values if math.isfinite(v)]


def fmt(x, spec):
    return format(x, spec) if math.isfinite(x) else "inf/nan"


def final_loss(record, last=20):
    """Mean loss over the last steps (each batch is new data)."""
    return sum(record["loss"][-last:]) / last


def first_non_finite(values):
    bad = (i for i, v in enumerate(values) if not math.isfinite(v))
    return next(bad, None)


TOP = 1e4
fig, axes = plt.subplots(len(SEEDS), 1, figsize=(7, 7.2), sharex=True,
                         sharey=True, layout="constrained")
for ax, seed in zip(axes, SEEDS):
    for name in RULES:
        losses = runs[name][seed]["loss"]
        ax.plot(losses, color=COLOURS[name], lw=1, label=name)
        step = first_non_finite(losses)
        if step is not None:  # mark where the loss stopped being a number
            ax.plot(step, TOP, "x", color=COLOURS[name], ms=8, mew=2,
                    clip_on=False)
            ax.annotate("inf/NaN", (step, TOP), xytext=(8, -14),
                        textcoords="offset points", color=COLOURS[name])
    ax.axhline(BASELINE, color=GREY, ls="--", lw=1,
               label="always predict 0")
    ax.set(yscale="log", ylim=(1e-3, TOP), ylabel="loss (MSE, log)")
    ax.set_title(f"seed {seed}", loc="left")
axes[-1].set_xlabel("step")
fig.legend(*axes[0].get_legend_handles_labels(), ncols=3,
           loc="outside lower center")
fig.suptitle("Training loss: no clipping against four clipping rules")
plt.show()

# %% [markdown]
# Without clipping (red), the loss jumps right after the first update, to
# more than three times its starting value. From then on the network does no
# better than predicting 0 (seeds 0 and 1: their loss stays around the grey
# line), or its loss overflows to inf/NaN (seed 2). With each clipping rule,
# every seed ends below the grey line. Global-norm clipping and AGC end far
# below it on every seed (under a quarter of it). Value and per-tensor
# clipping are less steady: on some seeds their loss ends well above the
# others' (the table below), and on which seed depends on the machine's
# floating-point kernels, because small differences grow quickly in a run
# this close to unstable. The build checks only what holds either way.

# %%
print("without clipping:")
for seed in SEEDS:
    losses = runs["none"][seed]["loss"]
    after = losses[10:]
    print(f"seed {seed}: loss {losses[0]:.2f} at step 0, {losses[1]:.3g} "
          f"after the first update,")
    tail_mean = fmt(sum(after) / len(after), ".3f")
    print(f"        mean from step 10 on {tail_mean}")

# %% tags=["hide"]
overflowed = []
for seed in SEEDS:
    losses = runs["none"][seed]["loss"]
    after = losses[10:]
    assert losses[1] > 3 * losses[0], seed
    if first_non_finite(losses) is not None:
        overflowed.append(seed)
    else:
        assert sum(after) / len(after) > 0.8 * BASELINE, seed
    for name in ("global", "AGC"):
        assert final_loss(runs[name][seed]) < 0.25 * BASELINE, (name, seed)
    for name in ("value", "per-tensor"):
        assert final_loss(runs[name][seed]) < 0.75 * BASELINE, (name, seed)
assert overflowed == [2], overflowed

# %% [markdown]
# ## What each rule saw
#
# Each of the first five panels shows, for seed 0, the number a rule compares
# with its threshold (dashed), before clipping: a step is clipped when the
# curve is above the line. The first panel has no threshold; it is the global
# norm of the unclipped run. The last panel puts the global norms of all five
# runs on one scale, in the same colours.

# %% alt="Six panels for seed 0: what each rule compares with its threshold, and the global norm of all five runs"
def fraction_clipped(name, record):
    threshold = RULES[name][1]
    if threshold is None:
        return 0.0
    return sum(t > threshold for t in record["tested"]) / STEPS


fig, axes = plt.subplots(3, 2, figsize=(7, 8), sharex=True,
                         layout="constrained")
for ax, (name, (_, threshold, tested)) in zip(axes.flat, RULES.items()):
    record = runs[name][0]
    ax.plot(record["tested"], color=COLOURS[name], lw=1)
    if threshold is not None:
        ax.axhline(threshold, color=GREY, ls="--", lw=1,
                   label=f"threshold {threshold:g}")
        ax.legend(loc="upper right")
    share = fraction_clipped(name, record)
    ax.set(yscale="log", ylabel=tested,
           title=f"{name}: {share:.0%} of steps clipped")
last = axes.flat[-1]
for name in RULES:
    last.plot(runs[name][0]["norm"], color=COLOURS[name], lw=1)
last.set(yscale="log", ylabel="global gradient norm (L2)",
         title="all five: global norm before clipping")
for ax in axes[-1]:
    ax.set_xlabel("step")
fig.suptitle("Seed 0, before clipping: what each rule tests")
plt.show()

# %% [markdown]
# Without clipping (first panel), the gradient norm peaks in the first two
# steps, more than a hundred times above its median; from step 10 on it
# stays below a hundredth of that peak, while the network does no better
# than predicting 0 (the loss above). The clipped runs behave differently
# (last panel): their gradients stay large, with a median global norm more
# than ten times that of the unclipped run, so at these thresholds every
# rule clips on most steps, in every seed. The global norm of the `global`
# run is above 1 on more than 90% of steps, and each of those steps hands
# the optimizer a gradient of norm 1, whatever its norm before: here the
# threshold acts as a step size (learning rate × threshold, before
# momentum), not as a guard against rare spikes.

# %%
norms = runs["none"][0]["norm"]
peak = max(norms)
print(f"seed 0 without clipping: peak {peak:.3g} at step "
      f"{norms.index(peak)}, median {median(norms):.3g},")
print(f"  largest from step 10 on {max(norms[10:]):.3g}")
for name in ("value", "per-tensor", "global", "AGC"):
    clipped_median = median(runs[name][0]["norm"])
    print(f"seed 0, {name}: median global norm {clipped_median:.3g}")

# %% tags=["hide"]
assert norms.index(peak) < 2
assert peak > 100 * median(norms)
assert max(norms[10:]) < peak / 100
for name in ("value", "per-tensor", "global", "AGC"):
    assert median(runs[name][0]["norm"]) > 10 * median(norms), name
for seed in SEEDS:
    assert fraction_clipped("global", runs["global"][seed]) > 0.9
    for name in ("value", "per-tensor", "AGC"):
        share = fraction_clipped(name, runs[name][seed])
        assert share > 0.5, (name, seed)

# %% [markdown]
# ## Every seed, every rule
#
# The final loss is the mean over the last 20 steps; "clipped" is the share
# of steps on which the rule changed the gradient, averaged over the three
# seeds;
# "peak norm" is the largest global gradient norm before clipping, over the
# three seeds (finite values only).

# %%
header = ["rule", "limit", *(f"seed {s}" for s in SEEDS), "clipped",
          "peak norm"]
rows = []
for name, (_, threshold, _) in RULES.items():
    records = runs[name]
    clipped = sum(fraction_clipped(name, r) for r in records) / len(SEEDS)
    peak = max(max(finite(r["norm"])) for r in records)
    rows.append([name, "-" if threshold is None else f"{threshold:g}",
                 *(fmt(final_loss(r), ".3f") for r in records),
                 f"{clipped:.0%}", f"{peak:.3g}"])
widths = [max(len(row[i]) for row in [header, *rows])
          for i in range(len(header))]
print("final loss per seed, share of steps clipped, peak gradient norm\n")
for row in [header, ["-" * w for w in widths], *rows]:
    print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))

# %% [markdown]
# All four rules keep every seed from overflowing and end it below the
# predict-0 line, global norm and AGC by a wide margin. They end at
# different losses, but three
# seeds of one small task, with thresholds not tuned for each rule, are not
# enough to rank them; what the table does show is the difference between
# clipping and not clipping.
#
# What to take away:
#
# - Here the damage came early: in every seed, the unclipped run's loss
#   jumped after its first update, and the run never recovered.
# - Any of these rules bounds those steps. Global norm clipping is the one
#   that keeps the direction of the whole gradient (see
#   [the math of clipping](../../guide/the-math/)).
# - The threshold matters as much as the rule: at the values used here,
#   clipping is active on most steps. How to pick it is the subject of
#   [the next experiment](../choosing-the-threshold/).
