"""Tests of spherecodes.hull against closed forms, Theorem C.11 and the cvxpy reference."""

import itertools
import math

import errbounds
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spherecodes import hull, measures
from spherecodes.sphere import random_code


def assert_certified(res):
    """Every non-inside point has a certified distance: 0 <= gap <= bound up to rounding.

    The solver stops a point at gap <= hull.GAP_TOL (the library's documented target) or
    re-solves it exactly on the host; the computed gap and dual carry rounding of at most
    errbounds.certificate_gap(K, d) (well-conditioned supports: kappa, distance ~ 1).
    """
    K, d = np.asarray(res.feature).shape[-2:]
    rounding = errbounds.certificate_gap(K, d)
    gap = np.asarray(res.gap)
    assert np.all(gap <= hull.GAP_TOL + rounding), f"max gap {gap.max():.3e}"
    assert np.all(gap >= -rounding), f"negative gap {gap.min():.3e}: dual above primal"
    out = ~np.asarray(res.inside)
    dual, dist = np.asarray(res.dual), np.asarray(res.distance)
    np.testing.assert_array_less(dual[out], dist[out] + rounding)


def within_gap(res, truth):
    """Return whether every distance is within its own certificate gap of `truth`, up to
    rounding: by weak duality dual <= true distance <= distance, so |distance - truth| <= gap,
    and the computed values each carry errbounds.certificate_gap(K, d)."""
    K, d = np.asarray(res.feature).shape[-2:]
    err = np.abs(np.asarray(res.distance) - np.asarray(truth))
    return bool(np.all(err <= np.asarray(res.gap) + errbounds.certificate_gap(K, d)))


def same_distances(a, b):
    """Return whether two solves agree: both bracket the true distance by their certificates,
    so |a - b| <= max(gap_a, gap_b) plus the rounding of each (errbounds.certificate_gap)."""
    K, d = np.asarray(a.feature).shape[-2:]
    gap = np.maximum(np.asarray(a.gap), np.asarray(b.gap))
    err = np.abs(np.asarray(a.distance) - np.asarray(b.distance))
    return bool(np.all(err <= gap + 2 * errbounds.certificate_gap(K, d)))


def polygon(K):
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def simplex(K, d):
    """K points with pairwise inner products -1/(K-1), embedded in R^d (K <= d + 1)."""
    e = np.eye(K) - 1.0 / K
    # Orthonormal basis of the sum-zero subspace of R^K, then pad to d coordinates.
    q, _ = np.linalg.qr(e)
    pts = e @ q[:, : K - 1]
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    return np.pad(pts, ((0, 0), (0, d - (K - 1))))


def cross_polytope_subset(d, K, seed=0):
    """K of the 2d points +-e_i (d + 1 < K <= 2d), rotated randomly."""
    pts = np.concatenate([np.eye(d), -np.eye(d)])
    keep = np.random.default_rng(seed).permutation(2 * d)[:K]
    rot, _ = np.linalg.qr(np.random.default_rng(seed + 1).standard_normal((d, d)))
    return pts[keep] @ rot


def icosahedron():
    phi = (1 + math.sqrt(5)) / 2
    pts = []
    for a, b in itertools.product((-1, 1), repeat=2):
        pts += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    pts = np.array(pts, dtype=float)
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def rand(K, d, seed):
    return random_code(jax.random.PRNGKey(seed), K, d)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("K", [3, 4, 5, 12])
def test_regular_polygon(K):
    # The nearest hull point of w_0 is the midpoint of the chord w_1 w_{K-1}, at height
    # cos(2 pi / K); for K = 3 this is the opposite side's midpoint, also 1 - cos(2 pi / 3).
    res = hull.one_vs_rest(polygon(K))
    assert within_gap(res, 1 - math.cos(2 * math.pi / K))
    assert_certified(res)
    assert not res.inside.any()


@pytest.mark.parametrize("K,d", [(2, 2), (3, 2), (4, 3), (5, 7)])
def test_simplex(K, d):
    # Vertex w_k and the centroid c = -w_k/(K-1) of the others (they sum to zero): w_k - c is
    # orthogonal to the facet, so the distance is ||w_k (1 + 1/(K-1))|| = K/(K-1).
    res = hull.one_vs_rest(simplex(K, d))
    assert within_gap(res, K / (K - 1))
    rho = float(hull.rho_1vr(simplex(K, d)))
    assert abs(rho - K / (K - 1)) <= hull.GAP_TOL + errbounds.certificate_gap(K, d)
    assert_certified(res)


def test_nearby_shapes_share_one_program_and_padding_is_never_a_hull_point():
    # Simplices of 5 and 6 points in R^5 are both solved at the padded shape (6, 6): one
    # compiled program.  The 5-point code gets a zero padding point; were it a hull point,
    # every distance would be at most ||w_k - 0|| = 1 < 5/4, the closed form (test_simplex).
    first = hull.one_vs_rest(simplex(6, 5))
    programs = hull._one_vs_rest._cache_size()
    res = hull.one_vs_rest(simplex(5, 5))
    assert hull._one_vs_rest._cache_size() == programs
    assert res.distance.shape == (5,) and res.feature.shape == res.nearest.shape == (5, 5)
    assert within_gap(first, 6 / 5) and within_gap(res, 5 / 4)
    assert_certified(res)


@pytest.mark.parametrize("d,K", [(2, 4), (3, 5), (5, 7), (4, 7)])
def test_cross_polytope_subsets(d, K):
    # Every other point has <w_j, w_k> <= 0, so dist >= 1; K >= d + 2 leaves an antipodal pair
    # among the others, so 0 is in their hull and dist <= 1.  Theorem 3.3: rho_1vr = 1.
    res = hull.one_vs_rest(cross_polytope_subset(d, K))
    assert within_gap(res, 1.0)
    assert_certified(res)


def test_icosahedron():
    # The 5 neighbours lie in the plane <x, w_k> = 1/sqrt(5) and every other point below it;
    # the foot of w_k on that plane is the pentagon's centre, so dist = 1 - 1/sqrt(5).
    res = hull.one_vs_rest(icosahedron())
    assert within_gap(res, 1 - 1 / math.sqrt(5))
    assert_certified(res)
    # Lemma C.4: the optimal feature of a vertex is the vertex itself, by symmetry.
    np.testing.assert_allclose(res.feature, icosahedron(), atol=1e-10)


def test_feature_is_lemma_c4_optimum():
    # h_k attains min_{|h|=1} max_{j != k} <w_j - w_k, h> = -dist (Lemma C.4): the dual value
    # at h_k equals the distance.
    code = rand(40, 5, 3)  # K > 2d
    res = hull.one_vs_rest(code)
    w = np.asarray(code)
    margins = np.einsum("kd,jd->kj", np.asarray(res.feature), w)
    np.fill_diagonal(margins, -np.inf)
    val = np.sum(np.asarray(res.feature) * w, axis=1) - margins.max(axis=1)
    # val is the dual recomputed here: within the gap of the distance, up to rounding.
    K, d = w.shape
    assert np.all(np.abs(val - res.distance) <= res.gap + 2 * errbounds.certificate_gap(K, d))
    # h = x / ||x||: a d-term norm and a division, each row's norm within gram(d) of 1.
    np.testing.assert_allclose(np.linalg.norm(res.feature, axis=1), 1.0, atol=errbounds.gram(d))
    # the nearest point is in the hull: the feature is normal to it, p_k = w_k - dist * h_k.
    np.testing.assert_allclose(
        res.nearest, w - res.distance[:, None] * res.feature, atol=errbounds.hull_distance(K, d)
    )


# ----------------------------------------------------------------------------- theorems


#: Shapes shared with other tests, so that hypothesis varies the codes without recompiling.
SHAPES = [(4, 3), (5, 7), (12, 3), (12, 2), (40, 5), (7, 5)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(SHAPES), seed=st.integers(min_value=0, max_value=2**16))
def test_theorem_c11(shape, seed):
    # rho_1v1^2 / 2 <= rho_1vr <= rho_1v1 for every unit code (Theorem C.11).
    code = rand(*shape, seed)
    res = hull.one_vs_rest(code)
    r1 = float(measures.rho_1v1(code))
    rvr = float(jnp.min(res.distance))
    slack = errbounds.c11_slack(*shape)
    assert r1**2 / 2 - slack <= rvr <= r1 + slack
    assert_certified(res)


# ----------------------------------------------------------------------------- reference


@pytest.mark.parametrize("K,d", [(3, 8), (7, 5), (12, 3), (40, 5)])
def test_matches_cvxpy(K, d):
    # Shapes cover K < d, d < K <= 2d and K > 2d.
    code = rand(K, d, K * 100 + d)
    res = hull.one_vs_rest(code)
    ref = hull.one_vs_rest_cvxpy(np.asarray(code))
    np.testing.assert_allclose(res.distance, ref, rtol=0, atol=1e-8)
    assert_certified(res)


# ----------------------------------------------------------------------------- degenerate


def test_duplicate_point_is_inside():
    code = np.asarray(rand(11, 3, 7))
    code = np.concatenate([code, code[3:4]])
    res = hull.one_vs_rest(code)
    inside = np.asarray(res.inside)
    assert inside[3] and inside[11] and inside.sum() == 2
    assert float(res.distance[3]) == 0.0 and float(res.distance[11]) == 0.0
    assert np.isnan(res.feature[3]).all()
    assert float(hull.rho_1vr(code)) == 0.0
    assert np.all(np.isfinite(np.asarray(res.distance)))
    assert_certified(res)


# ----------------------------------------------------------------------------- batching, dtypes


def test_vmap_equals_loop():
    codes = jnp.stack([rand(12, 3, s) for s in range(3)])
    batched = jax.vmap(hull.one_vs_rest)(codes)
    for i in range(codes.shape[0]):
        single = hull.one_vs_rest(codes[i])
        one = jax.tree_util.tree_map(lambda x, i=i: x[i], batched)
        assert same_distances(one, single)
        # The duals bracket the truth from below, within the same gaps.
        assert np.all(
            np.abs(one.dual - single.dual)
            <= np.maximum(one.gap, single.gap) + 2 * errbounds.certificate_gap(12, 3)
        )
    assert_certified(batched)


def test_float32_input_gives_float64():
    code32 = rand(12, 3, 11).astype(jnp.float32)
    res = hull.one_vs_rest(code32)
    for field in (res.distance, res.nearest, res.feature, res.dual, res.gap):
        assert field.dtype == jnp.float64
    assert_certified(res)
    ref = hull.one_vs_rest(code32.astype(jnp.float64))
    np.testing.assert_array_equal(res.distance, ref.distance)


def test_working_set_enlargement():
    # d = 8, K = 80: supports have several points, not all among the 2 nearest neighbours, so
    # the initial working set (m = 2) cannot certify: with no room to grow the certificate
    # fails visibly; allowed to grow, every point ends certified (gap <= 1e-10 is a proof that
    # the distance is right to 1e-10, by weak duality).
    code = rand(80, 8, 5)
    stuck = hull.one_vs_rest(code, m=2, m_max=2, recertify=False)
    assert float(jnp.max(stuck.gap)) > 1e-3
    grown = hull.one_vs_rest(code, m=2, grow=2, recertify=False)
    assert_certified(grown)
    assert float(jnp.max(jnp.abs(grown.distance - stuck.distance))) > 1e-3
    # The host-side exact fallback certifies the points the stuck batched solve left open,
    # and agrees with the grown working set.
    rescued = hull.one_vs_rest(code, m=2, m_max=2)
    assert_certified(rescued)
    assert same_distances(rescued, grown)
    np.testing.assert_allclose(rescued.distance, hull.one_vs_rest_cvxpy(code), rtol=0, atol=1e-8)


def test_blocks_equal_one_block():
    code = rand(40, 5, 2)
    a = hull.one_vs_rest(code, block=7)
    b = hull.one_vs_rest(code)  # one block of 40
    assert same_distances(a, b)


# ----------------------------------------------------------------------------- rattlers, errors


def test_min_norm_point_on_a_degenerate_face():
    # 8 cube-face vertices (1, +-1, +-1, +-1) all on the nearest face of the hull: support
    # larger than the face's dimension + 1, where an affine active set cycles.
    rng = np.random.default_rng(0)
    face = np.array([(1.0, *s) for s in itertools.product((-1.0, 1.0), repeat=3)])
    far = np.abs(rng.normal(size=(20, 4))) + np.array([1.5, 0, 0, 0])
    U = np.vstack([far[:10], face, far[10:]])
    x, lam = hull.min_norm_point(U)
    np.testing.assert_allclose(x, [1, 0, 0, 0], atol=1e-15)
    assert lam.min() >= 0 and abs(lam.sum() - 1) < 1e-15
    assert np.all(lam[np.r_[0:10, 18:28]] == 0)


def test_min_norm_point_bad_input():
    with pytest.raises(ValueError, match="U must be a 2-D"):
        hull.min_norm_point(np.ones(3))
    with pytest.raises(ValueError, match="U must be a 2-D"):
        hull.min_norm_point(np.ones((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        hull.min_norm_point(np.array([[1.0, np.nan]]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(2, 40), n=st.integers(2, 12))
def test_min_norm_point_certificate(seed, m, n):
    """Optimality of the min-norm point: <x, u_j> >= |x|^2 for every row u_j (to rounding)."""
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(m, n)) + rng.normal(size=n)
    x, lam = hull.min_norm_point(U)
    assert lam.min() >= 0 and abs(lam.sum() - 1) < 1e-13
    np.testing.assert_allclose(x, lam @ U, atol=1e-14)
    scale = max(1.0, float(np.abs(U).max())) ** 2
    assert (U @ x).min() >= x @ x - 1e-12 * scale


def test_softmax_rattlers():
    # Regular pentagon: no rattler.  Angles -0.05, 0.05, pi/2, pi, 3pi/2: the set is symmetric
    # under y -> -y, so the close pair has equal distances (~0.07) and attains rho_1vr, while
    # the three far points are farther from the hull of the rest (pi is at distance 1).
    assert not hull.softmax_rattlers(polygon(5)).any()
    t = np.array([-0.05, 0.05, np.pi / 2, np.pi, 3 * np.pi / 2])
    code = np.stack([np.cos(t), np.sin(t)], axis=1)
    res = hull.one_vs_rest(code)
    ratt = np.asarray(hull.softmax_rattlers(code))
    dist = np.asarray(res.distance)
    np.testing.assert_array_equal(ratt, dist > dist.min() + hull.RATTLER_TOL)
    assert not ratt[0] and not ratt[1] and ratt[2:].all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="K=1"):
        hull.one_vs_rest(np.ones((1, 3)))
    with pytest.raises(ValueError, match="m=0"):
        hull.one_vs_rest(polygon(5), m=0)
    with pytest.raises(ValueError, match="shape"):
        hull.one_vs_rest(np.ones(3))
