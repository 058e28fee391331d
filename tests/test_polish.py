"""Tests of the float64 polish against known optima, closed forms and optimality conditions."""

import csv
from pathlib import Path

import errbounds as eb
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as scipy_sparse

from spherecodes import losses
from spherecodes.io import read_code
from spherecodes.solvers.polish import ACTIVE_BAND, OBJECTIVES, PolishResult, kkt_residual, polish


def _perturb(code, scale, seed):
    rng = np.random.default_rng(seed)
    x = code + scale * rng.standard_normal(code.shape)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _kgon(K, phase=0.0):
    a = 2 * np.pi * np.arange(K) / K + phase
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def _simplex(K, d):
    """Regular simplex of K points in R^d (K <= d + 1): centred basis vectors, normalized."""
    E = np.eye(K) - 1.0 / K
    U, S, _ = np.linalg.svd(E)
    W = np.zeros((K, d))
    W[:, : K - 1] = U[:, : K - 1] * S[: K - 1]
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def simplex_sum_bound(K, d):
    """Return a bound on max_j |sum_k _simplex(K, d)[k, j]| (0 for the exact simplex).

    The rows before normalization are U[:, :K-1] S with E 1 = 0, so their column sums are
    S_j 1^T u_j: the SVD's measured orthogonality to the null vector 1 (itself a K-term sum,
    dot(K, sqrt K)).  Normalization divides by norms that agree exactly but were computed,
    each within unit_norm(d) relative; the K-term column sum of entries <= 1 adds dot(K, K).
    """
    U, S, _ = np.linalg.svd(np.eye(K) - 1.0 / K)
    defect = (np.abs(np.ones(K) @ U[:, : K - 1]).max() + eb.dot(K, np.sqrt(K))) * S.max()
    return defect / np.sqrt((K - 1) / K) + K * eb.unit_norm(d) + eb.dot(K, K)


def _cross(K, d):
    return np.vstack([np.eye(d), -np.eye(d)])[:K]


def _min_angle_deg(code):
    g = code @ code.T - 3 * np.eye(len(code))
    i, j = np.unravel_index(np.argmax(g), g.shape)
    a, b = code[i], code[j]
    return np.degrees(2 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b)))


def _best_known(ref_data):
    with open(ref_data / "tammes_d3_best_known.csv") as fh:
        return {int(r["K"]): r for r in csv.DictReader(fh)}


# Closed forms of proven Tammes optima in R^3 (degrees).
_EXACT_D3 = {
    4: np.degrees(np.arccos(-1.0 / 3.0)),  # tetrahedron
    5: 90.0,
    6: 90.0,  # octahedron
    8: np.degrees(np.arccos((2 * np.sqrt(2) - 1) / 7)),  # square antiprism
    9: np.degrees(np.arccos(1.0 / 3.0)),
    11: np.degrees(np.arccos(1 / np.sqrt(5))),
    12: np.degrees(np.arccos(1 / np.sqrt(5))),  # icosahedron
}


# ---------------------------------------------------------------------------------------------
# tammes


@pytest.mark.parametrize("K", [4, 5, 6, 7, 8, 9, 12, 13, 14, 20, 24, 30])
def test_tammes_d3_reaches_best_known(ref_data, K):
    best = _best_known(ref_data)[K]
    code = read_code(ref_data / best["coordinates_file"])
    r = polish("tammes", _perturb(code, 3e-3, seed=K))
    assert isinstance(r, PolishResult)
    angle = _min_angle_deg(r.code)
    # the table has 7 decimals: rounding error <= 5e-8 deg
    assert abs(angle - float(best["best_known_min_angle_deg"])) <= 6e-8
    if K in _EXACT_D3:  # closed form: to 1e-9 deg
        assert abs(angle - _EXACT_D3[K]) <= 1e-9
    # the value is the largest Gram entry, recomputed here in another summation order
    assert abs(r.value - np.max(r.code @ r.code.T - 3 * np.eye(K))) <= eb.same_sum(3)
    # converged means KKT residual <= polish's documented stopping tolerance tol
    assert r.converged and r.kkt_residual <= eb.polish_tol()
    np.testing.assert_allclose(np.linalg.norm(r.code, axis=1), 1.0, rtol=0, atol=eb.unit_norm(3))
    assert r.features is None


@pytest.mark.slow
@pytest.mark.parametrize("K", range(4, 31))
def test_tammes_d3_all_cells(ref_data, K):
    best = _best_known(ref_data)[K]
    code = read_code(ref_data / best["coordinates_file"])
    for seed in range(3):
        # 1e-3 noise: at 1e-2 some non-proven cells (K = 29) fall into nearby local optima
        r = polish("tammes", _perturb(code, 1e-3, seed=100 * K + seed))
        assert abs(_min_angle_deg(r.code) - float(best["best_known_min_angle_deg"])) <= 1e-6
        assert r.converged


@pytest.mark.parametrize("K", [3, 5, 7, 12, 17])
def test_tammes_kgon(K):
    r = polish("tammes", _perturb(_kgon(K), 1e-2, seed=K))
    # the value (a cosine) within polish_value(K) of cos(360/K); the angle through arccos'
    # slope 1 / sin, then the rounding of the angle itself (angle_deg)
    cos_k = np.cos(2 * np.pi / K)
    bound = np.degrees(eb.polish_value(K) / np.sin(2 * np.pi / K)) + eb.angle_deg(2, cos_k)
    assert abs(_min_angle_deg(r.code) - 360.0 / K) <= bound
    assert r.converged and r.active == K


@pytest.mark.parametrize(
    "code",
    [_kgon(6), _simplex(4, 3), _cross(6, 3), _cross(8, 4)],
    ids=["hexagon", "tetrahedron", "octahedron", "16-cell"],
)
def test_tammes_keeps_an_optimal_code(code):
    before = np.max(code @ code.T - 3 * np.eye(len(code)))
    r = polish("tammes", code)
    # both values are within polish_value(K) of the optimum (the start is one), plus the
    # rounding of the recomputed Gram entries
    d = code.shape[1]
    assert abs(r.value - before) <= eb.polish_value(len(code)) + eb.same_sum(d) + eb.gram(d)
    assert r.converged


def test_tammes_icosahedron_active_pairs_and_multipliers():
    phi = (1 + np.sqrt(5)) / 2
    pts = []
    for s1 in (1, -1):
        for s2 in (1, -1):
            pts += [(0, s1, s2 * phi), (s1, s2 * phi, 0), (s2 * phi, 0, s1)]
    code = np.array(pts, float) / np.sqrt(1 + phi**2)
    r = polish("tammes", _perturb(code, 1e-2, seed=3))
    assert abs(r.value - 1 / np.sqrt(5)) <= eb.polish_value(12) + eb.gram(3)
    assert r.active == 30  # the 30 edges of the icosahedron
    assert r.kkt_residual <= eb.polish_tol()


# ---------------------------------------------------------------------------------------------
# grassmannian


@pytest.mark.parametrize(
    ("d", "K", "start"),
    [(3, 6, None), (3, 4, "simplex"), (4, 5, "simplex"), (2, 3, "simplex")],
)
def test_grassmannian_welch_bound(d, K, start):
    welch = np.sqrt((K - d) / (d * (K - 1)))
    if start == "simplex":
        code = _perturb(_simplex(K, d), 1e-2, seed=K)
        # K = d + 1: the Welch bound is 1/d (5 roundings against 1)
        assert abs(welch - 1.0 / d) <= eb.formula(5)
    else:  # six diagonals of the icosahedron: an equiangular frame at 1/sqrt(5)
        phi = (1 + np.sqrt(5)) / 2
        code = np.array([[0, 1, phi], [0, 1, -phi], [1, phi, 0], [1, -phi, 0],
                         [phi, 0, 1], [-phi, 0, 1]]) / np.sqrt(1 + phi**2)  # fmt: skip
        code = _perturb(code, 1e-2, seed=6)
    r = polish("grassmannian", code)
    assert abs(r.value - welch) <= eb.polish_value(K) + eb.gram(d) + eb.formula(5)
    assert abs(r.value - np.max(np.abs(r.code @ r.code.T) - 2 * np.eye(K))) <= eb.same_sum(d)
    assert r.converged


# ---------------------------------------------------------------------------------------------
# softmax / hardmax


def _rho_from(r, K):
    """-hardmax loss recomputed from the result (W, H) with losses.hardmax."""
    return -float(losses.hardmax(jnp.asarray(r.code), jnp.asarray(r.features)[:, None, :]))


@pytest.mark.parametrize("K", [3, 4, 5, 6, 9])
def test_softmax_kgon(K):
    r = polish("softmax", _perturb(_kgon(K), 1e-2, seed=K))
    # W and H: 2K unit rows; the reference 1 - cos has 6 roundings
    assert abs(-r.value - (1 - np.cos(2 * np.pi / K))) <= eb.polish_value(2 * K) + eb.formula(6)
    # recomputed as max <w_k' - w_k, h_k>: a 2-term difference and a 2-term dot (entries <= 2)
    # per piece, in each of two evaluations
    assert abs(_rho_from(r, K) + r.value) <= eb.same_sum(2 + 1, 2.0)
    assert r.converged


@pytest.mark.parametrize(("d", "K"), [(2, 3), (3, 3), (3, 4), (4, 5), (5, 4)])
def test_hardmax_simplex(d, K):
    # vertex w to the opposite facet's centroid -w/(K-1) (sum w = 0): |w + w/(K-1)| = K/(K-1);
    # the centroid is the nearest point of the facet since w is orthogonal to it
    S = _simplex(K, d)
    for k in range(K):
        c = np.delete(S, k, axis=0).mean(axis=0)
        # c + S[k] / (K - 1) = (sum of all rows) / (K - 1) up to the K - 1-term mean's rounding
        # (dot(K - 1), entries <= 1); the rows' sum is 0 up to simplex_sum_bound(K, d)
        bound = simplex_sum_bound(K, d) / (K - 1) + eb.dot(K - 1) + eb.formula(1)
        np.testing.assert_allclose(c, -S[k] / (K - 1), rtol=0, atol=bound)
        # <S[k] - c, S[j] - c>: 0 exactly; d-term dot of vectors with entries <= 2, whose own
        # errors are each that bound: 2 (d bound 2 sqrt d) + dot(d, 4)
        inner = (S[k] - c) @ (np.delete(S, k, axis=0) - c).T
        np.testing.assert_allclose(inner, 0.0, rtol=0, atol=4 * d * bound + eb.dot(d, 4.0))
    r = polish("hardmax", _perturb(S, 1e-2, seed=K))
    assert abs(-r.value - K / (K - 1)) <= eb.polish_value(2 * K) + eb.formula(1)
    assert r.converged
    # GNC1/3 at the simplex: the optimal features are the classifier itself
    assert np.allclose(r.features, r.code, atol=1e-9)


@pytest.mark.parametrize(("d", "K", "seed"), [(3, 5, 0), (3, 6, 1), (4, 6, 2), (4, 7, 3)])
def test_hardmax_cross_polytope_subset(d, K, seed):
    # Theorem 3.3: rho_1vr = 1 for d + 1 < K <= 2d.  The optimum is degenerate (a family of
    # optimal codes), so we ask for the value to 1e-9 and do not demand a 1e-12 certificate.
    r = polish("hardmax", _perturb(_cross(K, d), 1e-2, seed=seed))
    assert abs(-r.value - 1.0) <= 1e-9
    assert r.kkt_residual <= 1e-9


def test_softmax_with_given_features_and_optimal_start():
    S = _simplex(4, 3)
    r = polish("softmax", S, S)
    assert abs(r.value + 4 / 3) <= eb.polish_value(2 * 4) + eb.formula(1)
    assert r.converged


# ---------------------------------------------------------------------------------------------
# smooth objectives


def _riemannian_grad_norm(W, H, tau):
    g = jax.grad(lambda w, h: losses.cross_entropy(w, h[:, None, :], tau), argnums=(0, 1))(
        jnp.asarray(W), jnp.asarray(H)
    )
    out = 0.0
    for x, gx in zip((W, H), g, strict=True):
        gx = np.asarray(gx)
        out += np.sum((gx - np.sum(gx * x, axis=1, keepdims=True) * x) ** 2)
    return np.sqrt(out)


def test_ce_simplex_is_stationary():
    S = _simplex(4, 3)
    # 0 exactly at the simplex; the computed gradient's rounding (cross_entropy_grad, n = 1)
    assert _riemannian_grad_norm(S, S, 0.5) <= eb.cross_entropy_grad(4, 1, 3, 0.5)
    r = polish("ce", S, S, tau=0.5)
    assert r.iterations == 0 and r.converged
    # returned as given, at most renormalized (entries move by unit_norm(3) relative)
    np.testing.assert_allclose(r.code, S, rtol=0, atol=eb.unit_norm(3))


def test_ce_from_random_start_is_stationary():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    r = polish("ce", W, tau=0.2)
    assert r.converged and r.kkt_residual <= eb.polish_tol()
    assert _riemannian_grad_norm(r.code, r.features, 0.2) <= 1e-10
    # the same CE evaluated twice (polish's and losses'): each within cross_entropy(6, 1, 3, .2)
    ce = float(losses.cross_entropy(r.code, r.features[:, None, :], 0.2))
    assert abs(ce - r.value) <= 2 * eb.cross_entropy(6, 1, 3, 0.2)
    # a descent method: no worse than the start (features default to h_k = w_k)
    assert r.value <= float(losses.cross_entropy(W, W[:, None, :], 0.2))


def test_wd_is_stationary():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((4, 3))
    r = polish("wd", W, lam=0.01)
    assert r.converged
    g = jax.grad(lambda w, h: losses.weight_decay(w, h[:, None, :], 1.0, lam=0.01), argnums=(0, 1))(
        jnp.asarray(r.code), jnp.asarray(r.features)
    )
    assert np.sqrt(sum(float(jnp.sum(x**2)) for x in g)) <= 1e-10
    # K <= d + 1 with equal factors: the classifier is a scaled simplex (equal norms)
    norms = np.linalg.norm(r.code, axis=1)
    assert np.ptp(norms) <= 1e-9


# ---------------------------------------------------------------------------------------------
# certificate and arguments


def test_kkt_residual_closed_forms():
    # two opposite gradients: mu = (1/2, 1/2) cancels them
    res, mu = kkt_residual(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    # an exact min-norm point of 2 unit gradients in R^2 (certificate_gap's rounding, kappa 1)
    assert res <= eb.hull_distance(2, 2) and np.allclose(mu, 0.5)
    # gradients e1 and e2: the simplex minimum of |mu1 e1 + mu2 e2| is 1/sqrt(2)
    res, _ = kkt_residual(np.eye(2))
    assert abs(res - 1 / np.sqrt(2)) <= eb.hull_distance(2, 2) + eb.formula(2)
    assert ACTIVE_BAND > 0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("lloyd", _kgon(3)), {}, "objective"),
        (("ce", _kgon(3)), {}, "tau"),
        (("ce", _kgon(3)), {"tau": -1.0}, "tau"),
        (("wd", _kgon(3)), {}, "lam"),
        (("tammes", _kgon(3)), {"tau": 1.0}, "tau"),
        (("tammes", _kgon(3), _kgon(3)), {}, "features"),
        (("softmax", _kgon(3), _kgon(4)), {}, "features"),
        (("tammes", _kgon(3)), {"tol": 0.0}, "tol"),
        (("tammes", _kgon(3)), {"max_iter": 0}, "max_iter"),
        (("tammes", 2 * _kgon(3)), {}, "norm"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        polish(*args, **kwargs)


def test_objectives_listed():
    assert set(OBJECTIVES) == {"tammes", "grassmannian", "softmax", "hardmax", "ce", "wd"}


def test_kkt_memory_bounds_what_newton_allocates():
    """The estimate checked before Newton bounds the memory its float64 arrays take at their
    peak (tracemalloc sees NumPy's allocations), on a system of 190 pieces and 360 tangent
    coordinates where the (m + n + 1)^2 matrices dominate (measured: about 0.8 of it)."""
    import tracemalloc

    from spherecodes.solvers import minmax

    code = _perturb(_simplex(20, 19), 1e-3, 0)
    prob = minmax.Problem(20, False, False)
    T = minmax._objective(prob, code)
    pieces = minmax._pieces(prob, code, T - 1.0)  # all 190 pairs
    m, n = len(pieces[0]), 20 * 18
    assert m == 190
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        minmax._newton(prob, code, pieces, np.full(m, 1.0 / m), T, max_iter=3, tol=1e-15)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert 8 * (m + n + 1) ** 2 < peak <= minmax.kkt_memory(m, n), (peak, minmax.kkt_memory(m, n))


def test_polish_too_large_for_the_host_is_a_memory_error(monkeypatch):
    """A polish whose dense KKT system would not fit names its estimate and what to change,
    instead of being killed by the kernel (the host's RAM is shrunk to 1 MB here)."""
    from spherecodes.solvers import planning

    monkeypatch.setattr(planning, "host_memory", lambda: (2**20, "host RAM"))
    code = _perturb(_simplex(20, 19), 1e-4, 1)  # 20 x 18 tangent coordinates, > 1 MB of KKT
    with pytest.raises(MemoryError, match=r"polish of a \(d=19, K=20\) code.*polish_max_variables"):
        polish("tammes", code, temperature=1e-3)


@pytest.mark.parametrize("delta", [1e-2, 1e-6, 1e-10])
def test_slp_step_is_feasible_at_the_scale_of_its_trust_region(delta):
    # The LP min s s.t. f + G u <= s, |u|_inf <= delta, whose optimum here is known: each
    # piece's f_a + delta * |G_a|_1 bounds what a step can do to it. At every radius the step
    # must be feasible and its s optimal to the LP solver's tolerance (1e-7) in units of
    # delta, times the row norms, however small delta is: in absolute units that tolerance
    # swamped decreases below 1e-7, and the polish stalled 1.6e-8 short of a Softmax optimum.
    from spherecodes.solvers import minmax

    rng = np.random.default_rng(0)
    n = 12
    G = np.vstack([np.eye(n), -np.eye(n)])  # f_a + G_a u: +u_i and -u_i, one piece each
    f = -delta * rng.uniform(0, 1, size=2 * n)  # spreads of the order of the radius
    u, s, mu = minmax._slp_step(scipy_sparse.csr_matrix(G), f, delta)
    # optimum: u_i = (f_{n+i} - f_i) / 2 (equal pieces), s = max_i (f_i + f_{n+i}) / 2
    s_opt = np.max((f[:n] + f[n:]) / 2)
    tol = 1e-6 * delta * 2  # 10 x HiGHS' 1e-7 in units of delta, rows of 1-norm 1 (and s)
    assert np.max(f + G @ u) <= s + tol
    assert abs(s - s_opt) <= tol
    assert abs(mu.sum() - 1) <= 1e-6


@pytest.mark.slow
def test_an_uncertified_best_code_is_polished_again_for_longer():
    # A Softmax code of 29 points in R^7 as the equivalence table's search left it (commit
    # ffbc515; KKT residual 4e-3): degenerate (about 308 active pieces for 2 K d - 2 K = 348
    # tangent directions), so the polish's default 100 sequential-LP iterations stop before
    # they have found the active set on which Newton converges.  The grid's last polish of an
    # uncertified best code runs RETRY_MAX_ITER of them.
    from spherecodes import hull
    from spherecodes.solvers import SolveConfig, grid

    W = np.load(Path(__file__).parent / "data" / "softmax_d7_K29_uncertified.npy")
    first = polish("softmax", W)
    assert not first.converged
    code, feat, value, kkt, converged = grid._polish_candidates(
        "softmax", 7, 29, [(W, None)], SolveConfig(objective="softmax")
    )
    assert converged and kkt <= eb.polish_tol()
    # certified and not worse than the first polish (a local optimum near it, to its tolerance)
    assert value <= first.value + eb.polish_value(2 * 29)
    # the reported value is -rho_1vr of the code, computed independently by the hull QPs
    assert abs(-value - float(hull.rho_1vr(code))) <= eb.polish_value(2 * 29) + eb.hull_distance(
        29, 7
    )
