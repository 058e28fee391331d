"""Validation of a code array: NumPy only, so readers and plots can check a code without JAX.

:func:`validate_code` is re-exported by :mod:`spherecodes.sphere`, where it was first defined.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNIT_TOL", "validate_code"]

#: Rows whose norm differs from 1 by at most this much are renormalized silently.
UNIT_TOL = 1e-6


def validate_code(code, *, name: str = "code", unit_tol: float = UNIT_TOL) -> np.ndarray:
    """Return `code` as a float64 NumPy array of unit rows, shape (K, d), or raise ValueError.

    Checks, in order: a 2-D array; K >= 2 rows; d >= 2 columns; finite entries; no zero rows;
    every row norm within `unit_tol` of 1 (such rows are renormalized).

    >>> validate_code([[1.0, 0.0], [0.0, 1.0]]).shape
    (2, 2)
    """
    arr = np.asarray(code, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (K, d); got shape {arr.shape}")
    K, d = arr.shape
    if K < 2:
        raise ValueError(f"{name} has K={K} rows: a code needs K >= 2 points")
    if d < 2:
        raise ValueError(f"{name} has d={d} columns: a code needs dimension d >= 2")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} has NaN or infinite entries in row(s) {np.flatnonzero(bad)[:5].tolist()}"
        )
    norms = np.linalg.norm(arr, axis=1)
    zero = norms == 0
    if zero.any():
        raise ValueError(f"{name} has zero row(s) {np.flatnonzero(zero)[:5].tolist()}")
    dev = np.abs(norms - 1.0)
    if (dev > unit_tol).any():
        i = int(np.argmax(dev))
        raise ValueError(
            f"{name} row {i} has norm {norms[i]:.9g}: rows must be unit vectors "
            f"(|norm - 1| <= {unit_tol:g}); normalize them first"
        )
    return arr / norms[:, None]
