"""Tests for spherecodes.known and spherecodes.lattices against the mathematics: Cohn–Kumar's
Table 1 inner products, distance distributions from the strongly regular graphs and the Leech
lattice theta series, the Golay code's weight enumerator and Steiner system, Theorem 3.3."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import errbounds as eb
import numpy as np
import pytest

from spherecodes import known, lattices, measures

#: Codes whose full K x K Gram matrix is cheap; the Leech minimal vectors are sampled by rows.
FULL_GRAM_MAX_K = 5000
CODES = known.cohn_kumar_codes()
SMALL = [c for c in CODES if c.K <= FULL_GRAM_MAX_K]
IP_TOL = 1e-9  # rounding of float64 inner products computed from exact constructions


def _ids(codes):
    return [c.name for c in codes]


def _spectrum(code, rows=None):
    return known.distinct_inner_products(code, rows, tol=IP_TOL)


# --------------------------------------------------------------------------------------------
# Table 1 of Cohn & Kumar
# --------------------------------------------------------------------------------------------


def test_registry_covers_table1():
    """Every sporadic (d, K) of Cohn–Kumar Table 1 and the isotropic family with d <= 100."""
    dk = {(c.d, c.K) for c in CODES}
    table1 = {
        (3, 12),
        (4, 120),
        (5, 16),
        (6, 27),
        (7, 56),
        (8, 240),
        (21, 112),
        (21, 162),
        (22, 100),
        (22, 275),
        (22, 891),
        (23, 552),
        (23, 4600),
        (24, 196560),
        (52, 325),
    }
    assert table1 <= dk
    assert len(known.COHN_KUMAR) == len(CODES)
    assert all(c.d <= 100 for c in CODES)
    assert [c.name for c in known.cohn_kumar_codes(8)] == [c.name for c in CODES if c.d <= 8]
    assert all(c.K <= 300 for c in known.cohn_kumar_codes(max_points=300))


@pytest.mark.parametrize("code", SMALL, ids=_ids(SMALL))
def test_table1_code(code):
    x = code.build()
    assert x.shape == (code.K, code.d)
    assert x.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=0, atol=eb.unit_norm(code.d))
    expected = code.inner_product_values()
    got = _spectrum(x)
    assert got.shape == expected.shape, (got, expected)
    np.testing.assert_allclose(got, expected, rtol=0, atol=IP_TOL)
    g = x @ x.T
    np.fill_diagonal(g, np.nan)
    assert abs(np.nanmin(g) - expected[0]) < IP_TOL
    assert abs(np.nanmax(g) - expected[-1]) < IP_TOL
    assert len(np.unique(np.round(x, 9), axis=0)) == code.K  # distinct points


def test_leech_minimal_vectors():
    x = known.leech_minimal_vectors()
    assert x.shape == (196560, 24)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=0, atol=eb.unit_norm(24))
    # Co_0 acts transitively on the minimal vectors, so the inner products of a few rows with
    # all rows give the whole set and every row has the same distance distribution.
    rows = np.concatenate([[0], np.random.default_rng(0).choice(196560, 4, replace=False)])
    got = _spectrum(x, rows)
    np.testing.assert_allclose(
        got, known.COHN_KUMAR["Leech minimal vectors"].inner_product_values(), rtol=0, atol=IP_TOL
    )
    # Theta series of the Leech lattice, split by inner product with one minimal vector.
    dist = {-1: 1, -1 / 2: 4600, -1 / 4: 47104, 0: 93150, 1 / 4: 47104, 1 / 2: 4600}
    for r in rows[:3]:
        vals, counts = known.distance_distribution(x, r, tol=IP_TOL)
        np.testing.assert_allclose(vals, list(dist), rtol=0, atol=IP_TOL)
        assert counts.tolist() == list(dist.values())


def test_leech_min_angle_from_rows():
    # Transitivity again: the minimal angle seen from row 0 is the code's minimal angle.
    x = known.leech_minimal_vectors()
    ips = np.delete(x @ x[0], 0)
    assert math.degrees(math.acos(ips.max())) == pytest.approx(60.0, abs=1e-9)


@pytest.mark.slow
def test_leech_min_angle_full():
    # All 196560^2 pairs through measures.min_angle_deg: about 6 minutes on 2 shared CPU cores.
    x = known.leech_minimal_vectors()
    assert float(measures.min_angle_deg(x)) == pytest.approx(60.0, abs=1e-9)


# Distance distributions (inner product -> number of other points) of one point, from the
# strongly regular graphs and designs behind each code.  All of these codes are distance
# regular (their automorphism groups are transitive), so any row may be used.
DISTRIBUTIONS = {
    "icosahedron": {-1: 1, -1 / math.sqrt(5): 5, 1 / math.sqrt(5): 5},
    "600-cell": {
        -1: 1,
        -(1 + math.sqrt(5)) / 4: 12,
        -1 / 2: 20,
        (1 - math.sqrt(5)) / 4: 12,
        0: 30,
        (math.sqrt(5) - 1) / 4: 12,
        1 / 2: 20,
        (1 + math.sqrt(5)) / 4: 12,
    },
    "hemicube": {-3 / 5: 5, 1 / 5: 10},
    "Schlafli": {-1 / 2: 10, 1 / 4: 16},
    "28 equiangular lines": {-1: 1, -1 / 3: 27, 1 / 3: 27},
    "E8 roots": {-1: 1, -1 / 2: 56, 0: 126, 1 / 2: 56},
    "isotropic q=2": {-1 / 2: 10, 1 / 4: 16},
    "isotropic q=3": {-1 / 3: 30, 1 / 9: 81},  # srg(112, 30, 2, 10)
    "isotropic q=4": {-1 / 4: 68, 1 / 16: 256},  # srg(325, 68, 3, 17)
    "(21,162)": {-2 / 7: 56, 1 / 7: 105},  # srg(162, 56, 10, 24)
    "Higman-Sims": {-4 / 11: 22, 1 / 11: 77},  # srg(100, 22, 0, 6)
    "McLaughlin": {-1 / 4: 112, 1 / 6: 162},  # srg(275, 112, 30, 56)
    "(22,891)": {-1 / 2: 42, -1 / 8: 512, 1 / 4: 336},
    "276 equiangular lines": {-1: 1, -1 / 5: 275, 1 / 5: 275},
    "Leech kissing": {-1: 1, -1 / 3: 891, 0: 2816, 1 / 3: 891},
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_distance_distribution(name):
    x = known.COHN_KUMAR[name].build()
    dist = DISTRIBUTIONS[name]
    for row in (0, len(x) // 2, len(x) - 1):
        vals, counts = known.distance_distribution(x, row, tol=IP_TOL)
        np.testing.assert_allclose(vals, sorted(dist), rtol=0, atol=IP_TOL)
        assert counts.tolist() == [dist[k] for k in sorted(dist)]


@pytest.mark.parametrize("code", SMALL, ids=_ids(SMALL))
def test_min_angle_matches_largest_inner_product(code):
    expected = math.degrees(math.acos(float(code.inner_products[-1])))
    got = float(measures.min_angle_deg(code.build()))
    assert got == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(
    "name, degrees",
    [
        ("icosahedron", 63.4349488),
        ("600-cell", 36.0),
        ("E8 roots", 60.0),
        ("Leech kissing", math.degrees(math.acos(1 / 3))),
        ("McLaughlin", math.degrees(math.acos(1 / 6))),
    ],
)
def test_min_angle_literal(name, degrees):
    got = float(measures.min_angle_deg(known.COHN_KUMAR[name].build()))
    assert got == pytest.approx(degrees, abs=1e-7)


def test_exact_values():
    # a surd (sqrt, +, /: 3 roundings) against cos(2 pi / 5) (2 + 4 for cos): formula(6)
    assert float(known.Surd(-1, 1, 4, 5)) == pytest.approx(
        math.cos(2 * math.pi / 5), abs=eb.formula(6)
    )
    assert str(known.Surd(-1, 1, 4, 5)) == "(-1+sqrt(5))/4"
    assert str(known.Surd(0, -1, 5, 5)) == "-sqrt(5)/5"
    assert float(known.CosPi(2, 7)) == pytest.approx(math.cos(2 * math.pi / 7), abs=eb.formula(6))
    assert str(known.CosPi(1, 7)) == "cos(pi/7)"
    for c in CODES:
        vals = c.inner_product_values()
        assert np.all(np.diff(vals) > 0) and -1 <= vals[0] and vals[-1] < 1, c.name
        assert all(isinstance(v, Fraction | known.Surd | known.CosPi) for v in c.inner_products)
        assert c.construction and c.builder is not None
    # The K-gon's inner products cos(2 pi j/K), with the rational ones as Fractions.
    assert known.COHN_KUMAR["6-gon"].inner_products == (
        Fraction(-1),
        Fraction(-1, 2),
        Fraction(1, 2),
    )


# --------------------------------------------------------------------------------------------
# Derivations agree with each other
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parent, inner, child",
    [
        (known.cell600, None, "icosahedron"),
        (known.e8_roots, None, "28 equiangular lines"),
        (known.e7_kissing, 1 / 3, "Schlafli"),
        (known.schlafli, 1 / 4, "hemicube"),
        (known.leech_kissing, None, "(22,891)"),
        (known.mclaughlin, 1 / 6, "(21,162)"),
    ],
)
def test_kissing_configurations(parent, inner, child):
    kid = known.kissing_configuration(parent(), 3, inner=inner)
    ref = known.COHN_KUMAR[child]
    assert kid.shape == (ref.K, ref.d)
    np.testing.assert_allclose(_spectrum(kid), ref.inner_product_values(), rtol=0, atol=IP_TOL)


def test_leech_kissing_is_kissing_configuration():
    x = known.leech_minimal_vectors()
    kid = known.kissing_configuration(x, 12345)
    assert kid.shape == (4600, 23)
    np.testing.assert_allclose(
        _spectrum(kid, np.arange(0, 4600, 97)), [-1, -1 / 3, 0, 1 / 3], rtol=0, atol=IP_TOL
    )


def test_mclaughlin_from_equiangular_lines():
    lines = known.equiangular_276()
    kid = known.kissing_configuration(lines, 0, inner=1 / 5)
    assert kid.shape == (275, 22)
    np.testing.assert_allclose(_spectrum(kid), [-1 / 4, 1 / 6], rtol=0, atol=IP_TOL)


def test_section_and_kissing_errors():
    with pytest.raises(ValueError, match="center=5"):
        known.kissing_configuration(known.kgon(5), 5)
    with pytest.raises(ValueError, match="no point"):
        known.section(np.eye(3), [[1.0, 0.0, 0.0]], [0.5])
    with pytest.raises(ValueError, match="one entry per anchor"):
        known.section(np.eye(3), [[1.0, 0.0, 0.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="linearly independent"):
        known.section(np.eye(3), [[1.0, 0, 0], [2.0, 0, 0]], [0.0, 0.0])


def test_builders_return_fresh_arrays():
    for build in (
        known.leech_minimal_vectors,
        known.cell600,
        known.mclaughlin,
        lambda: known.isotropic_subspaces(3),
        lattices.golay_codewords,
    ):
        ref = build()
        a = build()
        a[...] = 2
        assert np.array_equal(build(), ref)


# --------------------------------------------------------------------------------------------
# Lattices and the Golay code
# --------------------------------------------------------------------------------------------


def test_golay_code():
    words = lattices.golay_codewords()
    assert words.shape == (4096, 24) and len(np.unique(words, axis=0)) == 4096
    w, n = np.unique(words.sum(axis=1), return_counts=True)
    assert dict(zip(w.tolist(), n.tolist(), strict=True)) == lattices.GOLAY_WEIGHTS
    # Linear: closed under addition (sum of two codewords is a codeword).
    as_int = words @ (1 << np.arange(24))
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, 4096, (2, 200))
    assert np.isin(as_int[i] ^ as_int[j], as_int).all()


def test_octads_form_steiner_system():
    octads = lattices.golay_octads()
    # S(5, 8, 24): the 759 * C(8, 5) = C(24, 5) five-subsets of octads are all distinct.
    keys = set()
    for row in octads:
        pos = np.flatnonzero(row)
        for s in combinations(pos.tolist(), 5):
            keys.add(s)
    assert len(keys) == math.comb(24, 5) == 759 * math.comb(8, 5)


def test_leech_integer_model():
    v = lattices.leech_minimal_scaled().astype(np.int64)
    assert v.shape == (196560, 24)
    assert np.all((v * v).sum(axis=1) == lattices.LEECH_MIN_NORM)
    assert len(np.unique(v, axis=0)) == 196560
    nz = np.bincount((v != 0).sum(axis=1), minlength=25)
    assert (nz[2], nz[8], nz[24], nz.sum()) == (1104, 97152, 98304, 196560)
    # u = (5, 1^23) is in the lattice: (-3, 1^23) + (4, 4, 0^22) + (4, -4, 0^22).
    u = lattices.leech_type3_scaled()
    parts = np.zeros((3, 24), dtype=np.int64)
    parts[0] = 1
    parts[0, 0] = -3
    parts[1:, 0] = 4
    parts[1:, 1] = (4, -4)
    assert np.array_equal(parts.sum(axis=0), u)
    rows = {tuple(r) for r in v.tolist()}
    assert all(tuple(p) in rows for p in parts.tolist())
    assert u @ u == 48  # type 3
    # Minimal vectors by inner product with u: the 552 = 2 * 276 lines, the 11178 of Co3:HS.
    assert np.bincount((v @ u + 32) // 8).tolist() == [
        0,
        552,
        11178,
        48600,
        75900,
        48600,
        11178,
        552,
    ]


def test_e8_roots():
    r = lattices.e8_roots_doubled().astype(np.int64)
    assert r.shape == (240, 8) and len(np.unique(r, axis=0)) == 240
    assert np.all((r * r).sum(axis=1) == 8)
    # Closed under the lattice: all inner products are integers once halved back (even lattice).
    g = r @ r.T
    assert np.all(g % 4 == 0)


# --------------------------------------------------------------------------------------------
# Families and Theorem 3.3
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("K", [2, 3, 5, 7, 16])
def test_kgon(K):
    x = known.kgon(K)
    assert x.shape == (K, 2)
    angles = np.sort(np.mod(np.arctan2(x[:, 1], x[:, 0]), 2 * np.pi))
    # each angle: t = 2 pi k / K (2 roundings), cos/sin (4), atan2 (4), mod 2 pi (1), all at
    # magnitude <= 2 pi; a difference of two (formula's factor 2): formula(11, 2 pi)
    bound = eb.formula(11, 2 * np.pi)
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / K, rtol=0, atol=bound)


@pytest.mark.parametrize("K, d", [(2, 2), (3, 2), (4, 3), (5, 10), (11, 10), (30, 100)])
def test_simplex(K, d):
    x = known.simplex(K, d)
    assert x.shape == (K, d)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=0, atol=eb.unit_norm(d))
    g = x @ x.T
    # Gram entries of unit rows in R^d (gram(d)) against -1/(K-1) (one division)
    off = g[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off, -1 / (K - 1), rtol=0, atol=eb.gram(d) + eb.formula(1))
    # exactly 0 for the exact rows; each stored entry is off by (d + 2) u relative (its row's
    # normalization, as in gram) and the K-term column sum by gamma_K, all over sum_k |x_kj| <= K
    np.testing.assert_allclose(x.sum(axis=0), 0.0, rtol=0, atol=eb.dot(K + d + 2, K))
    assert np.all(x[:, K - 1 :] == 0)  # the (K-1)-simplex lives in the first K-1 coordinates


def test_family_errors():
    with pytest.raises(ValueError, match="K=1 is too small"):
        known.kgon(1)
    with pytest.raises(ValueError, match="d=3 is too small"):
        known.simplex(5, 3)
    with pytest.raises(ValueError, match=r"K=4 is outside .* \[5, 6\]"):
        known.cross_polytope(3, 4)
    with pytest.raises(ValueError, match="K=7"):
        known.cross_polytope(3, 7)
    with pytest.raises(ValueError, match="q=6"):
        known.isotropic_subspaces(6)


def _hull_distance(point, others):
    """Distance from `point` to conv(others), by a tiny QP (cvxpy, Clarabel)."""
    import cvxpy as cp

    lam = cp.Variable(len(others), nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(point - others.T @ lam)), [cp.sum(lam) == 1])
    prob.solve(solver=cp.CLARABEL)
    return math.sqrt(max(prob.value, 0.0))


@pytest.mark.parametrize("d, K", [(3, 5), (3, 6), (4, 6), (4, 7), (5, 9)])
def test_theorem33_cross_polytope(d, K):
    x = known.theorem33_code(d, K)
    assert x.shape == (K, d)
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    assert g.max() == 0.0  # meets Rankin's orthoplex bound max <w_k, w_j> >= 0
    assert np.linalg.matrix_rank(x) == d
    # rho_1vr = 1 (Lemma C.9 is the upper bound), and no point is a rattler.
    for k in range(K):
        dist = _hull_distance(x[k], np.delete(x, k, axis=0))
        assert dist == pytest.approx(1.0, abs=1e-6)


def test_theorem33_other_cases():
    np.testing.assert_array_equal(known.theorem33_code(2, 7), known.kgon(7))
    np.testing.assert_array_equal(known.theorem33_code(2, 3), known.kgon(3))
    np.testing.assert_array_equal(known.theorem33_code(5, 6), known.simplex(6, 5))
    np.testing.assert_array_equal(known.theorem33_code(5, 3), known.simplex(3, 5))
    np.testing.assert_array_equal(known.theorem33_code(4, 8), known.cross_polytope(4))
    with pytest.raises(ValueError, match=r"K=9 .* d=4: need d = 2 or K <= 2d = 8"):
        known.theorem33_code(4, 9)
    with pytest.raises(ValueError, match="d=1"):
        known.theorem33_code(1, 2)
    with pytest.raises(ValueError, match="K=1"):
        known.theorem33_code(3, 1)
