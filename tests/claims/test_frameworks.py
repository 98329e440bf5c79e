"""Claims of docs/guide/frameworks.md, over random float32 gradients and thresholds.

TensorFlow imported before torch's compiler stack crashes the process, so the sweeps run
in a child pytest (FRAMEWORK_CLAIMS_CHILD=1); the parent's one test reports its failures.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.support.claims import page_line, params_with, snippet_fixture, snippet_namespace
from tests.support.paths import ROOT

CHILD = "FRAMEWORK_CLAIMS_CHILD"

if os.environ.get(CHILD) != "1":

    def test_framework_sweeps_in_their_own_process():
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
            cwd=ROOT,
            env={**os.environ, CHILD: "1"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (
            "a sweep of docs/guide/frameworks.md failed (rerun it alone with "
            f"`{CHILD}=1 pytest {__file__}`):\n{done.stdout[-8000:]}{done.stderr[-2000:]}"
        )

else:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    PAGE = "guide/frameworks.md"

    sweep = snippet_fixture("guide/frameworks/at_and_below_the_threshold_bit_for_bit.md")
    tf_ns = snippet_fixture("guide/frameworks/tensorflow_threshold_nonfinite_and_clip_by_norm.md")

    def ulps(a, b) -> int:
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        return int(np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32)).max())

    def random_grads(rng, count, low=-4, high=5):
        """Float32 gradients of 1 to 64 entries, norms spread over 10**low .. 10**high."""
        out = []
        for _ in range(count):
            g = rng.standard_normal(rng.integers(1, 65)).astype(np.float32)
            target = 10.0 ** rng.uniform(low, high)
            out.append((g * np.float32(target / np.linalg.norm(g))).astype(np.float32))
        return out

    def keras_off(c) -> bool:  # Keras takes 1 / c of the Python float
        return np.float32(c) * np.float32(1.0 / c) != 1

    def tf_off(c) -> bool:  # TensorFlow takes 1 / c of the float32 threshold
        return np.float32(c) * (np.float32(1) / np.float32(c)) != 1

    def below_threshold(clip, c, rng, size, changes, where):
        """A gradient below `c` changes exactly when `changes`, and then by 1 or 2 ulp."""
        g = rng.standard_normal(size).astype(np.float32)
        g *= np.float32(c * rng.uniform(0.01, 0.9) / np.linalg.norm(g))
        out = clip(g, c)
        assert (not np.array_equal(out, g)) == changes, f"{where}: threshold {c}"
        assert not changes or 1 <= ulps(out, g) <= 2, f"{where}: {c}: {ulps(out, g)} ulp"

    def torch_norm(g) -> float:
        import torch

        return float(torch.nn.utils.get_total_norm([torch.tensor(g)]))

    def test_pytorch_at_the_threshold_by_norm_band(sweep):
        import torch

        where = page_line(PAGE, "shrinks every gradient whose norm is below 8")
        clip = sweep["pytorch_clip"]
        rng = np.random.default_rng(1)
        grads = random_grads(rng, 1500, low=-3, high=1) + random_grads(rng, 1000, low=0.9, high=6)
        low, mid, high = [], [], []
        for g in grads:
            n = torch_norm(g)
            out = clip(g, n)
            changed = not np.array_equal(out, g)
            if n < 8:
                low.append(changed)
            elif n < 32:
                mid.append(changed)
            else:
                # from 32 up, 1e-6 is lost in float32: the factor is n * (1 / n), at most 1
                n32 = torch.tensor(n, dtype=torch.float32)
                assert (n32 + 1e-6).item() == n, f"{where}: {n} + 1e-6 != {n} in float32"
                factor = torch.clamp(n32.reciprocal() * n, max=1.0).item()
                assert changed == (factor != 1.0), f"{where}: norm {n}: change not explained"
                if changed:
                    assert ulps(out, g) <= 1, f"{where}: norm {n} moved {ulps(out, g)} ulp"
                high.append(changed)
        assert len(low) > 500 and len(mid) > 100 and len(high) > 500
        assert all(low), f"{where}: a gradient of norm below 8 came back unchanged at the threshold"
        assert np.mean(mid) > 0.9, f"{where}: only {np.mean(mid):.0%} of norms 8-32 shrunk"
        assert 0 < np.mean(high) < 0.25, f"{where}: {np.mean(high):.0%} of norms >= 32 changed"

    def test_pytorch_below_the_threshold_with_the_margin_is_bit_for_bit(sweep):
        where = page_line(PAGE, "max_norm * (1 - 1e-6) - 1e-6")
        clip = sweep["pytorch_clip"]
        rng = np.random.default_rng(2)
        for g in random_grads(rng, 1500, low=-6, high=6):
            n = torch_norm(g)
            # the largest threshold the margin allows, and random ones above it
            c = (n + 1e-6) / (1 - 1e-6) * (1 + rng.uniform(0, 1) ** 6 * 3)
            assert np.array_equal(clip(g, c), g), f"{where}: norm {n}, max_norm {c} changed it"
        # the margin is needed: within 1e-6 below the threshold, PyTorch still scales
        shrunk = 0
        for g in random_grads(rng, 300, low=-2, high=0.5):
            n = torch_norm(g)
            shrunk += not np.array_equal(clip(g, n + 0.5e-6), g)
        assert shrunk > 250, f"{where}: the 1e-6 margin no longer matters ({shrunk} of 300)"

    def test_optax_below_is_bit_for_bit_and_at_the_threshold_most_move(sweep):
        import jax
        import jax.numpy as jnp
        import optax

        where = page_line(PAGE, "so below the threshold it is always bit for")
        size = 32

        @jax.jit
        @jax.vmap
        def clip(g, c):  # the same transform, batched over gradients and thresholds
            return optax.clip_by_global_norm(c).update([g], None)[0][0]

        rng = np.random.default_rng(3)
        grads = np.stack(
            [np.resize(g, size) for g in random_grads(rng, 4000, low=-4, high=5)]
        ).astype(np.float32)
        norms = np.asarray(jax.vmap(optax.tree.norm)(jnp.asarray(grads)), np.float32)
        above = np.nextafter(norms, np.float32(np.inf))  # the closest threshold above
        for c in (above, norms * np.float32(1.5), norms * np.float32(1e4)):
            out = np.asarray(clip(jnp.asarray(grads), jnp.asarray(c)))
            assert np.array_equal(out, grads), f"{where}: Optax changed a gradient below max_norm"
        out = np.asarray(clip(jnp.asarray(grads), jnp.asarray(norms)))
        moved = [ulps(o, g) for o, g in zip(out, grads) if not np.array_equal(o, g)]
        assert len(moved) > len(grads) / 2, f"{where}: 'most gradients' move: {len(moved)}"
        assert max(moved) <= 2, f"{where}: Optax moved an entry {max(moved)} ulp at the threshold"
        # the snippet's own (unbatched) clip agrees on its gradients
        for g, n in zip(sweep["grads"][:50], sweep["norms"][:50]):
            assert ulps(sweep["optax_clip"](g, n), g) <= 2, where

    def test_keras_factor_is_c_times_one_over_c(sweep):
        where = page_line(PAGE, "for most thresholds *c*, but not for all")
        clip = sweep["keras_clip"]
        rng = np.random.default_rng(4)
        thresholds = [round(0.01 * k, 2) for k in range(1, 161)]
        thresholds += [float(x) for x in 10.0 ** rng.uniform(-3, 3, 40)]
        for c in thresholds:
            below_threshold(clip, c, rng, 16, keras_off(c), where)
        off = sum(map(keras_off, thresholds))
        assert 0.05 < off / len(thresholds) < 0.5, f"{where}: {off} of {len(thresholds)} off"
        for g, n in zip(sweep["grads"][:150], sweep["norms"][:150]):  # at the threshold
            assert ulps(clip(g, n), g) <= 2, f"{where}: Keras moved more than 2 ulp at {n}"

    def test_tensorflow_factor_and_its_difference_from_keras(tf_ns, sweep):
        where = page_line(PAGE, "TensorFlow takes `1 / clip_norm` of the float32 threshold")
        clip = tf_ns["tf_clip"]
        rng = np.random.default_rng(5)
        thresholds = [round(0.01 * k, 2) for k in range(1, 201)]
        for c in thresholds:
            below_threshold(clip, c, rng, 8, tf_off(c), where)
        for g in tf_ns["grads"][:100]:
            n = np.sqrt(np.sum(g * g))
            assert ulps(clip(g, n), g) <= 2, f"{where}: TensorFlow moved more than 2 ulp at {n}"
        # at the threshold, the same gradients change in both
        same = page_line(PAGE, "TensorFlow changed the same 24 of 300 gradients as Keras")
        assert all(np.array_equal(a, b) for a, b in zip(tf_ns["grads"], sweep["grads"])), same
        keras_at = [
            not np.array_equal(sweep["keras_clip"](g, n), g)
            for g, n in zip(sweep["grads"], sweep["norms"])
        ]
        assert keras_at == tf_ns["at"], f"{same}: Keras and TensorFlow changed different gradients"
        differ = [c for c in thresholds if keras_off(c) != tf_off(c)]
        assert differ, f"{where}: Keras and TensorFlow now agree on every threshold"

    def test_every_pair_of_global_clips_is_allclose(sweep, tf_ns):
        import jax.numpy as jnp
        import optax
        import tensorflow as tf
        import torch
        from keras.src.optimizers.base_optimizer import clip_by_global_norm

        where = page_line(PAGE, "np.allclose(ported, reference, rtol=1e-6, atol=1e-6)")
        agree = page_line(PAGE, "they agree to the digits shown")
        rng = np.random.default_rng(6)
        shapes = [(16,), (16, 5), (3, 16, 5)]  # few shapes: JAX compiles once for each
        for trial in range(60):
            sizes = shapes[trial % 3]  # the sizes of one, two or three gradients
            grads = random_grads(rng, len(sizes), low=-4, high=4)
            grads = [np.resize(g, size).astype(np.float32) for g, size in zip(grads, sizes)]
            n = float(np.linalg.norm(np.concatenate(grads).astype(np.float64)))
            c = n * [1.0, 0.5, 2.0, 1e-3, 1 + 1e-7][trial % 5]
            params = params_with(grads)
            torch.nn.utils.clip_grad_norm_(params, c)
            jax_grads = [jnp.asarray(g) for g in grads]
            results = {
                "PyTorch": [p.grad for p in params],
                "Optax": optax.clip_by_global_norm(c).update(jax_grads, None)[0],
                "Keras": clip_by_global_norm(jax_grads, c),  # what global_clipnorm calls
                "TensorFlow": tf.clip_by_global_norm([tf.constant(g) for g in grads], c)[0],
            }
            results = {name: [np.asarray(o) for o in out] for name, out in results.items()}
            for a, b in itertools.combinations(results, 2):
                for x, y in zip(results[a], results[b]):
                    assert np.allclose(x, y, rtol=1e-6, atol=1e-6), (
                        f"{where} / {agree}: {a} and {b} differ (norm {n}, threshold {c})"
                    )
            if trial < 12 and len(grads) == 1:
                keras_sgd = sweep["keras_clip"](grads[0], c)
                assert np.array_equal(keras_sgd, results["Keras"][0]), where

    def test_nonfinite_entries(tf_ns):
        ns = snippet_namespace("guide/frameworks/nonfinite_entry_pytorch_optax_keras.md")
        where_inf = page_line(PAGE, "the factor is 0, so every finite")
        where_keras = page_line(PAGE, "nothing had happened")
        where_nan = page_line(PAGE, "clips give `nan` everywhere")
        where_tf = page_line(PAGE, "TensorFlow: one bad entry poisons every tensor")
        import tensorflow as tf

        rng = np.random.default_rng(7)
        for trial in range(15):
            grads = [
                rng.standard_normal(rng.integers(1, 6)).astype(np.float32) * 5 for _ in range(3)
            ]
            k = int(rng.integers(3))
            i = int(rng.integers(len(grads[k])))
            bad = [np.inf, -np.inf, np.nan][trial % 3]
            broken = [g.copy() for g in grads]
            broken[k][i] = bad
            tf_out = tf.clip_by_global_norm([tf.constant(g) for g in broken], 6.5)[0]
            outs = {"PyTorch": ns["torch_clip"](broken), "Optax": ns["optax_clip"](broken)}
            keras_global = ns["keras_clip"](broken, global_clipnorm=6.5)
            assert all(np.isnan(o).all() for o in keras_global), f"{where_inf}: Keras global"
            assert all(np.isnan(np.asarray(o)).all() for o in tf_out), f"{where_tf}: TensorFlow"
            if np.isnan(bad):
                for name, out in outs.items():
                    assert all(np.isnan(o).all() for o in out), f"{where_nan}: {name}"
            else:
                for name, out in outs.items():
                    for j, o in enumerate(out):
                        finite = np.isfinite(broken[j])
                        assert np.all(o[finite] == 0), f"{where_inf}: {name} finite entry not 0"
                        assert np.isnan(o[~finite]).all(), f"{where_inf}: {name} inf not nan"
                per_var = ns["keras_clip"](broken, clipnorm=6.5)
                clean = ns["keras_clip"](grads, clipnorm=6.5)
                for j, (o, ref) in enumerate(zip(per_var, clean)):
                    if j == k:
                        finite = np.isfinite(broken[j])
                        assert np.all(o[finite] == 0) and np.isnan(o[~finite]).all(), where_keras
                    else:
                        assert np.array_equal(o, ref), f"{where_keras}: another variable changed"

    def test_optax_per_entry_and_block_rms_match_pytorch():
        ns = snippet_namespace("guide/frameworks/optax_clip_and_clip_by_block_rms.md")
        where = page_line(PAGE, "norm of at most 3·√size")
        import optax
        import torch

        rng = np.random.default_rng(8)
        for _ in range(25):
            ns["grads"] = [
                (rng.standard_normal(size) * 10 ** rng.uniform(-1, 2)).astype(np.float32)
                for size in (1, 7, 40)
            ]
            by_rms = ns["run_optax"](optax.clip_by_block_rms(3.0))
            by_norm = ns["run_torch"](ns["rms_as_norm"])
            for a, b in zip(by_rms, by_norm):
                assert np.allclose(a, b, rtol=1e-5, atol=1e-6), f"{where}: block RMS != norm clip"
            per_entry = ns["run_optax"](optax.clip(2.0))
            by_value = ns["run_torch"](lambda ps: torch.nn.utils.clip_grad_value_(ps, 2.0))
            for a, b in zip(per_entry, by_value):
                assert np.array_equal(a, b), f"{where}: optax.clip != clip_grad_value_"

    def test_keras_clipnorm_is_per_variable_and_only_one_option():
        ns = snippet_namespace("guide/frameworks/keras_clipnorm_is_per_variable.md")
        where = page_line(PAGE, "only one of the three may")
        import keras

        rng = np.random.default_rng(9)
        for _ in range(12):
            ns["grads"] = [
                (rng.standard_normal(size) * rng.uniform(0.5, 5)).astype(np.float32)
                for size in (1, 4, 9)
            ]
            keras_out = ns["keras_update"](clipnorm=6.5)
            torch_out = ns["torch_grads"](ns["per_tensor"])
            for a, b in zip(keras_out, torch_out):
                assert np.allclose(a, b, rtol=1e-6, atol=1e-6), f"{where}: clipnorm != per tensor"
        options = {"clipnorm": 1.0, "clipvalue": 1.0, "global_clipnorm": 1.0}
        for left in options:
            two = {k: v for k, v in options.items() if k != left}
            with pytest.raises(ValueError):
                keras.optimizers.SGD(**two)

    def test_adam_update_length_does_not_follow_the_gradient():
        import jax
        import jax.numpy as jnp
        import optax

        where = page_line(PAGE, "length is about the learning rate times √(number of entries)")
        rng = np.random.default_rng(10)
        tx = optax.adam(0.1)
        update = jax.jit(tx.update)
        for trial in range(8):
            n = [2, 3000][trial % 2]
            steps = [rng.standard_normal(n).astype(np.float32) for _ in range(1 + trial % 4)]
            lengths = []
            for scale in (1e-3, 1.0, 1e3):
                params = {"w": jnp.zeros(n)}
                state = tx.init(params)
                for g in steps:
                    updates, state = update({"w": jnp.asarray(g * scale)}, state, params)
                lengths.append(float(jnp.linalg.norm(updates["w"])) / (0.1 * np.sqrt(n)))
            assert np.allclose(lengths, lengths[1], rtol=1e-3), f"{where}: {lengths}"
            assert 0.1 < lengths[1] < 3.2, f"{where}: length / (lr * sqrt(n)) = {lengths[1]}"

    def test_multisteps_clips_the_mean_once():
        import jax.numpy as jnp
        import optax

        where = page_line(PAGE, "So a clip inside the wrapped chain clips the accumulated")
        rng = np.random.default_rng(11)
        for trial in range(3):
            k, n = 2 + trial % 2, 3
            micro = [{"w": jnp.asarray(rng.standard_normal(n) * 3, jnp.float32)} for _ in range(k)]
            inner = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(1.0))
            tx = optax.MultiSteps(inner, every_k_schedule=k)
            params = {"w": jnp.zeros(n)}
            state = tx.init(params)
            for grads in micro:
                updates, state = tx.update(grads, state, params)
            mean = {"w": sum(m["w"] for m in micro) / k}
            expected = optax.clip_by_global_norm(1.0).update(mean, None)[0]["w"]
            assert np.allclose(-updates["w"], expected, rtol=1e-6, atol=1e-7), where
