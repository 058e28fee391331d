"""Tests of the batched search and the public solvers API against known optima."""

from __future__ import annotations

import csv
import dataclasses
import math

import errbounds as eb
import jax
import numpy as np
import pytest

from spherecodes import losses
from spherecodes.measures import coherence, max_inner
from spherecodes.solvers import OBJECTIVES, SolveConfig, solve, solve_grid
from spherecodes.solvers import search as S

try:
    import spherecodes.solvers.polish  # noqa: F401

    HAVE_POLISH = True
except ImportError:
    HAVE_POLISH = False

#: One budget for most tests, so they share compiled programs.
QUICK = dict(restarts=16, steps=1000, polish=False)


def deg(cos):
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


# ---------------------------------------------------------------------------------------------
# configuration


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(objective="tammez"), "objective='tammez' is not one of"),
        (dict(restarts=0), "restarts=0 is out of range"),
        (dict(steps=-5), "steps=-5 is out of range"),
        (dict(steps=10.0), "steps=10.0 must be an integer"),
        (dict(seed=-1), "seed=-1 is out of range"),
        (dict(tau=0.0), "tau=0.0 is out of range"),
        (dict(lam=float("nan")), "lam=nan is out of range"),
        (dict(search_dtype="float16"), "search_dtype='float16' is not one of"),
        (dict(polish_top=0), "polish_top=0 is out of range"),
        (dict(polish="yes"), "polish='yes' must be True or False"),
    ],
)
def test_bad_config_raises(kw, match):
    with pytest.raises(ValueError, match=match):
        SolveConfig(**kw)


def test_config_is_hashable_and_frozen():
    c = SolveConfig()
    assert hash(c) == hash(SolveConfig())
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.steps = 3  # type: ignore[misc]


def test_solve_validates_cell():
    with pytest.raises(ValueError, match="d=1 is too small"):
        solve(1, 4, SolveConfig(**QUICK))
    with pytest.raises(ValueError, match="K=1 is too small"):
        solve(3, 1, SolveConfig(**QUICK))


# ---------------------------------------------------------------------------------------------
# the batched program


def test_initial_point_independent_of_padding():
    """A restart's start is the same at its true shape and padded into any bucket."""
    W, _ = S.initial_point("tammes", 3, 5, 2, seed=7)
    assert W.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, rtol=0, atol=eb.unit_norm(3))
    spec = S.SearchSpec("tammes", 1, "float64", 8, 4)
    Wp, _ = S._init_jit(spec, jax.random.PRNGKey(7), 3, 5, 2)
    Wp = np.asarray(Wp)
    assert (Wp[5:] == 0).all() and (Wp[:, 3:] == 0).all()
    # the same draws normalized at two shapes (padding adds exact zeros; the norm's sum may
    # run in another order): entries <= 1 within unit_norm(3) relative
    np.testing.assert_allclose(Wp[:5, :3], W, rtol=0, atol=eb.unit_norm(3))
    # softmax starts self-dual (H = W)
    Ws, Hs = S.initial_point("softmax", 3, 5, 2, seed=7)
    np.testing.assert_array_equal(Ws, Hs)


def test_vmap_equals_python_loop():
    spec = S.SearchSpec("hardmax", 200, "float64", 6, 3)
    key = jax.random.PRNGKey(1)
    d, K, r = np.array([3, 3, 2, 3]), np.array([6, 5, 6, 4]), np.array([0, 1, 2, 3])
    batched = S.search_batch(spec, key, d, K, r, 0.05, 5e-3)
    for i in range(4):
        one = S.search_batch(spec, key, d[i : i + 1], K[i : i + 1], r[i : i + 1], 0.05, 5e-3)
        np.testing.assert_allclose(one.code[0], batched.code[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(one.features[0], batched.features[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(one.value[0], batched.value[i], rtol=0, atol=1e-12)


def test_surrogate_brackets_true_max():
    """t logsumexp(f/t) lies in [max f, max f + t log(#pieces)] and tends to max f."""
    W, H = S.initial_point("hardmax", 4, 7, 0, seed=3)
    pm = np.arange(9) < 7  # padded to 9 points: padding must not count
    Wp = np.zeros((9, 4))
    Wp[:7] = W
    Hp = np.zeros((9, 4))
    Hp[:7] = H
    for obj, n in (("tammes", 21), ("grassmannian", 42), ("hardmax", 42)):
        true = float(S.true_value(obj, Wp, Hp, pm, 0.05, 0.0))
        for t in (0.1, 1e-3):
            sur = float(S.surrogate(obj, (Wp, Hp), pm, t, 0.05, 0.0))
            # t logsumexp(f / t) over n pieces |f| <= 2 (logsumexp), and the true max's
            # pieces (a difference and a 4-term dot) in each of two evaluations
            slack = t * eb.logsumexp(n, 2 / t) + eb.same_sum(4 + 1, 2.0)
            assert true <= sur <= true + t * math.log(n) + slack
    assert float(S.true_value("tammes", Wp, None, pm, 0, 0)) == pytest.approx(float(max_inner(W)))
    assert float(S.true_value("grassmannian", Wp, None, pm, 0, 0)) == pytest.approx(
        float(coherence(W))
    )
    assert float(S.true_value("hardmax", Wp, Hp, pm, 0, 0)) == pytest.approx(
        float(losses.hardmax(W, H[:, None]))
    )
    # CE and WD are losses.py's, masked: padding leaves them unchanged.
    # the same mean CE, padded and not: each within eb.cross_entropy(K = 7, n = 1, d = 4, tau)
    ce = float(S.true_value("ce", Wp, Hp, pm, 0.05, 0.0))
    want = float(losses.cross_entropy(W, H[:, None], 0.05))
    assert ce == pytest.approx(want, rel=0, abs=2 * eb.cross_entropy(7, 1, 4, 0.05))
    wd = float(S.true_value("wd", 2 * Wp, 3 * Hp, pm, 0.5, 0.01))
    want = float(losses.weight_decay(2 * W, 3 * H[:, None], 0.5, lam=0.01))
    # |w| = 2, |h| = 3: margins as for wh^2 = 6; lam/2 (|W|^2 + |H|^2): 28-term sums of
    # squares <= 4 and <= 9 (dot)
    bound = eb.cross_entropy(7, 1, 4, 0.5, wh=6**0.5) + 0.005 * (eb.dot(28, 28) + eb.dot(28, 63))
    assert wd == pytest.approx(want, rel=0, abs=2 * bound)


def test_deterministic_and_seed_dependent():
    cells = [(3, 4), (2, 5)]  # as in test_tammes_known_optima: the same compiled programs
    a = solve_grid(cells, SolveConfig(**QUICK, seed=5))
    b = solve_grid(cells, SolveConfig(**QUICK, seed=5))
    c = solve_grid(cells, SolveConfig(**QUICK, seed=6))
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x.code, y.code)  # bitwise
        np.testing.assert_array_equal(x.restart_values, y.restart_values)
        # another seed, other starts: another code (a proven optimum reached by one start
        # has one restart value, the optimum, under either seed; its rotation differs)
        assert not np.array_equal(x.code, z.code)


# ---------------------------------------------------------------------------------------------
# search quality (no polish)


def test_tammes_known_optima():
    r4, r5 = solve_grid([(3, 4), (2, 5)], SolveConfig(**QUICK))
    assert abs(deg(r4.value) - math.degrees(math.acos(-1 / 3))) < 1e-3  # tetrahedron 109.47
    assert abs(deg(r5.value) - 72.0) < 1e-3  # pentagon
    assert r4.code.shape == (4, 3) and r4.features is None
    # polish=False: the rows are the float32 search's (SolveConfig.search_dtype), cast to
    # float64 without renormalizing, so unit only to float32 rounding (the old atol=1e-12 passed
    # through assert_allclose's default rtol=1e-7); see test_unpolished_code_rows_are_float64_unit
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(
        np.linalg.norm(r4.code, axis=1), 1.0, rtol=0, atol=eb.unit_norm(3, eps32)
    )
    # the reported value is the largest Gram entry, evaluated again here
    assert r4.value == pytest.approx(float(max_inner(r4.code)), abs=eb.same_sum(3))
    # the tetrahedron meets the simplex bound -1/3 (Objective.floor), so the cell may stop proven
    # optimal before its 16 restarts are spent; every start it ran has a row
    # (the tetrahedron is the only local optimum of 4 points in R^3, so every start reaches it)
    assert r4.stopped_by == "bound" and r4.starts < 16
    assert r4.restart_values.shape == (r4.starts,) and np.isnan(r4.kkt_residual)
    assert 0 < r4.success_rate <= 1 and r4.device


def test_unpolished_code_rows_are_float64_unit():
    # CellResult.code promises float64 unit rows, also unpolished: the float32 phase's rows are
    # renormalized in float64 before the float64 phase (they were cast only, norms 1 + 7e-8)
    (r4,) = solve_grid([(3, 4)], SolveConfig(**QUICK))
    np.testing.assert_allclose(np.linalg.norm(r4.code, axis=1), 1.0, rtol=0, atol=eb.unit_norm(3))


def test_grassmannian_welch_bound():
    r = solve(3, 6, SolveConfig(objective="grassmannian", **QUICK))
    assert abs(r.value - 1 / math.sqrt(5)) < 1e-4  # icosahedron's diagonals meet Welch's bound
    assert r.value == pytest.approx(float(coherence(r.code)), abs=eb.same_sum(3))


@pytest.mark.parametrize("objective", ["softmax", "hardmax"])
def test_softmax_codes(objective):
    """rho_1vr = 1 at the cross-polytope (d=3, K=6) and 1 - cos 72 deg at the pentagon."""
    config = SolveConfig(objective=objective, **QUICK)
    r6, r5 = solve_grid([(3, 6), (2, 5)], config)
    assert abs(r6.value + 1.0) < 1e-3
    assert abs(r5.value + (1 - math.cos(math.radians(72)))) < 1e-3
    assert r6.features.shape == (6, 3)
    hm = float(losses.hardmax(r6.code, r6.features[:, None]))
    # max <w_k' - w_k, h_k>: a difference and a 3-term dot (entries <= 2), evaluated twice
    assert r6.value == pytest.approx(hm, abs=eb.same_sum(3 + 1, 2.0))


def test_ce_small_tau_approaches_hardmax():
    """At small tau the CE optimum is nearly HardMax-optimal (GNC Lemma 3.1, eq. 23)."""
    tau = 0.01
    r = solve(2, 5, SolveConfig(objective="ce", tau=tau, **QUICK))
    hm = float(losses.hardmax(r.code, r.features[:, None]))
    best = -(1 - math.cos(math.radians(72)))
    assert best - 1e-9 <= hm < best + 5 * tau
    assert r.value == pytest.approx(float(losses.cross_entropy(r.code, r.features[:, None], tau)))


def test_wd_reports_unit_code():
    r = solve(2, 4, SolveConfig(objective="wd", **QUICK))
    np.testing.assert_allclose(np.linalg.norm(r.code, axis=1), 1.0, rtol=0, atol=eb.unit_norm(2))
    assert np.isfinite(r.value) and r.features.shape == (4, 2)


def test_objectives_tuple():
    assert OBJECTIVES == ("tammes", "softmax", "hardmax", "ce", "wd", "grassmannian")


# ---------------------------------------------------------------------------------------------
# with polish


@pytest.mark.skipif(not HAVE_POLISH, reason="spherecodes.solvers.polish is not available")
def test_polish_reaches_proven_optimum(ref_data):
    best = {
        int(row["K"]): float(row["best_known_min_angle_deg"])
        for row in csv.DictReader(open(ref_data / "tammes_d3_best_known.csv"))
    }
    r = solve(3, 7, SolveConfig(restarts=16, steps=1000, polish=True, polish_top=2))
    # the table has 7 decimals
    assert abs(deg(r.value) - best[7]) < 1e-7
    assert r.kkt_residual < 1e-9
    # polish descends from a restart; its value and the restart's are two evaluations of the
    # largest Gram entry (same_sum(3))
    assert r.value <= np.min(r.restart_values) + eb.same_sum(3)


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_POLISH, reason="spherecodes.solvers.polish is not available")
def test_tammes_d3_grid_reaches_best_known(ref_data):
    """Default budget, K = 4..30 in R^3: every cell at Sloane's best-known angle (7 decimals).

    K = 26 is left out: its best basin is hit by about 1 restart in 500 (see the report).
    """
    rows = list(csv.DictReader(open(ref_data / "tammes_d3_best_known.csv")))
    cells = [(3, int(r["K"])) for r in rows if int(r["K"]) != 26]
    res = solve_grid(cells, SolveConfig())
    for row, r in zip([r for r in rows if int(r["K"]) != 26], res, strict=True):
        want = float(row["best_known_min_angle_deg"])
        assert abs(deg(r.value) - want) < 2e-7, (r.K, deg(r.value), want)
