"""Batched search: smooth surrogates with continuation, Riemannian Adam (optax), masks.

One jitted program, :func:`search_batch`, runs every row of a bucket chunk (a row is one
restart of one cell, padded to the bucket shape) for ``steps`` steps and returns float64
codes, features and true objective values.  The non-smooth min-max objectives are replaced by
``t * logsumexp(f_a / t)`` over their pieces ``f_a`` (an upper bound on ``max_a f_a`` within
``t log(#pieces)``), with ``t`` falling geometrically from ``T_STARTS[r % 2]`` (restart r)
to ``T_END``:

=============  ==========================================  =====================================
objective      pieces f_a / smooth loss                    variables
=============  ==========================================  =====================================
tammes         <w_i, w_j>, i < j                            W on spheres
grassmannian   +<w_i, w_j> and -<w_i, w_j>, i < j           W on spheres
softmax        <w_k' - w_k, h_k>, k' != k                   W, H on spheres; H starts at W
hardmax        <w_k' - w_k, h_k>, k' != k                   W, H on spheres; H starts at random
ce             tau log(sum of CE at temperature tau)       W, H on spheres
wd             cross-entropy + lam/2 (|W|^2 + |H|^2)        W, H unconstrained
=============  ==========================================  =====================================

A step is Adam (optax, learning rate falling geometrically from ``LR_START`` to ``LR_END``)
on the gradient projected onto the tangent spaces, followed by the retraction
``normalize(x + update)`` row by row.  Starting points come from
``jax.random.fold_in(PRNGKey(seed), objective, d, K, restart)`` and then per entry (point i,
coordinate j), so a cell's starts do not depend on the bucket it is padded into.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from spherecodes import objectives
from spherecodes.solvers import riemannian
from spherecodes.solvers.riemannian import geometric, normalize

#: Objective names, in the order seeds fold in (the records of :mod:`spherecodes.objectives`).
OBJECTIVES = objectives.names()

#: Objectives with a feature per class (H, shape (K, d)) besides the code W.
WITH_FEATURES = tuple(n for n in OBJECTIVES if objectives.get(n).has_features)

#: Objectives whose variables live on products of spheres (all but weight decay).
ON_SPHERE = tuple(n for n in OBJECTIVES if objectives.get(n).sphere)

#: Continuation of the surrogate temperature t (inner-product units), start and end.  A start
#: well below 1 keeps the first phase a local max-min search from the random start, which finds
#: the narrow best basins (Tammes K = 13, 25, 28 in R^3) far more often than a high-temperature
#: (energy-like) start, which funnels every restart into the same few basins.
#: Restarts cycle through the starting temperatures of T_STARTS (restart r uses
#: T_STARTS[r % len(T_STARTS)]): a portfolio, because the best basin of one cell is found far
#: more often from one start than the other (measured on Tammes d = 3 with 512 restarts:
#: K = 25 hits its best basin 10% of the time from 0.01 but 0.4% from 0.003; K = 26 0.7%
#: from 0.01 and 1.2% from 0.003), and no single value serves every cell.
T_STARTS = (0.01, 0.003)
T_START, T_END = T_STARTS[0], 1e-5
#: Adam learning rate, start and end (geometric decay).
LR_START, LR_END = 0.02, 1e-5
#: The float64 refinement after the search: this fraction of ``steps`` more steps, continuing
#: t down to T_FINE and the learning rate down to LR_FINE, so that the values after search rank
#: the restarts (and count successes) at float64 precision.
REFINE_FRACTION = 0.125
T_FINE, LR_FINE = 1e-8, 1e-9


@dataclasses.dataclass(frozen=True)
class SearchSpec:
    """What the compiled search program depends on (hashable: a static jit argument)."""

    objective: str
    steps: int
    dtype: str  # "float32" or "float64": dtype of the search iterations
    K_pad: int
    d_pad: int


class SearchOutput(NamedTuple):
    """Result of a batch of searches, one entry per row, in float64."""

    code: jax.Array  # (rows, K_pad, d_pad) float64: unit rows (wd: raw W), zero padding
    features: jax.Array | None  # (rows, K_pad, d_pad) float64 (unit except wd), None without H
    value: jax.Array  # (rows,) float64: true objective at the search result (see true_value)


# --------------------------------------------------------------------------------------------
# starting points


def _row_key(seed_key, objective: str, d, K, restart):
    k = jax.random.fold_in(seed_key, OBJECTIVES.index(objective))
    k = jax.random.fold_in(k, d)
    k = jax.random.fold_in(k, K)
    return jax.random.fold_in(k, restart)


def _entries(key, K_pad: int, d_pad: int, K, d, dtype):
    """Return a (K_pad, d_pad) array of N(0, 1) entries, entry (i, j) from fold_in(key, i, j),
    zero outside the true (K, d) block."""

    def one(i, j):
        return jax.random.normal(jax.random.fold_in(jax.random.fold_in(key, i), j), (), dtype)

    i = jnp.arange(K_pad)
    j = jnp.arange(d_pad)
    x = jax.vmap(lambda ii: jax.vmap(lambda jj: one(ii, jj))(j))(i)
    mask = (i[:, None] < K) & (j[None, :] < d)
    return jnp.where(mask, x, 0)


def _init(spec: SearchSpec, seed_key, d, K, restart):
    dtype = jnp.dtype(spec.dtype)
    key = _row_key(seed_key, spec.objective, d, K, restart)
    W = normalize(_entries(jax.random.fold_in(key, 0), spec.K_pad, spec.d_pad, K, d, dtype))
    features = objectives.get(spec.objective).features
    if features == "none":
        return W, None
    if features == "code":
        return W, W
    H = normalize(_entries(jax.random.fold_in(key, 1), spec.K_pad, spec.d_pad, K, d, dtype))
    return W, H


def initial_point(objective: str, d: int, K: int, restart: int, seed: int, *, dtype="float64"):
    """Return the starting (code, features) of one restart at its true shape (K, d), as NumPy.

    ``features`` is None for tammes and grassmannian.  Equal to the unpadded block of the start
    that :func:`search_batch` uses for that restart in any bucket.
    """
    spec = SearchSpec(objective, 1, str(jnp.dtype(dtype)), K, d)
    W, H = _init_jit(spec, jax.random.PRNGKey(seed), d, K, restart)
    return np.asarray(W), None if H is None else np.asarray(H)


@partial(jax.jit, static_argnames=("spec",))
def _init_jit(spec, seed_key, d, K, restart):
    return _init(spec, seed_key, d, K, restart)


@partial(jax.jit, static_argnames=("spec",))
def random_starts(spec: SearchSpec, seed_key, d, K, restart):
    """Return the padded starting (W, H) of a batch of rows (H None without features).

    ``d``, ``K``, ``restart`` are (rows,) int arrays; row r's start is the one restart
    ``restart[r]`` of cell (d[r], K[r]) gets on every search path (see :func:`initial_point`).
    """
    return jax.vmap(lambda dd, kk, rr: _init(spec, seed_key, dd, kk, rr))(d, K, restart)


# --------------------------------------------------------------------------------------------
# surrogates and true values (masked; pm is the (K_pad,) bool mask of real points)


def surrogate(objective: str, params, pm, t, tau, lam):
    """Return the smooth loss minimized by the search (a scalar in the params' dtype).

    ``params`` is ``(W, H)`` (H None for tammes/grassmannian); ``t`` the continuation temperature
    (see :meth:`spherecodes.objectives.Objective.smooth`).
    """
    W, H = params
    return objectives.get(objective).smooth(W, H, pm, t, tau, lam)


def true_value(objective: str, W, H, pm, tau, lam):
    """Return the exact objective of one (padded) point (scalar, W's dtype).

    tammes: max inner product; grassmannian: coherence; softmax/hardmax: HardMax loss (eq. 5,
    equal to -rho_1vr when H is optimal); ce: mean CE (eq. 2); wd: CE + lam/2 (|W|^2 + |H|^2).
    """
    return objectives.get(objective).exact(W, H, pm, tau, lam)


# --------------------------------------------------------------------------------------------
# the search


def _loss_fn(obj: str, pm, tau, lam):
    def loss(p, t):
        dt = p[0].dtype
        H = p[1] if len(p) > 1 else None
        return surrogate(obj, (p[0], H), pm, t, jnp.asarray(tau, dt), jnp.asarray(lam, dt))

    return loss


def _descend(obj: str, params, pm, t0, t1, lr0, lr1, n, dtype, tau, lam):
    """Return params after n Adam steps on the surrogate, t falling from t0 to t1 and the
    learning rate from lr0 to lr1 (geometrically).  ``t0`` is a float or a pair
    (choices, which): one schedule per starting temperature in ``choices``, computed from
    constants and the unbatched step counter and selected per row by ``which`` (the arithmetic
    is scalar, so results do not depend on how the batch is split across devices)."""
    opt = riemannian.adam(sphere=objectives.get(obj).sphere)
    loss = _loss_fn(obj, pm, tau, lam)

    def step(s, carry):
        p, state = carry
        if isinstance(t0, tuple):
            choices, which = t0
            t = geometric(choices[0], t1, s, n, dtype)
            for i, c in enumerate(choices[1:], start=1):
                t = jnp.where(which == i, geometric(c, t1, s, n, dtype), t)
        else:
            t = geometric(t0, t1, s, n, dtype)
        lr = geometric(lr0, lr1, s, n, dtype)
        return opt.step(p, jax.grad(loss)(p, t), state, lr)

    params, _ = jax.lax.fori_loop(0, n, step, (params, opt.init(params)))
    return params


def _refine(spec: SearchSpec, params, pm, tau, lam) -> SearchOutput:
    """Return the float64 refinement of searched params (REFINE_FRACTION * steps more Adam
    steps, t from T_END to T_FINE) with the true objective value there."""
    obj = spec.objective
    p64 = tuple(x.astype(jnp.float64) for x in params)
    if objectives.get(obj).sphere:
        p64 = tuple(normalize(x) for x in p64)
    n_fine = int(np.ceil(REFINE_FRACTION * spec.steps))
    if n_fine > 0:
        p64 = _descend(obj, p64, pm, T_END, T_FINE, LR_END, LR_FINE, n_fine, jnp.float64, tau, lam)
    W64, H64 = p64[0], (p64[1] if len(p64) > 1 else None)
    f64 = jnp.float64
    value = true_value(obj, W64, H64, pm, jnp.asarray(tau, f64), jnp.asarray(lam, f64))
    return SearchOutput(W64, H64, value)


def _search_row(spec: SearchSpec, seed_key, d, K, restart, tau, lam):
    pm = jnp.arange(spec.K_pad) < K
    W, H = _init(spec, seed_key, d, K, restart)
    return _anneal_row(spec, W, H, pm, restart % len(T_STARTS), T_STARTS, tau, lam)


def _anneal_row(spec: SearchSpec, W, H, pm, which, choices, tau, lam, lr_start=LR_START):
    dtype = jnp.dtype(spec.dtype)
    params = (W.astype(dtype),) if H is None else (W.astype(dtype), H.astype(dtype))
    t0 = (choices, which)
    params = _descend(
        spec.objective, params, pm, t0, T_END, lr_start, LR_END, spec.steps, dtype, tau, lam
    )
    # Float64 from here on: what is reported is measured in float64.
    return _refine(spec, params, pm, tau, lam)


@partial(jax.jit, static_argnames=("spec", "choices", "lr_start"))
def anneal_batch(
    spec: SearchSpec, W0, H0, d, K, which, tau, lam, choices=T_STARTS, lr_start=LR_START
):
    """Return the float64 results of annealed searches from given padded starts (W0, H0).

    Row r starts at temperature ``choices[which[r]]`` and runs the same schedule as a random
    restart of :func:`search_batch` (``spec.steps`` steps in ``spec.dtype``, then the float64
    refinement); ``H0`` is None for objectives without features.  ``lr_start`` is the first
    learning rate (a smaller one keeps the anneal near its start: a local search).
    """

    def row(W, H, kk, w):
        pm = jnp.arange(spec.K_pad) < kk
        return _anneal_row(spec, W, H, pm, w, choices, tau, lam, lr_start)

    if H0 is None:
        return jax.vmap(lambda W, kk, w: row(W, None, kk, w))(W0, K, which)
    return jax.vmap(row)(W0, H0, K, which)


@partial(jax.jit, static_argnames=("spec",))
def refine_batch(spec: SearchSpec, W, H, K, tau, lam) -> SearchOutput:
    """Return the float64 refinement (see :func:`anneal_batch`) of given padded points, the
    last phase of every search: results of different local solvers end on the same footing."""

    def row(Wr, Hr, kk):
        pm = jnp.arange(spec.K_pad) < kk
        params = (Wr,) if Hr is None else (Wr, Hr)
        return _refine(spec, params, pm, tau, lam)

    if H is None:
        return jax.vmap(lambda Wr, kk: row(Wr, None, kk))(W, K)
    return jax.vmap(row)(W, H, K)


@partial(jax.jit, static_argnames=("spec",))
def search_batch(spec: SearchSpec, seed_key, d, K, restart, tau, lam) -> SearchOutput:
    """Return the float64 search results of a batch of rows (vmapped over d, K, restart).

    ``seed_key`` is ``jax.random.PRNGKey(seed)``; ``d``, ``K``, ``restart`` are (rows,) int
    arrays (true sizes, padded to ``spec.K_pad``, ``spec.d_pad``); ``tau``, ``lam`` scalars.
    """
    return jax.vmap(lambda dd, kk, rr: _search_row(spec, seed_key, dd, kk, rr, tau, lam))(
        d, K, restart
    )


__all__ = [
    "OBJECTIVES",
    "SearchOutput",
    "anneal_batch",
    "refine_batch",
    "SearchSpec",
    "initial_point",
    "random_starts",
    "search_batch",
    "surrogate",
    "true_value",
]
