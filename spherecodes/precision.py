"""Float64 where results are reported, without touching the caller's JAX settings.

Importing spherecodes changes no global JAX flag: a training script that imports the GNC
metrics keeps its float32 defaults.  The toolkit's reporting entry points (solve, polish,
sweep, the table builders, measure_code, the command line) are wrapped in :func:`float64`,
which turns JAX's 64-bit mode on for the duration of the call only (``jax.enable_x64``, a
thread-local context) and hands back float64 NumPy values or JAX arrays computed in float64.

The measuring building blocks that may also run inside a user's own jit or vmap
(:mod:`spherecodes.measures`, :mod:`spherecodes.hull`, the random codes of
:mod:`spherecodes.sphere`) are wrapped in :func:`host_float64`: called on concrete arrays (a
notebook, a script) they run in 64-bit mode and return NumPy values, so a NumPy float64 code is
measured in float64; traced (inside the caller's jit, vmap or grad) they switch nothing and
compute in the dtype of their inputs.  The losses, meant for training scripts, always
compute in the dtype of their inputs (the GNC metrics are NumPy float64 host functions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import jax
import numpy as np

__all__ = ["enabled", "float64", "host_float64"]

F = TypeVar("F", bound=Callable)


def enabled() -> bool:
    """Return True when JAX's 64-bit mode is on in the calling thread."""
    return bool(jax.config.jax_enable_x64)


def float64(fn: F) -> F:
    """Return `fn` wrapped to run with JAX's 64-bit mode on, restored on return.

    For host-level entry points only (not for functions traced inside jit or vmap).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if enabled():
            return fn(*args, **kwargs)
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper


def _traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))


def _to_host(x):
    return np.asarray(x) if isinstance(x, jax.Array) else x


def host_float64(fn: F) -> F:
    """Return `fn` wrapped to run in 64-bit mode with NumPy results when called on concrete
    arrays, and unchanged (the caller's dtype, JAX results) when called on traced ones."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _traced((args, kwargs)):
            return fn(*args, **kwargs)
        if enabled():
            return jax.tree_util.tree_map(_to_host, fn(*args, **kwargs))
        with jax.enable_x64(True):
            return jax.tree_util.tree_map(_to_host, fn(*args, **kwargs))

    return wrapper
