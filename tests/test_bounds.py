"""Tests for spherecodes.bounds against closed forms, theorems and known optimal codes."""

from __future__ import annotations

import csv
import itertools
import math

import errbounds as eb
import numpy as np
import pytest
from scipy.special import roots_jacobi

from spherecodes import bounds

SQRT5 = math.sqrt(5.0)
PHI = (1.0 + SQRT5) / 2.0


# ----------------------------------------------------------------------------- explicit codes


def simplex(d: int) -> np.ndarray:
    """Regular simplex: d + 1 unit vectors in R^d."""
    e = np.eye(d + 1) - 1.0 / (d + 1)
    basis = np.linalg.svd(e)[2][:d]  # an orthonormal basis of the hyperplane sum(x) = 0
    pts = e @ basis.T
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def cross_polytope(d: int) -> np.ndarray:
    return np.concatenate([np.eye(d), -np.eye(d)])


def icosahedron() -> np.ndarray:
    pts = []
    for a, b in itertools.product((1.0, -1.0), repeat=2):
        for i in range(3):
            v = np.zeros(3)
            v[(i + 1) % 3], v[(i + 2) % 3] = a, b * PHI
            pts.append(v)
    pts = np.array(pts)
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def max_inner(code: np.ndarray, absolute: bool = False) -> float:
    g = code @ code.T
    if absolute:
        g = np.abs(g)
    np.fill_diagonal(g, -np.inf)
    return float(g.max())


def min_angle_deg(code: np.ndarray) -> float:
    return math.degrees(math.acos(max_inner(code)))


def simplex_gram_bound(d: int) -> float:
    """Return a bound on the error of simplex(d)'s Gram entries (derivation inline).

    The rows are e_k - 1/(d+1) (exact up to one rounding each) mapped by an SVD basis B whose
    measured orthogonality defect |B B^T - I| enters the Gram entries at most d times over
    (|row| <= 1); the d + 1-term products and the normalization are as in `gram`.
    """
    basis = np.linalg.svd(np.eye(d + 1) - 1.0 / (d + 1))[2][:d]
    defect = np.abs(basis @ basis.T - np.eye(d)).max() + eb.dot(d + 1)
    return d * defect + eb.gram(d + 1)


def test_explicit_codes_are_what_they_claim():
    """The helper codes above have the textbook inner products (guards the other tests)."""
    for d in (2, 3, 7):
        assert max_inner(simplex(d)) == pytest.approx(
            -1.0 / d, abs=simplex_gram_bound(d) + eb.formula(1)
        )
        assert np.allclose(np.linalg.norm(simplex(d), axis=1), 1.0)
    ico = icosahedron()
    assert ico.shape == (12, 3)
    # rows (0, +-1, +-phi) normalized: entries are closed forms (rounded), Gram within gram(3)
    assert max_inner(ico) == pytest.approx(1.0 / SQRT5, abs=eb.gram(3) + eb.formula(2))


# ----------------------------------------------------------------------------- Theorem 3.9


def direct_theorem39(d: int, K: int) -> tuple[float, float]:
    """Theorem 3.9 evaluated literally with math.gamma (fine for d <= 60)."""
    g = math.gamma
    lower = 0.5 * (math.sqrt(math.pi) / K * g((d + 1) / 2) / g(d / 2 + 1)) ** (2 / (d - 1))
    upper = 2.0 * (2 * math.sqrt(math.pi) / K * g((d + 1) / 2) / g(d / 2)) ** (1 / (d - 1))
    return lower, upper


@pytest.mark.parametrize("K", [2, 3, 7, 12, 100, 4097, 10**6])
def test_theorem39_matches_direct_gamma_evaluation(K):
    for d in range(2, 61):
        lower, upper = direct_theorem39(d, K)
        got = bounds.theorem39(d, K)
        # library: exp(p * sum of <= 6 log/lgamma terms), p = 2/(d-1) or 1/(d-1), terms summing
        # in magnitude to <= scale (exp_of_sum); direct: math.gamma's Lanczos sum (counted as
        # 16 ulp each, 3 of them) and 5 operations, then raised to p <= 2 (formula(2 * 53))
        scale = abs(math.lgamma((d + 1) / 2)) + abs(math.lgamma(d / 2 + 1)) + math.log(K) + 2
        rel = eb.exp_of_sum(6, scale, 2 / (d - 1)) + eb.formula(2 * 53)
        assert got.lower == pytest.approx(lower, rel=rel, abs=0)
        assert got.upper == pytest.approx(upper, rel=rel, abs=0)
        assert isinstance(got.lower, float) and isinstance(got.valid, bool)


def test_theorem39_validity_flag_is_the_stated_condition():
    for d in (2, 3, 10, 100, 10**4):
        threshold = math.sqrt(2 * math.pi * math.sqrt(math.e * d))
        # the same 6 operations (2 square roots, 2 products, 1 constant) on both sides
        assert bounds.theorem39_validity_threshold(d) == pytest.approx(threshold, rel=eb.formula(6))
        for K in range(2, 60):
            assert bounds.theorem39(d, K).valid == (K >= threshold), (d, K)
    # d = 2: threshold 3.83..., so the square (K = 4) is the first case covered.
    assert not bounds.theorem39(2, 3).valid and bounds.theorem39(2, 4).valid


def test_theorem39_extreme_arguments_are_finite_and_ordered():
    d = np.array([2, 3, 5, 10, 30, 100, 300, 1000, 3000, 10**4])[:, None]
    K = np.array([2, 3, 10, 100, 10**3, 10**5, 10**7, 10**9])[None, :]
    b = bounds.theorem39(d, K)
    assert b.lower.shape == b.upper.shape == b.valid.shape == (10, 8)
    for arr in (b.lower, b.upper):
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)
    assert np.all(b.lower < b.upper)
    # More classes, less room: both bounds fall strictly as K grows.
    assert np.all(np.diff(b.lower, axis=1) < 0) and np.all(np.diff(b.upper, axis=1) < 0)
    # The lower bound rises with d towards 1/2 (the base of the power is < 1, the power -> 0),
    # and the upper bound tends to 2, the diameter.
    assert np.all(np.diff(b.lower, axis=0) > 0) and np.all(b.lower < 0.5)
    assert np.all(np.abs(b.lower[-1] - 0.5) < 0.003)
    assert np.all(np.abs(b.upper[-1] - 2.0) < 0.004)
    # K = 10^9 points on the circle: lower = pi^2/(8 K^2), upper = 2 pi/K exactly.
    b2 = bounds.theorem39(2, 10**9)
    # exp(p * (log/lgamma terms, log 10^9 ~ 20.7)) with p = 2 and 1 (exp_of_sum); references 3 ops
    rel = eb.exp_of_sum(6, math.log(1e9) + 3, 2.0) + eb.formula(3)
    assert b2.lower == pytest.approx(math.pi**2 / 8e18, rel=rel)
    assert b2.upper == pytest.approx(2 * math.pi / 1e9, rel=rel)


def known_optima_rho():
    """(d, K, optimal rho_1vr, optimal rho_1v1) for codes whose optimality is proven."""
    cases = []
    for K in range(3, 60):  # regular K-gon
        cases.append((2, K, 1 - math.cos(2 * math.pi / K), 2 * math.sin(math.pi / K)))
    for d in range(2, 60):
        # Simplex: the facet opposite w_k has centroid -w_k/d.
        cases.append((d, d + 1, 1 + 1 / d, math.sqrt(2 + 2 / d)))
        cases.append((d, 2 * d, 1.0, math.sqrt(2.0)))  # cross-polytope
    cases.append((3, 12, 1 - 1 / SQRT5, math.sqrt(2 - 2 / SQRT5)))  # icosahedron
    return cases


def test_theorem39_brackets_known_optima_where_valid():
    checked = 0
    for d, K, rho_1vr, rho_1v1 in known_optima_rho():
        b = bounds.theorem39(d, K)
        if not b.valid:
            continue
        checked += 1
        assert b.lower <= rho_1vr <= b.upper, (d, K)
        # The parts it is built from bound rho_1v1 (Lemma C.13 and Moore's bound).
        assert bounds.rho1v1_covering_lower_bound(d, K) <= rho_1v1 <= b.upper, (d, K)
    assert checked > 100


def test_covering_lower_bound_is_the_square_root_of_twice_the_theorem39_lower_bound():
    d, K = np.arange(2, 50), 1000
    lower = bounds.theorem39(d, K).lower
    # both are exp of the same log-sum (_log_vd_ratio - log K) scaled by 1/(d-1) and 2/(d-1):
    # squaring doubles the first's relative error, the exponent scalings round differently
    scale = np.abs([math.lgamma((x + 1) / 2) for x in d]) * 2 + math.log(K) + 2
    rtol = np.array([eb.exp_of_sum(4, s, 2 / (x - 1)) for s, x in zip(scale, d, strict=True)])
    got = bounds.rho1v1_covering_lower_bound(d, K) ** 2 / 2
    np.testing.assert_array_less(np.abs(got - lower), rtol * np.abs(lower))


# ----------------------------------------------------------------------------- Theorem C.11


def test_theorem_c11_on_known_codes_and_ends_of_the_interval():
    for d, K, rho_1vr, rho_1v1 in known_optima_rho():
        r = bounds.theorem_c11(rho_1v1, rho_1vr)
        assert r.holds, (d, K)
        # All these optima are softmax codes whose nearest hull point is a facet centre:
        # rho_1vr = rho_1v1^2 / 2 exactly, the lower end.
        assert r.position == pytest.approx(0.0, abs=1e-9), (d, K)
    r = bounds.theorem_c11(1.0, np.array([0.5, 0.75, 1.0, 0.4, 1.1]))
    np.testing.assert_array_equal(r.holds, [True, True, True, False, False])
    # (rho_1vr - lower) / (upper - lower) on exact halves: 3 roundings, magnitudes <= 1.2
    np.testing.assert_allclose(
        r.position, [0.0, 0.5, 1.0, -0.2, 1.2], rtol=0, atol=eb.formula(3, 1.2)
    )
    np.testing.assert_allclose(r.lower, 0.5)
    # Tolerance: rounding just outside the interval is forgiven, a real violation is not.
    assert bounds.theorem_c11(1.0, 0.5 - 1e-13).holds
    assert not bounds.theorem_c11(1.0, 0.5 - 1e-13, tol=0.0).holds
    # Two antipodal points: rho_1v1 = rho_1vr = 2 and the interval is the single point 2.
    r = bounds.theorem_c11(2.0, 2.0)
    assert r.holds and r.position == 1.0


def test_theorem_c11_rejects_impossible_distances():
    with pytest.raises(ValueError, match=r"rho_1vr=-0\.5 is out of range.*\[0, 2\]"):
        bounds.theorem_c11(1.0, -0.5)
    with pytest.raises(ValueError, match=r"rho_1v1=nan"):
        bounds.theorem_c11(float("nan"), 1.0)
    with pytest.raises(ValueError, match=r"rho_1v1=2\.5"):
        bounds.theorem_c11(2.5, 1.0)
    with pytest.raises(ValueError, match=r"tol=-1"):
        bounds.theorem_c11(1.0, 0.5, tol=-1)


# ----------------------------------------------------------------------------- Rankin


def test_rankin_simplex_bound_is_attained_by_the_simplex():
    for d in range(2, 12):
        code = simplex(d)
        for K in range(2, d + 2):  # any K <= d+1 vertices span a regular simplex
            sub = simplex(K - 1) if K > 2 else np.array([[1.0, 0.0], [-1.0, 0.0]])
            assert bounds.rankin_simplex_min_angle_deg(d, K) == pytest.approx(
                min_angle_deg(sub), abs=1e-9
            )
        assert bounds.rankin_simplex_min_angle_deg(d, d + 1) == pytest.approx(
            min_angle_deg(code), abs=1e-9
        )
    assert bounds.rankin_simplex_min_angle_deg(5, 2) == 180.0


def test_rankin_orthoplex_bound_is_attained_by_the_cross_polytope():
    for d in range(2, 12):
        code = cross_polytope(d)
        for K in range(d + 2, 2 * d + 1):
            assert bounds.rankin_orthoplex_min_angle_deg(d, K) == 90.0
            assert min_angle_deg(code[:K]) == pytest.approx(90.0, abs=eb.angle_deg(d, 0.0))
        # Not applicable for K <= d + 1: the trivial bound, never inf or NaN.
        assert bounds.rankin_orthoplex_min_angle_deg(d, d + 1) == 180.0
    K = np.arange(2, 40)
    combined = bounds.rankin_min_angle_deg(5, K)
    assert np.all(np.isfinite(combined))
    np.testing.assert_allclose(combined[K >= 7], 90.0)


# ----------------------------------------------------------------------------- Welch, orthoplex


def test_welch_bound_equals_coherence_of_equiangular_tight_frames():
    for d in range(2, 15):
        # sqrt((K - d) / (d (K - 1))): 4 roundings, well conditioned
        assert bounds.welch_bound(d, d + 1) == pytest.approx(1.0 / d, rel=eb.formula(4))
        assert max_inner(simplex(d), absolute=True) == pytest.approx(
            1.0 / d, abs=simplex_gram_bound(d) + eb.formula(1)
        )
        assert bounds.welch_bound(d, d) == 0.0
        assert bounds.welch_bound(d, 2) == 0.0
    six_lines = icosahedron()[[0, 1, 2, 6, 7, 8]]  # one of each antipodal pair
    assert np.abs(six_lines @ six_lines.T + np.eye(6)).min() > 0.1  # no antipodes left
    assert max_inner(six_lines, absolute=True) == pytest.approx(
        1 / SQRT5, abs=eb.gram(3) + eb.formula(2)
    )
    assert bounds.welch_bound(3, 6) == pytest.approx(1 / SQRT5, rel=eb.formula(4))


def test_coherence_bounds_hold_for_random_codes():
    rng = np.random.default_rng(0)
    for d, K in [(2, 3), (3, 7), (4, 20), (6, 30)]:
        for _ in range(20):
            x = rng.standard_normal((K, d))
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            # Gram entries of normalized random rows within gram(d); the bound within formula(4)
            slack = eb.gram(d) + eb.formula(4)
            assert max_inner(x, absolute=True) >= bounds.coherence_lower_bound(d, K) - slack


def test_orthoplex_coherence_bound():
    # 4 lines in R^2 at 45 degrees and 7 lines in R^3 (axes and cube diagonals) attain 1/sqrt(d).
    four = np.array([[math.cos(a), math.sin(a)] for a in np.arange(4) * math.pi / 4])
    # 1 / sqrt(d) on both sides: 2 roundings; the rows' cos/sin within formula's 4 eps each
    assert bounds.orthoplex_coherence_bound(2, 4) == pytest.approx(
        1 / math.sqrt(2), rel=eb.formula(2)
    )
    assert max_inner(four, absolute=True) == pytest.approx(
        1 / math.sqrt(2), abs=eb.gram(2) + eb.formula(2)
    )
    seven = np.concatenate([np.eye(3), np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])])
    seven = seven / np.linalg.norm(seven, axis=1, keepdims=True)
    assert bounds.orthoplex_coherence_bound(3, 7) == pytest.approx(
        1 / math.sqrt(3), rel=eb.formula(2)
    )
    assert max_inner(seven, absolute=True) == pytest.approx(
        1 / math.sqrt(3), abs=eb.gram(3) + eb.formula(2)
    )
    # Applies only above Gerzon's d(d+1)/2: no claim (0.0) for 6 lines in R^3.
    assert bounds.orthoplex_coherence_bound(3, 6) == 0.0
    assert bounds.coherence_lower_bound(3, 6) == pytest.approx(1 / SQRT5, rel=eb.formula(4))


# ----------------------------------------------------------------------------- Levenshtein

# (d, K, largest inner product s) of codes attaining Levenshtein's bound: the icosahedron,
# the tight designs E8 (240), Leech (196560), Gosset (7, 56), (23, 552) and (23, 4600), the
# tight 4-designs Schlaefli (6, 27) and McLaughlin (22, 275), and the two-distance codes
# from strongly regular graphs: Clebsch (5, 16), (21, 162), Higman-Sims (22, 100), (22, 891).
SHARP = [
    (3, 12, 1 / SQRT5),
    (8, 240, 0.5),
    (24, 196560, 0.5),
    (7, 56, 1 / 3),
    (23, 552, 1 / 5),
    (23, 4600, 1 / 3),
    (6, 27, 1 / 4),
    (22, 275, 1 / 6),
    (5, 16, 1 / 5),
    (21, 162, 1 / 7),
    (22, 100, 1 / 11),
    (22, 891, 1 / 4),
]


@pytest.mark.parametrize("d, K, s", SHARP)
def test_levenshtein_is_sharp_at_known_tight_codes(d, K, s):
    # running error bound of the piece at s (eb.levenshtein_size), and s itself, a closed form
    # rounded within formula(2) relative, moving L by at most eb.levenshtein_input (L increasing)
    rel = eb.levenshtein_size(d, s) + eb.levenshtein_input(d, s, eb.formula(2, abs(s)))
    assert bounds.levenshtein_size(d, s) == pytest.approx(K, rel=rel)
    assert bounds.levenshtein_min_angle_deg(d, K) == pytest.approx(
        math.degrees(math.acos(s)), abs=1e-9
    )


def test_levenshtein_is_sharp_at_simplex_and_cross_polytope():
    for d in (2, 3, 4, 7, 24, 100, 1000):
        assert bounds.levenshtein_min_angle_deg(d, d + 1) == pytest.approx(
            math.degrees(math.acos(-1 / d)), abs=1e-9
        )
        assert bounds.levenshtein_min_angle_deg(d, 2 * d) == pytest.approx(90.0, abs=1e-9)
        # -1/d rounded once: moves L by at most eb.levenshtein_input (L increasing)
        rel = eb.levenshtein_size(d, -1 / d) + eb.levenshtein_input(d, -1 / d, eb.formula(1, 1 / d))
        assert bounds.levenshtein_size(d, -1 / d) == pytest.approx(d + 1, rel=rel)
        assert bounds.levenshtein_size(d, 0.0) == pytest.approx(
            2 * d, rel=eb.levenshtein_size(d, 0.0)
        )
    # The icosahedron, checked against an explicit code.
    assert bounds.levenshtein_min_angle_deg(3, 12) == pytest.approx(
        min_angle_deg(icosahedron()), abs=1e-9
    )
    assert bounds.levenshtein_min_angle_deg(3, 12) == pytest.approx(63.4349488, abs=1e-7)


def test_levenshtein_against_rankin():
    """Levenshtein's L_1 is Rankin's simplex bound; L_2 is weaker than the orthoplex bound for
    d + 1 < K < 2d (it falls from arccos(-1/d) to 90 deg) and beats it for K > 2d."""
    for d in (2, 3, 5, 10, 50):
        K = np.arange(2, 3 * d + 5)
        lev = bounds.levenshtein_min_angle_deg(d, K)
        simplex_bound = bounds.rankin_simplex_min_angle_deg(d, K)
        small, middle, large = K <= d + 1, (K > d + 1) & (K < 2 * d), K > 2 * d
        np.testing.assert_allclose(lev[small], simplex_bound[small], atol=1e-9)
        assert np.all(lev <= simplex_bound + 1e-9)
        assert np.all(lev[middle] > 90.0) and np.all(lev[large] < 90.0)
        assert np.all(np.diff(lev) < 0)  # strictly decreasing in K
        best = bounds.min_angle_upper_bound_deg(d, K)
        np.testing.assert_allclose(best, np.minimum(lev, bounds.rankin_min_angle_deg(d, K)))


def test_levenshtein_on_the_circle_is_the_regular_polygon():
    for K in range(2, 40):
        # the d = 2 shortcut is 360 / K itself (one rounding, on both sides)
        assert bounds.levenshtein_min_angle_deg(2, K) == pytest.approx(360.0 / K, rel=eb.formula(1))
    # The general piecewise formula (not the d = 2 shortcut) agrees: L(2, cos(2 pi/K)) = K.
    for K in range(3, 40):
        assert bounds.levenshtein_size(2, math.cos(2 * math.pi / K)) == pytest.approx(K, rel=1e-9)


def test_levenshtein_pieces_meet_at_design_bounds():
    """At the ends of each piece L equals the Delsarte-Goethals-Seidel design bound D(n, m+1).

    The ends are the largest zeros of P_k^{((n-1)/2, (n-3)/2)} and P_k^{((n-1)/2, (n-1)/2)},
    computed here independently with scipy.special.roots_jacobi.
    """
    for n in (3, 4, 8, 24):
        for k in range(1, 7):
            t10 = roots_jacobi(k, (n - 1) / 2, (n - 3) / 2)[0].max()
            t11 = roots_jacobi(k, (n - 1) / 2, (n - 1) / 2)[0].max()
            D2k = math.comb(n + k - 1, n - 1) + math.comb(n + k - 2, n - 1)
            D2k1 = 2 * math.comb(n + k - 1, n - 1)
            # exp(log C + log1p(exp(log C' - log C))): lgamma terms up to lgamma(n + k) each
            scale = 6 * math.lgamma(n + k + 1) + 2
            assert bounds.design_size_bound(n, 2 * k) == pytest.approx(
                D2k, rel=eb.exp_of_sum(8, scale)
            )
            assert bounds.levenshtein_size(n, t10) == pytest.approx(D2k, rel=1e-10)
            assert bounds.levenshtein_size(n, t11) == pytest.approx(D2k1, rel=1e-10)
            for s in (t10, t11):  # continuous across the ends
                near = bounds.levenshtein_size(n, np.array([s - 1e-9, s + 1e-9]))
                assert near[0] < near[1] and near[1] / near[0] - 1 < 1e-5


def test_levenshtein_size_is_increasing_in_s():
    s = np.linspace(-1, 0.95, 400)
    for d in (3, 4, 10):
        size = bounds.levenshtein_size(d, s)
        assert size[0] == pytest.approx(2.0, rel=eb.levenshtein_size(d, -1.0))
        assert np.all(np.diff(size) > 0)


def test_levenshtein_bounds_best_known_tammes_codes(ref_data):
    with (ref_data / "tammes_d3_best_known.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 20
    sharp = {4, 6, 12}  # tetrahedron, octahedron, icosahedron
    for row in rows:
        d, K, angle = int(row["d"]), int(row["K"]), float(row["best_known_min_angle_deg"])
        bound = bounds.levenshtein_min_angle_deg(d, K)
        # The CSV rounds to 7 decimals.
        assert angle <= bound + 1e-7, (d, K)
        if K in sharp:
            assert angle == pytest.approx(bound, abs=1e-7), (d, K)


def test_levenshtein_bounds_the_600_cell():
    assert 36.0 < bounds.levenshtein_min_angle_deg(4, 120) < 36.5


def test_levenshtein_extreme_arguments():
    K = np.array([10**6, 10**7, 10**8, 10**9])
    for d in (3, 24, 10**4):
        theta = bounds.levenshtein_min_angle_deg(d, K)
        assert np.all(np.isfinite(theta)) and np.all(theta > 0) and np.all(np.diff(theta) < 0)
    # d = 10^4: K = 10^9 < D(n, 6) ~ n^3/6 points still need an angle close to 90 degrees.
    assert 89.0 < bounds.levenshtein_min_angle_deg(10**4, 10**9) < 90.0
    # d = 3, K = 10^9: above the hexagonal-packing estimate of the optimum (any valid bound
    # is), and close to it (a sanity window, not a theorem: Levenshtein is near-tight on S^2).
    hexagonal = math.degrees(math.sqrt(8 * math.pi / (math.sqrt(3) * 1e9)))
    assert hexagonal < bounds.levenshtein_min_angle_deg(3, 10**9) < 1.02 * hexagonal
    # Sizes beyond float64 come back as inf, never NaN; arrays broadcast.
    assert bounds.levenshtein_size(10**4, 0.5) == math.inf
    size = bounds.levenshtein_size(np.array([[3], [8], [10**4]]), np.array([-1.0, 0.0, 0.5]))
    assert size.shape == (3, 3) and not np.isnan(size).any()
    rel = [[eb.levenshtein_size(n, s) for s in (-1.0, 0.0)] for n in (3, 8, 10**4)]
    np.testing.assert_array_less(np.abs(size[:, :2] / [[2, 6], [2, 16], [2, 2e4]] - 1), rel)
    assert size[1, 2] == pytest.approx(240, rel=eb.levenshtein_size(8, 0.5))


# ----------------------------------------------------------------------------- conversions, errors


def test_chord_angle_conversions():
    theta = np.array([0.0, 36.0, 60.0, 90.0, 180.0])
    rho = bounds.chord_from_angle_deg(theta)
    # 2 sin(radians(theta) / 2): 4 roundings and sin (4), magnitudes <= 2 (formula(8, 2))
    expect = [0, 2 * math.sin(math.pi / 10), 1, math.sqrt(2), 2]
    np.testing.assert_allclose(rho, expect, rtol=0, atol=eb.formula(8, 2.0))
    # back: 2 arcsin(rho / 2) has slope 1 / sqrt(1 - rho^2 / 4) in rho, which is unbounded at
    # rho = 2 (180 deg), where a chord error e moves the angle by at most 2 sqrt(e); arcsin,
    # the halving and the degree conversion add formula(8, pi) radians
    chord_err = eb.formula(8, 2.0)
    with np.errstate(divide="ignore"):
        slope = 1 / np.sqrt(np.maximum(1 - (np.asarray(expect) / 2) ** 2, 0))
    err = np.where(np.isfinite(slope), chord_err * slope, 2 * np.sqrt(chord_err))
    tol = np.degrees(err + eb.formula(8, np.pi))
    np.testing.assert_array_less(np.abs(bounds.angle_deg_from_chord(rho) - theta), tol)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: bounds.theorem39(1, 10), r"d=1 is too small.*d >= 2"),
        (lambda: bounds.theorem39(3, 1), r"K=1 is too small.*K >= 2"),
        (lambda: bounds.theorem39(2.5, 10), r"d=2\.5 is not an integer"),
        (lambda: bounds.theorem39(np.array([3, 0]), 10), r"d=0 is too small"),
        (lambda: bounds.welch_bound(3, 0), r"K=0 is too small"),
        (lambda: bounds.rankin_simplex_min_angle_deg(0, 3), r"d=0 is too small"),
        (lambda: bounds.levenshtein_min_angle_deg(3, 1), r"K=1 is too small"),
        (lambda: bounds.levenshtein_size(3, 1.0), r"s=1\.0 is out of range.*-1 <= s < 1"),
        (lambda: bounds.levenshtein_size(3, -1.5), r"s=-1\.5 is out of range"),
        (lambda: bounds.levenshtein_size(1, 0.0), r"d=1 is too small"),
        (lambda: bounds.angle_deg_from_chord(3.0), r"rho=3\.0 is out of range"),
        (lambda: bounds.design_size_bound(3, 0), r"m=0 is invalid"),
    ],
)
def test_bad_arguments_raise_with_clear_messages(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_docstring_examples():
    import doctest

    assert doctest.testmod(bounds).failed == 0
