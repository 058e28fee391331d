"""Pairwise measures against closed forms, and the sphere helpers they rest on."""

import math

import errbounds as eb
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spherecodes import measures, sphere


def kgon(K):
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def simplex(K):
    # K points in R^K centred and normalized; inner products exactly -1/(K-1) up to rounding.
    x = np.eye(K) - 1.0 / K
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def cross_polytope(d):
    e = np.eye(d)
    return np.concatenate([e, -e])


@pytest.mark.parametrize("K", [3, 4, 5, 7, 12, 100])
def test_kgon(K):
    c = kgon(K)
    # Gram entries of rounded cos/sin rows are within gram(2); the angle follows through arccos'
    # slope (angle_deg), the references carry a few roundings each (formula).
    cos_k = math.cos(2 * math.pi / K)
    assert measures.min_angle_deg(c) == pytest.approx(360.0 / K, abs=eb.angle_deg(2, cos_k))
    assert measures.max_inner(c) == pytest.approx(cos_k, abs=eb.gram(2) + eb.formula(7))
    # a chord: a 2-term norm of differences <= 2 of rows each off by gram(2)
    assert measures.rho_1v1(c) == pytest.approx(
        2 * math.sin(math.pi / K), abs=eb.gram(2) + eb.formula(7, 2.0)
    )
    assert not measures.tammes_rattlers(c).any()


@pytest.mark.parametrize("K", [2, 3, 4, 9])
def test_simplex(K):
    c = simplex(K)
    # rows in R^K: Gram entries within gram(K); the chord (entries <= 2) within gram(K) as well;
    # the references are 2-4 operations (formula).
    assert measures.max_inner(c) == pytest.approx(-1.0 / (K - 1), abs=eb.gram(K) + eb.formula(2))
    assert measures.coherence(c) == pytest.approx(1.0 / (K - 1), abs=eb.gram(K) + eb.formula(2))
    assert measures.rho_1v1(c) == pytest.approx(
        math.sqrt(2 * K / (K - 1)), abs=eb.gram(K) + eb.formula(4, 2.0)
    )


def test_cross_polytope_and_coherence():
    c = cross_polytope(5)
    # signed unit vectors: every Gram entry is exact (0, +-1) and atan2(sqrt 2, sqrt 2) is
    # within a few ulp of pi/4; the closed-form bounds still hold (angle_deg, gram)
    assert measures.min_angle_deg(c) == pytest.approx(90.0, abs=eb.angle_deg(5, 0.0))
    assert measures.coherence(c) == pytest.approx(1.0, abs=eb.gram(5))  # antipodal pairs
    assert measures.max_inner(c) == pytest.approx(0.0, abs=eb.gram(5))


def test_angle_precision_at_tiny_angles():
    # Two points 1e-9 rad apart: arccos of the inner product would return 0 or ~2e-8.
    eps = 1e-9
    c = np.array([[1.0, 0.0], [math.cos(eps), math.sin(eps)], [-1.0, 0.0]])
    assert measures.min_angle_deg(c) == pytest.approx(math.degrees(eps), rel=1e-6)


def test_blocked_equals_dense():
    c = sphere.random_code(jax.random.PRNGKey(3), 300, 7)
    dense = measures.nearest_neighbors(c, block=1024)
    blocked = measures.nearest_neighbors(c, block=64)
    np.testing.assert_array_equal(dense.index, blocked.index)
    # the same 7-term dot products of unit rows, blocked differently: within same_sum(7)
    np.testing.assert_allclose(dense.score, blocked.score, rtol=0, atol=eb.same_sum(7))
    g = np.array(c @ c.T)
    np.fill_diagonal(g, -np.inf)
    np.testing.assert_allclose(dense.score, g.max(axis=1), rtol=0, atol=eb.same_sum(7))


def test_vmap_and_float64():
    cs = jnp.stack(
        [sphere.random_code(jax.random.PRNGKey(i), 20, 4, dtype=jnp.float32) for i in range(3)]
    )
    batched = jax.vmap(measures.min_angle_deg)(cs.astype(jnp.float64))
    looped = jnp.array([measures.min_angle_deg(c.astype(jnp.float64)) for c in cs])
    # vmapped or looped, each minimal angle is within angle_deg(4, cos) of the exact one (the
    # Gram entries may be summed in another order): the two within twice that
    cos_min = np.cos(np.radians(np.asarray(looped)))
    bound = [2 * eb.angle_deg(4, c) for c in cos_min]
    np.testing.assert_array_less(np.abs(np.asarray(batched) - np.asarray(looped)), bound)
    assert batched.dtype == jnp.float64


def test_tammes_rattler():
    # Square in the plane plus its centre direction lifted: the pole (0,0,1) with the square on
    # the equator touches all four at 90 deg; a fifth equator point would not be a rattler.
    c = np.array([[1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0], [0, 0, 1.0]])
    assert not measures.tammes_rattlers(c).any()
    # Squash: move the pole far from all others (only possible point is itself); instead add a
    # point at the south pole to a configuration with a tighter pair elsewhere.
    t = np.radians(30)
    c2 = np.array([[1, 0, 0], [math.cos(t), math.sin(t), 0], [0, 0, -1.0]])
    r = np.asarray(measures.tammes_rattlers(c2))
    assert r.tolist() == [False, False, True]


def test_equivalent_code_preserves_gram():
    c = sphere.random_code(jax.random.PRNGKey(0), 12, 5)
    e = sphere.equivalent_code(c, jax.random.PRNGKey(1))
    g1 = np.sort(np.asarray(c @ c.T).ravel())
    g2 = np.sort(np.asarray(e @ e.T).ravel())
    # e_i = R c_i, so <e_i, e_j> - <c_i, c_j> = c_i^T (R^T R - I) c_j: at most d * max|R^T R - I|
    # for the rotation's own (measured) orthogonality defect, plus the rounding of the 5-term
    # products R c_i (dot(5) per entry, sqrt 5 of them, against a unit row: twice) and of the
    # two Gram entries (same_sum(5))
    rot = np.asarray(sphere.skew_rotation(jax.random.split(jax.random.PRNGKey(1))[0], 5))
    defect = np.abs(rot.T @ rot - np.eye(5)).max() + eb.dot(5)
    bound = 5 * defect + 2 * eb.dot(5) * 5**0.5 + eb.same_sum(5)
    np.testing.assert_allclose(g1, g2, rtol=0, atol=bound)
    assert not np.allclose(np.asarray(c), np.asarray(e))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones(3), "2-D"),
        (np.array([[1.0, 0.0]]), "K=1"),
        (np.ones((3, 1)), "d=1"),
        (np.array([[np.nan, 0.0], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, 0.0], [1.0, 0.0]]), "zero row"),
        (np.array([[1.1, 0.0], [1.0, 0.0]]), "norm"),
    ],
)
def test_validate_code_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        sphere.validate_code(bad)


def test_validate_code_renormalizes_small_deviation():
    c = np.array([[1 + 5e-7, 0.0], [0.0, 1.0]])
    out = sphere.validate_code(c)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=0, atol=eb.unit_norm(2))
