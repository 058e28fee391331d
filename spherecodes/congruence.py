"""Congruence of spherical codes: is Y the code X rotated or reflected, with its points relabeled?

Two codes X, Y of shape (K, d) are *equivalent* (congruent) when X = P Y Q for an orthogonal
Q in O(d) and a permutation P, i.e. ``X[i] = Y[perm[i]] @ Q`` for every row i.  Q may be a
rotation or a reflection (det Q = +1 or -1): a mirrored copy is the same code.  Numerically,
:func:`equivalent` looks for Q and perm with residual

    max_i ||X[i] - Y[perm[i]] @ Q||_2   (largest Euclidean distance between matched points)

at most ``tol`` (default :data:`TOL`).

How (cheap first):

1. Invariants, each a necessary condition compared with a tolerance derived from an error
   bound (see :func:`_bounds`): K, d, the frame spectrum (eigenvalues of X^T X), the per-point
   sums sum_j <x_i,x_j> and sum_j <x_i,x_j>^2 (sorted), and for K <= :data:`GRAM_MAX_K` the
   sorted multiset of all inner products and the per-point profile (sorted sums of third and
   fourth powers, sorted nearest-neighbour inner products).  The first that differs is
   reported with both values.
2. Alignment: a basis of up to d linearly independent points of X is chosen greedily (each
   new point at least half as far from the span of the chosen ones as the farthest point, so
   the basis stays well conditioned, and among those the point whose inner products with the
   chosen ones are shared by the fewest points of X, so it has the fewest candidate images).
   A depth-first search assigns images in Y: a candidate must have the same per-point sums, the
   same sorted inner-product profile, inner products with the images already chosen equal to
   the Gram matrix of the basis, and the multiset of projections of all of Y onto the chosen
   images must equal that of X onto the basis (forward check).  At a full basis, Q is the
   orthogonal Procrustes solution (SVD), every point is matched one-to-one through a KD-tree
   (scipy.spatial.cKDTree, a linear assignment where nearest neighbours collide), Q is refit
   on all matched points, and the residual is checked against ``tol``.  Any Gram-consistent
   basis of a code with a transitive symmetry group gives a valid Q, so for E8, the 600-cell
   and the Leech lattice the first leaf usually succeeds.  The search is exhaustive: when it
   ends without a match, no (Q, P) within the tolerance exists (up to the amplification of
   tol by the basis conditioning, reported as ``"alignment"``).  It stops after ``max_tries``
   candidate images with the verdict ``"undecided"``.
3. Rattlers (K <= GRAM_MAX_K): a Tammes rattler is a point whose nearest-neighbour angle
   exceeds the code's minimal angle, so it can move within its cage without changing the code's
   minimal angle.  When X and Y are not equivalent but have the same number of rattlers and
   are equivalent after removing them, the verdict is ``"equivalent up to rattlers"``; the
   rattlers are then paired by a linear assignment and their largest displacement reported
   (whether a rattler sits in the same hole of the other code is not checked).

Sizes: the alignment and the point-by-point verification are exact at every K (the Leech
minimal vectors, 196560 x 24, against a rotated and relabeled copy take seconds).  Invariants
that need the K x K Gram matrix (inner-product multiset, per-point profile) and the rattler
stage run only for K <= GRAM_MAX_K; above it only the O(K d^2) invariants are checked before
the alignment, so a "not equivalent" verdict for large K names the frame spectrum, the
per-point sums or the alignment.

>>> import numpy as np
>>> from spherecodes.known import icosahedron
>>> X = icosahedron()
>>> Y = -X[::-1]  # reflected through the origin, relabeled
>>> r = equivalent(X, Y)
>>> r.verdict, bool(r.residual < 1e-12), round(float(np.linalg.det(r.Q)))
('equivalent', True, -1)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from spherecodes.errors import ParameterError
from spherecodes.validation import validate_code

__all__ = [
    "Congruence",
    "equivalent",
    "EQUIVALENT",
    "UP_TO_RATTLERS",
    "NOT_EQUIVALENT",
    "UNDECIDED",
    "TOL",
    "GRAM_MAX_K",
    "format_compare",
    "compare_json",
]

EQUIVALENT = "equivalent"
UP_TO_RATTLERS = "equivalent up to rattlers"
NOT_EQUIVALENT = "not equivalent"
UNDECIDED = "undecided"

#: Default residual tolerance (Euclidean distance between matched points).  Float64 rounding
#: of codes up to K = 10^6, d = 100 stays below 1e-11; configurations that differ in practice
#: differ by far more than 1e-8.
TOL = 1e-8

#: Above this K no K x K Gram matrix is formed (see the module docstring).
GRAM_MAX_K = 2048

#: Default budget of candidate images tried by the alignment search.
MAX_TRIES = 20_000

_EPS = float(np.finfo(np.float64).eps)


class Congruence(NamedTuple):
    """The answer of :func:`equivalent`: the verdict and, when equivalent, Q and the relabeling."""

    verdict: str  # EQUIVALENT, UP_TO_RATTLERS, NOT_EQUIVALENT or UNDECIDED
    Q: np.ndarray | None  # (d, d) float64 orthogonal, det +-1: X[i] ~ Y[perm[i]] @ Q; else None
    perm: np.ndarray | None  # (K,) int64 permutation of range(K); else None
    residual: float  # max_i ||X[i] - Y[perm[i]] @ Q||_2 over non-rattlers; nan without Q
    invariant: str  # first invariant that differs ("" when none did), e.g. "inner_products"
    detail: str  # one sentence: the values of that invariant on both sides, or how it matched
    rattlers: np.ndarray  # (r,) int64 rows of X set aside as rattlers (UP_TO_RATTLERS), else ()
    rattler_shift: float  # max ||X[i] - Y[perm[i]] @ Q||_2 over those rattlers; 0.0 if none
    tol: float  # the residual tolerance used

    @property
    def equivalent(self) -> bool:
        """Return whether the verdict is EQUIVALENT or UP_TO_RATTLERS."""
        return self.verdict in (EQUIVALENT, UP_TO_RATTLERS)


class _Bounds(NamedTuple):
    """Tolerances for comparing invariants of X and of P Y Q + E, max_i ||E_i|| <= tol."""

    ip: float  # one inner product <x_i, x_j>
    sums: float  # a per-point sum over K inner products (times p for p-th powers)
    frame: float  # an eigenvalue of X^T X


def _bounds(K: int, d: int, tol: float) -> _Bounds:
    """Return the invariant tolerances for codes of K points in R^d at residual tolerance tol."""
    # If x_i = y_i Q + e_i with |e_i| <= tol and unit rows, then
    #   |<x_i,x_j> - <y_i,y_j>| <= |<e_i, y_j Q>| + |<x_i, e_j>| <= 2 tol + tol^2,
    # and a float64 dot product of unit d-vectors is off by at most gamma_d ~ d u (u = eps/2);
    # the renormalized rows are unit to ~(d + 2) u.  With a factor 2 of headroom:
    #   ip = 2 tol + tol^2 + 4 (d + 2) eps.
    ip = 2 * tol + tol * tol + 4 * (d + 2) * _EPS
    # A per-point sum of K terms t_j^p moves by at most p K ip (|a^p - b^p| <= p |a - b| on
    # [-1, 1]); numpy sums pairwise, so rounding adds at most (log2 K + d) u per unit term.
    rounding = 4 * K * (math.log2(K) + d) * _EPS
    sums = K * ip + rounding
    # Weyl: |lambda_k(X^T X) - lambda_k(Q^T Y^T Y Q)| <= ||X^T X - Q^T Y^T Y Q||_2
    #   <= 2 ||E||_2 ||Y||_2 + ||E||_2^2 <= K (2 tol + tol^2)   (||E||_2 <= sqrt(K) tol),
    # plus the rounding of the K-term sums in X^T X.
    frame = K * (2 * tol + tol * tol) + rounding
    return _Bounds(ip, sums, frame)


class _Invariants(NamedTuple):
    """Invariants of one code under O(d) and relabeling."""

    frame: np.ndarray  # (d,) eigenvalues of X^T X, ascending
    sums: np.ndarray  # (K, 2) per point: sum_j <x_i,x_j>, sum_j <x_i,x_j>^2 (j = i included)
    gram: np.ndarray | None  # (K, K) Gram matrix when K <= GRAM_MAX_K, else None


def _invariants(X: np.ndarray) -> _Invariants:
    F = X.T @ X
    sums = np.stack([X @ X.sum(axis=0), np.einsum("ij,jk,ik->i", X, F, X)], axis=1)
    gram = X @ X.T if X.shape[0] <= GRAM_MAX_K else None
    return _Invariants(np.linalg.eigvalsh(F), sums, gram)


def _profile_stats(G: np.ndarray) -> np.ndarray:
    """(K, 3): per point the sums of third and fourth powers of its inner products with the
    others, and its largest inner product with another point."""
    off = G.copy()
    np.fill_diagonal(off, 0.0)
    m3 = np.sum(off**3, axis=1)
    m4 = np.sum(off**4, axis=1)
    np.fill_diagonal(off, -np.inf)
    return np.stack([m3, m4, off.max(axis=1)], axis=1)


def _sorted_diff(a: np.ndarray, b: np.ndarray, bound: float, what: str) -> str:
    """Compare two multisets of numbers; return "" when within `bound`, else a sentence."""
    sa, sb = np.sort(a), np.sort(b)
    diff = np.abs(sa - sb)
    i = int(np.argmax(diff))
    if diff[i] <= bound:
        return ""
    return (
        f"{what} differ by {diff[i]:.3g} > {bound:.3g} at rank {i} of {len(sa)} "
        f"(X: {sa[i]:.12g}, Y: {sb[i]:.12g})"
    )


def _first_difference(
    X: np.ndarray, Y: np.ndarray, iX: _Invariants, iY: _Invariants, b: _Bounds
) -> tuple[str, str]:
    """Return (invariant, detail) for the first invariant that differs, or ("", "")."""
    checks = [
        (
            "frame_spectrum",
            lambda: _sorted_diff(iX.frame, iY.frame, b.frame, "eigenvalues of X^T X"),
        ),
        (
            "point_sums",
            lambda: (
                _sorted_diff(iX.sums[:, 0], iY.sums[:, 0], b.sums, "sums sum_j <x_i,x_j>")
                or _sorted_diff(iX.sums[:, 1], iY.sums[:, 1], 2 * b.sums, "sums sum_j <x_i,x_j>^2")
            ),
        ),
    ]
    if iX.gram is not None:
        K = X.shape[0]
        iu = np.triu_indices(K, 1)
        checks.append(
            (
                "inner_products",
                lambda: _sorted_diff(iX.gram[iu], iY.gram[iu], b.ip, "inner products <x_i,x_j>"),
            )
        )

        def profile() -> str:
            pX, pY = _profile_stats(iX.gram), _profile_stats(iY.gram)
            return (
                _sorted_diff(pX[:, 0], pY[:, 0], 3 * b.sums, "per-point sums of cubes")
                or _sorted_diff(pX[:, 1], pY[:, 1], 4 * b.sums, "per-point sums of 4th powers")
                or _sorted_diff(pX[:, 2], pY[:, 2], b.ip, "nearest-neighbour inner products")
            )

        checks.append(("point_profile", profile))
    for name, check in checks:
        detail = check()
        if detail:
            return name, detail
    return "", ""


# ---------------------------------------------------------------------------------------------
# Alignment
# ---------------------------------------------------------------------------------------------


class _Budget(Exception):
    """The search tried max_tries candidate images."""


def _clusters_size(keys: np.ndarray, tol: float) -> np.ndarray:
    """(K,) for each key, how many keys lie in its cluster (sorted keys split at gaps > tol)."""
    order = np.argsort(keys, kind="stable")
    s = keys[order]
    ids = np.concatenate([[0], np.cumsum(np.diff(s) > tol)])
    counts = np.bincount(ids)
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = counts[ids]
    return out


def _procrustes(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Return the orthogonal Q (d, d) minimizing ||A Q - B||_F (A, B: (n, d))."""
    U, _, Vt = np.linalg.svd(A.T @ B)
    return U @ Vt


class _Search:
    """Depth-first search for images in Y of a basis of X (see the module docstring)."""

    def __init__(self, X, Y, iX, iY, b: _Bounds, tol: float, max_tries: int):
        from scipy.spatial import cKDTree

        self.X, self.Y, self.b, self.tol, self.max_tries = X, Y, b, tol, max_tries
        K, d = X.shape
        self.K = K
        self.sigX, self.sigY = iX.sums, iY.sums
        self.sig_tol = np.array([b.sums, 2 * b.sums])
        # Deterministic weights for 1-D keys of inner-product tuples; any positive weights
        # keep the sorted-key comparison a necessary condition.
        self.w = np.random.default_rng(12345).uniform(1.0, 2.0, size=d)
        self.basis = self._choose_basis(d)
        r = len(self.basis)
        XB = X[self.basis]
        self.gram_B = XB @ XB.T
        self.A_X = X @ XB.T  # (K, r)
        self.keys_X = [np.sort(self.A_X[:, : k + 1] @ self.w[: k + 1]) for k in range(r)]
        self.profile_X = [np.sort(self.A_X[:, k]) for k in range(r)]
        sv = np.linalg.svd(XB, compute_uv=False)
        # Q from the basis is off by at most ~2 sqrt(r) tol / sigma_min(basis) (perturbation of
        # B^-1 X_B and of its polar factor), so a point moves by that much more.
        self.match_tol = tol * (1 + 2 * math.sqrt(r) / sv[-1]) + 4 * (d + 2) * _EPS
        # The tree is built on X in a generic orthonormal frame R: codes given in a lattice's
        # coordinates have massive ties per coordinate, on which KD-tree splits degenerate
        # (the Leech query drops from about a minute to under a second).
        g = np.random.default_rng(54321).standard_normal((d, d))
        self.frame = np.linalg.qr(g)[0]
        self.tree = cKDTree(X @ self.frame)
        self.A_Y = np.empty((K, r))
        self.images: list[int] = []
        self.tries = self.leaves = 0
        self.best_matched = 0
        self.profile_memo: dict[tuple[int, int], bool] = {}
        self.result: tuple[np.ndarray, np.ndarray, float] | None = None
        self.sub_X = self.sub_Y = None
        self.sub_keys_X: list[np.ndarray] = []

    def _choose_basis(self, d: int) -> list[int]:
        X, K = self.X, self.K
        rank_tol = min(0.1, max(1e-6, 10 * self.tol))
        sig_key = self.sigX @ np.array([1.0, 0.5])
        key_tol = float(self.sig_tol @ np.array([1.0, 0.5]))
        chosen: list[int] = []
        onb = np.zeros((X.shape[1], 0))
        cols = np.zeros((K, 0))
        for k in range(d):
            resid = np.sqrt(np.clip(1.0 - np.sum((X @ onb) ** 2, axis=1), 0.0, None))
            rmax = float(resid.max())
            if rmax <= rank_tol:
                break
            keys = sig_key + cols @ self.w[:k]
            size = _clusters_size(keys, key_tol + self.b.ip * float(np.sum(self.w[:k])))
            eligible = resid >= 0.5 * rmax
            score = np.where(eligible, size, K + 1).astype(np.float64) - 0.5 * resid
            i = int(np.argmin(score))
            chosen.append(i)
            v = X[i] - onb @ (onb.T @ X[i])
            v -= onb @ (onb.T @ v)  # twice is enough (Gram-Schmidt reorthogonalization)
            onb = np.column_stack([onb, v / np.linalg.norm(v)])
            cols = np.column_stack([cols, X @ X[i]])
        return chosen

    def run(self) -> None:
        self._level(0)

    def _candidates(self, k: int) -> np.ndarray:
        bk = self.basis[k]
        if k == 0:
            idx = np.arange(self.K)
        else:  # the newest image's constraint first, on all of Y; the others on what is left
            idx = np.flatnonzero(np.abs(self.A_Y[:, k - 1] - self.gram_B[k, k - 1]) <= self.b.ip)
        for j in range(k - 1):
            idx = idx[np.abs(self.A_Y[idx, j] - self.gram_B[k, j]) <= self.b.ip]
        ok = np.all(np.abs(self.sigY[idx] - self.sigX[bk]) <= self.sig_tol, axis=1)
        return idx[ok]

    def _subset(self) -> None:
        """Fix the rows used by the cheap forward pre-check, once b_0 -> c_0 is chosen: the
        smallest class of equal <x, b_0> with at least 4 d points (necessary condition: the
        projections of that class onto the chosen images must agree as multisets)."""
        col_X, col_Y = self.A_X[:, 0], self.A_Y[:, 0]
        size = _clusters_size(col_X, self.b.ip)
        big = size >= 4 * self.X.shape[1]
        self.sub_X = self.sub_Y = None
        if not big.any():
            return
        i = int(np.flatnonzero(big)[np.argmin(size[big])])
        sub_X = np.flatnonzero(np.abs(col_X - col_X[i]) <= self.b.ip)
        sub_Y = np.flatnonzero(np.abs(col_Y - col_X[i]) <= self.b.ip)
        if len(sub_X) < self.K // 4 and len(sub_Y) == len(sub_X):
            self.sub_X, self.sub_Y = sub_X, sub_Y
            self.sub_keys_X = [
                np.sort(self.A_X[sub_X, : k + 1] @ self.w[: k + 1]) for k in range(len(self.basis))
            ]

    def _profile_ok(self, k: int, c: int, col: np.ndarray) -> bool:
        key = (self.basis[k], c)
        if key not in self.profile_memo:
            diff = np.max(np.abs(np.sort(col) - self.profile_X[k]))
            self.profile_memo[key] = bool(diff <= self.b.ip)
        return self.profile_memo[key]

    def _level(self, k: int) -> bool:
        r = len(self.basis)
        if k == r:
            return self._leaf()
        key_tol = self.b.ip * float(np.sum(self.w[: k + 1])) + 4 * (k + 1) * _EPS
        w = self.w[: k + 1]
        for c in self._candidates(k):
            self.tries += 1
            if self.tries > self.max_tries:
                raise _Budget
            if k > 0 and self.sub_Y is not None:  # cheap pre-check on a class of rows
                self.A_Y[self.sub_Y, k] = self.Y[self.sub_Y] @ self.Y[c]
                keys = np.sort(self.A_Y[self.sub_Y, : k + 1] @ w)
                if np.max(np.abs(keys - self.sub_keys_X[k])) > key_tol:
                    continue
            col = self.Y @ self.Y[c]
            self.A_Y[:, k] = col
            keys = np.sort(self.A_Y[:, : k + 1] @ w)
            if np.max(np.abs(keys - self.keys_X[k])) > key_tol:
                continue
            if k > 0 and not self._profile_ok(k, int(c), col):  # at k = 0: the keys above
                continue
            self.images.append(int(c))
            if k == 0:
                self._subset()
            if self._level(k + 1):
                return True
            self.images.pop()
        return False

    def _leaf(self) -> bool:
        self.leaves += 1
        X, Y, K = self.X, self.Y, self.K
        Q = _procrustes(Y[self.images], X[self.basis])
        Z = Y @ Q
        dist, idx = self.tree.query(Z @ self.frame, k=1, distance_upper_bound=self.match_tol)
        found = np.isfinite(dist)
        n_matched = int(len(np.unique(idx[found])))
        self.best_matched = max(self.best_matched, n_matched)
        if not found.all():
            return False
        if n_matched < K:  # nearest neighbours collide: assign one-to-one
            if K > GRAM_MAX_K:
                return False
            from scipy.optimize import linear_sum_assignment
            from scipy.spatial.distance import cdist

            rows, cols = linear_sum_assignment(cdist(Z, X))
            idx = np.empty(K, dtype=np.int64)
            idx[rows] = cols
        perm = np.empty(K, dtype=np.int64)
        perm[idx] = np.arange(K)  # X[perm^-1 ...]: X[idx[j]] ~ Z[j], so perm[idx[j]] = j
        best = None
        for q in (Q, _procrustes(Y[perm], X)):
            res = float(np.max(np.linalg.norm(X - Y[perm] @ q, axis=1)))
            if best is None or res < best[2]:
                best = (q, perm, res)
        if best[2] > self.tol:
            return False
        self.result = best
        return True


def _align(X, Y, iX, iY, b, tol, max_tries) -> tuple[Congruence | None, str]:
    """Return (result, detail): result EQUIVALENT, UNDECIDED or None (no alignment exists)."""
    s = _Search(X, Y, iX, iY, b, tol, max_tries)
    try:
        s.run()
    except _Budget:
        detail = (
            f"search budget of {max_tries} candidate images spent after {s.leaves} full "
            f"alignments (at best {s.best_matched} of {s.K} points matched)"
        )
        return _result(UNDECIDED, tol, invariant="alignment", detail=detail), detail
    if s.result is not None:
        Q, perm, res = s.result
        detail = (
            f"basis of {len(s.basis)} points aligned after {s.tries} candidate images, "
            f"{s.leaves} full alignment(s); det Q = {np.linalg.det(Q):+.0f}"
        )
        return _result(EQUIVALENT, tol, Q=Q, perm=perm, residual=res, detail=detail), detail
    detail = (
        f"no orthogonal map and relabeling within tol: {s.tries} candidate image(s) for a "
        f"basis of {len(s.basis)} points tried, {s.leaves} full alignment(s), at best "
        f"{s.best_matched} of {s.K} points matched"
    )
    return None, detail


def _result(verdict, tol, *, Q=None, perm=None, residual=math.nan, invariant="", detail=""):
    return Congruence(
        verdict, Q, perm, residual, invariant, detail, np.zeros(0, dtype=np.int64), 0.0, tol
    )


def _compare(X, Y, tol: float, max_tries: int) -> Congruence:
    """Invariants, then alignment, of two validated codes of equal shape."""
    K, d = X.shape
    b = _bounds(K, d, tol)
    iX, iY = _invariants(X), _invariants(Y)
    invariant, detail = _first_difference(X, Y, iX, iY, b)
    if invariant:
        return _result(NOT_EQUIVALENT, tol, invariant=invariant, detail=detail)
    res, detail = _align(X, Y, iX, iY, b, tol, max_tries)
    if res is None:
        return _result(NOT_EQUIVALENT, tol, invariant="alignment", detail=detail)
    return res


def _rattler_mask(code: np.ndarray, tol: float) -> np.ndarray:
    from spherecodes.measures import RATTLER_TOL_DEG, tammes_rattlers

    # A perturbation of at most tol per point moves a pair's angle by at most ~2 tol radians.
    tol_deg = max(RATTLER_TOL_DEG, math.degrees(4 * tol))
    return np.asarray(tammes_rattlers(code, tol_deg), dtype=bool)


def _arc_max_inner(a: np.ndarray, b: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(n,) the largest <p, z> over z on the shorter great-circle arc from a to b, per row p."""
    alpha, pb = P @ a, P @ b
    u = b - (a @ b) * a
    nu = np.linalg.norm(u)
    if nu <= 1e-15:  # a = b (or antipodal, where every arc is as good: take the endpoints)
        return np.maximum(alpha, pb)
    u /= nu
    omega = math.atan2(nu, a @ b)
    beta = P @ u
    t = np.arctan2(beta, alpha)  # <p, cos t a + sin t u> peaks here on the whole circle
    inside = (t >= 0) & (t <= omega)
    return np.where(inside, np.hypot(alpha, beta), np.maximum(alpha, pb))


def _up_to_rattlers(X, Y, full: Congruence, tol: float, max_tries: int) -> Congruence | None:
    """The rattler verdict when X and Y agree after removing their rattlers and each rattler
    can slide to its partner inside its cage, else None."""
    rX, rY = _rattler_mask(X, tol), _rattler_mask(Y, tol)
    n = int(rX.sum())
    if n == 0 or n != int(rY.sum()) or X.shape[0] - n < 2:
        return None
    K, d = X.shape
    b = _bounds(K, d, tol)
    cmax = _max_inner(X)
    if abs(cmax - _max_inner(Y)) > b.ip:  # moving a rattler keeps the minimal angle
        return None
    keepX, keepY = np.flatnonzero(~rX), np.flatnonzero(~rY)
    core = _compare(X[keepX], Y[keepY], tol, max_tries)
    if core.verdict != EQUIVALENT:
        return None
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    ratX, ratY = np.flatnonzero(rX), np.flatnonzero(rY)
    moved = Y[ratY] @ core.Q
    cost = cdist(X[ratX], moved)
    rows, cols = linear_sum_assignment(cost)
    # Same cage (a sufficient test): the great-circle arc from each rattler to its partner
    # keeps at least the minimal angle from every non-rattler point.
    for i, j in zip(rows, cols, strict=True):
        if np.max(_arc_max_inner(X[ratX[i]], moved[j], X[keepX])) > cmax + b.ip:
            return None
    perm = np.empty(K, dtype=np.int64)
    perm[keepX] = keepY[core.perm]
    perm[ratX[rows]] = ratY[cols]
    shift = float(cost[rows, cols].max())
    detail = (
        f"{full.invariant} differs on the whole codes ({full.detail}); without the {n} "
        f"rattler(s) they are equivalent, and each rattler slides to its partner (moved by at "
        f"most {shift:.3g}) without coming closer than the minimal angle to another point"
    )
    return Congruence(
        UP_TO_RATTLERS, core.Q, perm, core.residual, full.invariant, detail, ratX, shift, tol
    )


def _max_inner(code: np.ndarray) -> float:
    G = code @ code.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def equivalent(X, Y, *, tol: float = TOL, max_tries: int = MAX_TRIES) -> Congruence:
    """Return whether codes X and Y (K, d) are one code up to O(d) and relabeling, as a
    :class:`Congruence`: verdict, Q (d, d) and perm with X[i] ~ Y[perm[i]] @ Q, the residual
    max_i ||X[i] - Y[perm[i]] @ Q||_2 (a Euclidean distance), or the first invariant that differs.

    `tol` bounds the residual (0 < tol <= 0.1); `max_tries` bounds the candidate images the
    alignment search tries before answering UNDECIDED.  Codes of different K or d are
    NOT_EQUIVALENT (invariant "K" or "d").  Raises ValueError for input that is not a code
    (see :func:`spherecodes.sphere.validate_code`) or a bad `tol` / `max_tries`.

    >>> import numpy as np
    >>> X = np.eye(3)
    >>> equivalent(X, X[[2, 0, 1]]).verdict
    'equivalent'
    """
    tol = float(tol)
    if not (math.isfinite(tol) and 0 < tol <= 0.1):
        raise ParameterError("tol", "{name}={v} is out of range: need 0 < {name} <= 0.1", v=tol)
    if int(max_tries) != max_tries or max_tries < 1:
        raise ValueError(f"max_tries={max_tries} is out of range: need an integer >= 1")
    X = validate_code(X, name="X")
    Y = validate_code(Y, name="Y")
    for name, a, b in (("K", X.shape[0], Y.shape[0]), ("d", X.shape[1], Y.shape[1])):
        if a != b:
            what = "number of points" if name == "K" else "dimension"
            detail = f"{what} differs: X has {name}={a}, Y has {name}={b}"
            return _result(NOT_EQUIVALENT, tol, invariant=name, detail=detail)
    full = _compare(X, Y, tol, int(max_tries))
    if full.verdict == NOT_EQUIVALENT and X.shape[0] <= GRAM_MAX_K:
        rattled = _up_to_rattlers(X, Y, full, tol, int(max_tries))
        if rattled is not None:
            return rattled
    return full


def format_compare(result: Congruence) -> str:
    """Return one line: the verdict, the residual (or the differing invariant) and the detail."""
    if result.equivalent:
        det = np.linalg.det(result.Q)
        head = (
            f"{result.verdict}: residual {result.residual:.3g} "
            f"(max_i |A_i - (P B Q)_i|, Euclidean; tol {result.tol:g}), det Q = {det:+.0f}"
        )
        if result.verdict == UP_TO_RATTLERS:
            head += (
                f"; {len(result.rattlers)} rattler(s) moved by at most {result.rattler_shift:.3g}"
                f" in their cages ({result.invariant} differs on the whole codes)"
            )
        return head
    return f"{result.verdict}: {result.invariant} differs: {result.detail} (tol {result.tol:g})"


def compare_json(result: Congruence) -> str:
    """Return the result as one JSON object (Q as nested lists, perm as a list, nan as null)."""
    import json

    def num(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    out = {
        "verdict": result.verdict,
        "equivalent": result.equivalent,
        "residual": num(result.residual),
        "tol": result.tol,
        "invariant": result.invariant,
        "detail": result.detail,
        "det_Q": None if result.Q is None else round(float(np.linalg.det(result.Q))),
        "rattlers": result.rattlers.tolist(),
        "rattler_shift": result.rattler_shift,
        "Q": None if result.Q is None else result.Q.tolist(),
        "perm": None if result.perm is None else result.perm.tolist(),
    }
    return json.dumps(out)
