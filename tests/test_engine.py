"""The trust-region engine and its basin search, against closed forms and theorems.

Tolerances: every reported value comes out of the float64 polish, which stops when the KKT
residual and the spread of the active pieces are below its tol = 1e-12 (polish.py); the value
of a piece is an inner product of unit vectors, computed with an error of at most d eps.  So a
polished value is within POLISH_TOL + 8 d eps of the exact local optimum's."""

import dataclasses
import math

import jax
import numpy as np
import pytest

from spherecodes import objectives
from spherecodes.solvers import SolveConfig, batching, engine, polish, solve, solve_grid, trust

EPS = np.finfo(np.float64).eps
POLISH_TOL = 1e-12


def value_bound(d: int) -> float:
    """Return the error bound of a polished value (see the module docstring)."""
    return POLISH_TOL + 8 * d * EPS


#: (d, K) -> the Tammes optimum's largest inner product (closed forms).
TAMMES = {
    (2, 5): math.cos(2 * math.pi / 5),  # regular pentagon
    (3, 4): -1 / 3,  # simplex
    (3, 6): 0.0,  # octahedron
    (3, 12): 1 / math.sqrt(5),  # icosahedron
    (4, 8): 0.0,  # cross-polytope
}


def test_trust_engine_reaches_closed_form_tammes_optima_in_one_grid():
    cells = list(TAMMES)
    res = solve_grid(cells, SolveConfig(objective="tammes", restarts=64))
    for r in res:
        assert r.engine == "trust"
        assert abs(r.value - TAMMES[(r.d, r.K)]) <= value_bound(r.d), (r.d, r.K, r.value)
        # stopped by confirmation, by the budget or proven optimal at a floor (the polygons:
        # one start that meets it is proof enough), and its counts are consistent
        assert r.starts <= 64 and 1 <= r.confirmations <= r.starts
        assert r.confirmations >= 3 or r.starts == 64 or r.stopped_by == "bound"
        assert r.found_by
        np.testing.assert_allclose(np.linalg.norm(r.code, axis=1), 1.0, atol=4 * EPS)
        # provenance travels in the result: the config, the search path, the polish's verdict
        assert r.config.restarts == 64 and r.search_path == "dense" and r.neighbors == 0
        assert r.converged and r.kkt_residual <= POLISH_TOL


@pytest.mark.parametrize("objective", ["softmax", "hardmax"])
def test_softmax_and_hardmax_reach_theorem_3_3_values(objective):
    # K <= d + 1: simplex, rho_1vr = K / (K - 1) (HardMax = -K/(K-1));
    # d + 1 < K <= 2d: rho_1vr = 1 (cross-polytope subsets).
    cells = [(3, 4), (3, 5), (3, 6)]
    res = solve_grid(cells, SolveConfig(objective=objective, restarts=32))
    want = {(3, 4): -4 / 3, (3, 5): -1.0, (3, 6): -1.0}
    for r in res:
        assert r.engine == "trust"
        # HardMax pieces <w_k' - w_k, h_k> are differences of two inner products: 2x the error
        assert abs(r.value - want[(r.d, r.K)]) <= 2 * value_bound(r.d), (objective, r)


def test_same_seed_same_code_bits_and_no_recompile_for_a_second_grid():
    cfg = SolveConfig(objective="tammes", restarts=16, seed=3)
    a = solve(3, 7, cfg)
    before = trust.local_batch._cache_size()
    b = solve(3, 7, cfg)
    c = solve(3, 8, cfg)  # same bucket shape (K_pad 8, d_pad 3) and batch: same programs
    assert trust.local_batch._cache_size() == before
    assert np.array_equal(a.code, b.code) and a.value == b.value
    assert c.K == 8


def test_target_stops_a_cell_after_the_round_that_reaches_it():
    # Every code's largest inner product lies in [-1/(K-1), 1] (Rankin), so target 1 is met by
    # the first round's first optimum, which ends the cell after the round's first chunk (its
    # halving start: rows run halving, trust region, anneals; the rest are skipped), and
    # target -1 by none: the cell then runs
    # exactly as without a target, bit for bit.  (3, 7): no code meets a proven bound there,
    # which would end the cell the same way (see the floor test).
    d, K = 3, 7
    cfg = SolveConfig(objective="tammes", restarts=64, seed=1)
    free = solve(d, K, cfg)
    opening = engine.arm_starts(engine.CellSearch(d, K), engine.round_starts(d, K))
    met = solve(d, K, dataclasses.replace(cfg, target=1.0))
    assert met.stopped_by == "target" and met.starts == opening["halving"] < free.starts
    never = solve(d, K, dataclasses.replace(cfg, target=-1.0))
    assert never.starts == free.starts and np.array_equal(never.code, free.code)


@pytest.mark.parametrize("target", [math.nan, math.inf, "0.5", True])
def test_bad_target_names_the_argument(target):
    with pytest.raises(ValueError, match="target"):
        SolveConfig(target=target)


def test_adam_engine_stays_selectable():
    r = solve(3, 6, SolveConfig(restarts=8, steps=300, engine="adam"))
    assert r.engine == "adam" and r.starts == 8
    assert abs(r.value - 0.0) <= value_bound(3)


@pytest.mark.parametrize(
    "kw, name",
    [({"engine": "newton"}, "engine"), ({"confirm": 0}, "confirm"), ({"confirm": 1.5}, "confirm")],
)
def test_bad_engine_settings_name_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        SolveConfig(**kw)


def test_polish_from_the_surrogate_certifies_the_icosahedron():
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((4, 12, 3))
    W0 /= np.linalg.norm(W0, axis=-1, keepdims=True)
    spec = trust.LocalSpec("tammes", 12, 3)
    out = trust.local_batch(
        spec, W0, None, np.full(4, 3), np.full(4, 12), np.full(4, 0.5), 0.05, 0.0
    )
    best = int(np.argmin(np.asarray(out.value)))
    p = polish.polish("tammes", np.asarray(out.code[best]), temperature=spec.t_end)
    assert p.converged
    assert abs(p.value - 1 / math.sqrt(5)) <= value_bound(3)
    assert p.active == 30  # the icosahedron's 30 edges


def test_local_batch_keeps_padding_zero_and_rows_unit():
    # K = 5 in a K_pad = 6, d_pad = 4 bucket: padding rows and coordinates stay exactly zero.
    rng = np.random.default_rng(1)
    W0 = np.zeros((2, 6, 4))
    W0[:, :5, :3] = rng.standard_normal((2, 5, 3))
    W0[:, :5, :3] /= np.linalg.norm(W0[:, :5, :3], axis=-1, keepdims=True)
    spec = trust.LocalSpec("tammes", 6, 4)
    out = trust.local_batch(spec, W0, None, np.full(2, 3), np.full(2, 5), np.full(2, 0.1), 0, 0)
    code = np.asarray(out.code)
    assert np.all(code[:, 5, :] == 0) and np.all(code[:, :, 3] == 0)
    np.testing.assert_allclose(np.linalg.norm(code[:, :5], axis=-1), 1.0, atol=4 * EPS)
    # five points on S^2: the best code has largest inner product 0 (e.g. a square pyramid)
    assert np.min(np.asarray(out.value)) <= 0 + 1e-3  # the surrogate's bias t log(#pieces)


def test_first_stage_has_its_own_tolerance_and_cap():
    # One stage only (t_end = t0): a row given gtol0 ends it at Riemannian gradient norm
    # <= gtol0 * t0 (converged) or after first_stage_iter iterations; the later stages'
    # tolerance (gtol_rel = 1e-2) no longer ends it.  float64 Tammes (3, 13), t0 = 0.1: the
    # surrogate is smooth and its gradient is computed to ~ K d eps, far below 1e-8 t0.
    rng = np.random.default_rng(2)
    n, K, d, t0 = 3, 13, 3, 0.1
    W0 = rng.standard_normal((n, K, d))
    W0 /= np.linalg.norm(W0, axis=-1, keepdims=True)
    args = (W0, None, np.full(n, d), np.full(n, K), np.full(n, t0), 0.0, 0.0)
    tight = np.array([1e-8, 1e-8, 1e-2])
    spec = trust.LocalSpec("tammes", K, d, max_iter=500, t_end=t0, first_stage_iter=400)
    out = trust.local_batch(spec, *args, tight)
    assert np.all(np.asarray(out.converged))
    assert np.all(np.asarray(out.grad_norm)[:2] <= 1e-8 * t0)
    assert np.asarray(out.grad_norm)[2] <= 1e-2 * t0
    # the default (no gtol0) is every row at gtol_rel: the third row's run, bit for bit
    same = trust.local_batch(spec, *args)
    np.testing.assert_array_equal(np.asarray(same.code)[2], np.asarray(out.code)[2])
    capped = trust.LocalSpec("tammes", K, d, max_iter=500, t_end=t0, first_stage_iter=3)
    out = trust.local_batch(capped, *args, np.full(n, 1e-8))
    # the stage ends at its 4th iteration (stage_it counts 0..3), which is the last
    assert np.all(np.asarray(out.iterations) == 4)
    assert not np.any(np.asarray(out.converged))


def test_good_turing_missing_mass_and_round_sizes():
    cs = engine.CellSearch(3, 13, basins=[[0.5, 5], [0.6, 1], [0.7, 1], [0.8, 3]])
    assert cs.missing_mass() == pytest.approx(2 / 10)
    assert engine.CellSearch(3, 4).missing_mass() == 1.0
    sizes = [engine.round_starts(3, K) for K in (8, 48, 96, 130)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == engine.ROUND_STARTS
    assert min(sizes) >= 2 and engine.per_basin(3, 130) >= 2


def test_perturbations_stay_on_the_sphere_and_the_hole_is_empty():
    rng = np.random.default_rng(2)
    octa = np.vstack([np.eye(3), -np.eye(3)])
    # the octahedron minus +e3 has its largest hole at +e3 (inner products 0 with the rest);
    # the descent ends at temperature t = 0.05 * 0.97^199, where the log-sum-exp minimizer's
    # max exceeds the true min-max by at most t log(#points) (and a step of 2t overshoots)
    hole = engine._largest_hole(octa[1:], rng)
    t_last = 0.05 * 0.97**199
    assert np.max(octa[1:] @ hole) <= t_last * (math.log(5) + 2)
    for kind in ("hole", "shake"):
        W, H = engine._perturb(octa, octa.copy(), kind, rng, True)
        np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=4 * EPS)
        np.testing.assert_allclose(np.linalg.norm(H, axis=1), 1.0, atol=4 * EPS)
        assert W.shape == octa.shape and not np.array_equal(W, octa)


def test_objective_records_cover_every_solver_objective():
    from spherecodes.solvers import OBJECTIVES

    assert set(OBJECTIVES) == set(objectives.names())
    with pytest.raises(ValueError, match="objective='nope'"):
        objectives.get("nope")
    assert objectives.get("softmax").minmax and not objectives.get("ce").minmax
    assert not objectives.get("wd").sphere and objectives.get("tammes").features == "none"


def test_an_anneal_from_a_random_start_is_that_restart_of_the_first_order_search():
    # One start per restart on every path: anneal_batch from random_starts (in the search's
    # dtype) runs the exact program of search_batch's restart, bit for bit.
    from spherecodes.solvers.search import SearchSpec, anneal_batch, random_starts, search_batch

    spec = SearchSpec("tammes", 50, "float32", 16, 4)
    key = jax.random.PRNGKey(3)
    d, K, r = np.full(4, 3, np.int32), np.array([12, 12, 11, 9], np.int32), np.arange(4)
    W0, _ = random_starts(spec, key, d, K, r.astype(np.int32))
    a = anneal_batch(spec, W0, None, d, K, (r % 2).astype(np.int32), 0.05, 5e-3)
    b = search_batch(spec, key, d, K, r.astype(np.int32), 0.05, 5e-3)
    assert np.array_equal(np.asarray(a.code), np.asarray(b.code))
    assert np.array_equal(np.asarray(a.value), np.asarray(b.value))


def test_the_refinement_keeps_an_exact_optimum():
    # At the icosahedron the surrogate's gradient vanishes by symmetry up to rounding, g <~ K
    # eps; Adam's step is lr g / (|g| + 1e-8) <= lr * 1e-6 per coordinate, the refinement's
    # learning rates sum to < 3e-4, so points move < 3e-10 and inner products < 6e-10.
    from spherecodes import constructions
    from spherecodes.solvers.search import SearchSpec, refine_batch

    W = np.zeros((2, 16, 4))
    W[:, :12, :3] = constructions.icosahedron()
    r = refine_batch(SearchSpec("tammes", 2000, "float32", 16, 4), W, None, np.full(2, 12), 0, 0)
    np.testing.assert_allclose(np.asarray(r.value), 1 / math.sqrt(5), rtol=0, atol=6e-10)
    code = np.asarray(r.code)
    assert np.all(code[:, 12:] == 0) and np.all(code[:, :, 3] == 0)


def test_arms_share_a_round_by_which_reaches_the_best_basin():
    n = engine.ROUND_STARTS
    amin, amax, h = engine.ANNEAL_MIN, engine.ANNEAL_MAX, engine.HALVING_OPEN
    cs = engine.CellSearch(3, 40)
    opening = {"trust": n, "halving": h, "anneal": max(amin, n)}
    assert engine.arm_starts(cs, n) == opening  # nothing known yet
    cs.arm_best = {"trust": 0.80, "halving": 0.80, "anneal": 0.80}
    assert engine.arm_starts(cs, n) == opening  # all reach it
    cs.arm_best = {"trust": 0.80, "halving": 0.81, "anneal": 0.81}
    assert engine.arm_starts(cs, n) == {"trust": n, "halving": h, "anneal": amin}  # trust leads
    cs.arm_best = {"trust": 0.81, "halving": 0.81, "anneal": 0.80}
    assert engine.arm_starts(cs, n) == {"trust": 1, "halving": h, "anneal": amax}  # anneals
    cs.arm_best = {"trust": 0.81, "halving": 0.80, "anneal": 0.81}
    assert engine.arm_starts(cs, n) == {"trust": 1, "halving": 1, "anneal": amax}  # halving
    cs.rounds = engine.HALVING_ROUNDS  # after its opening rounds, halving runs only if it leads
    assert engine.arm_starts(cs, n)["halving"] == 1
    cs.arm_best = {"trust": 0.80, "halving": 0.81, "anneal": 0.80}
    assert engine.arm_starts(cs, n) == {"trust": n, "halving": 0, "anneal": max(amin, n)}


def test_costly_trust_regions_trickle_every_few_rounds():
    # Where the trust regions do not converge (a start costs many anneals), a trust-region
    # arm that does not lead gets one start every TRUST_TRICKLE_ROUNDS rounds; where they
    # converge, one a round; an arm that leads keeps its share either way.
    every = engine.TRUST_TRICKLE_ROUNDS
    assert every >= 2
    large, small = engine.CellSearch(3, 100), engine.CellSearch(3, 20)
    assert not engine.converges(3, 100) and engine.converges(3, 20)
    n = engine.round_starts(3, 100)
    trust = []
    for r in range(1, 2 * every + 1):
        for cs in (large, small):
            cs.rounds = r
            cs.arm_best = {"trust": 0.81, "halving": 0.81, "anneal": 0.80}  # anneals lead
        trust.append(engine.arm_starts(large, n)["trust"])
        assert engine.arm_starts(small, n)["trust"] == 1
        large.arm_best = {"trust": 0.81, "halving": 0.80, "anneal": 0.81}  # halving leads
        assert engine.arm_starts(large, n)["trust"] == trust[-1]
        large.arm_best = {"trust": 0.81, "halving": 0.80, "anneal": 0.80}  # the others tie
        assert engine.arm_starts(large, n)["trust"] == trust[-1]
        large.arm_best = {"trust": 0.80, "halving": 0.81, "anneal": 0.81}  # trust leads
        assert engine.arm_starts(large, n)["trust"] == n
    assert trust == [1 if r % every == 0 else 0 for r in range(1, 2 * every + 1)]


def test_leading_anneals_hop_from_the_best_code(monkeypatch):
    # While the anneals lead, MBH_SHARE of them restart from the incumbent shaken by each of
    # MBH_SHAKES in turn (3 of 4 perturbations) or with a point of a population member moved
    # into a hole (1 of 4); the rest are random anneals.  The plan's calls of _perturb are
    # recorded; the shake itself is checked against its formula below.
    from spherecodes import constructions

    obj, config = objectives.get("tammes"), SolveConfig(objective="tammes", restarts=512)
    ico = constructions.icosahedron()
    cs = engine.CellSearch(3, 12, rounds=1)
    other = ico[::-1].copy()
    cs.population = [(0.45, 0.45, ico, None, "random", np.nan, "anneal")]
    cs.population.append((0.46, 0.46, other, None, "random", np.nan, "anneal"))
    cs.arm_best = {"trust": 0.5, "halving": 0.5, "anneal": 0.45}
    calls, perturb = [], engine._perturb

    def record(W, H, kind, rng, sphere, size=engine.SHAKE):
        calls.append((W is ico, kind, size))
        return perturb(W, H, kind, rng, sphere, size)

    monkeypatch.setattr(engine, "_perturb", record)
    rows = engine._plan_round(cs, 0, obj, config, {}, np.random.default_rng(0))
    anneals = [r for r in rows if r.arm == "anneal"]
    assert len(anneals) == engine.ANNEAL_MAX
    hops = [r for r in anneals if r.W is not None]
    assert len(hops) == int(engine.MBH_SHARE * engine.ANNEAL_MAX)
    mbh = calls[-len(hops) :]  # the anneals' perturbations come last in the plan
    shakes = [c for c in mbh if c[1] == "shake"]
    assert len(shakes) == len(hops) - len(hops) // 4 and all(c[0] for c in shakes)
    n = len(engine.MBH_SHAKES)
    assert [c[2] for c in shakes] == [engine.MBH_SHAKES[i % n] for i in range(len(shakes))]
    assert all(r.source == 0.45 for r in hops if "shake" in r.kind)
    # A row renormalized in float64 has norm 1 within a few ulps (4 eps).
    for r in anneals:
        assert r.W is None or np.allclose(np.linalg.norm(r.W, axis=1), 1.0, atol=4 * EPS)
    # The shake: every coordinate moved by size * dmin / sqrt(d) times a standard normal draw
    # of the same generator, rows renormalized: the same float64 operations, so equal to a
    # few ulps of the unit rows (4 eps).
    dmin = math.sqrt(2 - 2 / math.sqrt(5))
    for size in engine.MBH_SHAKES:
        W, _ = perturb(ico, None, "shake", np.random.default_rng(7), True, size)
        X = ico + size * dmin / math.sqrt(3) * np.random.default_rng(7).standard_normal(ico.shape)
        np.testing.assert_allclose(W, X / np.linalg.norm(X, axis=1, keepdims=True), atol=4 * EPS)


def test_halving_arm_reaches_the_icosahedron_from_random_starts():
    # The halving arm's schedule (float64 trust regions, t halved from HALVING_T0 to
    # HALVING_T_END) from 4 random starts of Tammes (3, 12).  Bound: with P = K (K - 1) pieces
    # and s_t the log-sum-exp surrogate, max <= s_t <= max + t log P.  A start that ends at the
    # minimizer x_t of s_t in the icosahedron's basin (every start must) has
    # max(x_t) <= s_t(x_t) <= s_t(ico) <= 1/sqrt(5) + t_end log P; below, the icosahedron is
    # optimal, up to rounding of a d-term inner product of unit rows (<= 4 d eps).
    from spherecodes.solvers.search import SearchSpec, random_starts
    from spherecodes.solvers.trust import LocalSpec, local_batch

    n, K, d = 4, 12, 3
    spec = LocalSpec(
        "tammes",
        16,
        4,
        max_iter=engine.HALVING_ITER,
        factor=engine.HALVING_FACTOR,
        t_end=engine.HALVING_T_END,
    )
    dd, KK = np.full(n, d, np.int32), np.full(n, K, np.int32)
    r = np.arange(n, dtype=np.int32)
    W0, _ = random_starts(
        SearchSpec("tammes", 1, "float64", 16, 4), jax.random.PRNGKey(0), dd, KK, r
    )
    out = local_batch(spec, W0, None, dd, KK, np.full(n, engine.HALVING_T0), 0.0, 0.0)
    eps = np.finfo(np.float64).eps
    value = np.asarray(out.value)
    assert np.all(value <= 1 / math.sqrt(5) + engine.HALVING_T_END * math.log(K * (K - 1)))
    assert np.all(value >= 1 / math.sqrt(5) - 4 * d * eps)
    assert np.all(np.asarray(out.converged))


def test_trust_arm_results_in_one_basin_are_one_basin_within_the_resolution():
    # Trust-region rows of Tammes (3, 12) from random starts, one per PORTFOLIO entry:
    # each ends at the minimizer x_t of the surrogate at t = HALVING_T_END in the icosahedron's
    # basin, so 1/sqrt(5) - 4 d eps <= max(x_t) <= 1/sqrt(5) + t log(K (K - 1)) (bound as in the
    # halving test), which is what engine.resolution(True, d, K) is; so any two are one basin in the
    # statistics, and the engine tells them apart from a worse basin by more than it.
    from spherecodes import objectives
    from spherecodes.solvers import SolveConfig, batching

    K, d = 12, 3
    obj = objectives.get("tammes")
    cells = [engine.CellSearch(d, K, atol=engine.resolution(True, d, K))]
    rows = [
        engine._Row(0, None, None, t0, "random", r, gtol0=g0)
        for r, (t0, g0) in enumerate(engine.PORTFOLIO)
    ]
    out = engine._trust_chunk(
        obj, SolveConfig(objective="tammes"), 16, 4, rows, cells, batching.batch_sharding()
    )
    value = np.asarray(out[2])
    eps = np.finfo(np.float64).eps
    assert engine.converges(d, K)
    tol = engine.resolution(True, d, K)
    assert tol == engine.HALVING_T_END * math.log(K * (K - 1))
    assert np.all(value <= 1 / math.sqrt(5) + tol)
    assert np.all(value >= 1 / math.sqrt(5) - 4 * d * eps)
    assert all(engine._same(a, b, tol) for a in value for b in value)
    # a value 1e-3 worse is told apart (the resolution is 4.9e-7 here)
    assert not engine._same(float(value[0]), float(value[0]) + 1e-3, tol)
    assert engine.resolution(False, d, K) == 0.0
    assert engine.resolution(True, 3, 48) == 0.0  # not converged there: BASIN_RTOL alone


def test_cells_beyond_the_polish_end_at_their_symmetric_optimum():
    """A cell above polish_max_variables is finished by the float64 continuation to
    FINISH_T_END.  The simplex is a critical point of every smoothing (the stabilizer of a point
    fixes no nonzero tangent vector there), so the continuation converges to it and
    the HardMax value -K/(K-1) comes out to rounding: a HardMax piece is a difference of two
    inner products (2 x 8 d eps), as in the polished cells.  The search alone stops short by
    about 1e-10 (it ends at t = 1e-4 plus an Adam refinement in a cell of this size)."""
    d, K = 16, 17
    assert not engine.converges(d, K)
    r = solve(d, K, SolveConfig(objective="softmax", restarts=2, polish_max_variables=1))
    assert r.engine == "trust" and math.isnan(r.kkt_residual)  # not polished: finished
    assert abs(r.value + K / (K - 1)) <= 2 * 8 * d * EPS, r.value
    with pytest.raises(ValueError, match="objective='ce' is out of range: finish takes a min"):
        engine.finish("ce", d, K, [(r.code, r.features)], SolveConfig(objective="ce"), 1e-4)
    with pytest.raises(ValueError, match="candidates is empty"):
        engine.finish("softmax", d, K, [], SolveConfig(objective="softmax"), 1e-4)


def test_a_first_round_may_finish_a_cell_only_when_its_trust_starts_are_unanimous():
    """After the first round a cell may stop only if every random trust-region start ended in
    one basin, that basin is the best any arm found (a better basin from another arm means
    the landscape has two, and the perturbation rounds must run), and every halving start
    ended in it too."""
    cs = engine.CellSearch(3, 24)
    assert not engine._unanimous(cs)  # nothing found yet
    best = (0.7, 0.7, None, None, "random", None, "trust")
    cs.population = [best]
    cs.basins = [[0.7, 8]]
    assert engine._unanimous(cs)
    cs.basins = [[0.7, 7], [0.71, 1]]  # a second basin seen
    assert not engine._unanimous(cs)
    cs.basins = [[0.71, 8]]  # all trust starts in a worse basin than another arm's best
    assert not engine._unanimous(cs)
    # A halving start (a converged smoothed optimum at HALVING_T_END: within
    # HALVING_T_END log(K (K - 1)) of its basin's value) that ended in another basin.
    cs.basins = [[0.7, 8]]
    tol = engine.HALVING_T_END * math.log(24 * 23)  # the bound, written out for K = 24
    assert tol == engine.smoothing_bound(24)
    cs.halving = [0.7 + tol / 2]  # the same basin, converged to its smoothing bound
    assert engine._unanimous(cs)
    cs.halving = [0.7 + 2 * tol]  # another basin: the landscape has two
    assert not engine._unanimous(cs)


@pytest.mark.slow
def test_trust_arm_reaches_higman_sims_from_random_softmax_starts():
    # Softmax Code (22, 100): the Higman-Sims code, max inner product 1/11 (Cohn-Kumar).  The
    # trust-region arm's float32 phase from t0 = 0.1 (a PORTFOLIO temperature), its first
    # stage solved to FIRST_GTOL_REL (PORTFOLIO's tight entries): measured 3 of 8 random starts
    # in the Higman-Sims basin, 0 of 8 with the later stages' tolerance.  The other basins
    # reached end above 0.13, so max inner <= 1/11 + 1e-3 identifies the basin (the phase
    # stops at t = COARSE_T_END).
    rng = np.random.default_rng(0)
    n, K, d = 8, 100, 22
    W0 = rng.standard_normal((n, K, d))
    W0 = (W0 / np.linalg.norm(W0, axis=-1, keepdims=True)).astype(np.float32)
    spec = engine.coarse_spec(objectives.get("softmax"), K, d)
    t0 = np.full(n, 0.1, np.float32)
    gtol0 = np.full(n, engine.FIRST_GTOL_REL)
    out = trust.local_batch(spec, W0, W0, np.full(n, d), np.full(n, K), t0, 0.0, 0.0, gtol0)
    code = np.asarray(out.code, np.float64)
    G = np.einsum("rkd,rjd->rkj", code, code) - 2 * np.eye(K)
    assert np.any(G.max(axis=(1, 2)) <= 1 / 11 + 1e-3)


def _max_ip(W, both_signs=False):
    G = W @ W.T
    G = np.abs(G) if both_signs else G
    return float(np.max(G[np.triu_indices(len(W), 1)]))


def test_floors_are_the_values_of_the_codes_that_meet_the_bounds():
    from spherecodes import constructions, hull, lattice_codes

    # Tammes: Rankin (simplex, cross-polytope), the K-gon, Levenshtein (sharp codes)
    codes = [
        constructions.kgon(5),
        constructions.simplex(4, 3),
        constructions.cross_polytope(4),
        constructions.icosahedron(),
        constructions.hemicube(),
        lattice_codes.schlafli(),
        lattice_codes.e7_kissing(),
        lattice_codes.e8_roots(),
    ]
    tam = objectives.get("tammes")
    for W in codes:
        K, d = W.shape
        # rounded inner products (errbounds.gram) plus the bound's own: brentq's xtol 1e-15 on
        # the angle, and a few roundings of its cosine
        assert abs(tam.floor(d, K) - _max_ip(W)) <= 8 * d * EPS + 1e-15 + 8 * EPS, (d, K)
    # Grassmannian: 3 and 4 lines in the plane, the cube's 4 diagonals and the icosahedron's
    # 6 diagonals (equiangular tight frames: Welch)
    grass = objectives.get("grassmannian")
    ang3, ang4 = np.pi * np.arange(3) / 3, np.pi * np.arange(4) / 4
    lines = [
        np.stack([np.cos(ang3), np.sin(ang3)], axis=1),
        np.stack([np.cos(ang4), np.sin(ang4)], axis=1),
        np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]) / np.sqrt(3),
        constructions.icosahedron()[_one_per_line(constructions.icosahedron())],
        # the 3 axes and 4 cube diagonals: 7 > d (d + 1) / 2 lines at the orthoplex bound
        np.vstack([np.eye(3), np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]) / 3**0.5]),
        np.eye(4)[:3],  # K <= d: orthonormal lines, coherence 0
    ]
    for W in lines:
        K, d = W.shape
        assert abs(grass.floor(d, K) - _max_ip(W, True)) <= 8 * d * EPS + 8 * EPS, (d, K)
    # Softmax / HardMax: Theorem 3.3's codes, measured by the hull solver
    for name in ("softmax", "hardmax"):
        obj = objectives.get(name)
        for d, K in [(2, 7), (3, 4), (3, 5), (3, 6), (5, 9)]:
            rho = float(hull.rho_1vr(constructions.theorem33_code(d, K)))
            assert abs(obj.floor(d, K) + rho) <= 4 * (K + d) * EPS + hull.GAP_TOL, (d, K)
        assert obj.floor(3, 7) is None  # no closed form beyond K = 2d
    assert objectives.get("ce").floor(3, 6) is None and objectives.get("wd").floor(3, 6) is None


def _one_per_line(W):
    """Return the indices of one point of each antipodal pair of W."""
    keep = []
    for i, w in enumerate(W):
        if not any(np.allclose(w, -W[j]) for j in keep):
            keep.append(i)
    return keep


def test_the_tammes_floor_is_below_every_best_known_code():
    # the floor is a theorem: no best-known R^3 code (Sloane's table) may beat it
    from spherecodes.tables.tammes import best_known_tammes

    tam = objectives.get("tammes")
    for K, (angle, _) in best_known_tammes(3).items():
        # the table's 7 decimals: 5e-8 deg, i.e. at most 1e-9 in the cosine
        assert tam.floor(3, K) <= math.cos(math.radians(angle)) + 1e-9, K


def test_a_cell_that_meets_its_floor_stops_proven_optimal():
    # confirm=1000 keeps the stop rule from ever finishing a cell; the octahedron (3, 6) meets
    # Rankin's orthoplex bound (largest inner product 0), so its first round's second-order
    # rows (halving, then trust region) end it, its anneals skipped, while (3, 7),
    # whose optimum is above every bound, runs to the budget
    cfg = SolveConfig(objective="tammes", restarts=40, confirm=1000)
    octa, seven = solve_grid([(3, 6), (3, 7)], cfg)
    opening = engine.arm_starts(engine.CellSearch(3, 6), engine.round_starts(3, 6))
    second_order = opening["trust"] + opening.get("halving", 0)
    # the halving start alone, or it and the trust-region chunk (of all 8 rows: small bucket)
    assert octa.stopped_by == "bound" and octa.starts in (opening["halving"], second_order)
    assert abs(octa.value) <= value_bound(3)
    assert seven.stopped_by == "budget" and seven.starts >= 40


def test_no_random_code_goes_below_a_floor():
    # a floor is a theorem about every code: random codes (and their optimal features for
    # Softmax, value -rho_1vr) stay above it, in every branch of every floor
    from spherecodes import hull

    rng = np.random.default_rng(0)
    for d, K in [(2, 2), (2, 3), (2, 6), (3, 3), (3, 5), (3, 7), (3, 13), (4, 30), (6, 40)]:
        for _ in range(3):
            W = rng.standard_normal((K, d))
            W /= np.linalg.norm(W, axis=1, keepdims=True)
            floors = {n: objectives.get(n).floor(d, K) for n in ("tammes", "grassmannian")}
            assert floors["tammes"] <= _max_ip(W) + 8 * d * EPS, (d, K)
            assert floors["grassmannian"] <= _max_ip(W, True) + 8 * d * EPS, (d, K)
            soft = objectives.get("softmax").floor(d, K)
            if soft is not None:
                rho = float(hull.rho_1vr(W))
                assert soft <= -rho + 4 * (K + d) * EPS + hull.GAP_TOL, (d, K)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the rule is for CPU chunks")
def test_cpu_second_order_rows_of_large_buckets_run_one_per_chunk(monkeypatch):
    # a vmapped while loop iterates every row until its slowest one is done; from
    # SINGLE_ROW_COST (padded K^2 d) on, CPU chunks of trust-region and halving rows hold one
    # row each, below it the rows of a round share a chunk; anneals always share
    sizes = []
    for name in ("_trust_chunk", "_halving_chunk", "_anneal_chunk"):
        real = getattr(engine, name)

        def spy(obj, config, K_pad, d_pad, chunk, *rest, _real=real, _name=name):
            sizes.append((_name, len(chunk)))
            return _real(obj, config, K_pad, d_pad, chunk, *rest)

        monkeypatch.setattr(engine, name, spy)
    cfg = SolveConfig(objective="tammes", restarts=16, seed=0)
    d, K = 3, 8
    cost = batching.ladder(K) ** 2 * batching.ladder(d)
    for limit, single in ((cost + 1, False), (cost, True)):
        monkeypatch.setattr(batching, "SINGLE_ROW_COST", limit)
        sizes.clear()
        solve(d, K, cfg)
        trust = [n for name, n in sizes if name == "_trust_chunk"]
        anneal = [n for name, n in sizes if name == "_anneal_chunk"]
        n_dev = len(jax.devices())  # a single-row chunk holds one row per device
        assert trust and anneal and max(anneal) > n_dev
        assert (max(trust) == n_dev) == single, sizes


def test_chunks_on_several_lanes_give_the_results_of_one(monkeypatch):
    # a round's chunks run on `lanes` threads; results are taken in chunk order and a row is
    # kept only when no earlier row ended its cell, so lanes change the wall time only.  Single-
    # row chunks (many per stage) and a bucket where a floor ends one cell mid-round (the
    # octahedron, (3, 6), beside (3, 5)) exercise the skipping
    monkeypatch.setattr(batching, "SINGLE_ROW_COST", 1)
    cells = [(3, 5), (3, 6), (3, 7), (3, 8)]
    cfg = SolveConfig(objective="tammes", restarts=24, seed=3)
    runs = [solve_grid(cells, cfg, lanes=n) for n in (1, 2, 3)]
    assert runs[0][1].stopped_by == "bound"
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            assert (a.starts, a.stopped_by, a.found_by) == (b.starts, b.stopped_by, b.found_by)
            np.testing.assert_array_equal(a.restart_values, b.restart_values)
            np.testing.assert_array_equal(a.code, b.code)


def test_rows_after_one_that_ends_its_cell_are_dropped_whatever_the_lanes(monkeypatch):
    # no halving rows, single-row chunks and a target every code meets: each cell's first
    # trust-region row ends it, so whatever the other lanes started beside it is discarded
    monkeypatch.setattr(batching, "SINGLE_ROW_COST", 1)
    monkeypatch.setattr(engine, "HALVING_OPEN", 0)
    cells = [(3, 7), (3, 8), (3, 9)]  # none meets its floor
    cfg = SolveConfig(objective="tammes", restarts=24, seed=1, target=0.99)
    calls = []  # trust-region chunks solved
    real = engine._trust_chunk

    def spy(*args):
        calls.append(len(args[4]))
        return real(*args)

    monkeypatch.setattr(engine, "_trust_chunk", spy)
    runs = []
    for n in (1, 2, 4):
        calls.clear()
        runs.append(solve_grid(cells, cfg, lanes=n))
        if n == 1:  # one lane computes nothing a dropped row would have needed
            assert calls == [1] * len(cells)
    for run in runs:
        assert [(r.starts, r.stopped_by) for r in run] == [(1, "target")] * len(cells)
        assert all(r.seconds > 0 for r in run)
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a.code, b.code)


def test_lanes_compute_in_the_callers_64_bit_mode(monkeypatch):
    # JAX's 64-bit mode is thread-local: solve turns it on for its own thread, and the lanes
    # must take it (with the global flag off, a lane would otherwise compute in float32)
    dtypes = []
    for name in ("_halving_chunk", "_trust_chunk", "_anneal_chunk"):
        real = getattr(engine, name)

        def spy(*args, _real=real):
            out = _real(*args)
            dtypes.append(np.asarray(out[2]).dtype)
            return out

        monkeypatch.setattr(engine, name, spy)
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        solve(3, 7, SolveConfig(objective="tammes", restarts=16), lanes=2)
    finally:
        jax.config.update("jax_enable_x64", previous)
    assert dtypes and all(dt == np.float64 for dt in dtypes), dtypes


@pytest.mark.parametrize("lanes", [0, -1, 1.5, True, "2"])
def test_bad_lanes_are_one_error_naming_them(lanes):
    with pytest.raises(ValueError, match="lanes="):
        solve(3, 4, SolveConfig(objective="tammes"), lanes=lanes)
