"""Known codes in closed form: the Softmax Codes of Theorem 3.3 of the GNC paper and every
configuration of Table 1 of Cohn & Kumar, "Universally optimal distribution of points on
spheres" (J. AMS 20, 2007), in dimension at most 100.

Each builder returns a fresh (K, d) float64 NumPy array of unit rows, exact up to float64
rounding.  The sporadic codes come from two lattices (`spherecodes.lattices`):

* E8 roots (8, 240) -> kissing configuration (7, 56) -> (6, 27) Schläfli.
* Leech minimal vectors (24, 196560) -> kissing configuration (23, 4600) -> (22, 891).
* With a type-3 Leech vector u (squared norm 6): the 552 minimal vectors x with <x, u> = 3
  give 276 equiangular lines (23, 552); fixing one of them as well gives McLaughlin (22, 275)
  and one more point gives (21, 162).  A second type-3 vector B with u - B of type 2 gives
  Higman–Sims (22, 100) as the minimal vectors x with <x, u> = <x, B> = 3.
* The isotropic-subspace family (q+1)(q^3+1) points in R^{q(q^3+1)/(q+1)} (inner products
  -1/q, 1/q^2) comes from the points of the elliptic quadric Q^-(5, q), i.e. the generalized
  quadrangle GQ(q, q^2) dual to the totally isotropic lines of the Hermitian surface
  H(3, q^2), through the spectral embedding of its collinearity graph.

Each derivation is a *section*: the points with prescribed inner products with a few anchor
vectors, projected to the anchors' orthogonal complement and renormalized.  For the lattice
codes the selection is done in integer arithmetic, so it is exact.

`cohn_kumar_codes` lists the codes with their exact inner products (`KnownCode`), and
`theorem33_code` returns the closed-form Softmax Code of Theorem 3.3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache, partial
from typing import NamedTuple

import numpy as np

from spherecodes import lattices

# ---------------------------------------------------------------------------------------------
# Exact values of inner products
# ---------------------------------------------------------------------------------------------


class Surd(NamedTuple):
    """The real number (a + b * sqrt(n)) / c, exactly (integers, c > 0, n >= 2 squarefree)."""

    a: int
    b: int
    c: int
    n: int

    def __float__(self) -> float:
        return (self.a + self.b * math.sqrt(self.n)) / self.c

    def __str__(self) -> str:
        root = f"sqrt({self.n})"
        if self.a == 0:
            num = root if self.b == 1 else f"-{root}" if self.b == -1 else f"{self.b}*{root}"
            return num if self.c == 1 else f"{num}/{self.c}"
        sign = "+" if self.b > 0 else "-"
        mag = "" if abs(self.b) == 1 else f"{abs(self.b)}*"
        return f"({self.a}{sign}{mag}{root})/{self.c}"


class CosPi(NamedTuple):
    """The real number cos(pi * p / q), exactly (p, q integers, q > 0)."""

    p: int
    q: int

    def __float__(self) -> float:
        return math.cos(math.pi * self.p / self.q)

    def __str__(self) -> str:
        return f"cos({'' if self.p == 1 else self.p}pi/{self.q})"


#: An exact real number: a rational, a quadratic surd, or cos of a rational multiple of pi.
ExactValue = Fraction | Surd | CosPi

#: cos(pi * f) for the f in [0, 1] where it is rational or a quadratic surd.
_COS_PI_EXACT: dict[Fraction, ExactValue] = {
    Fraction(0): Fraction(1),
    Fraction(1, 6): Surd(0, 1, 2, 3),
    Fraction(1, 5): Surd(1, 1, 4, 5),
    Fraction(1, 4): Surd(0, 1, 2, 2),
    Fraction(1, 3): Fraction(1, 2),
    Fraction(2, 5): Surd(-1, 1, 4, 5),
    Fraction(1, 2): Fraction(0),
    Fraction(3, 5): Surd(1, -1, 4, 5),
    Fraction(2, 3): Fraction(-1, 2),
    Fraction(3, 4): Surd(0, -1, 2, 2),
    Fraction(4, 5): Surd(-1, -1, 4, 5),
    Fraction(5, 6): Surd(0, -1, 2, 3),
    Fraction(1): Fraction(-1),
}


def _cos_2pi(j: int, K: int) -> ExactValue:
    """Return cos(2 pi j / K) exactly: a Fraction or Surd where it is one, else a CosPi."""
    f = Fraction(2 * j, K) % 2  # angle / pi in [0, 2)
    f = min(f, 2 - f)  # cos is even about pi
    return _COS_PI_EXACT.get(f, CosPi(f.numerator, f.denominator))


def _sorted_values(values) -> tuple[ExactValue, ...]:
    out = {}
    for v in values:
        out.setdefault(round(float(v), 12), v)
    return tuple(out[k] for k in sorted(out))


class KnownCode(NamedTuple):
    """One configuration of Cohn–Kumar's Table 1 (or a representative member of a family)."""

    name: str  # unique, e.g. "600-cell", "simplex d=8 K=9", "isotropic q=3"
    d: int  # dimension of the ambient space R^d
    K: int  # number of points
    inner_products: tuple[ExactValue, ...]  # distinct <x, y> over x != y, ascending
    builder: Callable[[], np.ndarray]  # returns a fresh (K, d) float64 array of unit rows
    construction: str  # one line: how the builder obtains the code

    def build(self) -> np.ndarray:
        """Return the code: a fresh (K, d) float64 array of unit rows."""
        return self.builder()

    def inner_product_values(self) -> np.ndarray:
        """Return the expected distinct inner products as a float64 array, ascending."""
        return np.array([float(v) for v in self.inner_products], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Sections: points at prescribed inner products with anchors
# ---------------------------------------------------------------------------------------------


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


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
    return _unit_rows(_project_out(pts[keep], anc))


def kissing_configuration(
    code, center: int = 0, *, inner: float | None = None, tol: float = 1e-9
) -> np.ndarray:
    """Return the kissing configuration of `code` at row `center`: the rows at inner product
    `inner` (default: the largest one below 1) with it, projected to its orthogonal complement
    and renormalized, in d - 1 coordinates: shape (M, d - 1), unit rows.

    >>> kissing_configuration(e8_roots()).shape
    (56, 7)
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
    return _unit_rows(v)


@lru_cache(maxsize=1)
def _cell600() -> np.ndarray:
    axes = np.concatenate([np.eye(4), -np.eye(4)])
    halves = ((np.arange(16)[:, None] >> np.arange(4)) & 1) * -1.0 + 0.5  # (+-1/2)^4
    golden = _signed_even_perms(np.array([_PHI, 1.0, 1 / _PHI, 0.0]) / 2)
    v = np.concatenate([axes, halves, golden])
    v = _unit_rows(v)
    v.setflags(write=False)
    return v


def cell600() -> np.ndarray:
    """Return the 120 vertices of the 600-cell (unit icosians): the 8 points +-e_i, the 16
    points (+-1/2)^4 and the 96 even permutations of (+-phi, +-1, +-1/phi, 0)/2; (120, 4)."""
    return _cell600().copy()


# ---------------------------------------------------------------------------------------------
# E8 and its derived codes
# ---------------------------------------------------------------------------------------------


def e8_roots() -> np.ndarray:
    """Return the 240 roots of E8 normalized (inner products -1, +-1/2, 0), shape (240, 8)."""
    return lattices.e8_roots_doubled().astype(np.float64) / np.sqrt(8)


def _e8_anchors(m: int) -> np.ndarray:
    """m E8 roots (doubled) with pairwise inner product 1/2: rows 0, then greedy."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    chosen = [0]
    while len(chosen) < m:
        ok = np.all(roots @ roots[chosen].T == 4, axis=1)
        chosen.append(int(np.flatnonzero(ok)[0]))
    return roots[chosen]


def e7_kissing() -> np.ndarray:
    """Return the 56 E8 roots at inner product 1/2 with one root, in its complement: 28
    equiangular lines in R^7 (inner products -1, +-1/3), shape (56, 7)."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    a = _e8_anchors(1)
    return section(roots, a, [4] * len(a))


def schlafli() -> np.ndarray:
    """Return the Schläfli code (E6 minuscule): the 27 E8 roots at inner product 1/2 with two
    roots at 1/2, in their complement (inner products -1/2, 1/4), shape (27, 6)."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    a = _e8_anchors(2)
    return section(roots, a, [4] * len(a))


# ---------------------------------------------------------------------------------------------
# The Leech lattice and its derived codes
# ---------------------------------------------------------------------------------------------


def _frozen(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x


@lru_cache(maxsize=1)
def _leech() -> np.ndarray:
    v = lattices.leech_minimal_scaled().astype(np.float64) / np.sqrt(lattices.LEECH_MIN_NORM)
    return _frozen(v)


def leech_minimal_vectors() -> np.ndarray:
    """Return the 196560 minimal vectors of the Leech lattice normalized (inner products -1,
    +-1/2, +-1/4, 0), built from the extended Golay code, shape (196560, 24)."""
    return _leech().copy()


class _LeechAnchors(NamedTuple):
    """Integer Leech vectors (sqrt(8)-scaled) fixing each derived code; see the module doc."""

    v: np.ndarray  # (24,) int64 minimal vector (row 0)
    p: np.ndarray  # (24,) int64 minimal vector with <v, p> = 16 (cosine 1/2)
    u: np.ndarray  # (24,) int64 type-3 vector (5, 1^23), squared norm 48
    a: np.ndarray  # (24,) int64 minimal vector with <a, u> = 24
    b: np.ndarray  # (24,) int64 minimal vector with <b, u> = 24, <b, a> = 16
    c: np.ndarray  # (24,) int64 type-3 vector u - w, w minimal with <w, u> = 16


@lru_cache(maxsize=1)
def _leech_int() -> np.ndarray:
    return _frozen(lattices.leech_minimal_scaled().astype(np.int64))


@lru_cache(maxsize=1)
def _leech_anchors() -> _LeechAnchors:
    L = _leech_int()
    u = lattices.leech_type3_scaled()
    v = L[0]
    p = L[np.flatnonzero(L @ v == 16)[0]]
    a = L[np.flatnonzero(L @ u == 24)[0]]
    b = L[np.flatnonzero((L @ u == 24) & (L @ a == 16))[0]]
    w = L[np.flatnonzero(L @ u == 16)[0]]
    return _LeechAnchors(v, p, u, a, b, u - w)


def _leech_section(names: str, values: tuple[int, ...]) -> np.ndarray:
    anchors = _leech_anchors()
    anc = np.stack([getattr(anchors, n) for n in names])
    return _frozen(section(_leech_int(), anc, np.array(values, dtype=np.int64)))


@lru_cache(maxsize=1)
def _leech_kissing() -> np.ndarray:
    return _leech_section("v", (16,))


def leech_kissing() -> np.ndarray:
    """Return the kissing configuration of the Leech lattice: the 4600 minimal vectors at
    inner product 1/2 with one, in its complement (inner products -1, +-1/3, 0), (4600, 23)."""
    return _leech_kissing().copy()


@lru_cache(maxsize=1)
def _code891() -> np.ndarray:
    return _leech_section("vp", (16, 16))


def code891() -> np.ndarray:
    """Return the (22, 891) code: the kissing configuration of the (23, 4600) code (inner
    products -1/2, -1/8, 1/4), shape (891, 22)."""
    return _code891().copy()


@lru_cache(maxsize=1)
def _lines276() -> np.ndarray:
    return _leech_section("u", (24,))


def equiangular_276() -> np.ndarray:
    """Return 276 equiangular lines in R^23 as 552 unit vectors (inner products -1, +-1/5):
    the Leech minimal vectors x with <x, u> = 3 for a type-3 u (norm 6), shape (552, 23)."""
    return _lines276().copy()


@lru_cache(maxsize=1)
def _mclaughlin() -> np.ndarray:
    return _leech_section("ua", (24, 16))


def mclaughlin() -> np.ndarray:
    """Return the McLaughlin code: the (23, 552) vectors at inner product 1/5 with one of
    them, in its complement (inner products -1/4, 1/6), shape (275, 22)."""
    return _mclaughlin().copy()


@lru_cache(maxsize=1)
def _code162() -> np.ndarray:
    return _leech_section("uab", (24, 16, 16))


def code162() -> np.ndarray:
    """Return the (21, 162) code: the kissing configuration of the McLaughlin code (inner
    products -2/7, 1/7), shape (162, 21)."""
    return _code162().copy()


@lru_cache(maxsize=1)
def _higman_sims() -> np.ndarray:
    return _leech_section("uc", (24, 24))


def higman_sims() -> np.ndarray:
    """Return the Higman–Sims code: the Leech minimal vectors x with <x, u> = <x, c> = 3 for
    type-3 vectors u, c with u - c of type 2 (inner products -4/11, 1/11), shape (100, 22)."""
    return _higman_sims().copy()


# ---------------------------------------------------------------------------------------------
# The isotropic-subspace family: the elliptic quadric Q^-(5, q) = GQ(q, q^2)
# ---------------------------------------------------------------------------------------------


def _field_tables(q: int) -> tuple[np.ndarray, np.ndarray]:
    """(add, mul) tables of GF(q) on the labels 0..q-1, for q prime or q = 4."""
    if q == 4:
        # GF(4) = GF(2)[w]/(w^2 + w + 1); label = bits of the polynomial (1 -> 1, 2 -> w).
        add = np.bitwise_xor.outer(np.arange(4), np.arange(4))
        mul = np.zeros((4, 4), dtype=np.int64)
        for x in range(4):
            for y in range(4):
                r = 0
                for i in range(2):
                    if y >> i & 1:
                        r ^= x << i
                if r & 4:
                    r ^= 0b111
                mul[x, y] = r
        return add, mul
    if q >= 2 and all(q % p for p in range(2, int(q**0.5) + 1)):
        r = np.arange(q)
        return np.add.outer(r, r) % q, np.multiply.outer(r, r) % q
    raise ValueError(
        f"q={q} is not supported: need a prime or q = 4 (q <= 4 covers every "
        "isotropic-subspace code with d <= 100)"
    )


@lru_cache(maxsize=8)
def _isotropic(q: int) -> np.ndarray:
    add, mul = _field_tables(q)
    # c with t^2 + t + c irreducible, so Q = x0 x1 + x2 x3 + x4^2 + x4 x5 + c x5^2 is elliptic.
    c = next(c for c in range(1, q) if all(add[add[mul[t, t], t], c] != 0 for t in range(q)))
    grid = (np.arange(q**6)[:, None] // q ** np.arange(6)[None, :]) % q  # all of GF(q)^6
    grid = grid[1:]
    first = grid[np.arange(len(grid)), np.argmax(grid != 0, axis=1)]
    grid = grid[first == 1]  # one representative per projective point

    def form(x, y):
        """Polar form B(x, y) = Q(x + y) - Q(x) - Q(y), pairwise over rows: (len x, len y)."""
        # Coefficient matrix of B; diagonal 2 (x4 y4) and 2c (x5 y5) vanish in characteristic 2.
        terms = [
            (0, 1, 1),
            (1, 0, 1),
            (2, 3, 1),
            (3, 2, 1),
            (4, 5, 1),
            (5, 4, 1),
            (4, 4, add[1, 1]),
            (5, 5, add[c, c]),
        ]
        acc = np.zeros((len(x), len(y)), dtype=np.int64)
        for i, j, coef in terms:
            if coef:
                acc = add[acc, mul[mul[x[:, i], coef][:, None], y[None, :, j]]]
        return acc

    def quad(x):
        t = [
            mul[x[:, 0], x[:, 1]],
            mul[x[:, 2], x[:, 3]],
            mul[x[:, 4], x[:, 4]],
            mul[x[:, 4], x[:, 5]],
            mul[mul[x[:, 5], x[:, 5]], c],
        ]
        acc = t[0]
        for s in t[1:]:
            acc = add[acc, s]
        return acc

    pts = grid[quad(grid) == 0]
    v = (q + 1) * (q**3 + 1)
    if len(pts) != v:
        raise RuntimeError(f"Q^-(5, {q}) has {len(pts)} points, expected {v}")
    adj = (form(pts, pts) == 0).astype(np.float64)
    np.fill_diagonal(adj, 0.0)
    # Collinearity graph of GQ(q, q^2): srg with k = q(q^2+1), eigenvalues r = q-1, s = -(q^2+1).
    # The s-eigenspace has dimension m = q(q^3+1)/(q+1), and the Gram matrix of the spherical
    # embedding is (v/m) E_s with E_s = (A - k)(A - r) / ((s - k)(s - r)): cosine s/k = -1/q on
    # edges and -(1 + s)/(v - k - 1) = 1/q^2 off them.
    k, r, s = q * (q * q + 1), q - 1, -(q * q + 1)
    m = q * (q**3 + 1) // (q + 1)
    eye = np.eye(v)
    gram = (adj - k * eye) @ (adj - r * eye) * (v / (m * (s - k) * (s - r)))
    if not (np.allclose(np.diag(gram), 1.0, atol=1e-12) and np.allclose(adj.sum(1), k)):
        raise RuntimeError(f"Q^-(5, {q}) collinearity graph is not the expected srg")
    w, vecs = np.linalg.eigh(gram)
    if not (np.allclose(w[-m:], v / m, atol=1e-9) and np.allclose(w[:-m], 0.0, atol=1e-9)):
        raise RuntimeError(f"isotropic q={q}: Gram matrix is not a rank-{m} projection")
    return _frozen(_unit_rows(vecs[:, -m:] * np.sqrt(v / m)))


def isotropic_subspaces(q: int) -> np.ndarray:
    """Return the isotropic-subspace code for a prime q or q = 4: (q+1)(q^3+1) points in
    R^{q(q^3+1)/(q+1)} with inner products -1/q and 1/q^2, shape (K, d)."""
    return _isotropic(q).copy()


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------

#: Family members listed by `cohn_kumar_codes` (Cohn–Kumar Table 1 lists whole families).
KGON_KS = (3, 4, 5, 6, 7, 8, 12)
SIMPLEX_DK = ((2, 3), (3, 4), (4, 5), (8, 9), (10, 5), (24, 25), (100, 101))
CROSS_POLYTOPE_DS = (3, 4, 8, 24, 100)
ISOTROPIC_QS = (2, 3, 4)

_F = Fraction


def _sporadic() -> list[KnownCode]:
    s5 = Surd(0, 1, 5, 5)
    return [
        KnownCode(
            "icosahedron",
            3,
            12,
            (_F(-1), Surd(0, -1, 5, 5), s5),
            icosahedron,
            "cyclic permutations of (0, +-1, +-phi), normalized",
        ),
        KnownCode(
            "600-cell",
            4,
            120,
            _sorted_values(
                [
                    _F(-1),
                    _F(-1, 2),
                    _F(0),
                    _F(1, 2),
                    Surd(1, 1, 4, 5),
                    Surd(-1, 1, 4, 5),
                    Surd(1, -1, 4, 5),
                    Surd(-1, -1, 4, 5),
                ]
            ),
            cell600,
            "unit icosians: +-e_i, (+-1/2)^4, even perms of (phi,1,1/phi,0)/2",
        ),
        KnownCode(
            "hemicube",
            5,
            16,
            (_F(-3, 5), _F(1, 5)),
            hemicube,
            "(+-1)^5 with an even number of minus signs, normalized",
        ),
        KnownCode(
            "Schlafli",
            6,
            27,
            (_F(-1, 2), _F(1, 4)),
            schlafli,
            "E8 roots at inner product 1/2 with two roots at 1/2",
        ),
        KnownCode(
            "28 equiangular lines",
            7,
            56,
            (_F(-1), _F(-1, 3), _F(1, 3)),
            e7_kissing,
            "kissing configuration of the E8 roots",
        ),
        KnownCode(
            "E8 roots",
            8,
            240,
            (_F(-1), _F(-1, 2), _F(0), _F(1, 2)),
            e8_roots,
            "roots of E8: +-e_i +- e_j and (+-1/2)^8 with an even number of minus signs",
        ),
        KnownCode(
            "(21,162)",
            21,
            162,
            (_F(-2, 7), _F(1, 7)),
            code162,
            "kissing configuration of the McLaughlin code",
        ),
        KnownCode(
            "Higman-Sims",
            22,
            100,
            (_F(-4, 11), _F(1, 11)),
            higman_sims,
            "Leech minimal vectors with <x,u> = <x,c> = 3, u, c type 3, u - c type 2",
        ),
        KnownCode(
            "McLaughlin",
            22,
            275,
            (_F(-1, 4), _F(1, 6)),
            mclaughlin,
            "kissing configuration (at 1/5) of the 276 equiangular lines",
        ),
        KnownCode(
            "(22,891)",
            22,
            891,
            (_F(-1, 2), _F(-1, 8), _F(1, 4)),
            code891,
            "kissing configuration of the (23,4600) code",
        ),
        KnownCode(
            "276 equiangular lines",
            23,
            552,
            (_F(-1), _F(-1, 5), _F(1, 5)),
            equiangular_276,
            "Leech minimal vectors with <x,u> = 3, u of type 3",
        ),
        KnownCode(
            "Leech kissing",
            23,
            4600,
            (_F(-1), _F(-1, 3), _F(0), _F(1, 3)),
            leech_kissing,
            "kissing configuration of the Leech lattice",
        ),
        KnownCode(
            "Leech minimal vectors",
            24,
            196560,
            (_F(-1), _F(-1, 2), _F(-1, 4), _F(0), _F(1, 4), _F(1, 2)),
            leech_minimal_vectors,
            "minimal vectors of the Leech lattice from the extended Golay code",
        ),
    ]


def _families() -> list[KnownCode]:
    out = []
    for K in KGON_KS:
        ips = _sorted_values(_cos_2pi(j, K) for j in range(1, K // 2 + 1))
        out.append(KnownCode(f"{K}-gon", 2, K, ips, partial(kgon, K), "regular polygon"))
    for d, K in SIMPLEX_DK:
        out.append(
            KnownCode(
                f"simplex d={d} K={K}",
                d,
                K,
                (_F(-1, K - 1),),
                partial(simplex, K, d),
                "regular simplex (Helmert basis)",
            )
        )
    for d in CROSS_POLYTOPE_DS:
        out.append(
            KnownCode(
                f"cross-polytope d={d}",
                d,
                2 * d,
                (_F(-1), _F(0)),
                partial(cross_polytope, d),
                "+-e_i",
            )
        )
    for q in ISOTROPIC_QS:
        d, K = q * (q**3 + 1) // (q + 1), (q + 1) * (q**3 + 1)
        out.append(
            KnownCode(
                f"isotropic q={q}",
                d,
                K,
                (_F(-1, q), _F(1, q * q)),
                partial(isotropic_subspaces, q),
                f"spectral embedding of the elliptic quadric Q^-(5,{q})",
            )
        )
    return out


def cohn_kumar_codes(max_dim: int = 100, *, max_points: int | None = None) -> tuple[KnownCode, ...]:
    """Return the Cohn–Kumar Table 1 codes with d <= max_dim (and K <= max_points if given),
    families by the representatives in KGON_KS, SIMPLEX_DK, CROSS_POLYTOPE_DS, ISOTROPIC_QS."""
    codes = _families() + _sporadic()
    return tuple(c for c in codes if c.d <= max_dim and (max_points is None or c.K <= max_points))


#: Every code of `cohn_kumar_codes()` by name.
COHN_KUMAR: dict[str, KnownCode] = {c.name: c for c in cohn_kumar_codes()}


# ---------------------------------------------------------------------------------------------
# Inner-product spectra (for tests and tables)
# ---------------------------------------------------------------------------------------------


def _cluster(values: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.sort(np.ravel(values))
    if v.size == 0:
        return v, np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(v) > tol) + 1])
    counts = np.diff(np.concatenate([starts, [v.size]]))
    sums = np.add.reduceat(v, starts)
    return sums / counts, counts


def distance_distribution(
    code, row: int = 0, *, tol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, counts): the distinct inner products of `code[row]` with the other rows,
    ascending, and how many rows attain each (values closer than `tol` are merged)."""
    code = np.asarray(code, dtype=np.float64)
    ips = np.delete(code @ code[row], row)
    return _cluster(ips, tol)


def distinct_inner_products(code, rows=None, *, tol: float = 1e-9, block: int = 1024) -> np.ndarray:
    """Return the distinct inner products <x_i, x_j>, i != j, ascending, for i in `rows`
    (default: all rows, computed in blocks of `block` rows); values within `tol` are merged."""
    code = np.asarray(code, dtype=np.float64)
    K = code.shape[0]
    rows = np.arange(K) if rows is None else np.atleast_1d(np.asarray(rows))
    found = np.zeros(0)
    for start in range(0, len(rows), block):
        idx = rows[start : start + block]
        g = code[idx] @ code.T
        g[np.arange(len(idx)), idx] = np.nan
        vals, _ = _cluster(g[~np.isnan(g)], tol)
        found, _ = _cluster(np.concatenate([found, vals]), tol)
    return found
