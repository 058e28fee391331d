"""Tests of the streamed (blockwise) surrogates, search, true values and memory checks."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spherecodes  # noqa: F401  (x64)
from spherecodes import losses, measures
from spherecodes.solvers import SolveConfig, search, solve, solve_grid, stream
from spherecodes.sphere import random_code

OBJECTIVES = ("tammes", "grassmannian", "softmax", "hardmax", "ce", "wd")


def _point(objective, K, d, seed=0):
    key = jax.random.PRNGKey(seed)
    W = random_code(jax.random.fold_in(key, 0), K, d)
    H = random_code(jax.random.fold_in(key, 1), K, d)
    if objective == "wd":  # unconstrained: rows off the sphere
        W, H = 1.3 * W, 0.7 * H
    return W, H


def _dense(objective, W, H, t, tau, lam):
    pm = jnp.ones(W.shape[0], bool)

    def f(W, H):
        h = H if objective in search.WITH_FEATURES else None
        return search.surrogate(objective, (W, h), pm, t, tau, lam)

    return jax.value_and_grad(f, argnums=(0, 1))(W, H)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_streamed_value_and_grad_equal_dense(objective):
    # Block sizes dividing K = 15 and not, and one block larger than K; a temperature where
    # many pieces count and one where the largest dominates.
    K, d, tau, lam = 15, 4, 0.1, 5e-3
    W, H = _point(objective, K, d)
    for t, block in ((0.05, 5), (0.05, 4), (1e-4, 7), (1e-4, 32)):  # 5 divides K, 4 and 7 not
        v, (gw, gh) = _dense(objective, W, H, t, tau, lam)
        vs, (gws, ghs) = stream.stream_value_and_grad(objective, W, H, t, tau, lam, block=block)
        scale = max(1.0, abs(float(v)))
        assert abs(float(vs - v)) <= 1e-12 * scale, (objective, block)
        gscale = max(1.0, float(jnp.max(jnp.abs(gw))), float(jnp.max(jnp.abs(gh))))
        np.testing.assert_allclose(gws, gw, rtol=0, atol=1e-12 * gscale)
        np.testing.assert_allclose(ghs, gh, rtol=0, atol=1e-12 * gscale)


def test_ce_streamed_at_tiny_cross_entropy():
    # At the simplex ETF with h = w and tau = 0.01 every CE is ~exp(-150): the log-softplus
    # branch for tiny CE must agree with the dense loss too.
    K = 6
    W = jnp.eye(K) - 1.0 / K
    W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    v, (gw, gh) = _dense("ce", W, W, None, 0.01, 0.0)
    vs, (gws, ghs) = stream.stream_value_and_grad("ce", W, W, None, 0.01, 0.0, block=4)
    assert abs(float(vs - v)) <= 1e-12 * abs(float(v))
    np.testing.assert_allclose(gws, gw, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ghs, gh, rtol=0, atol=1e-12)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_stream_true_value_equals_exact(objective):
    K, d, tau, lam = 11, 3, 0.2, 1e-2
    W, H = _point(objective, K, d, seed=3)
    exact = {
        "tammes": lambda: measures.max_inner(W),
        "grassmannian": lambda: measures.coherence(W),
        "softmax": lambda: losses.hardmax(W, H[:, None, :]),
        "hardmax": lambda: losses.hardmax(W, H[:, None, :]),
        "ce": lambda: losses.cross_entropy(W, H[:, None, :], tau),
        "wd": lambda: losses.weight_decay(W, H[:, None, :], tau, lam=lam),
    }[objective]()
    for block in (2, 5, 11):
        got = stream.stream_true_value(objective, W, H, tau=tau, lam=lam, block=block)
        assert abs(got - float(exact)) <= 1e-13 * max(1.0, abs(float(exact)))


def test_streamed_search_finds_known_tammes_optima():
    # Octahedron (90 degrees) in R^3 and the regular heptagon (360/7 degrees) in R^2, through
    # the driver with blocks that do not divide K.
    cfg = SolveConfig(restarts=2, steps=500, polish=False)
    for (d, K), angle in (((3, 6), 90.0), ((2, 7), 360.0 / 7)):
        out = stream.search_stream("tammes", d, K, cfg, block=4)
        best = float(np.degrees(np.arccos(np.min(out.value))))
        assert abs(best - angle) <= 1e-3, (d, K, best)
        np.testing.assert_allclose(np.linalg.norm(out.code, axis=-1), 1.0, atol=1e-12)


def test_solve_forced_stream_softmax_simplex():
    # K = d + 1 softmax code: the simplex, HardMax -K/(K-1) = -4/3 at K = 4.
    cfg = SolveConfig(objective="softmax", restarts=2, steps=500)
    r = solve(3, 4, cfg, stream=True)
    assert abs(r.value + 4.0 / 3.0) <= 1e-6
    assert math.isnan(r.kkt_residual) and "streamed" in r.device
    assert r.restart_values.shape == (2,) and r.features.shape == (4, 3)


def test_dispatch_picks_stream_above_threshold(monkeypatch):
    cfg = SolveConfig(restarts=2, steps=300, polish=False)
    assert stream.choose_path("tammes", 3, 6, cfg) == "dense"
    monkeypatch.setattr(stream, "STREAM_THRESHOLD_BYTES", 1)
    assert stream.choose_path("tammes", 3, 6, cfg) == "stream"
    res = solve_grid([(3, 6), (2, 5)], cfg)
    assert all("streamed" in r.device for r in res)
    assert [(r.d, r.K) for r in res] == [(3, 6), (2, 5)]
    assert abs(np.degrees(np.arccos(res[1].value)) - 72.0) <= 1e-3
    # stream=False overrides the threshold.
    assert stream.choose_path("tammes", 3, 6, cfg, stream=False) == "dense"


def test_plan_streams_cells_whose_shared_bucket_is_too_big(monkeypatch):
    # Each cell alone fits (8 rows), but the 4 cells share one bucket of 32 rows that does not.
    cfg = SolveConfig(restarts=8, steps=10, polish=False)
    cells = [(3, K) for K in (9, 10, 11, 12)]  # one bucket, K_pad = 12
    one = stream.dense_memory("tammes", 3, 12, cfg)
    (bucket,) = stream.plan(cells, cfg, stream=False).dense
    assert stream.bucket_memory("tammes", bucket) > one
    monkeypatch.setattr(stream, "STREAM_THRESHOLD_BYTES", one)
    p = stream.plan(cells, cfg)
    assert p.streamed == cells and p.dense == []
    assert stream.plan(cells, cfg, stream=False).streamed == []


def test_memory_estimates_scale_and_refuse_absurd_requests():
    cfg = SolveConfig(restarts=8)
    K, d = 100_000, 512
    dense = stream.estimate_memory("tammes", d, K, cfg, path="dense")
    streamed = stream.estimate_memory("tammes", d, K, cfg, path="stream")
    assert dense >= 8 * K * K * 8  # rows x K^2 float64 at least
    assert streamed < 50 * K * d * 8 + 10 * stream.default_block(K) * K * 8  # linear in K
    assert stream.choose_path("tammes", d, K, cfg) == "stream"
    with pytest.raises(MemoryError) as err:
        stream.check_memory("tammes", 10_000, 10**9, cfg)
    need = stream.estimate_memory("tammes", 10_000, 10**9, cfg, path="stream")
    assert str(need) in str(err.value)
    assert str(stream.available_memory()[0]) in str(err.value)
    with pytest.raises(MemoryError, match="needs an estimated"):
        solve(10_000, 10**9, cfg)


def test_streamed_step_has_no_k_by_k_temporary():
    # Compile (do not run) the streamed surrogate and a search program at K = 20000.
    K, d, block = 20_000, 8, 256
    W = jax.ShapeDtypeStruct((K, d), jnp.float32)
    for objective, H in (("tammes", None), ("softmax", W)):
        lowered = stream.stream_value_and_grad.lower(objective, W, H, 0.01, 0.05, 0.0, block=block)
        mem = lowered.compile().memory_analysis()
        if mem is None:  # pragma: no cover - backend without memory analysis
            pytest.skip("no compiled memory analysis on this backend")
        assert mem.temp_size_in_bytes < 0.05 * K * K * 4, (objective, mem.temp_size_in_bytes)
    params = (W, W)
    mem = stream.search_steps.lower("ce", params, 0.05, 0.0, steps=3, block=block)
    mem = mem.compile().memory_analysis()
    assert mem.temp_size_in_bytes < 0.05 * K * K * 4


def test_default_block_range():
    for K in (2, 7, 1000, 10**4, 10**5, 10**6):
        b = stream.default_block(K)
        assert stream.MIN_BLOCK <= b <= stream.MAX_BLOCK and b % 8 == 0
        assert b * K <= max(stream.BLOCK_ENTRIES, stream.MIN_BLOCK * K)
    with pytest.raises(ValueError, match="block=0"):
        stream.stream_true_value("tammes", np.eye(3), block=0)


@pytest.mark.slow
def test_sharded_over_two_devices_equals_dense():
    # Two CPU devices in a fresh process: the row blocks are split by shard_map.
    code = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np
        import spherecodes
        from spherecodes.solvers import search, stream
        from spherecodes.sphere import random_code
        assert len(jax.devices()) == 2
        K, d = 13, 3
        W = random_code(jax.random.PRNGKey(0), K, d)
        H = random_code(jax.random.PRNGKey(1), K, d)
        for obj in ("tammes", "softmax", "ce"):
            h = H if obj in search.WITH_FEATURES else None
            f = lambda W, H: search.surrogate(obj, (W, h if h is None else H),
                                              jnp.ones(K, bool), 0.05, 0.1, 0.0)
            v, g = jax.value_and_grad(f, argnums=(0, 1))(W, H)
            vs, gs = stream.stream_value_and_grad(obj, W, H, 0.05, 0.1, 0.0, block=3)
            assert abs(float(v - vs)) < 1e-12, obj
            for a, b in zip(g, gs):
                assert float(jnp.max(jnp.abs(a - b))) < 1e-12, obj
        print("ok")
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
