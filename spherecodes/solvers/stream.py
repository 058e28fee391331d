"""Streamed (blockwise) surrogates, search and true values for K beyond a K x K matrix.

The dense search (:mod:`spherecodes.solvers.search`) forms every K x K matrix of pieces at
once, for every restart of a bucket: memory ``rows x K_pad^2``.  Here the same smooth
surrogates ``t * logsumexp(f_a / t)`` (and the CE and weight-decay losses) are evaluated with
their gradients over row blocks of ``block`` rows, so memory is O(K d + block K):

* Row ``k`` of a block yields its own log-sum-exp ``ell_k`` (log units) and local sum ``s_k``
  over the pieces of that row, its own gradient terms, and (softmax, hardmax, ce, wd) a
  "scatter" term that adds to the gradient of every column class.  The global normaliser is
  ``Z = sum_k s_k exp(ell_k - L)`` with ``L = max_k ell_k``; row terms are rescaled by
  ``exp(ell_k - L) / Z`` at the end, and the K x d scatter accumulator by a running maximum
  (the online log-sum-exp of flash attention), so each block's pieces are computed once.
* tammes and grassmannian use the symmetric pieces over ordered pairs ``i != j``: their
  log-sum-exp is the dense one (pairs ``i < j``) plus ``t log 2`` (subtracted), and the
  gradient of row ``i`` is ``2 sum_j p_ij w_j``, local to its block: no scatter at all.
* The gradient is explicit (no autodiff through the blocks), so nothing K x K is ever stored
  for a backward pass.  :func:`stream_value_and_grad` equals ``jax.value_and_grad`` of
  :func:`spherecodes.solvers.search.surrogate` (tests: to ~1e-12 in float64).

Row blocks are sharded over ``jax.devices()`` (``shard_map`` along the block axis, with a
``pmax``/``psum`` of the running maximum and the scatter accumulator); with one device the
blocks simply run in a ``lax.scan``.

:func:`search_stream` is the search driver of one large cell: a few restarts run one after the
other through one compiled float32 program (``lax.fori_loop`` over steps, the same schedules
and Adam as the dense search), a float64 refinement, then the exact float64 objective computed
blockwise (:func:`stream_true_value`).  There is no dense polish: ``kkt_residual`` is NaN.
The memory estimates of this path and the choice of it live in
:mod:`spherecodes.solvers.planning`.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from spherecodes import losses, objectives, precision
from spherecodes.solvers import riemannian, search

#: Restarts actually run by the streamed path (at most; ``config.restarts`` if smaller): each
#: restart of a large cell costs a full search, run one after the other.
MAX_STREAM_RESTARTS = 4

#: Target number of entries of one (block, K) array of pieces: sets the default block size.
BLOCK_ENTRIES = 1 << 25

#: Smallest and largest default block (rows); a block is a multiple of 8 rows.
MIN_BLOCK, MAX_BLOCK = 8, 1024

_T_STARTS = tuple(getattr(search, "T_STARTS", (search.T_START,)))
_LOG2 = math.log(2.0)


# --------------------------------------------------------------------------------------------
# block layout


def default_block(K: int) -> int:
    """Return the default rows per block for K points: about BLOCK_ENTRIES / K, a multiple of
    8 in [MIN_BLOCK, MAX_BLOCK], and no more than K rounded up to 8."""
    b = max(MIN_BLOCK, min(MAX_BLOCK, BLOCK_ENTRIES // max(K, 1)))
    b = 1 << (b.bit_length() - 1)  # a power of two: friendlier matmul shapes
    return int(min(b, -(-K // 8) * 8))


def check_block(block: int) -> int:
    """Return ``block`` as an int, or raise ValueError unless it is an integer >= 1."""
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block={block!r} is out of range: need an integer block >= 1")
    return int(block)


def _mesh(n_blocks: int) -> Mesh | None:
    """A 1-D mesh over the devices for the block axis, or None with one device."""
    devs = jax.devices()
    if len(devs) == 1 or n_blocks < len(devs):
        return None
    return Mesh(np.asarray(devs), ("blocks",))


# --------------------------------------------------------------------------------------------
# one row block


class _RowTerms(NamedTuple):
    """What one block of rows contributes (b = rows in the block)."""

    ell: jax.Array  # (b,) log units: the row's log-sum-exp maximum (-inf for padding rows)
    s: jax.Array  # (b,) sum over the row's pieces of exp(piece - ell) (0 for padding rows)
    v: jax.Array  # (b,) wd: the row's CE; else zeros
    gw: jax.Array  # (b, d) row gradient wrt w_k, before the factor exp(ell - L) / Z
    gh: jax.Array  # (b, d) row gradient wrt h_k, same factor (zeros without features)
    e: jax.Array | None  # (b, K) scatter weights: column j gets e[k, j] * h_k (same factor)


def _dlog_softplus(x):
    """d/dx log(log(1 + e^x)), consistent with losses' evaluation of log softplus."""
    return jax.vmap(jax.grad(losses.log_softplus))(x)


def _row_terms(objective, Wr, Hr, r, W, t, tau) -> _RowTerms:
    """Terms of rows ``r`` (global indices, (b,)) with coordinates Wr, Hr (b, d)."""
    obj = objectives.get(objective)
    K = W.shape[0]
    row_ok = r < K
    valid = (r[:, None] != jnp.arange(K)[None, :]) & row_ok[:, None]
    zeros_b = jnp.zeros(r.shape, W.dtype)
    if not obj.has_features:  # pieces of pairs of points: symmetric, no scatter
        G = Wr @ W.T
        x = jnp.abs(G) if obj.both_signs else G
        m = jnp.max(jnp.where(valid, x, -jnp.inf), axis=1)
        m0 = jnp.where(row_ok, m, 0)[:, None]
        ep = jnp.where(valid, jnp.exp((G - m0) / t), 0)
        if obj.both_signs:
            em = jnp.where(valid, jnp.exp((-G - m0) / t), 0)
            s, u = jnp.sum(ep + em, axis=1), (ep - em) @ W
        else:
            s, u = jnp.sum(ep, axis=1), ep @ W
        ell = jnp.where(row_ok, m / t, -jnp.inf)
        return _RowTerms(ell, s, zeros_b, 2 * u, jnp.zeros_like(Wr), None)
    own = jnp.sum(Wr * Hr, axis=1)
    A = Hr @ W.T - own[:, None]  # A[k, j] = <w_j - w_k, h_k>
    if obj.minmax:  # the margins are the pieces
        m = jnp.max(jnp.where(valid, A, -jnp.inf), axis=1)
        m0 = jnp.where(row_ok, m, 0)
        e = jnp.where(valid, jnp.exp((A - m0[:, None]) / t), 0)
        s = jnp.sum(e, axis=1)
        gh = e @ W - s[:, None] * Wr
        gw = -s[:, None] * Hr
        ell = jnp.where(row_ok, m / t, -jnp.inf)
        return _RowTerms(ell, s, zeros_b, gw, gh, e)
    # smooth (ce, wd): x_k = logsumexp_{j != k} A[k, j] / tau, CE_k = softplus(x_k).
    z = A / tau
    mz = jnp.max(jnp.where(valid, z, -jnp.inf), axis=1)
    mz0 = jnp.where(row_ok, mz, 0)
    p = jnp.where(valid, jnp.exp(z - mz0[:, None]), 0)
    ps = jnp.where(row_ok, jnp.sum(p, axis=1), 1)
    x = jnp.where(row_ok, mz0 + jnp.log(ps), 0)
    pi = p / ps[:, None]
    if obj.log_surrogate:
        # L0 = tau logsumexp_k log CE_k: row weight q_k dlogCE/dx_k, q_k = exp(ell_k - L) / Z.
        ell = jnp.where(row_ok, losses.log_softplus(x), -jnp.inf)
        f = _dlog_softplus(x)
        v = zeros_b
    else:
        # mean CE: with ell = 0 and s = 1 on real rows the factor exp(ell - L) / Z is 1/K.
        ell = jnp.where(row_ok, 0.0, -jnp.inf).astype(W.dtype)
        f = jax.nn.sigmoid(x) / tau
        v = jnp.where(row_ok, jax.nn.softplus(x), 0)
    s = row_ok.astype(W.dtype)
    gh = f[:, None] * (pi @ W - Wr)
    gw = -f[:, None] * Hr
    return _RowTerms(ell, s, v, gw, gh, f[:, None] * pi)


def _blocks_local(objective, Wb, Hb, offs, W, H, t, tau):
    """Scan the local row blocks: return (L, acc, ell, s, v, gw, gh).

    Wb, Hb (nb, b, d), offs (nb,) first global row of each block.  L is the running maximum of
    ell (a scalar, -inf if no real row) and acc (K, d) the scatter sum, scaled by exp(-L).
    """
    K, d = W.shape
    dt = W.dtype
    b = Wb.shape[1]

    def body(carry, xs):
        L, acc = carry
        Wr, Hr, off = xs
        r = off + jnp.arange(b)
        rt = _row_terms(objective, Wr, Hr, r, W, t, tau)
        if rt.e is not None:
            Ln = jnp.maximum(L, jnp.max(rt.ell))
            Ln0 = jnp.where(jnp.isfinite(Ln), Ln, 0)
            old = jnp.where(jnp.isfinite(L), jnp.exp(L - Ln0), 0)
            c = jnp.exp(rt.ell - Ln0)
            acc = acc * old + (c[:, None] * rt.e).T @ Hr
            L = Ln
        return (L, acc), (rt.ell, rt.s, rt.v, rt.gw, rt.gh)

    acc0 = jnp.zeros((K, d) if objectives.get(objective).has_features else (1, 1), dt)
    L0 = jnp.asarray(-jnp.inf, dt)
    (L, acc), outs = jax.lax.scan(body, (L0, acc0), (Wb, Hb, offs))
    return (L, acc) + outs


def pad_blocks(X, nb: int, b: int):
    """Return X (K, ...) zero-padded to nb * b rows and reshaped to (nb, b, ...) row blocks."""
    K = X.shape[0]
    Xp = jnp.concatenate([X, jnp.zeros((nb * b - K,) + X.shape[1:], X.dtype)])
    return Xp.reshape((nb, b) + X.shape[1:])


@partial(jax.jit, static_argnames=("objective", "block"))
def stream_value_and_grad(objective: str, W, H, t, tau, lam, *, block: int):
    """Return (value, (grad_W, grad_H)) of the search surrogate, computed over row blocks.

    Equal to ``jax.value_and_grad`` of :func:`spherecodes.solvers.search.surrogate` with an
    all-true mask (value a scalar in W's dtype; grads (K, d); grad_H zeros for tammes and
    grassmannian, where ``H`` is ignored and may be None).  Memory O(K d + block K).
    """
    obj = objectives.get(objective)
    K, d = W.shape
    dt = W.dtype
    if H is None:
        H = jnp.zeros_like(W)
    t = jnp.asarray(1.0 if t is None else t, dt)
    tau = jnp.asarray(tau, dt)
    lam = jnp.asarray(lam, dt)
    b = min(block, K)
    mesh = _mesh(-(-K // b))
    n_dev = 1 if mesh is None else mesh.size
    nb = -(-K // (b * n_dev)) * n_dev
    Wb, Hb = pad_blocks(W, nb, b), pad_blocks(H, nb, b)
    offs = jnp.arange(nb, dtype=jnp.int32) * b
    local = partial(_blocks_local, objective)
    if mesh is None:
        L, acc, ell, s, v, gw, gh = local(Wb, Hb, offs, W, H, t, tau)
    else:

        def sharded(Wb, Hb, offs, W, H, t, tau):
            L, acc, *rest = local(Wb, Hb, offs, W, H, t, tau)
            Lg = jax.lax.pmax(L, "blocks")
            scale = jnp.where(jnp.isfinite(L), jnp.exp(L - jnp.where(jnp.isfinite(Lg), Lg, 0)), 0)
            return (Lg, jax.lax.psum(acc * scale, "blocks"), *rest)

        blk, rep = PartitionSpec("blocks"), PartitionSpec()
        L, acc, ell, s, v, gw, gh = jax.shard_map(
            sharded,
            mesh=mesh,
            in_specs=(blk, blk, blk, rep, rep, rep, rep),
            out_specs=(rep, rep, blk, blk, blk, blk, blk),
            # The scan's carry starts replicated and becomes per-device: the pmax/psum above
            # make the outputs replicated again, which the varying-axis check cannot see.
            check_vma=False,
        )(Wb, Hb, offs, W, H, t, tau)
    ell, s, v = ell.reshape(-1)[:K], s.reshape(-1)[:K], v.reshape(-1)[:K]
    gw, gh = gw.reshape(-1, d)[:K], gh.reshape(-1, d)[:K]
    if not obj.has_features:
        L = jnp.max(ell)
    w = jnp.exp(ell - L)
    Z = jnp.sum(s * w)
    q = (w / Z)[:, None]
    gW, gH = q * gw, q * gh
    if obj.has_features:
        gW = gW + acc / Z
    if not obj.has_features:  # ordered pairs count each piece twice: t log 2 too many
        value = t * (L + jnp.log(Z)) - t * _LOG2
    elif obj.minmax:
        value = t * (L + jnp.log(Z))
    elif obj.log_surrogate:
        value = tau * (L + jnp.log(Z))
    else:  # the mean CE, plus the weight decay
        value = jnp.sum(v) / K
        if obj.uses_lam:
            value = value + 0.5 * lam * (jnp.sum(W * W) + jnp.sum(H * H))
            gW, gH = gW + lam * W, gH + lam * H
    return value, (gW, gH)


# --------------------------------------------------------------------------------------------
# exact values, blockwise, float64


@partial(jax.jit, static_argnames=("objective", "block"))
def _true_value(objective, W, H, tau, lam, *, block):
    obj = objectives.get(objective)
    K = W.shape[0]
    b = min(block, K)
    nb = -(-K // b)
    Wb, Hb = pad_blocks(W, nb, b), pad_blocks(H, nb, b)
    offs = jnp.arange(nb, dtype=jnp.int32) * b

    def one(xs):
        Wr, Hr, off = xs
        r = off + jnp.arange(b)
        row_ok = r < K
        valid = (r[:, None] != jnp.arange(K)[None, :]) & row_ok[:, None]
        if not obj.has_features:
            G = Wr @ W.T
            G = jnp.abs(G) if obj.both_signs else G
            return jnp.max(jnp.where(valid, G, -jnp.inf))
        A = Hr @ W.T - jnp.sum(Wr * Hr, axis=1)[:, None]
        if obj.minmax:
            return jnp.max(jnp.where(valid, A, -jnp.inf))
        x = jax.nn.logsumexp(jnp.where(valid, A / tau, -jnp.inf), axis=1)
        return jnp.sum(jnp.where(row_ok, jax.nn.softplus(x), 0))

    per = jax.lax.map(one, (Wb, Hb, offs))
    if obj.minmax:
        return jnp.max(per)
    ce = jnp.sum(per) / K
    if not obj.uses_lam:
        return ce
    return ce + 0.5 * lam * (jnp.sum(W * W) + jnp.sum(H * H))


def stream_true_value(objective: str, W, H=None, *, tau=0.05, lam=5e-3, block=None) -> float:
    """Return the exact objective of (W, H) in float64, computed over row blocks (a float).

    As :func:`spherecodes.solvers.search.true_value`: tammes max inner product, grassmannian
    coherence, softmax/hardmax the HardMax loss at the given features (GNC eq. 5), ce the mean
    CE at ``tau`` (eq. 2), wd CE + lam/2 (|W|^2 + |H|^2).  Memory O(K d + block K).
    """
    objectives.get(objective)  # ValueError naming the accepted objectives
    W = jnp.asarray(W, jnp.float64)
    H = jnp.zeros_like(W) if H is None else jnp.asarray(H, jnp.float64)
    b = default_block(W.shape[0]) if block is None else check_block(block)
    return float(_true_value(objective, W, H, float(tau), float(lam), block=b))


# --------------------------------------------------------------------------------------------
# the streamed search


class StreamOutput(NamedTuple):
    """Results of the streamed search of one cell, one entry per restart, float64 NumPy."""

    code: np.ndarray  # (restarts, K, d) float64: unit rows (wd: raw W)
    features: np.ndarray | None  # (restarts, K, d) float64, None without features
    value: np.ndarray  # (restarts,) float64: exact objective after search (stream_true_value)
    seconds: float  # wall time of the whole search, compilation included
    block: int  # rows per block used


def _steps_program(objective, n, block, t0, t1, lr0, lr1, params, tau, lam):
    """Run n Riemannian-Adam steps of the streamed surrogate (traced; dtype of params)."""
    dt = params[0].dtype
    opt = riemannian.adam(sphere=objectives.get(objective).sphere)
    tau, lam = jnp.asarray(tau, dt), jnp.asarray(lam, dt)

    def step(s, carry):
        p, state = carry
        t = riemannian.geometric(t0, t1, s, n, dt)
        lr = riemannian.geometric(lr0, lr1, s, n, dt)
        H = p[1] if len(p) > 1 else None
        _, (gW, gH) = stream_value_and_grad(objective, p[0], H, t, tau, lam, block=block)
        return opt.step(p, (gW, gH)[: len(p)], state, lr)

    p, _ = jax.lax.fori_loop(0, n, step, (params, opt.init(params)))
    return p


@partial(jax.jit, static_argnames=("objective", "steps", "block"))
def search_steps(objective: str, params, tau, lam, t_start=None, *, steps: int, block: int):
    """Return params after the ``steps`` search steps (t from ``t_start``, default T_START, to
    T_END; learning rate from LR_START to LR_END), in the params' dtype.

    ``params`` is ``(W,)`` or ``(W, H)``; one compiled program per (objective, shapes, steps,
    block): ``tau``, ``lam`` and ``t_start`` are traced.  The benchmark times this program.
    """
    t_start = search.T_START if t_start is None else t_start
    return _steps_program(
        objective,
        steps,
        block,
        t_start,
        search.T_END,
        search.LR_START,
        search.LR_END,
        params,
        tau,
        lam,
    )


@partial(jax.jit, static_argnames=("objective", "steps", "block"))
def refine_steps(objective: str, params, tau, lam, *, steps: int, block: int):
    """Return float64 params after the refinement (t from T_END to T_FINE), as the dense search."""
    p = tuple(x.astype(jnp.float64) for x in params)
    if objectives.get(objective).sphere:
        p = tuple(riemannian.normalize(x) for x in p)
    if steps == 0:
        return p
    return _steps_program(
        objective,
        steps,
        block,
        search.T_END,
        search.T_FINE,
        search.LR_END,
        search.LR_FINE,
        p,
        tau,
        lam,
    )


def run_restarts(objective: str, d: int, K: int, config, one_restart, *, block, restarts):
    """Return the StreamOutput of restarts run one after the other by ``one_restart``.

    ``one_restart(params, t_start, n_fine, block)`` takes restart r's starting params (the
    dense search's :func:`search.initial_point`, in ``config.search_dtype``) and its starting
    temperature (the dense search's portfolio ``T_STARTS[r % 2]``) and returns float64 params
    after ``config.steps`` search and ``n_fine`` refinement steps; each result is then
    measured exactly in float64 (:func:`stream_true_value`).  ``restarts`` None means
    ``min(config.restarts, MAX_STREAM_RESTARTS)``; ``block`` None the default block.
    """
    t0 = time.perf_counter()
    b = default_block(K) if block is None else check_block(block)
    R = min(config.restarts, MAX_STREAM_RESTARTS) if restarts is None else int(restarts)
    if R < 1:
        raise ValueError(f"restarts={restarts} is out of range: need restarts >= 1")
    n_fine = int(np.ceil(search.REFINE_FRACTION * config.steps))
    codes, feats, values = [], [], []
    for r in range(R):
        W0, H0 = search.initial_point(objective, d, K, r, config.seed, dtype=config.search_dtype)
        params = (jnp.asarray(W0),) if H0 is None else (jnp.asarray(W0), jnp.asarray(H0))
        p = one_restart(params, _T_STARTS[r % len(_T_STARTS)], n_fine, b)
        W = np.asarray(p[0], np.float64)
        H = np.asarray(p[1], np.float64) if len(p) > 1 else None
        values.append(stream_true_value(objective, W, H, tau=config.tau, lam=config.lam, block=b))
        codes.append(W)
        feats.append(H)
    features = np.stack(feats) if objectives.get(objective).has_features else None
    return StreamOutput(
        np.stack(codes), features, np.asarray(values, np.float64), time.perf_counter() - t0, b
    )


@precision.float64
def search_stream(
    objective: str,
    d: int,
    K: int,
    config,
    *,
    block: int | None = None,
    restarts: int | None = None,
) -> StreamOutput:
    """Return the streamed search of cell (d, K) under ``config`` (a SolveConfig).

    Runs ``restarts`` (default ``min(config.restarts, MAX_STREAM_RESTARTS)``) restarts from the
    same starting points as the dense search (:func:`search.initial_point`), each for
    ``config.steps`` steps in ``config.search_dtype`` and ``ceil(REFINE_FRACTION * steps)``
    float64 refinement steps, and measures each exactly in float64.
    """
    objectives.get(objective)  # ValueError naming the accepted objectives

    def one(params, t_start, n_fine, b):
        p = search_steps(
            objective, params, config.tau, config.lam, t_start, steps=config.steps, block=b
        )
        return refine_steps(objective, p, config.tau, config.lam, steps=n_fine, block=b)

    return run_restarts(objective, d, K, config, one, block=block, restarts=restarts)


__all__ = [
    "BLOCK_ENTRIES",
    "check_block",
    "MAX_STREAM_RESTARTS",
    "StreamOutput",
    "default_block",
    "refine_steps",
    "search_steps",
    "search_stream",
    "stream_true_value",
    "stream_value_and_grad",
]
