"""Points on the unit sphere S^{d-1}: validation, normalization, random codes, geometry.

A code is an array of shape (K, d) whose rows are unit vectors (the papers' W transposed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from spherecodes import precision

# Re-exported: validation is NumPy only (spherecodes.validation) so plots can use it without JAX.
from spherecodes.validation import UNIT_TOL as UNIT_TOL
from spherecodes.validation import validate_code as validate_code


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
