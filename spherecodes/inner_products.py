"""Inner products of codes: exact values and measured spectra.

An expected inner product is an :data:`ExactValue`: a :class:`~fractions.Fraction`, a quadratic
:class:`Surd` or a :class:`CosPi`; the catalogue of :mod:`spherecodes.known` lists each code's
distinct inner products this way.  :func:`distance_distribution` and
:func:`distinct_inner_products` measure them on a float64 code (values within a tolerance
merged), which is how tests and tables compare a built or solved code with its exact values.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

__all__ = [
    "CosPi",
    "ExactValue",
    "Surd",
    "cos_2pi_exact",
    "distance_distribution",
    "distinct_inner_products",
    "sorted_exact_values",
]

# ---------------------------------------------------------------------------------------------
# Exact values
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


def cos_2pi_exact(j: int, K: int) -> ExactValue:
    """Return cos(2 pi j / K) exactly: a Fraction or Surd where it is one, else a CosPi."""
    f = Fraction(2 * j, K) % 2  # angle / pi in [0, 2)
    f = min(f, 2 - f)  # cos is even about pi
    return _COS_PI_EXACT.get(f, CosPi(f.numerator, f.denominator))


def sorted_exact_values(values) -> tuple[ExactValue, ...]:
    """Return the distinct `values` (exact numbers equal in float64 to 12 digits merged, the
    first kept), ascending by value."""
    out = {}
    for v in values:
        out.setdefault(round(float(v), 12), v)
    return tuple(out[k] for k in sorted(out))


# ---------------------------------------------------------------------------------------------
# Measured spectra
# ---------------------------------------------------------------------------------------------


def _cluster(values: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (means, counts) of the sorted `values` grouped where neighbours differ by <= tol."""
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
