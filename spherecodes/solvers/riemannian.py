"""The first-order Riemannian step, written once: Adam on products of unit spheres.

Every first-order path (the dense batched search, the streamed search and the neighbour-list
search) steps with :func:`adam`'s ``(init, step)`` pair: the Euclidean gradient is projected
on the tangent space of each row's sphere, Adam (optax's ``scale_by_adam``) scales it, the
step moves by the learning rate and the rows are retracted to the sphere by normalizing.
With ``sphere=False`` (the weight-decay UFM, unconstrained) the projection and retraction are
skipped.  Schedules (temperature, learning rate) fall geometrically, :func:`geometric`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import optax

__all__ = ["Optimizer", "adam", "geometric", "normalize", "tangent"]


def normalize(x):
    """Return x with each row scaled to unit norm (zero rows, the padding, stay zero)."""
    n = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x / jnp.where(n > 0, n, 1)


def tangent(x, g):
    """Return g projected row by row on the tangent space of the unit sphere at x's rows."""
    return g - jnp.sum(g * x, axis=-1, keepdims=True) * x


def geometric(start, end, s, steps, dtype):
    """Return the value at step s of a schedule falling geometrically from start to end over
    `steps` steps (start at s = 0, end at s = steps - 1), in `dtype`."""
    frac = jnp.asarray(s, dtype) / max(steps - 1, 1)
    start = jnp.asarray(start, dtype)
    return start * ((jnp.asarray(end, dtype) / start) ** frac)


class Optimizer(NamedTuple):
    """An optax-style pair: ``init(params) -> state``; ``step(params, grads, state, lr) ->
    (params, state)``, where params and grads are tuples of (rows, d) arrays."""

    init: Callable
    step: Callable


def adam(sphere: bool = True) -> Optimizer:
    """Return the Riemannian Adam Optimizer (on unit rows when `sphere`, else Euclidean)."""
    opt = optax.scale_by_adam()

    def step(params, grads, state, lr):
        if sphere:
            grads = tuple(tangent(x, g) for x, g in zip(params, grads, strict=True))
        u, state = opt.update(grads, state, params)
        params = tuple(x - lr * ux for x, ux in zip(params, u, strict=True))
        if sphere:
            params = tuple(normalize(x) for x in params)
        return params, state

    return Optimizer(opt.init, step)
