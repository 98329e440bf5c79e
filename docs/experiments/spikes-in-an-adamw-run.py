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
# # Spikes in an AdamW run
#
# **Answer:** against a few corrupted batches under AdamW, a clip at 1.0
# bounds the jump in loss but does not remove it, while skipping the step
# (OLMo-core's rule) or ZClip keeps the run on course. Over five seeds, runs
# without a clip ended 4 or more times worse than the same run without the
# corrupted batches, runs with the clip within 1.5 times, and skip and ZClip
# within 10 % on every seed. SPAM's per-coordinate clip, at its default
# threshold, bounds the jump less than the clip at 1.0 and ends worse.
#
# A small network trains with AdamW on clean data, except for three
# corrupted batches whose labels are replaced by ±100. Five ways to handle
# them run side by side, over five seeds: no clipping, a clip at norm 1.0,
# OLMo-core's skip-step rule, ZClip with its package's defaults, and the
# spike-aware clip of SPAM (Huang et al. 2025) at its default threshold.
# Each is compared with the same run on data without the corrupted batches.
# The skip rule and ZClip are the copy-ready classes of
# [Loss spikes](../../training/loss-spikes/), which the suite checks against
# OLMo-core's rule and the `zclip` package.
#
# Like every notebook on this site, it runs when the site is built, and
# cells left off the page assert that the text matches the numbers. Download
# it as a [Jupytext script](spikes-in-an-adamw-run.py) (run it with
# `python spikes-in-an-adamw-run.py`) or as a
# [Jupyter notebook](spikes-in-an-adamw-run.ipynb); both hold every cell,
# the checks and the figure styling included.

# %%
import math

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
    "svg.hashsalt": "spikes-in-an-adamw-run",
})
COLOURS = {"no clip": "#e05a4f", "clip 1.0": "#4f9be0", "skip": "#f0a030",
           "ZClip": "#4fb06a", "SPAM": "#a070d0"}

# %% [markdown]
# ## The three rules
#
# The same classes as on the [Loss spikes](../../training/loss-spikes/)
# page: `SkipOnSpike` skips a step whose loss or gradient norm is more than
# 6 standard deviations above the mean of the previous 128 steps (after 64
# steps of warm-up); `ZClip` clips a norm whose z-score against an
# exponential moving average is above 2.5, and caps every norm at 1.0.
#
# [SPAM](https://arxiv.org/abs/2501.06842) (Huang et al. 2025) is an Adam
# variant with two defences against spikes. Its clip works per coordinate:
# a gradient entry whose square is more than θ times Adam's second moment
# *v* of that entry (before this step's update) is cut to
# sign(*g*)·√(θ*v*), from the 20th step on. And every 500 steps it resets
# both moments to zero and warms the step size up again over 150 steps.
# `spike_aware_clip_` below applies the clip to `torch.optim.AdamW`'s own
# *v*, with the defaults of the authors' code (θ = 5000, read at commit
# [e8185fb](https://github.com/TianjinYellow/SPAM-Optimizer/blob/e8185fbe695fdc449953b4a1f96121df5bf0d268/galore_torch/SPAM.py));
# a run of 400 steps never reaches a reset.


# %%
class SkipOnSpike:
    def __init__(self, window=128, sigma=6.0):
        self.window, self.sigma, self.history = window, sigma, ([], [])

    def should_skip(self, loss, grad_norm):
        for history, value in zip(self.history, (loss, grad_norm)):
            history.append(float(value))
            del history[: -(self.window + 1)]
        if len(self.history[0]) < max(2, self.window // 2):
            return False
        for *previous, latest in self.history:
            std, mean = torch.std_mean(torch.tensor(previous))
            if not latest - mean <= self.sigma * std:
                return True
        return False


class ZClip:
    def __init__(self, alpha=0.97, z_thresh=2.5, max_norm=1.0, warmup=25):
        self.alpha, self.z_thresh = alpha, z_thresh
        self.max_norm, self.warmup = max_norm, warmup
        self.norms, self.mean, self.var = [], None, None

    def __call__(self, parameters):
        params = [p for p in parameters if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        norm = norm.item()
        if self.mean is None:  # warm-up: collect, clip at max_norm only
            self.norms.append(norm)
            if len(self.norms) == self.warmup:
                m = sum(self.norms) / len(self.norms)
                self.var = sum((n - m) ** 2 for n in self.norms) / len(
                    self.norms)
                self.mean = m
            clip = self.max_norm
        else:
            std = self.var**0.5
            z = (norm - self.mean) / (std + 1e-6)
            adaptive = None
            if z > self.z_thresh:
                adaptive = self.mean + self.z_thresh * std / (z / self.z_thresh)
            clip = norm if adaptive is None else adaptive
            if self.max_norm is not None:
                clip = min(clip, self.max_norm)
            seen = norm if adaptive is None else adaptive
            self.mean = self.alpha * self.mean + (1 - self.alpha) * seen
            self.var = self.alpha * self.var + (1 - self.alpha) * (
                seen - self.mean) ** 2
        if clip is not None and norm > clip:
            for p in params:
                p.grad.mul_(clip / (norm + 1e-6))
        return norm


def spike_aware_clip_(optimizer, threshold=5000.0, after=20):
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if p.grad is None or state.get("step", 0) < after:
                continue
            limit = (threshold * state["exp_avg_sq"]).sqrt()
            spike = p.grad.abs() > limit
            p.grad[spike] = p.grad[spike].sign() * limit[spike]


# %% [markdown]
# ## The task and the training loop
#
# A teacher network (20 inputs, 32 tanh units) labels standard normal
# inputs, with a little noise; the student (two hidden layers of 64 ReLU
# units) learns it with AdamW (learning rate 0.003, no weight decay), 400
# steps of 64 examples. At steps 150, 250 and 330 every label of the batch
# is replaced by ±100. Every 10 steps the student is evaluated on 2000 clean
# held-out examples.

# %%
STEPS, BATCH, BAD_STEPS = 400, 64, (150, 250, 330)
SEEDS = range(5)
ARMS = ("no clip", "clip 1.0", "skip", "ZClip", "SPAM")


def make_data(seed, corrupt):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    teacher = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.Tanh(),
                                  torch.nn.Linear(32, 1))
    x = torch.randn(STEPS, BATCH, 20, generator=generator)
    x_test = torch.randn(2000, 20, generator=generator)
    with torch.no_grad():
        noise = torch.randn(STEPS, BATCH, 1, generator=generator)
        y, y_test = teacher(x) + 0.05 * noise, teacher(x_test)
        if corrupt:
            for t in BAD_STEPS:
                signs = torch.randn(BATCH, 1, generator=generator).sign()
                y[t] = 100.0 * signs
    return x, y, x_test, y_test


def train(seed, arm, corrupt=True):
    x, y, x_test, y_test = make_data(seed, corrupt)
    torch.manual_seed(100 + seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(20, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3,
                                  weight_decay=0.0)
    skip_rule, zclip = SkipOnSpike(), ZClip()
    max_norm = 1.0 if arm == "clip 1.0" else math.inf
    run = {"test": [], "skipped": [], "norm": [], "clipped": []}
    for t in range(STEPS):
        loss = torch.nn.functional.mse_loss(model(x[t]), y[t])
        optimizer.zero_grad()
        loss.backward()
        if arm == "ZClip":
            norm = zclip(model.parameters())
        else:  # clip_grad_norm_ returns the norm before clipping
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                  max_norm).item()
        if arm == "SPAM":
            spike_aware_clip_(optimizer)
        run["norm"].append(norm)
        if t in BAD_STEPS:  # the norm the optimizer would receive
            grads = [p.grad for p in model.parameters()]
            run["clipped"].append(
                torch.nn.utils.get_total_norm(grads).item())
        if arm == "skip" and skip_rule.should_skip(loss.item(), norm):
            run["skipped"].append(t)
        else:
            optimizer.step()
        if t % 10 == 9:
            with torch.no_grad():
                test = torch.nn.functional.mse_loss(model(x_test), y_test)
            run["test"].append(test.item())
    return run


runs = {(arm, seed): train(seed, arm) for arm in ARMS for seed in SEEDS}
clean = {seed: train(seed, "no clip", corrupt=False) for seed in SEEDS}
print(f"{len(runs) + len(clean)} runs of {STEPS} steps")
normal = [n for s in SEEDS for t, n in enumerate(runs["clip 1.0", s]["norm"])
          if t not in BAD_STEPS]
print(f"gradient norm of the normal steps: at most {max(normal):.2f}; "
      f"above 1.0 on {sum(n > 1 for n in normal)} of {len(normal)} steps")

# %% tags=["hide"]
assert sum(n > 1 for n in normal) <= 1 and max(normal) < 1.1

# %% [markdown]
# Normal gradient norms stay below 1 (on one step of one seed, the very
# first, just above), so here the clip at 1.0 acts only at the corrupted
# batches: clip, skip, ZClip and SPAM differ only in what they do there. (The skip
# rule on top of the clip, OLMo-core's recipe, would therefore differ from
# the skip rule alone only where the clip acts: on that first step, and on
# any corrupted batch the rule lets through.)

# %% [markdown]
# ## What a corrupted batch does to each run
#
# The held-out loss of seed 0 along training, for each arm, with the
# corrupted batches marked; the grey line is the same run without them
# (no clip).

# %% alt="Held-out loss by step for seed 0 (log scale), one line per arm; the unclipped run jumps at each bad batch"
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
steps = range(10, STEPS + 1, 10)
ax.plot(steps, clean[0]["test"], color=GREY, lw=3, alpha=0.5,
        label="no corrupted batch (no clip)")
for arm in ARMS:
    ax.plot(steps, runs[arm, 0]["test"], color=COLOURS[arm], lw=1.3,
            label=arm)
for t in BAD_STEPS:
    ax.axvline(t, color=GREY, ls=":", lw=1)
ax.set(yscale="log", xlabel="step", ylabel="held-out loss (MSE, log)",
       title="seed 0: corrupted batches at steps 150, 250 and 330 (dotted)")
ax.legend(loc="upper right", ncols=2)
plt.show()

# %% [markdown]
# Without clipping, each corrupted batch throws the model off: the held-out
# loss jumps by more than an order of magnitude and takes tens of steps to
# come back. The clip at 1.0 bounds the jump but does not remove it: the
# clipped gradient still points towards the corrupted labels. The skip rule
# and ZClip stay on the grey line: one drops the step, the other clips it
# to about the running mean of the norm, far below 1.0. SPAM's clip jumps
# further than the clip at 1.0 (below).

# %%
def after_first_bad(run):
    """Held-out loss 10 steps after the first corrupted batch / before it."""
    i = BAD_STEPS[0] // 10
    return run["test"][i] / run["test"][i - 1]


for arm in ARMS:
    jumps = [after_first_bad(runs[arm, s]) for s in SEEDS]
    print(f"{arm:<12} held-out loss x{min(jumps):5.2f} to x{max(jumps):6.2f}"
          " after the first corrupted batch")

# %% tags=["hide"]
for seed in SEEDS:
    assert after_first_bad(runs["no clip", seed]) > 10
    assert 2 < after_first_bad(runs["clip 1.0", seed]) < 10
    assert after_first_bad(runs["skip", seed]) < 1.5
    assert after_first_bad(runs["ZClip", seed]) < 1.5
    assert (after_first_bad(runs["SPAM", seed])
            > after_first_bad(runs["clip 1.0", seed]))

# %% [markdown]
# ## Final loss over five seeds
#
# The held-out loss at the end of each run, divided by the loss of the
# same seed's run without corrupted batches:

# %%
ratios = {arm: [runs[arm, s]["test"][-1] / clean[s]["test"][-1]
                for s in SEEDS] for arm in ARMS}
for arm, r in ratios.items():
    print(f"{arm:<12}", "  ".join(f"{x:5.2f}" for x in r))

# %% tags=["hide"]
assert all(r > 4 for r in ratios["no clip"])
assert all(r < 1.5 for r in ratios["clip 1.0"])
assert all(abs(r - 1) < 0.1 for arm in ("skip", "ZClip") for r in ratios[arm])
assert all(s > c for s, c in zip(ratios["SPAM"], ratios["clip 1.0"]))
assert all(1.5 < r < 2.5 for r in ratios["SPAM"])

# %% [markdown]
# Without a clip the runs end 4 or more times worse than without the
# corrupted batches. With the clip they mostly recover by the end (within
# 1.5 times, some seeds slightly better), and skip and ZClip end within
# 10 % of the run that never saw a corrupted batch, on every seed. SPAM ends
# 1.5 to 2.5 times worse, behind the clip at 1.0 on every seed.
#
# ## Did the skip rule skip the right steps?

# %%
skipped = {tuple(runs["skip", s]["skipped"]) for s in SEEDS}
print(f"steps skipped, over the five seeds: {sorted(skipped)}")
bad = [runs["ZClip", s]["norm"][t] for s in SEEDS for t in BAD_STEPS]
to = [n for s in SEEDS for n in runs["ZClip", s]["clipped"]]
print(f"gradient norm at the corrupted batches: {min(bad):.0f} to "
      f"{max(bad):.0f};")
print(f"ZClip clips them to {min(to):.2f} to {max(to):.2f}")

# %% tags=["hide"]
assert all(runs["skip", s]["skipped"] == list(BAD_STEPS) for s in SEEDS)
assert min(bad) > 10 and max(to) < 0.5

# %% [markdown]
# On every seed the rule skipped exactly the three corrupted steps and no
# other: their loss and gradient norm are far outside six standard
# deviations of the previous 128 steps, and nothing else in this run is.
# That is the easy case. A spike that is large but not six standard
# deviations out is left to the clip, which is why OLMo-core's recipes keep
# `max_grad_norm=1.0` together with the skip rule; and a corruption that
# lasts many steps raises the mean and the standard deviation of the window
# until the rule stops firing.
#
# ## Why SPAM's clip lets more through
#
# The norm of the gradient SPAM's clip hands to AdamW at each corrupted
# batch, over the five seeds:

# %%
for i, t in enumerate(BAD_STEPS):
    after = [runs["SPAM", s]["clipped"][i] for s in SEEDS]
    print(f"step {t}: {min(after):5.2f} to {max(after):5.2f}")

# %% tags=["hide"]
spam = [[runs["SPAM", s]["clipped"][i] for s in SEEDS] for i in range(3)]
assert all(max(a) < min(b) for a, b in zip(spam, spam[1:]))
assert min(spam[0]) > 1.0

# %% [markdown]
# Each entry may be up to √5000 ≈ 71 times the root of its own second
# moment, so at the first corrupted batch a gradient 30 to 80 times its
# usual norm is cut to about 2 to 4 times it, not to 1.0. And each spike it
# lets through enters *v*, which with β₂ = 0.999 remembers it for hundreds
# of steps: the limit for the next corrupted batch is higher, and more of it
# gets through. The threshold is the knob: 5000 is also what the LLaMA
# pre-training examples in the authors' README use, for models and batches
# whose gradients are spread over far more entries than this one's. A reset
# of the moments every 500 steps would forget the spikes, and with them
# what *v* had learnt.

