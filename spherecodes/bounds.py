"""Bounds on spherical codes of K points in R^d: Theorem 3.9 and C.11 of the GNC paper, Rankin's
simplex and orthoplex bounds, the Welch and orthoplex bounds on coherence, and Levenshtein's
linear-programming bound on the size of a code and on its minimal angle.

Everything here is NumPy/SciPy float64 (no JAX: these are closed forms and one-dimensional
root-finds, evaluated at the API boundary).  Gamma-function ratios are formed as differences
of ``gammaln``, so d up to 10^4 and K up to 10^9 (and beyond) neither overflow nor underflow.
Functions of (d, K) accept Python ints or NumPy arrays and broadcast; scalar inputs give Python
floats/bools, array inputs give arrays.

Distances and angles: ``rho`` is the Euclidean (chordal) distance between unit vectors,
``rho = 2 sin(theta / 2)``; angles are in degrees where the name says ``_deg``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal
from scipy.optimize import brentq
from scipy.special import gammaln

__all__ = [
    "C11_TOL",
    "Theorem39",
    "TheoremC11",
    "angle_deg_from_chord",
    "at_c11_lower_end",
    "chord_from_angle_deg",
    "coherence_lower_bound",
    "design_size_bound",
    "levenshtein_min_angle_deg",
    "levenshtein_size",
    "min_angle_upper_bound_deg",
    "orthoplex_coherence_bound",
    "rankin_min_angle_deg",
    "rankin_orthoplex_min_angle_deg",
    "rankin_simplex_min_angle_deg",
    "rho1v1_covering_lower_bound",
    "theorem39",
    "theorem39_validity_threshold",
    "theorem_c11",
    "welch_bound",
]

#: Largest rounding excess tolerated when a distance is checked against the range [0, 2].
_RHO_SLACK = 1e-9

#: log of the largest float64; sizes beyond it are returned as inf.
_LOG_FLOAT_MAX = math.log(np.finfo(np.float64).max)


# ----------------------------------------------------------------------------- argument checks


def _out(x):
    """Return a 0-d result as a Python scalar, anything else unchanged."""
    x = np.asarray(x)
    if x.ndim == 0:
        return x.item()
    return x


def _first_bad(arr: np.ndarray, bad: np.ndarray):
    """Return the first offending value of `arr` (for error messages)."""
    return np.broadcast_to(arr, bad.shape)[bad].flat[0].item()


def _check_int(value, name: str, minimum: int, why: str) -> np.ndarray:
    """Return `value` as a float64 array of integers >= minimum, or raise ValueError."""
    arr = np.asarray(value)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be an integer or an array of integers; got {value!r}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr != np.floor(arr))
    if bad.any():
        raise ValueError(f"{name}={_first_bad(arr, bad)!r} is not an integer: {why}")
    bad = arr < minimum
    if bad.any():
        raise ValueError(f"{name}={int(_first_bad(arr, bad))} is too small: {why}")
    return arr


def _check_d(d) -> np.ndarray:
    return _check_int(d, "d", 2, "codes live on the sphere S^{d-1} in R^d with d >= 2")


def _check_K(K) -> np.ndarray:
    return _check_int(K, "K", 2, "a code needs K >= 2 points")


# ----------------------------------------------------------------------------- conversions


def chord_from_angle_deg(theta_deg):
    """Return the chord 2 sin(theta/2) between unit vectors at angle theta_deg (degrees)."""
    return _out(2.0 * np.sin(np.radians(np.asarray(theta_deg, dtype=np.float64)) / 2.0))


def angle_deg_from_chord(rho):
    """Return the angle in degrees between unit vectors at chordal distance rho in [0, 2]."""
    rho = np.asarray(rho, dtype=np.float64)
    bad = ~(np.isfinite(rho) & (rho >= 0) & (rho <= 2 + _RHO_SLACK))
    if bad.any():
        raise ValueError(
            f"rho={_first_bad(rho, bad)!r} is out of range: a distance between unit vectors "
            "lies in [0, 2]"
        )
    return _out(np.degrees(2.0 * np.arcsin(np.minimum(rho, 2.0) / 2.0)))


# ----------------------------------------------------------------------------- Theorem 3.9


class Theorem39(NamedTuple):
    """Theorem 3.9 of the GNC paper: bounds on max over codes of rho_1vr, and when they hold."""

    lower: float | np.ndarray  # () or broadcast(d, K) float64: lower bound on max rho_1vr
    upper: float | np.ndarray  # () or broadcast(d, K) float64: upper bound on max rho_1vr
    valid: bool | np.ndarray  # () or broadcast(d, K) bool: K >= sqrt(2 pi sqrt(e d))


def theorem39_validity_threshold(d):
    """Return sqrt(2 pi sqrt(e d)), the smallest K for which Theorem 3.9 is stated (a float)."""
    d = _check_d(d)
    return _out(np.sqrt(2.0 * np.pi * np.sqrt(np.e * d)))


def _log_vd_ratio(d: np.ndarray) -> np.ndarray:
    """Return log(v_d / v_{d-1}) = log(sqrt(pi) Gamma((d+1)/2) / Gamma(d/2+1)), v_d = |B^d|."""
    return 0.5 * np.log(np.pi) + gammaln((d + 1.0) / 2.0) - gammaln(d / 2.0 + 1.0)


def rho1v1_covering_lower_bound(d, K):
    """Return Lemma C.13's lower bound on max rho_1v1 over K-point codes in R^d (chordal distance).

    ``[sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2+1)]^(1/(d-1))``, from a greedy covering argument;
    valid for every d >= 2 and K >= 2.
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    return _out(np.exp((_log_vd_ratio(d) - np.log(K)) / (d - 1.0)))


def theorem39(d, K) -> Theorem39:
    """Return Theorem 3.9's bounds on max rho_1vr (chordal distance) and whether they apply.

    lower = rho1v1_covering_lower_bound(d, K)**2 / 2 (Lemma C.13 with Theorem C.11);
    upper = 2 [2 sqrt(pi)/K * Gamma((d+1)/2) / Gamma(d/2)]^(1/(d-1)) (Moore's bound on rho_1v1).
    The paper states them for K >= sqrt(2 pi sqrt(e d)); ``valid`` says whether that holds, and
    the values are returned either way.

    >>> b = theorem39(3, 12)
    >>> bool(b.lower < 1 - 5**-0.5 < b.upper), b.valid
    (True, True)
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    log_k = np.log(K)
    lower = 0.5 * np.exp(2.0 * (_log_vd_ratio(d) - log_k) / (d - 1.0))
    log_u = np.log(2.0) + 0.5 * np.log(np.pi) + gammaln((d + 1.0) / 2.0) - gammaln(d / 2.0) - log_k
    upper = 2.0 * np.exp(log_u / (d - 1.0))
    # Compare squares: K^2 >= 2 pi sqrt(e d) avoids a square root on the large side.
    valid = K * K >= 2.0 * np.pi * np.sqrt(np.e * d)
    return Theorem39(_out(lower), _out(upper), _out(valid))


# ----------------------------------------------------------------------------- Theorem C.11


class TheoremC11(NamedTuple):
    """Theorem C.11 check: rho_1v1^2 / 2 <= rho_1vr <= rho_1v1, and where rho_1vr sits."""

    holds: bool | np.ndarray  # () or broadcast shape, bool: the inequality, within tol
    position: float | np.ndarray  # same shape, float64: (rho_1vr - lower) / (upper - lower)
    lower: float | np.ndarray  # same shape, float64: rho_1v1^2 / 2
    upper: float | np.ndarray  # same shape, float64: rho_1v1


def theorem_c11(rho_1v1, rho_1vr, tol: float = 1e-12) -> TheoremC11:
    """Return whether rho_1v1^2/2 - tol <= rho_1vr <= rho_1v1 + tol, and where rho_1vr sits.

    ``position`` is 0 at the lower end and 1 at the upper end (outside [0, 1] when the theorem
    fails); where the interval is degenerate (rho_1v1 = 0 or 2) it is 1.0.  Distances are chordal.

    >>> r = theorem_c11(2 * np.sin(np.pi / 5), 1 - np.cos(2 * np.pi / 5))  # the pentagon
    >>> r.holds, round(r.position, 6)
    (True, 0.0)
    """
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol={tol!r} is invalid: need a finite tolerance tol >= 0")
    r11 = np.asarray(rho_1v1, dtype=np.float64)
    r1r = np.asarray(rho_1vr, dtype=np.float64)
    for name, arr in (("rho_1v1", r11), ("rho_1vr", r1r)):
        bad = ~(np.isfinite(arr) & (arr >= -_RHO_SLACK) & (arr <= 2 + _RHO_SLACK))
        if bad.any():
            raise ValueError(
                f"{name}={_first_bad(arr, bad)!r} is out of range: distances between unit "
                "vectors lie in [0, 2]"
            )
    r11, r1r = np.broadcast_arrays(r11, r1r)
    lower = r11 * r11 / 2.0
    upper = r11
    holds = (r1r >= lower - tol) & (r1r <= upper + tol)
    width = upper - lower
    degenerate = width <= 1e-15
    position = np.where(degenerate, 1.0, (r1r - lower) / np.where(degenerate, 1.0, width))
    return TheoremC11(_out(holds), _out(position), _out(lower), _out(upper))


#: rho_1vr equals rho_1v1^2 / 2 (the lower end of Theorem C.11) within this.
C11_TOL = 1e-12


def at_c11_lower_end(rho_1v1: float, rho_1vr: float, tol: float = C11_TOL) -> bool:
    """Return whether rho_1vr = rho_1v1^2 / 2 within `tol`: the lower end of Theorem C.11,
    attained exactly when the features h_k = w_k are optimal for the minimizing points."""
    return bool(abs(float(rho_1vr) - float(rho_1v1) ** 2 / 2) <= tol)


# ----------------------------------------------------------------------------- Rankin, Welch


def rankin_simplex_min_angle_deg(d, K):
    """Return Rankin's simplex bound on the minimal angle of K points in R^d: arccos(-1/(K-1)), deg.

    Valid for every d and K >= 2 (max inner product >= -1/(K-1)); attained exactly when
    K <= d + 1, by the regular simplex.
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    return _out(np.degrees(np.arccos(-1.0 / (K - 1.0))))


def rankin_orthoplex_min_angle_deg(d, K):
    """Return Rankin's orthoplex bound on the minimal angle of K points in R^d, degrees.

    For K >= d + 2 no code has all inner products negative, so the minimal angle is <= 90 deg
    (attained for d + 2 <= K <= 2d by subsets of the cross-polytope); for K > 2d it is even
    strictly below 90 deg (the value returned is still 90, the supremum).  For K <= d + 1 the
    statement says nothing and the trivial bound 180.0 is returned (never inf or NaN).
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    return _out(np.where(K >= d + 2, 90.0, 180.0))


def rankin_min_angle_deg(d, K):
    """Return the better of Rankin's simplex and orthoplex bounds on the minimal angle, degrees."""
    return _out(
        np.minimum(rankin_simplex_min_angle_deg(d, K), rankin_orthoplex_min_angle_deg(d, K))
    )


def welch_bound(d, K):
    """Return the Welch bound sqrt((K-d)/(d(K-1))) on coherence max|<w_i, w_j>| (0 if K <= d).

    Attained exactly by equiangular tight frames (e.g. the simplex, K = d + 1: 1/d; the six
    diagonals of the icosahedron, d = 3: 1/sqrt 5); for K <= d an orthonormal set has coherence 0.
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    return _out(np.sqrt(np.maximum(K - d, 0.0) / (d * (K - 1.0))))


def orthoplex_coherence_bound(d, K):
    """Return the real orthoplex bound on coherence: 1/sqrt(d) if K > d(d+1)/2, else 0.0 (no claim).

    Lines x -> x x^T - I/d embed real projective space in a sphere of dimension d(d+1)/2 - 1,
    where Rankin's orthoplex bound gives <x,y>^2 >= 1/d once K exceeds d(d+1)/2 (Gerzon's bound,
    also the largest possible size of a real equiangular tight frame).
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    return _out(np.where(K > d * (d + 1.0) / 2.0, 1.0 / np.sqrt(d), 0.0))


def coherence_lower_bound(d, K):
    """Return max(welch_bound, orthoplex_coherence_bound): a lower bound on coherence of K lines."""
    return _out(np.maximum(welch_bound(d, K), orthoplex_coherence_bound(d, K)))


# ----------------------------------------------------------------------------- Levenshtein
#
# Notation (Levenshtein 1979/1992; Boyvalenkov-Danev-Bumova 1996): n = d is the dimension,
# Q_i are the Gegenbauer polynomials for S^{n-1} normalized by Q_i(1) = 1, i.e. Jacobi
# P_i^{(a,a)} with a = (n-3)/2, obeying (i+n-2) Q_{i+1}(t) = (2i+n-2) t Q_i(t) - i Q_{i-1}(t).
# t_k^{1,0} and t_k^{1,1} are the largest zeros of the Jacobi polynomials P_k^{(a+1, a)} and
# P_k^{(a+1, a+1)} (t_0^{1,1} = -1), interlacing as t_{k-1}^{1,1} < t_k^{1,0} < t_k^{1,1}.
# The bound on the size of a code with maximal inner product s is
#   L_{2k-1}(n,s) = C(k+n-3, k-1) [ (2k+n-3)/(n-1) - (Q_{k-1}(s) - Q_k(s)) / ((1-s) Q_k(s)) ]
#       for s in [t_{k-1}^{1,1}, t_k^{1,0}],
#   L_{2k}(n,s)   = C(k+n-2, k) [ (2k+n-1)/(n-1)
#                                 - (1+s) (Q_k(s) - Q_{k+1}(s)) / ((1-s) (Q_k(s) + Q_{k+1}(s))) ]
#       for s in [t_k^{1,0}, t_k^{1,1}],
# continuous and increasing in s, with L_m = D(n, m + 1) at the right end of piece m, where
# D(n, 2k) = C(n+k-1, n-1) + C(n+k-2, n-1) and D(n, 2k+1) = 2 C(n+k-1, n-1) are the
# Delsarte-Goethals-Seidel bounds on the size of spherical designs.


def _binom(a: int, b: int) -> float:
    """Return C(a, b) as a float (exact while representable, inf beyond float64's range)."""
    if _log_binom(a, b) > _LOG_FLOAT_MAX + 1.0:
        return math.inf  # skip forming a huge integer that cannot be a float anyway
    try:
        return float(math.comb(a, b))
    except OverflowError:
        return math.inf


def _log_binom(a: float, b: float) -> float:
    return float(gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0))


def _log_design_bound(n: int, m: int) -> float:
    """Return log D(n, m), Delsarte-Goethals-Seidel's lower bound on the size of an m-design."""
    k, odd = divmod(m, 2)
    if odd:
        return math.log(2.0) + _log_binom(n + k - 1, n - 1)
    a = _log_binom(n + k - 1, n - 1)
    b = _log_binom(n + k - 2, n - 1)
    return a + math.log1p(math.exp(b - a))


def design_size_bound(d: int, m: int) -> float:
    """Return D(d, m): no spherical m-design in R^d has fewer points (Delsarte-Goethals-Seidel)."""
    n = int(_check_d(d))
    if int(m) != m or m < 1:
        raise ValueError(f"m={m!r} is invalid: the design strength must be an integer m >= 1")
    return math.exp(_log_design_bound(n, int(m)))


@lru_cache(maxsize=4096)
def _largest_jacobi_zero(k: int, alpha: float, beta: float) -> float:
    """Return the largest zero of the Jacobi polynomial P_k^{(alpha, beta)} (-1.0 for k = 0)."""
    if k == 0:
        return -1.0
    # Eigenvalues of the symmetric Jacobi matrix of the three-term recurrence (Golub-Welsch);
    # LAPACK bisection for one eigenvalue is O(k), so k in the tens of thousands is cheap.
    j = np.arange(k, dtype=np.float64)
    ab = alpha + beta
    diag = np.empty(k)
    diag[0] = (beta - alpha) / (ab + 2.0)
    jj = j[1:]
    diag[1:] = (beta**2 - alpha**2) / ((2 * jj + ab) * (2 * jj + ab + 2.0))
    s = 2 * jj + ab
    off = np.sqrt(4 * jj * (jj + alpha) * (jj + beta) * (jj + ab) / (s * s * (s + 1.0) * (s - 1.0)))
    return float(
        eigvalsh_tridiagonal(
            diag, off, select="i", select_range=(k - 1, k - 1), lapack_driver="stebz"
        )[0]
    )


def _t10(n: int, k: int) -> float:
    return _largest_jacobi_zero(k, (n - 1) / 2.0, (n - 3) / 2.0)


def _t11(n: int, k: int) -> float:
    return _largest_jacobi_zero(k, (n - 1) / 2.0, (n - 1) / 2.0)


def _piece_interval(n: int, m: int) -> tuple[float, float]:
    """Return the interval of s on which Levenshtein's bound is the piece L_m(n, s)."""
    k, odd = divmod(m + 1, 2)
    if odd == 0:  # m = 2k - 1
        return _t11(n, k - 1), _t10(n, k)
    k = m // 2
    return _t10(n, k), _t11(n, k)


def _gegenbauer(n: int, k: int, s: float) -> tuple[float, float, float]:
    """Return (Q_{k-1}(s), Q_k(s), Q_{k+1}(s)) for k >= 1, Q normalized by Q(1) = 1."""
    q_prev, q, q_next = 1.0, s, ((n * s * s) - 1.0) / (n - 1)
    for i in range(2, k + 1):
        q_prev, q, q_next = q, q_next, ((2 * i + n - 2) * s * q_next - i * q) / (i + n - 2)
    return q_prev, q, q_next


def _levenshtein_piece(n: int, m: int, s: float, one_minus_s: float | None = None) -> float:
    """Return L_m(n, s), Levenshtein's piece m (no check that s lies in its interval)."""
    u = 1.0 - s if one_minus_s is None else one_minus_s
    k = (m + 1) // 2
    scale = _binom(k + n - 3, k - 1) if m % 2 else _binom(k + n - 2, k)
    if math.isinf(scale):  # the bracket is positive on the piece's interval
        return math.inf
    if m % 2:
        q_km1, q_k, _ = _gegenbauer(n, k, s)
        bracket = (2 * k + n - 3) / (n - 1) - (q_km1 - q_k) / (u * q_k)
    else:
        _, q_k, q_kp1 = _gegenbauer(n, k, s)
        bracket = (2 * k + n - 1) / (n - 1) - (1 + s) * (q_k - q_kp1) / (u * (q_k + q_kp1))
    return scale * bracket


def _levenshtein_size_scalar(n: int, s: float) -> float:
    # Find the smallest k with s <= t_k^{1,1} (doubling, then bisection), then the half piece.
    hi = 1
    while _t11(n, hi) < s:
        # L(n, s) >= L(n, t_hi^{1,1}) = D(n, 2 hi + 1); stop once that is past float64's range.
        if _log_design_bound(n, 2 * hi + 1) > _LOG_FLOAT_MAX:
            return math.inf
        hi *= 2
    lo = hi // 2  # t_lo^{1,1} < s (t_0^{1,1} = -1 <= s; s = -1 is piece 1 anyway)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _t11(n, mid) < s:
            lo = mid
        else:
            hi = mid
    k = hi
    m = 2 * k - 1 if s <= _t10(n, k) else 2 * k
    return _levenshtein_piece(n, m, s)


def levenshtein_size(d, s):
    """Return Levenshtein's upper bound L(d, s) on the number of points of a code in R^d whose
    inner products are all <= s, for -1 <= s < 1 (a float; inf if beyond float64's range).

    The bound is the piecewise L_m(d, s) of Levenshtein (1979), continuous and increasing in s;
    it equals 2 at s = -1, d + 1 at s = -1/d and 2d at s = 0.  Broadcasts over arrays of d and s
    (elementwise, in Python: s very close to 1 needs polynomials of high degree and is slow).

    >>> round(levenshtein_size(8, 0.5), 9)  # the E8 root system attains it
    240.0
    """
    d = _check_d(d)
    s = np.asarray(s, dtype=np.float64)
    bad = ~(np.isfinite(s) & (s >= -1.0) & (s < 1.0))
    if bad.any():
        raise ValueError(
            f"s={_first_bad(s, bad)!r} is out of range: the largest inner product s must "
            "satisfy -1 <= s < 1"
        )
    d, s = np.broadcast_arrays(d, s)
    out = np.empty(d.shape)
    for idx in np.ndindex(d.shape):
        out[idx] = _levenshtein_size_scalar(int(d[idx]), float(s[idx]))
    return _out(out)


def _levenshtein_min_angle_scalar(n: int, K: int) -> float:
    if n == 2:
        # K = D(2, K-1): every integer K sits at a piece boundary, where the bound is the
        # regular K-gon, 360/K degrees (the general path would need degree ~K/2 polynomials).
        return 360.0 / K
    log_k = math.log(K)
    slack = 1e-12  # relative; lets K equal to a design bound D(n, m+1) land on piece m's end

    def reaches(m: int) -> bool:  # does piece m reach size K, i.e. D(n, m+1) >= K?
        return _log_design_bound(n, m + 1) >= log_k - slack

    hi = 1
    while not reaches(hi):
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    m = hi
    s_lo, s_hi = _piece_interval(n, m)
    theta_lo = math.acos(min(1.0, s_hi))  # L decreases as the angle grows
    theta_hi = math.acos(max(-1.0, s_lo))

    def f(theta: float) -> float:
        # 1 - cos(theta) = 2 sin^2(theta/2) keeps small angles accurate.
        return _levenshtein_piece(n, m, math.cos(theta), 2.0 * math.sin(theta / 2.0) ** 2) / K - 1.0

    if f(theta_lo) <= 0.0:
        return math.degrees(theta_lo)
    if f(theta_hi) >= 0.0:
        return math.degrees(theta_hi)
    theta = brentq(f, theta_lo, theta_hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    return math.degrees(theta)


def levenshtein_min_angle_deg(d, K):
    """Return Levenshtein's upper bound on the minimal angle (degrees) of K points in R^d.

    A code with minimal angle theta has K <= L(d, cos theta) and L grows with s = cos theta, so
    theta is at most the largest angle with L(d, cos theta) >= K: the root of L(d, cos theta) = K,
    found by Brent's method on the piece of L that contains it.  Equal to Rankin's simplex bound
    for K <= d + 1; above 90 deg (weaker than Rankin's orthoplex bound) for d + 1 < K < 2d, see
    ``min_angle_upper_bound_deg``.  Sharp for the simplex, the cross-polytope, the icosahedron,
    E8's roots, the Leech lattice's minimal vectors and other tight codes; in d = 2 it is 360/K.

    >>> round(levenshtein_min_angle_deg(3, 12), 7)  # the icosahedron
    63.4349488
    """
    d, K = np.broadcast_arrays(_check_d(d), _check_K(K))
    out = np.empty(d.shape)
    for idx in np.ndindex(d.shape):
        out[idx] = _levenshtein_min_angle_scalar(int(d[idx]), int(K[idx]))
    return _out(out)


def min_angle_upper_bound_deg(d, K):
    """Return the best of Levenshtein's and Rankin's upper bounds on the minimal angle, degrees."""
    return _out(np.minimum(levenshtein_min_angle_deg(d, K), rankin_min_angle_deg(d, K)))
