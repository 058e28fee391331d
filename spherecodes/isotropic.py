"""The isotropic-subspace codes: (q+1)(q^3+1) points in R^{q(q^3+1)/(q+1)} (Cohn & Kumar).

The code has inner products -1/q and 1/q^2.  It comes from the points of the elliptic quadric
Q^-(5, q), i.e. the generalized quadrangle GQ(q, q^2) dual to the totally isotropic lines of
the Hermitian surface H(3, q^2), through the spectral embedding of its collinearity graph.
Field arithmetic is done on integer labels by table look-up, for q prime or q = 4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from spherecodes.constructions import read_only, unit_rows

__all__ = ["isotropic_subspaces"]


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
    return read_only(unit_rows(vecs[:, -m:] * np.sqrt(v / m)))


def isotropic_subspaces(q: int) -> np.ndarray:
    """Return the isotropic-subspace code for a prime q or q = 4: (q+1)(q^3+1) points in
    R^{q(q^3+1)/(q+1)} with inner products -1/q and 1/q^2, shape (K, d)."""
    return _isotropic(q).copy()
