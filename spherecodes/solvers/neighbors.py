"""Neighbour-list search for large K: the smooth max over each point's m nearest pieces only.

The dense and streamed searches evaluate all K^2 pieces of a min-max objective at every step.
Once the continuation temperature t is small, ``t * logsumexp(f_a / t)`` is carried by the
pieces within a few t of the max: a piece of point k is negligible when it is more than
``t log(K m)`` below the top.  So, like the Verlet lists of molecular dynamics, every
``refresh`` steps this module lists for each point k the m columns j with the largest pieces
of row k (blockwise, O(K^2 d) flops and O(block K) memory, no K x K matrix), and the steps in
between minimize the smooth max over the K m listed pieces only (O(K m d) per step):

=============  ===================================  ========================================
objective      row-k pieces listed                  surrogate pieces
=============  ===================================  ========================================
tammes         <w_k, w_j>, j != k                   <w_k, w_j> for j in N(k)
grassmannian   |<w_k, w_j>|, j != k                 +-<w_k, w_j> for j in N(k)
softmax        <w_j - w_k, h_k>, j != k             <w_j - w_k, h_k> for j in N(k)
hardmax        as softmax                           as softmax
=============  ===================================  ========================================

Everything else is the dense search's: the same starting points
(:func:`spherecodes.solvers.search.initial_point`), the same temperature and learning-rate
schedules and restart portfolio, Riemannian Adam (optax) and retraction, a float64
refinement, and the exact float64 objective over ALL pieces at the end
(:func:`spherecodes.solvers.stream.stream_true_value`), so the reported value never depends
on the lists.  Smooth objectives (ce, wd) have no such locality and are not offered.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from spherecodes import objectives, precision
from spherecodes.solvers import riemannian, search, stream

#: Objectives the neighbour-list search accepts: the min-max ones.
OBJECTIVES = tuple(n for n in objectives.names() if objectives.get(n).minmax)

#: Default steps between two refreshes of the neighbour lists.  Early steps move points far
#: (learning rate 0.02), so stale lists let unlisted pieces grow unseen: on softmax (10, 100),
#: m = 32, 4 restarts x 2000 steps, a refresh every 50 steps ended 0.002-0.009 short of the
#: dense search in rho_1vr, every 10 steps level with it (better in 3 of 4 restarts).
REFRESH = 10


def _check(objective: str, K: int, m: int, refresh: int) -> None:
    if not objectives.get(objective).minmax:  # an unknown name: ValueError naming them all
        raise ValueError(
            f"objective={objective!r} has no neighbour-list search: choose from {OBJECTIVES}"
        )
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= K - 1:
        raise ValueError(f"neighbors={m!r} is out of range: need 1 <= neighbors <= K-1 = {K - 1}")
    if isinstance(refresh, bool) or not isinstance(refresh, (int, np.integer)) or refresh < 1:
        raise ValueError(f"refresh={refresh!r} is out of range: need an integer >= 1")


@partial(jax.jit, static_argnames=("objective", "m", "block"))
def neighbor_lists(objective: str, W, H, *, m: int, block: int):
    """Return (K, m) int32: for each row k the m columns j != k with the largest pieces of row
    k (tammes <w_k, w_j>, grassmannian |<w_k, w_j>|, softmax/hardmax <w_j, h_k>), by blocks."""
    obj = objectives.get(objective)
    K = W.shape[0]
    b = min(block, K)
    nb = -(-K // b)
    V = H if obj.has_features else W
    Vb = stream.pad_blocks(V, nb, b)
    offs = jnp.arange(nb, dtype=jnp.int32) * b

    def one(xs):
        Vr, off = xs
        S = Vr @ W.T
        S = jnp.abs(S) if obj.both_signs else S
        r = off + jnp.arange(b)
        S = jnp.where(r[:, None] == jnp.arange(K)[None, :], -jnp.inf, S)
        return jax.lax.top_k(S, m)[1].astype(jnp.int32)

    return jax.lax.map(one, (Vb, offs)).reshape(nb * b, m)[:K]


def local_pieces(objective: str, W, H, nbr):
    """Return the (K, m) pieces of the listed pairs (grassmannian: (2, K, m), both signs)."""
    obj = objectives.get(objective)
    Wn = W[nbr]  # (K, m, d)
    if obj.has_features:
        return jnp.einsum("kmd,kd->km", Wn, H) - jnp.sum(W * H, axis=1)[:, None]
    G = jnp.einsum("kmd,kd->km", Wn, W)
    return jnp.stack([G, -G]) if obj.both_signs else G


def local_surrogate(objective: str, params, nbr, t):
    """Return t * logsumexp(pieces / t) over the listed pieces (a scalar, params' dtype)."""
    W = params[0]
    H = params[1] if len(params) > 1 else None
    P = local_pieces(objective, W, H, nbr)
    return t * jax.nn.logsumexp(P * (1 / t))


@partial(jax.jit, static_argnames=("objective", "n", "total"))
def _steps(objective, params, state, nbr, s0, t0, t1, lr0, lr1, *, n: int, total: int):
    """Run steps s0 .. s0+n-1 of a schedule of `total` steps; return (params, Adam state)."""
    dt = params[0].dtype
    opt = riemannian.adam(sphere=True)

    def step(i, carry):
        p, st = carry
        s = s0 + i
        t = riemannian.geometric(t0, t1, s, total, dt)
        lr = riemannian.geometric(lr0, lr1, s, total, dt)
        g = jax.grad(lambda q: local_surrogate(objective, q, nbr, t))(p)
        return opt.step(p, g, st, lr)

    return jax.lax.fori_loop(0, n, step, (params, state))


def _phase(objective, params, m, block, refresh, total, t0, t1, lr0, lr1):
    """Run a whole schedule of `total` steps, refreshing the lists every `refresh` steps."""
    state = riemannian.adam(sphere=True).init(params)
    done = 0
    while done < total:
        n = min(refresh, total - done)
        H = params[1] if len(params) > 1 else params[0]
        nbr = neighbor_lists(objective, params[0], H, m=m, block=block)
        params, state = _steps(
            objective, params, state, nbr, done, t0, t1, lr0, lr1, n=n, total=total
        )
        done += n
    return params


@precision.float64
def search_neighbors(
    objective: str,
    d: int,
    K: int,
    config,
    *,
    m: int,
    refresh: int = REFRESH,
    restarts: int | None = None,
    block: int | None = None,
) -> stream.StreamOutput:
    """Return the neighbour-list search of cell (d, K) under ``config`` (a SolveConfig), with
    ``m`` listed pieces per point refreshed every ``refresh`` steps, one restart at a time.

    ``restarts`` defaults to ``min(config.restarts, stream.MAX_STREAM_RESTARTS)``.  Values are
    the exact float64 objectives over all pieces.
    """
    _check(objective, K, m, refresh)

    def one(params, t_start, n_fine, b):
        p = _phase(
            objective, params, m, b, refresh, config.steps, t_start, search.T_END,
            search.LR_START, search.LR_END,
        )  # fmt: skip
        p = tuple(riemannian.normalize(x.astype(jnp.float64)) for x in p)
        if n_fine:
            p = _phase(
                objective, p, m, b, refresh, n_fine, search.T_END, search.T_FINE,
                search.LR_END, search.LR_FINE,
            )  # fmt: skip
        return p

    return stream.run_restarts(objective, d, K, config, one, block=block, restarts=restarts)


__all__ = [
    "OBJECTIVES",
    "REFRESH",
    "local_pieces",
    "local_surrogate",
    "neighbor_lists",
    "search_neighbors",
]
