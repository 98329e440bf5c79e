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
# # Preventing spikes, so the clip has less to do
#
# **Answer:** in this small GPT, trained at a learning rate of 0.3 with a
# clip at 1.0, the clip does most of its work in the first 40 steps, and of
# six measures tried one at a time only a learning-rate warm-up takes that
# work away (from at least 12 of those 40 steps to at most 1 step in 12 of
# the run). QK-norm stops the attention logits from blowing up but leaves
# the clip as busy; z-loss, β₂ = 0.95, a smaller AdamW ε and no weight decay
# on embeddings and norm gains neither stop the blow-up nor quiet the clip.
# With all six together, as with warm-up alone, the clip fires on at most
# 1 step in 12 and the loss ends lowest.
#
# Large runs do not rely on the clip alone: they also change the model and
# the optimizer so that spikes are rarer in the first place.
# [Wortsman et al. (2023)](https://arxiv.org/abs/2309.14322) showed that
# two instabilities of large Transformers show up in small ones trained at
# high learning rates, and that the fixes used at scale work there too;
# [OLMo 2](https://arxiv.org/abs/2501.00656) lists the changes that calmed
# its gradient-norm spikes. This notebook takes such a small model, sets it
# up to be unstable the way Wortsman et al. do (a high learning rate), and
# adds each measure alone, then all of them, over three seeds. For each run
# it counts how often the clip at `max_norm=1.0` fires, how often the norm
# spikes, and where the loss ends.
#
# Like every notebook on this site, it runs when the site is built, and
# cells left off the page assert that the text matches the numbers. Download
# it as a [Jupytext script](preventing-spikes.py) (run it with
# `python preventing-spikes.py`) or as a
# [Jupyter notebook](preventing-spikes.ipynb); both hold every cell, the
# checks and the figure styling included.

# %%
import math
from statistics import median

import matplotlib.pyplot as plt
import torch

F = torch.nn.functional
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
    "svg.hashsalt": "preventing-spikes",
})
COLOURS = {"baseline": "#e05a4f", "QK-norm": "#4f9be0", "warm-up": "#f0a030",
           "all together": "#4fb06a"}

# %% [markdown]
# ## The data and the model
#
# The corpus is generated here: each sequence is a 16-step random walk on a
# graph of 64 tokens in which every token has four possible successors,
# followed by the same walk again. The first half can be predicted only up
# to the choice among four successors; the second half can be copied from
# the first by attending back to it. Every batch is fresh: 16 sequences of
# 32 tokens, never seen before.
#
# The model is a GPT in plain PyTorch: token and position embeddings, two
# pre-norm blocks (4-head causal self-attention, then a ReLU MLP 4 times
# as wide), a final LayerNorm and an output layer, 32 wide, no biases in
# the linear layers, PyTorch's default initialisation. Each block keeps the
# largest attention logit *q*·*k*/√*d* it computed (*d* the head
# dimension), the quantity whose growth Wortsman et al. track (§3.1.1).

# %%
VOCAB, WIDTH, HEADS, LAYERS, SEQ, BATCH = 64, 32, 4, 2, 32, 16
STEPS, LR, WARMUP, MAX_NORM = 150, 0.3, 40, 1.0
SEEDS = range(3)


def make_batches(seed):
    """STEPS batches of a 16-step walk, each followed by the same walk."""
    generator = torch.Generator().manual_seed(seed)
    successors = torch.randint(VOCAB, (VOCAB, 4), generator=generator)
    walk = torch.randint(VOCAB, (STEPS * BATCH, 1), generator=generator)
    for _ in range(SEQ // 2):
        pick = torch.randint(4, (STEPS * BATCH, 1), generator=generator)
        walk = torch.cat([walk, successors[walk[:, -1:], pick]], 1)
    return torch.cat([walk, walk[:, 1:]], 1).view(STEPS, BATCH, SEQ + 1)


class Block(torch.nn.Module):
    def __init__(self, qk_norm):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(WIDTH)
        self.norm2 = torch.nn.LayerNorm(WIDTH)
        self.qkv = torch.nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.proj = torch.nn.Linear(WIDTH, WIDTH, bias=False)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(WIDTH, 4 * WIDTH, bias=False), torch.nn.ReLU(),
            torch.nn.Linear(4 * WIDTH, WIDTH, bias=False))
        # QK-norm: one LayerNorm per head dimension, shared by the heads.
        norm = torch.nn.LayerNorm if qk_norm else lambda _: torch.nn.Identity()
        self.q_norm, self.k_norm = norm(WIDTH // HEADS), norm(WIDTH // HEADS)

    def forward(self, x, mask):
        b, t, _ = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, HEADS, WIDTH // HEADS)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        logits = q @ k.transpose(-1, -2) / math.sqrt(WIDTH // HEADS)
        self.max_logit = logits.detach().max()
        y = (logits + mask).softmax(-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, WIDTH))
        return x + self.mlp(self.norm2(x))


class GPT(torch.nn.Module):
    def __init__(self, qk_norm=False):
        super().__init__()
        self.tok = torch.nn.Embedding(VOCAB, WIDTH)
        self.pos = torch.nn.Embedding(SEQ, WIDTH)
        blocks = [Block(qk_norm) for _ in range(LAYERS)]
        self.blocks = torch.nn.ModuleList(blocks)
        self.norm = torch.nn.LayerNorm(WIDTH)
        self.head = torch.nn.Linear(WIDTH, VOCAB, bias=False)
        self.register_buffer("mask", torch.full((SEQ, SEQ), -math.inf).triu(1))

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos.weight
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.norm(x))


print(f"{sum(p.numel() for p in GPT().parameters()):,} parameters")

# %% [markdown]
# ## The baseline, and six measures one at a time
#
# The baseline is set up to be unstable: AdamW with PyTorch's default
# betas and ε (β₂ = 0.999, ε = 10⁻⁸, as of PyTorch 2.14.1) and weight decay
# 0.1 on every parameter, and a peak learning rate of 0.3 (the top of the
# range Wortsman et al. sweep, §2.2) from the very first step, decaying
# along a cosine to 0 over 150 steps.
# Every run clips the global gradient norm at 1.0, as both papers do
# (Wortsman et al. §2.1; OLMo 2, Table 3), and records the norm before the
# clip. Each arm changes one thing:
#
# - **QK-norm**: a LayerNorm on the queries and on the keys of each head
#   before their dot product, against attention logits that keep growing
#   until the attention collapses onto single tokens (Wortsman et al.
#   §3.1.1, after Dehghani et al.'s ViT-22B; per head with shared
#   parameters, which they found better, §3.2.5). OLMo 2 adopts it, with
#   RMSNorm, together with norms on the outputs of each sublayer (§3.3.2).
# - **z-loss**: 10⁻⁴ · log²*Z* added to the loss, *Z* being the softmax's
#   normaliser of the output logits, against output logits that drift away
#   from the log-probabilities, very negative, late in training; the
#   coefficient is PaLM's, as Wortsman et al. describe it (§3.1.2). OLMo 2
#   adopts it (§3.3.3; its 32B training script sets
#   `z_loss_multiplier=1e-5`).
# - **β₂ = 0.95**: Wortsman et al.'s default (§2.1) and OLMo 2's (its 32B
#   script sets `betas=(0.9, 0.95)`); Wortsman et al. point to work that
#   ties loss spikes to a second-moment estimate gone stale, which a
#   smaller β₂ refreshes faster (§4).
# - **ε = 10⁻¹⁵**: Wortsman et al. found the gradients' root mean square
#   shrinking with model size and learning rate until it neared the
#   default ε = 10⁻⁸, which then shrinks the update; lowering ε to 10⁻¹⁵
#   improved a 4.8-billion-parameter model at learning rate 0.3, and
#   raising it to 10⁻⁶ made the run diverge (§3.4). OLMo 2 lowered its ε
#   from 10⁻⁵ to 10⁻⁸, so that updates early in training would be larger
#   (§3.4.1).
# - **warm-up**: the cosine schedule is multiplied by a ramp that rises
#   linearly from 1/40 to 1 over the first 40 steps. Longer warm-up made
#   Wortsman et al.'s models less sensitive to the learning rate (§3.2.1);
#   OLMo 2 warms up over 2000 steps (Table 3), and to make spikes appear
#   quickly in its experiments it mainly shortened the warm-up (§3).
# - **no decay on embeddings and norm gains**: the token and position
#   embeddings and the LayerNorm gains and biases leave the weight decay;
#   the weight matrices keep it. OLMo 2 adopts the embedding half only
#   (§3.4.2): decay shrank its embeddings, and small embeddings make large
#   gradients in the first layers through the LayerNorm. Its 32B script
#   exempts `embeddings.weight` alone
#   ([`OLMo-2-0325-32B-train.py`](https://github.com/allenai/OLMo-core/blob/138b1fca4992c704f320c05718ef8168ffb44ea1/src/scripts/official/OLMo2/OLMo-2-0325-32B-train.py),
#   OLMo-core at commit `138b1fc`).
#
# The last arm has all six. Sections are those of Wortsman et al.'s
# arXiv 2309.14322 and of the OLMo 2 report's revision with the 32B model.
# All arms of one seed start from the same weights and see the same
# batches.

# %%
ALL = {"qk_norm": True, "z_loss": 1e-4, "beta2": 0.95, "eps": 1e-15,
       "warmup": WARMUP, "decay_all": False}
ARMS = {
    "baseline": {},
    "QK-norm": {"qk_norm": True},
    "z-loss": {"z_loss": 1e-4},
    "beta2 0.95": {"beta2": 0.95},
    "eps 1e-15": {"eps": 1e-15},
    "warm-up": {"warmup": WARMUP},
    "no decay emb./norms": {"decay_all": False},
    "all together": ALL,
}


def train(seed, qk_norm=False, z_loss=0.0, beta2=0.999, eps=1e-8, warmup=0,
          decay_all=True):
    batches = make_batches(seed)
    torch.manual_seed(seed)
    model = GPT(qk_norm)
    matrices = [p for name, p in model.named_parameters()
                if p.dim() == 2 and name.startswith(("blocks", "head"))]
    decay = list(model.parameters()) if decay_all else matrices
    rest = [p for p in model.parameters() if not any(p is d for d in decay)]
    optimizer = torch.optim.AdamW(
        [{"params": decay}, {"params": rest, "weight_decay": 0.0}],
        lr=LR, betas=(0.9, beta2), eps=eps, weight_decay=0.1, fused=True)
    first_mlp = model.blocks[0].mlp[0].weight
    run = {"norm": [], "loss": [], "logit": [], "log_z": [], "grad_rms": []}
    for t in range(STEPS):
        ramp = min(1.0, (t + 1) / warmup) if warmup else 1.0
        for group in optimizer.param_groups:
            group["lr"] = LR * ramp * 0.5 * (1 + math.cos(math.pi * t / STEPS))
        logits = model(batches[t, :, :-1])
        targets = batches[t, :, 1:].flatten()
        loss = F.cross_entropy(logits.flatten(0, 1), targets)
        log_z = logits.logsumexp(-1)
        optimizer.zero_grad()
        (loss + z_loss * log_z.pow(2).mean() if z_loss else loss).backward()
        # clip_grad_norm_ returns the norm before clipping
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        logit = max(block.max_logit for block in model.blocks)
        rms = first_mlp.grad.pow(2).mean().sqrt()
        for key, value in zip(run, (norm, loss, logit, log_z.mean(), rms)):
            run[key].append(value.item())
        optimizer.step()
    return run


runs = {(arm, seed): train(seed, **options)
        for arm, options in ARMS.items() for seed in SEEDS}
print(f"{len(runs)} runs of {STEPS} steps")

# %% [markdown]
# ## How often the clip fires, and how often the norm spikes
#
# The clip *fires* on a step whose norm before clipping is above 1.0. A
# step *spikes* when its norm is more than twice the median norm of the 20
# steps before it (counted from step 20 on): a jump relative to what the
# run was doing just before, whether or not the clip catches it. For each
# arm, over the three seeds: the share of the 150 steps on which the clip
# fired, the spikes of each seed, the largest norm, the largest attention
# logit, and the final loss (the mean cross-entropy of the last 10 fresh
# batches; predicting all 64 tokens alike gives ln 64 ≈ 4.16).


# %%
def fires(run, steps=slice(None)):
    return sum(n > MAX_NORM for n in run["norm"][steps])


def spikes(norms, k=2.0, window=20):
    return sum(n > k * median(norms[t - window:t])
               for t, n in enumerate(norms) if t >= window)


def final_loss(run):
    return sum(run["loss"][-10:]) / 10


def span(values, fmt):
    return f"{min(values):{fmt}}-{max(values):{fmt}}"


print(f"{'':20}{'fires (%)':>10}{'spikes':>9}{'max norm':>10}"
      f"{'max logit':>13}{'final loss':>12}")
for arm in ARMS:
    seeds = [runs[arm, s] for s in SEEDS]
    print(f"{arm:<20}"
          f"{span([100 * fires(r) / STEPS for r in seeds], '.0f'):>10}"
          f"{','.join(str(spikes(r['norm'])) for r in seeds):>9}"
          f"{span([max(r['norm']) for r in seeds], '.1f'):>10}"
          f"{span([max(r['logit']) for r in seeds], '.0f'):>13}"
          f"{span([final_loss(r) for r in seeds], '.2f'):>12}")

# %% tags=["hide"]
WITH_WARMUP = ("warm-up", "all together")
cold = [runs[a, s] for a in ARMS if a not in WITH_WARMUP for s in SEEDS]
warm = [runs[a, s] for a in WITH_WARMUP for s in SEEDS]
assert all(fires(r) <= STEPS / 12 for r in warm)
assert all(max(r["norm"]) < 2.5 for r in warm)
assert all(max(r["norm"]) > 2.0 for r in cold)
assert all(final_loss(r) < 1.65 for r in warm)
assert all(final_loss(r) > 1.8 for r in cold)
assert all(spikes(r["norm"]) < 15 for r in runs.values())
for seed in SEEDS:
    assert final_loss(runs["QK-norm", seed]) < final_loss(runs["baseline", seed])
    for arm in ARMS:  # QK-norm ends closest among the runs without warm-up
        if arm not in (*WITH_WARMUP, "QK-norm"):
            assert final_loss(runs["QK-norm", seed]) < final_loss(runs[arm, seed])
    for arm in WITH_WARMUP:
        assert final_loss(runs[arm, seed]) < final_loss(runs["QK-norm", seed]) - 0.3

# %% [markdown]
# Warm-up is the measure that quiets the clip: with it, alone or with the
# rest, the clip fires on at most 1 step in 12 and the largest norm stays
# below 2.5, while every run without it passes 2. The same runs end with
# the lowest loss, below 1.65; every run without warm-up ends above 1.8,
# QK-norm's closest (below the baseline on every seed, but at least 0.3
# above the runs with warm-up). The spike counts are small everywhere,
# fewer than 15 in a run, and too noisy from seed to seed to rank the
# arms.
#
# ## Where the clip fires
#
# The number of steps on which the clip fires, per seed, before step 40
# (the end of the warm-up) and from step 40 on; the loss at the first step
# and the highest loss of the first 40 steps:

# %%
print(f"{'':20}{'fires 0-39':>12}{'fires 40-149':>14}{'first loss':>12}"
      f"{'top loss 0-39':>15}")
for arm in ARMS:
    seeds = [runs[arm, s] for s in SEEDS]
    print(f"{arm:<20}"
          f"{','.join(str(fires(r, slice(0, 40))) for r in seeds):>12}"
          f"{','.join(str(fires(r, slice(40, None))) for r in seeds):>14}"
          f"{span([r['loss'][0] for r in seeds], '.2f'):>12}"
          f"{span([max(r['loss'][:40]) for r in seeds], '.1f'):>15}")

# %% tags=["hide"]
assert all(fires(r, slice(0, 40)) >= 12 for r in cold)
assert all(fires(r, slice(40, None)) <= 6 for r in runs.values())
assert all(r["norm"][1] > MAX_NORM for r in cold)
assert all(max(r["loss"][:40]) > 5.5 for r in cold)
assert all(max(r["loss"][:40]) < 4.5 for r in warm)
assert all(4.2 < r["loss"][0] < 4.45 for r in runs.values())
assert all(t < 70 for r in warm for t, n in enumerate(r["norm"]) if n > MAX_NORM)

# %% [markdown]
# Without warm-up the first update, at the full learning rate of 0.3,
# throws the model off: at the second step the norm is already above 1.0,
# the loss climbs from about 4.3 (the model has learnt nothing yet) to
# above 5.5, and the clip fires on at least 12 of the first 40 steps. From
# step 40 on it fires on at most 6 steps in any run, whatever the measure.
# QK-norm, z-loss, β₂ = 0.95, ε and the decay settings leave this early
# blow-up as it is; warm-up removes it (the loss stays below 4.5 in the
# first 40 steps), and its few fires come while the learning rate climbs to
# its peak or soon after, all before step 70.
#
# ## What QK-norm and warm-up do to the attention
#
# Seed 0: the gradient norm before the clip, and the largest attention
# logit, step by step, for the baseline, QK-norm, warm-up and all six
# together.

# %% alt="Seed 0: gradient norm and largest attention logit against step (log scales) for four of the arms"
fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                  layout="constrained")
for arm, colour in COLOURS.items():
    top.plot(runs[arm, 0]["norm"], color=colour, lw=1.2, label=arm)
    bottom.plot(runs[arm, 0]["logit"], color=colour, lw=1.2)
top.axhline(MAX_NORM, color=GREY, ls="--", lw=1)
for ax in (top, bottom):
    ax.axvline(WARMUP, color=GREY, ls=":", lw=1)
top.set(yscale="log", ylabel="gradient norm before the clip",
        title="seed 0: clip at 1.0 (dashed), end of the warm-up (dotted)")
bottom.set(yscale="log", xlabel="step", ylabel="largest attention logit")
top.legend(loc="upper right", ncols=2)
plt.show()

# %%
print(f"{'':20}{'largest attention logit, per seed':>36}")
print(f"{'':20}{'steps 0-39':>18}{'whole run':>18}")
for arm in ARMS:
    seeds = [runs[arm, s]["logit"] for s in SEEDS]
    print(f"{arm:<20}{','.join(f'{max(r[:40]):.0f}' for r in seeds):>18}"
          f"{','.join(f'{max(r):.0f}' for r in seeds):>18}")

# %% tags=["hide"]
bounded = ("QK-norm", "warm-up", "all together")
assert all(max(runs[a, s]["logit"]) < 50
           for a in ("QK-norm", "all together") for s in SEEDS)
assert all(max(runs["warm-up", s]["logit"]) < 200 for s in SEEDS)
assert all(max(runs[a, s]["logit"][:40]) > 500
           for a in ARMS if a not in bounded for s in SEEDS)
for seed in SEEDS:
    assert max(runs["baseline", seed]["logit"]) > 1000
    assert final_loss(runs["baseline", seed]) > 3.0


def mean_logit(arm):
    return sum(max(runs[arm, s]["logit"]) for s in SEEDS) / len(SEEDS)


assert mean_logit("no decay emb./norms") > 1.5 * mean_logit("baseline")

# %% [markdown]
# In the baseline the attention logits pass 500 within the first 40 steps
# and go on past 1,000: the growth that Wortsman et al. describe, which
# ends with attention weights collapsing to one-hot vectors (§3.1.1). The
# loss stalls above 3. The gradient norm does not show it: after step 40 it
# passes 1.0 on at most 6 steps in any run, so the clip has almost nothing
# to do while the run is failing. This is a failure of the kind Wortsman et
# al. study, a loss that stops improving rather than a spike that comes and
# goes; they leave fast loss spikes aside (§1, §4).
#
# QK-norm keeps the largest logit below 50 in every run, as in Wortsman et
# al.'s small models (§3.1.1). Warm-up alone keeps it below 200, far from
# the thousands of the baseline: here the growth starts in the first steps
# at the full learning rate. β₂ = 0.95, z-loss
# and ε leave the logits to pass 500 within 40 steps, and taking the
# embeddings and norm gains out of the weight decay lets them grow further
# (on average to more than 1.5 times the baseline's).
#
# ## Why z-loss and a smaller ε change nothing here
#
# For each arm, over its three runs: the lowest value that the batch mean
# of log *Z* took at any step, the largest share of the loss that the
# z-loss term (10⁻⁴ · log²*Z*) has, or would have, at the last step, and
# the smallest root mean square of the gradient of the first MLP layer
# (block 0, the layer Wortsman et al. plot in their Figure 11):

# %%
print(f"{'':20}{'log Z, lowest':>15}{'z-term/loss':>13}{'lowest RMS':>12}")
for arm in ARMS:
    seeds = [runs[arm, s] for s in SEEDS]
    share = max(1e-4 * r["log_z"][-1] ** 2 / r["loss"][-1] for r in seeds)
    print(f"{arm:<20}{min(min(r['log_z']) for r in seeds):>15.1f}"
          f"{share:>13.4f}{min(min(r['grad_rms']) for r in seeds):>12.0e}")

# %% tags=["hide"]
assert all(min(r["log_z"]) > 2.0 for r in runs.values())
assert all(1e-4 * r["log_z"][-1] ** 2 / r["loss"][-1] < 0.01 for r in runs.values())
assert all(min(r["grad_rms"]) > 1e-7 for r in runs.values())
assert all(min(r["grad_rms"]) < 1e-4 for r in cold)
assert all(min(r["grad_rms"]) > 3e-4 for r in warm)
for arm in ("z-loss", "eps 1e-15"):
    assert all(max(runs[arm, s]["logit"]) > 500 and final_loss(runs[arm, s]) > 3.0
               and fires(runs[arm, s]) > 0.08 * STEPS for s in SEEDS)

# %% [markdown]
# z-loss guards against output logits that drift very negative, an
# instability that Wortsman et al. saw late in training and in models
# without weight decay (§3.1.2). These runs are short and decayed: log *Z*
# stays above 2 in every run, and at the last step the z-loss term is less
# than 1 % of the loss, too small to steer anything. With z-loss, as without, the attention
# logits pass 500, the loss ends above 3 and the clip fires on more than
# 1 step in 12.
#
# The same holds for ε = 10⁻¹⁵. ε matters once the gradient's root mean
# square comes near it; in every run here the first MLP layer's stays above
# 10⁻⁷, at least ten times the default ε. In every run without warm-up it
# does fall below 10⁻⁴ at some step, while with warm-up it stays above
# 3·10⁻⁴: the failing runs starve that layer of gradient, the direction
# Wortsman et al. warn about (Figure 11), but still far from where ε would
# bite.
#
# ## What a two-layer model on a CPU can and cannot tell you
#
# It can show mechanisms that do not need scale. Wortsman et al. showed
# that the attention-logit growth of large runs, and QK-norm's fix,
# reproduce in small models at high learning rates (§3.1), and the runs
# above agree: the logits blow up at a learning rate of 0.3, and QK-norm or
# a warm-up holds them down. It also shows what a clip can and cannot
# see: it catches the burst of large gradients in the first steps, but not
# a run whose attention has collapsed and whose gradients have gone quiet.
#
# It cannot show the rest, and the rest is where the large runs had their
# trouble:
#
# - Scale. In Wortsman et al., without QK-norm, the learning rate at which
#   models diverge falls as models grow (§3.1.1), and the ε problem shows
#   most in their largest models at high learning rates, once the gradients
#   have shrunk with size; they demonstrate it on a 4.8B model (§3.4).
#   OLMo 2 saw spikes become more frequent as it made models larger (§3).
#   A model of about 30,000 parameters shows none of this.
# - Length. 150 steps against hundreds of thousands: output-logit
#   divergence comes late in training (Wortsman et al. §3.1.2), and so does
#   the slow growth of the gradient norm that OLMo 2 saw alongside its
#   spikes (§3). The fast spikes that a stale second moment causes in long
#   runs, which β₂ = 0.95 is meant for, come from the optimizer's dynamics
#   over many steps (Wortsman et al. §4); a run this short says little
#   about them.
# - Data. Synthetic walks have none of the long repeated n-grams that
#   OLMo 2 linked to many of its spikes (§3.1).
# - Precision. These runs are in float32; the large ones train in
#   bfloat16 (Wortsman et al. §2.1), and OLMo 2 saw two implementations of
#   z-loss, equal in the forward pass, drift apart through their backward
#   pass, which it suspects comes down to precision (§3.3.3).
# - Combinations. Each measure was tried alone, at one learning rate. OLMo
#   2 found QK-norm and norms on the sublayer outputs of little use one at a
#   time and helpful together (§3.3.2); which pairs matter here would need
#   more arms.
#
# So read the tables as what happens in this model, not as a ranking of
# the measures for a billion-parameter run. OLMo 2's report lists QK-norm,
# z-loss, no weight decay on embeddings and ε = 10⁻⁸ among its fixes (§3);
# its recipe warms up over 2000 steps and keeps the clip at 1.0 (Table 3),
# and its 32B script sets β₂ = 0.95.
