"""Points on the unit sphere S^{d-1}: validation, normalization, random codes, geometry.

A code is an array of shape (K, d) whose rows are unit vectors (the papers' W transposed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from spherecodes import precision

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


def normalize(x: jax.Array, axis: int = -1) -> jax.Array:
    """Return `x` scaled to unit Euclidean norm along `axis` (zero vectors stay zero)."""
    n = jnp.linalg.norm(x, axis=axis, keepdims=True)
    return x / jnp.where(n > 0, n, 1)


@precision.host_float64
def random_code(key: jax.Array, K: int, d: int, *, dtype=jnp.float64) -> jax.Array:
    """Return K points drawn uniformly on S^{d-1}: a (K, d) array of unit rows."""
    if K < 1:
        raise ValueError(f"K={K} is too small: need K >= 1 points")
    if d < 1:
        raise ValueError(f"d={d} is too small: need dimension d >= 1")
    return normalize(jax.random.normal(key, (K, d), dtype=dtype))


def gram(code: jax.Array) -> jax.Array:
    """Return the (K, K) Gram matrix of inner products <w_i, w_j> of the rows of `code`."""
    return code @ code.T


def tangent_project(code: jax.Array, v: jax.Array) -> jax.Array:
    """Return `v` (K, d) projected row-wise onto the tangent spaces of the sphere at `code`."""
    return v - jnp.sum(v * code, axis=-1, keepdims=True) * code


def retract(code: jax.Array, v: jax.Array) -> jax.Array:
    """Return the metric-projection retraction normalize(code + v): unit rows, shape (K, d)."""
    return normalize(code + v)


def pair_angle(a: jax.Array, b: jax.Array) -> jax.Array:
    """Return the angle between unit vectors `a` and `b` in radians, accurate at 0 and pi.

    Uses 2*atan2(|a - b|, |a + b|), which keeps full relative precision where arccos of the
    inner product loses half the digits (near 0) or all of them (near pi).
    """
    return 2.0 * jnp.arctan2(jnp.linalg.norm(a - b, axis=-1), jnp.linalg.norm(a + b, axis=-1))


@precision.host_float64
def skew_rotation(key: jax.Array, d: int, *, scale: float = 1.0, dtype=jnp.float64) -> jax.Array:
    """Return a random rotation in SO(d): expm(A) for a random skew-symmetric A, shape (d, d)."""
    a = scale * jax.random.normal(key, (d, d), dtype=dtype)
    return jax.scipy.linalg.expm(a - a.T)


@precision.host_float64
def equivalent_code(code: jax.Array, key: jax.Array, *, permute: bool = True) -> jax.Array:
    """Return an equivalent code: `code` (K, d) rotated by a random expm(skew) and row-permuted.

    This is the Grassmannian-frame paper's "equivalent frame" (its Code 1): every pairwise
    inner product, hence every measure of the code, is unchanged.
    """
    k_rot, k_perm = jax.random.split(key)
    rot = skew_rotation(k_rot, code.shape[1], dtype=code.dtype)
    out = code @ rot.T
    if permute:
        out = out[jax.random.permutation(k_perm, code.shape[0])]
    return out
