"""Pairwise measures of a code: largest inner product, minimal angle, rho_1v1, coherence,
nearest neighbours and Tammes rattlers.

Every function takes a code of shape (K, d) with unit rows, is a pure jit-able JAX function,
and batches over a leading axis with ``jax.vmap``.  Pairwise maxima are computed in row
blocks of at most ``block`` rows, so memory is O(block * K), never K x K x d; a K x K Gram
matrix is formed only when K <= block.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from spherecodes import precision
from spherecodes.sphere import pair_angle

#: Rows per block in pairwise reductions; above this K no K x K matrix is formed.
BLOCK = 1024

#: Default tolerance (degrees) above the minimal angle for a point to count as a rattler.
RATTLER_TOL_DEG = 1e-6


class Neighbors(NamedTuple):
    """For each point, its nearest other point under a pairwise score (largest wins)."""

    score: jax.Array  # (K,) float: best score <w_k, w_j> (or |.|) over j != k
    index: jax.Array  # (K,) int: the j attaining it


def _row_blocks(code: jax.Array, block: int, fn) -> jax.Array:
    """Apply fn(rows_block, row_offset) -> (..., b) over row blocks and concatenate on axis 0."""
    K = code.shape[0]
    if K <= block:
        return fn(code, 0)
    nb = -(-K // block)
    padded = jnp.concatenate([code, jnp.zeros((nb * block - K,) + code.shape[1:], code.dtype)])
    blocks = padded.reshape((nb, block) + code.shape[1:])
    out = jax.lax.map(lambda args: fn(args[0], args[1] * block), (blocks, jnp.arange(nb)))
    return jax.tree_util.tree_map(lambda x: x.reshape((nb * block,) + x.shape[2:])[:K], out)


@precision.host_float64
@partial(jax.jit, static_argnames=("absolute", "block"))
def nearest_neighbors(code: jax.Array, *, absolute: bool = False, block: int = BLOCK) -> Neighbors:
    """Return each point's largest inner product (or |inner product|) with another point, and which.

    ``score[k] = max_{j != k} <w_k, w_j>`` (``|<w_k, w_j>|`` with ``absolute=True``).
    """
    K = code.shape[0]

    def fn(rows, offset):
        g = rows @ code.T
        if absolute:
            g = jnp.abs(g)
        i = offset + jnp.arange(rows.shape[0])
        g = jnp.where(i[:, None] == jnp.arange(K)[None, :], -jnp.inf, g)
        return Neighbors(jnp.max(g, axis=1), jnp.argmax(g, axis=1))

    return _row_blocks(code, block, fn)


@precision.host_float64
def max_inner(code: jax.Array) -> jax.Array:
    """Return the largest inner product max_{k != j} <w_k, w_j> (a scalar in [-1, 1])."""
    return jnp.max(nearest_neighbors(code).score)


@precision.host_float64
def coherence(code: jax.Array) -> jax.Array:
    """Return the coherence max_{k != j} |<w_k, w_j>| (a scalar in [0, 1])."""
    return jnp.max(nearest_neighbors(code, absolute=True).score)


@precision.host_float64
def neighbor_angles_deg(code: jax.Array) -> jax.Array:
    """Return each point's angle to its nearest neighbour in degrees, shape (K,).

    The angle is recomputed from the pair's coordinates with 2*atan2(|a-b|, |a+b|), so it keeps
    full float64 precision at small and large angles.
    """
    nb = nearest_neighbors(code)
    return jnp.degrees(pair_angle(code, code[nb.index]))


@precision.host_float64
def min_angle_deg(code: jax.Array) -> jax.Array:
    """Return the minimal angle between two distinct points of the code, in degrees."""
    return jnp.min(neighbor_angles_deg(code))


@precision.host_float64
def rho_1v1(code: jax.Array) -> jax.Array:
    """Return the one-vs-one distance min_{k != j} ||w_k - w_j|| (Euclidean, in [0, 2])."""
    nb = nearest_neighbors(code)
    return jnp.min(jnp.linalg.norm(code - code[nb.index], axis=-1))


@precision.host_float64
def tammes_rattlers(code: jax.Array, tol_deg: float = RATTLER_TOL_DEG) -> jax.Array:
    """Return a (K,) bool mask of Tammes rattlers: points whose nearest-neighbour angle exceeds
    the code's minimal angle by more than `tol_deg` degrees (so they touch no other point)."""
    ang = neighbor_angles_deg(code)
    return ang > jnp.min(ang) + tol_deg
