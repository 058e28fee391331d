"""Closed-form codes: sections of a code, polygons, simplices, cross-polytopes, polytopes.

Each builder returns a fresh (K, d) float64 NumPy array of unit rows, exact up to float64
rounding.  :func:`section` (the points with prescribed inner products with a few anchor
vectors, projected to the anchors' orthogonal complement and renormalized) is how the lattice
codes of :mod:`spherecodes.lattice_codes` are derived; for integer inputs its selection is
exact.  :func:`theorem33_code` returns the closed-form Softmax Code of Theorem 3.3 of the GNC
paper.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from spherecodes import lattices

__all__ = [
    "cell600",
    "cross_polytope",
    "hemicube",
    "icosahedron",
    "kgon",
    "kissing_configuration",
    "read_only",
    "section",
    "simplex",
    "theorem33_code",
    "unit_rows",
]

# ---------------------------------------------------------------------------------------------
# Sections: points at prescribed inner products with anchors
# ---------------------------------------------------------------------------------------------


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Return `x` with every row divided by its Euclidean norm."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def read_only(x: np.ndarray) -> np.ndarray:
    """Return `x` itself, marked read-only (for arrays kept in a cache and handed out copied)."""
    x.setflags(write=False)
    return x


def _project_out(points: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Coordinates of the points' projections in an orthonormal basis of span(anchors)^perp."""
    anchors = np.atleast_2d(np.asarray(anchors, dtype=np.float64))
    m, d = anchors.shape
    q, _ = np.linalg.qr(anchors.T, mode="complete")  # (d, d); columns m: span the complement
    if np.linalg.matrix_rank(anchors) != m:
        raise ValueError(
            f"anchors must be linearly independent; got {m} of rank "
            f"{np.linalg.matrix_rank(anchors)}"
        )
    return np.asarray(points, dtype=np.float64) @ q[:, m:]


def section(points, anchors, values, *, tol: float = 1e-9) -> np.ndarray:
    """Return the points x with <x, a_i> = values[i] for every anchor a_i, projected onto the
    orthogonal complement of the anchors' span and renormalized: shape (M, d - m), unit rows.

    Inner products are compared within `tol`; integer inputs (lattice coordinates) with integer
    `values` are compared exactly.  The new coordinates are in an orthonormal basis of the
    complement, so inner products change only by the projection.

    >>> section(np.eye(3), [[0.0, 0.0, 1.0]], [0.0]).shape
    (2, 2)
    """
    pts = np.asarray(points)
    anc = np.atleast_2d(np.asarray(anchors))
    vals = np.atleast_1d(np.asarray(values))
    if anc.shape[1] != pts.shape[1]:
        raise ValueError(f"anchors have dimension {anc.shape[1]}, points {pts.shape[1]}")
    if vals.shape != (anc.shape[0],):
        raise ValueError(
            f"values must have one entry per anchor ({anc.shape[0]}); got shape {vals.shape}"
        )
    ips = pts @ anc.T
    exact = (
        np.issubdtype(pts.dtype, np.integer)
        and np.issubdtype(anc.dtype, np.integer)
        and np.issubdtype(vals.dtype, np.integer)
    )
    keep = np.all(ips == vals if exact else np.abs(ips - vals) <= tol, axis=1)
    if not keep.any():
        raise ValueError(f"no point has inner products {vals.tolist()} with the anchors")
    return unit_rows(_project_out(pts[keep], anc))


def kissing_configuration(
    code, center: int = 0, *, inner: float | None = None, tol: float = 1e-9
) -> np.ndarray:
    """Return the kissing configuration of `code` at row `center`: the rows at inner product
    `inner` (default: the largest one below 1) with it, projected to its orthogonal complement
    and renormalized, in d - 1 coordinates: shape (M, d - 1), unit rows.

    >>> kissing_configuration(cross_polytope(3)).shape
    (4, 2)
    """
    code = np.asarray(code, dtype=np.float64)
    K = code.shape[0]
    if not 0 <= center < K:
        raise ValueError(f"center={center} is out of range: need 0 <= center < K={K}")
    ips = code @ code[center]
    if inner is None:
        below = ips[ips < 1 - tol]
        if below.size == 0:
            raise ValueError("code has no point other than copies of the center")
        inner = float(below.max())
    return section(code, code[center][None], [inner], tol=tol)


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------


def kgon(K: int) -> np.ndarray:
    """Return the regular K-gon on the unit circle, points (cos 2pi k/K, sin 2pi k/K): (K, 2)."""
    if K < 2:
        raise ValueError(f"K={K} is too small: a code needs K >= 2 points")
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def simplex(K: int, d: int | None = None) -> np.ndarray:
    """Return the regular simplex (simplex ETF) of K points in R^d, inner products -1/(K-1).

    The (K-1)-dimensional simplex uses the first K-1 coordinates (Helmert basis of the
    sum-zero hyperplane); `d` defaults to K - 1 and must satisfy d >= K - 1.  Shape (K, d).
    """
    if K < 2:
        raise ValueError(f"K={K} is too small: a code needs K >= 2 points")
    d = K - 1 if d is None else d
    if d < max(K - 1, 1):
        raise ValueError(f"d={d} is too small for a {K}-point simplex: need d >= K - 1 = {K - 1}")
    # Column j (1-based) of the Helmert basis: (1, ..., 1, -j, 0, ...) / sqrt(j (j + 1)).
    j = np.arange(1, K)
    i = np.arange(K)[:, None]
    h = np.where(i < j, 1.0, np.where(i == j, -j.astype(np.float64), 0.0)) / np.sqrt(j * (j + 1))
    out = np.zeros((K, d))
    out[:, : K - 1] = h * np.sqrt(K / (K - 1))
    return out


def cross_polytope(d: int, K: int | None = None) -> np.ndarray:
    """Return K vertices of the cross-polytope in R^d: e_1, ..., e_d, -e_1, ..., -e_{K-d}.

    K defaults to 2d (the whole cross-polytope, inner products -1 and 0).  For d + 2 <= K <= 2d
    this is the Softmax Code of Theorem 3.3 of the GNC paper: any K >= d + 2 vertices of the
    cross-polytope reach rho_1vr = 1, and this subset also spans R^d.  Shape (K, d).
    """
    if d < 2:
        raise ValueError(f"d={d} is too small: need dimension d >= 2")
    K = 2 * d if K is None else K
    if not d + 2 <= K <= 2 * d:
        raise ValueError(
            f"K={K} is outside the cross-polytope range d + 2 <= K <= 2d = "
            f"[{d + 2}, {2 * d}] for d={d}"
        )
    eye = np.eye(d)
    return np.concatenate([eye, -eye[: K - d]])


def theorem33_code(d: int, K: int) -> np.ndarray:
    """Return the closed-form Softmax Code of Theorem 3.3 (GNC paper), shape (K, d).

    d = 2: the regular K-gon; K <= d + 1: the simplex; d + 1 < K <= 2d: K vertices of the
    cross-polytope (`cross_polytope`).  Other (d, K) have no closed form there: ValueError.
    """
    if d < 2:
        raise ValueError(f"d={d} is too small: need dimension d >= 2")
    if K < 2:
        raise ValueError(f"K={K} is too small: a code needs K >= 2 points")
    if d == 2:
        return kgon(K)
    if K <= d + 1:
        return simplex(K, d)
    if K <= 2 * d:
        return cross_polytope(d, K)
    raise ValueError(
        f"K={K} has no closed-form Softmax Code in Theorem 3.3 for d={d}: "
        f"need d = 2 or K <= 2d = {2 * d}"
    )


def hemicube() -> np.ndarray:
    """Return the 5-demicube: the 16 points (+-1)^5 / sqrt(5) with an even number of minus
    signs (inner products -3/5, 1/5), shape (16, 5)."""
    return lattices.even_sign_patterns(5).astype(np.float64) / np.sqrt(5)


# ---------------------------------------------------------------------------------------------
# Polytopes in dimensions 3 and 4
# ---------------------------------------------------------------------------------------------

_PHI = (1 + math.sqrt(5)) / 2


def _signed_even_perms(base: np.ndarray) -> np.ndarray:
    """All even coordinate permutations of `base` with every sign pattern on its nonzeros."""
    n = len(base)
    perms = []
    for p in _even_permutations(n):
        perms.append(base[list(p)])
    rows = []
    nz = np.flatnonzero(base)
    for v in perms:
        nzp = np.flatnonzero(v)
        for bits in range(2 ** len(nz)):
            w = v.copy()
            for t, idx in enumerate(nzp):
                if bits >> t & 1:
                    w[idx] = -w[idx]
            rows.append(w)
    return np.array(rows)


def _even_permutations(n: int):
    from itertools import permutations

    for p in permutations(range(n)):
        inversions = sum(p[i] > p[j] for i in range(n) for j in range(i + 1, n))
        if inversions % 2 == 0:
            yield p


def icosahedron() -> np.ndarray:
    """Return the 12 vertices of the icosahedron, cyclic permutations of (0, +-1, +-phi)
    normalized (inner products -1, +-1/sqrt 5), shape (12, 3)."""
    v = _signed_even_perms(np.array([0.0, 1.0, _PHI]))
    return unit_rows(v)


@lru_cache(maxsize=1)
def _cell600() -> np.ndarray:
    axes = np.concatenate([np.eye(4), -np.eye(4)])
    halves = ((np.arange(16)[:, None] >> np.arange(4)) & 1) * -1.0 + 0.5  # (+-1/2)^4
    golden = _signed_even_perms(np.array([_PHI, 1.0, 1 / _PHI, 0.0]) / 2)
    v = np.concatenate([axes, halves, golden])
    v = unit_rows(v)
    v.setflags(write=False)
    return v


def cell600() -> np.ndarray:
    """Return the 120 vertices of the 600-cell (unit icosians): the 8 points +-e_i, the 16
    points (+-1/2)^4 and the 96 even permutations of (+-phi, +-1, +-1/phi, 0)/2; (120, 4)."""
    return _cell600().copy()
