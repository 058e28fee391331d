"""Tests of the streamed (blockwise) surrogates, search, true values and memory checks."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import errbounds as eb
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spherecodes import losses, measures
from spherecodes.solvers import SolveConfig, planning, search, solve, solve_grid, stream
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


def _surrogate_bounds(objective, K, d, t, tau, lam, wh=1.0):
    """Return (value, gradient entry) error bounds of one evaluation of search.surrogate.

    Min-max objectives: t logsumexp over at most 2 K^2 pieces |f| <= 2 (eb.smooth_max); the
    gradient's softmax weights see the pieces' error over t plus the log-sum-exp's rounding
    (eb.smooth_max_grad).  ce: tau log sum CE (eb.cross_entropy_asymptotic), whose gradient
    has two nested softmax levels (over samples, then over classes), each |grad| <= 2 wh.
    wd: mean CE plus lam/2 sums of squares (eb.cross_entropy, eb.dot), and its gradient.
    """
    n = 2 * K * K
    if objective in ("tammes", "grassmannian", "softmax", "hardmax"):
        value = eb.smooth_max(n, d, t)
        grad = eb.smooth_max_grad(n, eb.dot(d + 1, 2.0) / t + eb.logsumexp(n, 2.0 / t))
        return value, grad
    M = 2 * wh * wh / tau
    inner = (d + 2) * eb.EPS * M + eb.logsumexp(K, M)
    if objective == "ce":
        outer = inner + 4 * eb.EPS + eb.logsumexp(K, M + math.log(K))
        grad = eb.smooth_max_grad(K, outer, 2 * wh) + eb.smooth_max_grad(K, inner, 2 * wh)
        return eb.cross_entropy_asymptotic(K, 1, d, tau, wh), grad
    value = eb.cross_entropy(K, 1, d, tau, wh) + lam * eb.dot(2 * K * d, 2 * K * wh * wh)
    return value, eb.cross_entropy_grad(K, 1, d, tau, wh) + lam * eb.formula(1, wh)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_streamed_value_and_grad_equal_dense(objective):
    # Block sizes dividing K = 15 and not, and one block larger than K; a temperature where
    # many pieces count and one where the largest dominates.
    K, d, tau, lam = 15, 4, 0.1, 5e-3
    W, H = _point(objective, K, d)
    for t, block in ((0.05, 5), (0.05, 4), (1e-4, 7), (1e-4, 32)):  # 5 divides K, 4 and 7 not
        v, (gw, gh) = _dense(objective, W, H, t, tau, lam)
        vs, (gws, ghs) = stream.stream_value_and_grad(objective, W, H, t, tau, lam, block=block)
        # streamed and dense: two evaluations, each within _surrogate_bounds (wd: |w| <= 1.3)
        vb, gb = _surrogate_bounds(objective, K, d, t, tau, lam, wh=1.3 if objective == "wd" else 1)
        assert abs(float(vs - v)) <= 2 * vb, (objective, block)
        np.testing.assert_allclose(gws, gw, rtol=0, atol=2 * gb)
        np.testing.assert_allclose(ghs, gh, rtol=0, atol=2 * gb)


def test_ce_streamed_at_tiny_cross_entropy():
    # At the simplex ETF with h = w and tau = 0.01 every CE is ~exp(-150): the log-softplus
    # branch for tiny CE must agree with the dense loss too.
    K = 6
    W = jnp.eye(K) - 1.0 / K
    W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    v, (gw, gh) = _dense("ce", W, W, None, 0.01, 0.0)
    vs, (gws, ghs) = stream.stream_value_and_grad("ce", W, W, None, 0.01, 0.0, block=4)
    vb, gb = _surrogate_bounds("ce", K, K, None, 0.01, 0.0)
    assert abs(float(vs - v)) <= 2 * vb
    np.testing.assert_allclose(gws, gw, rtol=0, atol=2 * gb)
    np.testing.assert_allclose(ghs, gh, rtol=0, atol=2 * gb)


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
        # max Gram entry / HardMax: the same pieces in another order (same_sum); ce: two mean
        # CEs; wd: two weight-decay losses at |w| <= 1.3
        bound = {
            "tammes": eb.same_sum(d),
            "grassmannian": eb.same_sum(d),
            "softmax": eb.same_sum(d + 1, 2.0),
            "hardmax": eb.same_sum(d + 1, 2.0),
            "ce": 2 * eb.cross_entropy(K, 1, d, tau),
            "wd": 2 * _surrogate_bounds("wd", K, d, None, tau, lam, wh=1.3)[0],
        }[objective]
        assert abs(got - float(exact)) <= bound


def test_streamed_search_finds_known_tammes_optima():
    # Octahedron (90 degrees) in R^3 and the regular heptagon (360/7 degrees) in R^2, through
    # the driver with blocks that do not divide K.
    cfg = SolveConfig(restarts=2, steps=500, polish=False)
    for (d, K), angle in (((3, 6), 90.0), ((2, 7), 360.0 / 7)):
        out = stream.search_stream("tammes", d, K, cfg, block=4)
        best = float(np.degrees(np.arccos(np.min(out.value))))
        assert abs(best - angle) <= 1e-3, (d, K, best)
        # rows of the float32 search (SolveConfig.search_dtype), so unit to float32 rounding
        eps32 = float(np.finfo(np.float32).eps)
        norms = np.linalg.norm(out.code, axis=-1)
        np.testing.assert_allclose(norms, 1.0, rtol=0, atol=eb.unit_norm(d, eps32))


def test_solve_forced_stream_softmax_simplex():
    # K = d + 1 softmax code: the simplex, HardMax -K/(K-1) = -4/3 at K = 4.
    cfg = SolveConfig(objective="softmax", restarts=2, steps=500)
    r = solve(3, 4, cfg, stream=True)
    assert abs(r.value + 4.0 / 3.0) <= 1e-6
    assert math.isnan(r.kkt_residual) and "streamed" in r.device
    assert r.restart_values.shape == (2,) and r.features.shape == (4, 3)


def test_dispatch_picks_stream_above_threshold(monkeypatch):
    cfg = SolveConfig(restarts=2, steps=300, polish=False)
    assert planning.choose_path("tammes", 3, 6, cfg) == "dense"
    monkeypatch.setattr(planning, "STREAM_THRESHOLD_BYTES", 1)
    assert planning.choose_path("tammes", 3, 6, cfg) == "stream"
    res = solve_grid([(3, 6), (2, 5)], cfg)
    assert all("streamed" in r.device for r in res)
    assert [(r.d, r.K) for r in res] == [(3, 6), (2, 5)]
    assert abs(np.degrees(np.arccos(res[1].value)) - 72.0) <= 1e-3
    # stream=False overrides the threshold.
    assert planning.choose_path("tammes", 3, 6, cfg, stream=False) == "dense"


def test_plan_streams_cells_whose_shared_bucket_is_too_big(monkeypatch):
    # Each cell alone fits (8 rows), but the 4 cells share one bucket of 32 rows that does not.
    cfg = SolveConfig(restarts=8, steps=10, polish=False)
    cells = [(3, K) for K in (9, 10, 11, 12)]  # one bucket, K_pad = 12
    one = planning.dense_memory("tammes", 3, 12, cfg)
    (bucket,) = planning.plan(cells, cfg, stream=False).dense
    assert planning.bucket_memory("tammes", bucket) > one
    monkeypatch.setattr(planning, "STREAM_THRESHOLD_BYTES", one)
    p = planning.plan(cells, cfg)
    assert p.streamed == cells and p.dense == []
    assert planning.plan(cells, cfg, stream=False).streamed == []


def test_memory_estimates_scale_and_refuse_absurd_requests():
    cfg = SolveConfig(restarts=8)
    K, d = 100_000, 512
    dense = planning.estimate_memory("tammes", d, K, cfg, path="dense")
    streamed = planning.estimate_memory("tammes", d, K, cfg, path="stream")
    assert dense >= 8 * K * K * 8  # rows x K^2 float64 at least
    assert streamed < 50 * K * d * 8 + 10 * stream.default_block(K) * K * 8  # linear in K
    assert planning.choose_path("tammes", d, K, cfg) == "stream"
    with pytest.raises(MemoryError) as err:
        planning.check_memory("tammes", 10_000, 10**9, cfg)
    need = planning.estimate_memory("tammes", 10_000, 10**9, cfg, path="stream")
    assert str(need) in str(err.value)
    assert str(planning.available_memory()[0]) in str(err.value)
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
            vb, gb = BOUNDS[obj]
            assert abs(float(v - vs)) <= 2 * vb, obj
            for a, b in zip(g, gs):
                assert float(jnp.max(jnp.abs(a - b))) <= 2 * gb, obj
        print("ok")
        """
    )
    # two evaluations (sharded and dense), each within _surrogate_bounds (K = 13, d = 3)
    bounds = {
        o: tuple(map(float, _surrogate_bounds(o, 13, 3, 0.05, 0.1, 0.0)))
        for o in ("tammes", "softmax", "ce")
    }
    code = f"BOUNDS = {bounds!r}\n" + code
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
