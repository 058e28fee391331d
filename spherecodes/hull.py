"""One-vs-rest distances of a code: dist(w_k, conv{w_j : j != k}) for every k at once.

For each point w_k the nearest point p_k of the convex hull of the other points is found exactly
(an active-set QP solve), together with the optimal feature of Lemma C.4 of the GNC paper,
h_k = (w_k - p_k) / ||w_k - p_k||, and a certificate: by weak duality

    dual_k = min_{j != k} <h_k, w_k - w_j>  <=  dist_k  <=  ||w_k - p_k|| = distance_k,

because for any unit h and any hull point q = sum_j lam_j w_j, <h, w_k - q> <= ||w_k - q||.
The primal is a feasible hull point (an upper bound) and the dual is taken over ALL j != k
(a lower bound), so `gap = distance - dual` bounds the error of the reported distance.

Algorithm (per point k, batched over blocks of points, fixed shapes under jit/vmap):

1. Working set: the `m` nearest other points by inner product (the nearest hull point is
   supported on points near w_k), found blockwise, never forming a K x K matrix beyond a block.
2. Wolfe's min-norm-point algorithm on the differences u_j = w_k - w_j of the working set: a
   corral (affinely independent support, at most `max_support` points) whose affine minimiser
   is recomputed exactly (Cholesky of the bordered Gram matrix) after every change.
3. Certificate over all j != k, blockwise.  Points with <h_k, w_j> > <h_k, p_k> violate
   optimality; the most violating ones are appended to the working set and Wolfe resumes
   from its current corral.  This repeats until the gap is below tolerance or the working set
   is full (`m_max`).
4. (Host, outside tracing, ``recertify=True``.)  Points still uncertified (gap > GAP_TOL)
   are re-solved exactly in float64 by :func:`min_norm_point` on their neighbours plus the
   points that violate their certificate, round by round; the reported `gap` says by how
   much any point is still uncertified.

Memory is O(block * (m_max * d + K)) at a time: (512, 10000) never needs a K x K x d array.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize

from spherecodes import precision

#: Default tolerance (Euclidean distance units) of `softmax_rattlers`: a point is a rattler when
#: its one-vs-rest distance exceeds rho_1vr by more than this.  It sits well above the certified
#: accuracy of the distances (gap <= GAP_TOL) and well below the spread of distances in an
#: unconverged code, so it separates "attains the minimum" from "does not" for polished codes.
RATTLER_TOL = 1e-8

#: Target certificate gap (distance units): working sets grow until distance - dual <= GAP_TOL.
GAP_TOL = 1e-11

#: A point whose distance to the hull of the others is at most this is flagged `inside`
#: (a duplicated point, or one numerically on that hull); its feature is NaN there.
INSIDE_TOL = 1e-12

#: Initial working-set size (nearest neighbours by inner product) per point.
DEFAULT_M = 32

#: Codes of at most this many points are solved padded to the ladder sizes of
#: :func:`spherecodes.solvers.batching.ladder` in K and d (zero coordinates; padding points
#: are masked out of every working set and certificate), so that a table of many shapes
#: compiles one program per ladder shape instead of one per (K, d), about 8 s each on a
#: 2-core CPU.  Larger codes are solved at their own shape: there the solve, not the
#: compilation, is the cost.
PAD_MAX_K = 512


class OneVsRest(NamedTuple):
    """One-vs-rest distances of a code with nearest hull points, features and certificates."""

    distance: jax.Array  # (K,) float64: ||w_k - p_k||, an upper bound on dist(w_k, conv rest)
    nearest: jax.Array  # (K, d) float64: the nearest hull point p_k (a convex combination)
    feature: jax.Array  # (K, d) float64: h_k = (w_k - p_k)/||w_k - p_k|| (NaN where inside)
    dual: jax.Array  # (K,) float64: min_{j != k} <h_k, w_k - w_j>, a certified lower bound
    gap: jax.Array  # (K,) float64: distance - dual (>= 0 up to rounding)
    inside: jax.Array  # (K,) bool: w_k lies in (or numerically on) the hull of the others


class _Corral(NamedTuple):
    """Wolfe's corral for one point: support slots into the working set and their weights."""

    idx: jax.Array  # (s,) int32: working-set slot of each corral entry
    act: jax.Array  # (s,) bool: entry in use
    lam: jax.Array  # (s,) float64: convex weights (zero where not in use)
    gs: jax.Array  # (s, s) float64: Gram matrix <u_idx[a], u_idx[b]> of the corral entries


def _bordered_inverse(c: _Corral) -> jax.Array:
    """Inverse of M = 11^T + G on the corral, identity on unused entries, shape (s, s)."""
    s = c.act.shape[0]
    eye = jnp.eye(s, dtype=c.gs.dtype)
    mat = jnp.where(c.act[:, None] & c.act[None, :], 1.0 + c.gs, eye)
    return jnp.linalg.inv(mat)


def _wolfe(u, valid, c: _Corral, *, max_iter: int, tol: float, inside_tol: float) -> _Corral:
    """Run Wolfe's min-norm-point algorithm on conv{u_j : valid_j} from corral `c`.

    u: (m, d) difference vectors u_j = w_k - w_j of the working set, valid: (m,) bool.
    Returns the final corral; its point x = sum lam_a u_idx[a] is the
    min-norm point of conv{u_j} (to rounding) when it converged.
    The affine minimiser of the corral is alpha = M^{-1} 1 / (1^T M^{-1} 1) with M = 11^T + G
    (positive definite iff the corral is affinely independent); M^{-1} is kept up to date in
    O(s^2) per change (bordering on insertion, Schur complement on deletion) and recomputed
    exactly at every call, so drift cannot accumulate across rounds.
    """
    s = c.idx.shape[0]
    eye = jnp.eye(s, dtype=u.dtype)
    ar = jnp.arange(s)

    def body(carry):
        c, minv, phase, done, it = carry
        lam = c.lam * c.act
        ui = u[c.idx]  # (s, d): the corral's vectors
        x = lam @ ui
        xx = x @ x
        scores = jnp.where(valid, u @ x, jnp.inf)  # <x, u_j>
        j = jnp.argmin(scores)
        crit = xx - scores[j]
        # Stop: optimal on the working set (crit is ||x|| times the gap), inside the hull,
        # the candidate is already in the corral (numerical stall), or the corral is full.
        in_corral = jnp.any(c.act & (c.idx == j))
        stop = (crit <= tol * jnp.sqrt(jnp.maximum(xx, 0.0))) | (xx <= inside_tol**2)
        stop = stop | in_corral | jnp.all(c.act)
        major = (phase == 0) & ~done
        done = done | (major & stop)
        f = jnp.argmin(c.act)  # first free entry
        uj = u[j]
        row = jnp.where(c.act, ui @ uj, 0.0)
        ujj = uj @ uj
        # Bordering: the inverse of M grown by entry f.
        col = jnp.where(c.act, 1.0 + row, 0.0)
        y = minv @ col
        schur = 1.0 + ujj - col @ y
        dependent = ~(schur > 1e-14 * (1.0 + ujj))  # affinely dependent: a numerical stall
        done = done | (major & ~stop & dependent)
        add = major & ~stop & ~dependent
        # One-hot selects rather than .at[] scatters: batched scatters are slow on CPU.
        hot_f = add & (ar == f)
        v_add = jnp.where(hot_f, 1.0 / schur, jnp.where(c.act, -y / schur, 0.0))
        act = c.act | hot_f
        idx = jnp.where(hot_f, j.astype(c.idx.dtype), c.idx)
        rowf = jnp.where(hot_f, ujj, row)
        gs = jnp.where(hot_f[None, :], rowf[:, None], c.gs)
        gs = jnp.where(hot_f[:, None], rowf[None, :], gs)
        lam = jnp.where(hot_f, 0.0, lam)
        phase = jnp.where(add, 1, phase)
        # M^{-1} after the insertion: rank-1 update, then row and column f.
        minv_a = minv + jnp.where(add, 1.0 / schur, 0.0) * jnp.outer(y, y)
        minv_a = jnp.where(
            hot_f[:, None], v_add[None, :], jnp.where(hot_f[None, :], v_add[:, None], minv_a)
        )

        # Minor cycle: move towards the affine minimiser, dropping the entry that hits zero.
        a = jnp.where(act, minv_a @ act.astype(u.dtype), 0.0)
        alpha = a / jnp.sum(a)
        minor = (phase == 1) & ~done
        done = done | (minor & ~jnp.all(jnp.isfinite(alpha)))
        minor = minor & ~done
        pos = jnp.all(jnp.where(act, alpha > 0, True))
        neg = act & (alpha <= 0)
        ratio = jnp.where(neg, lam / jnp.where(neg, lam - alpha, 1.0), jnp.inf)
        theta = jnp.clip(jnp.min(ratio), 0.0, 1.0)
        r = jnp.argmin(ratio)
        lam_ls = lam + theta * (alpha - lam)
        lam_ls = jnp.where(act & (ar != r), jnp.maximum(lam_ls, 0.0), 0.0)
        drop = minor & ~pos
        hot_r = drop & (ar == r)
        lam = jnp.where(minor, jnp.where(pos, alpha, lam_ls), lam)
        act = act & ~hot_r
        phase = jnp.where(minor & pos, 0, phase)
        # Schur complement: the inverse of M with entry r deleted (identity row/col there).
        q = minv_a @ hot_r.astype(u.dtype)
        qr = jnp.sum(jnp.where(hot_r, q, 0.0))
        minv = minv_a - jnp.where(drop, 1.0 / jnp.where(drop, qr, 1.0), 0.0) * jnp.outer(q, q)
        minv = jnp.where(hot_r[:, None] | hot_r[None, :], eye, minv)
        return _Corral(idx, act, lam, gs), minv, phase, done, it + 1

    def cond(carry):
        return ~carry[3] & (carry[4] < max_iter)

    # Start with a minor step on the exact inverse: it snaps the weights to the corral's
    # affine minimiser, removing any drift left by the updates of a previous call.
    init = (c, _bordered_inverse(c), jnp.int32(1), jnp.bool_(False), jnp.int32(0))
    return jax.lax.while_loop(cond, body, init)[0]


def _others(offsets, K, n_real):
    """Mask (b, K): column j is another real point than the row's own point."""
    cols = jnp.arange(K)[None, :]
    return (offsets[:, None] != cols) & (cols < n_real)


def _neighbors_topm(rows, offsets, code, m, n_real):
    """Indices (b, m) of the m largest <w_k, w_j> over the real j != k of one block's rows
    (where fewer than m exist, the last slots hold padding: see `_solve_block`'s counts)."""
    g = jnp.where(_others(offsets, code.shape[0], n_real), rows @ code.T, -jnp.inf)
    return jax.lax.top_k(g, m)[1].astype(jnp.int32)


def _solve_block(
    code, n_real, rows_idx, *, m, m_max, grow, s, max_rounds, max_iter, tol, inside_tol
):
    """Solve and certify the one-vs-rest problems for the points `rows_idx` (b,) of `code`,
    whose first `n_real` rows are the code (the rest is padding, never a hull point)."""
    K, d = code.shape
    b = rows_idx.shape[0]
    rows = code[rows_idx]
    real = rows_idx < n_real
    ws = jnp.zeros((b, m_max), jnp.int32)
    ws = ws.at[:, :m].set(_neighbors_topm(rows, rows_idx, code, m, n_real))
    # a padding row solves nothing (empty working set: Wolfe stops at once)
    n = jnp.where(real, jnp.minimum(m, n_real - 1), 0).astype(jnp.int32)
    # Slot 0 holds the nearest neighbour, i.e. the u_j of least norm: Wolfe's starting point.
    corral = _Corral(
        idx=jnp.zeros((b, s), jnp.int32),
        act=jnp.zeros((b, s), bool).at[:, 0].set(True),
        lam=jnp.zeros((b, s), code.dtype).at[:, 0].set(1.0),
        gs=jnp.zeros((b, s, s), code.dtype),
    )
    u0 = rows - code[ws[:, 0]]
    corral = corral._replace(gs=corral.gs.at[:, 0, 0].set(jnp.sum(u0 * u0, axis=-1)))
    wolfe = jax.vmap(partial(_wolfe, max_iter=max_iter, tol=tol, inside_tol=inside_tol))
    others = _others(rows_idx, K, n_real)

    def certify(ws, corral):
        lam = corral.lam * corral.act
        lam = lam / jnp.sum(lam, axis=-1, keepdims=True)
        support = jnp.take_along_axis(ws, corral.idx, axis=1)  # (b, s) point indices
        p = jnp.einsum("bs,bsd->bd", lam, code[support])
        x = rows - p
        dist = jnp.linalg.norm(x, axis=-1)
        inside = dist <= inside_tol
        h = x / jnp.where(inside, 1.0, dist)[:, None]
        g = jnp.where(others, h @ code.T, -jnp.inf)  # (b, K): <h_k, w_j>, real j != k
        dual = jnp.sum(h * rows, axis=-1) - jnp.max(g, axis=-1)
        viol = g - jnp.sum(h * p, axis=-1, keepdims=True)  # > 0: j violates optimality of p
        return p, dist, h, dual, inside, viol

    def solve(ws, n, corral):
        u = rows[:, None, :] - code[ws]
        valid = jnp.arange(m_max)[None, :] < n[:, None]
        return wolfe(u, valid, corral)

    def needs_more(dist, dual, inside):
        return real & ~inside & (dist - dual > tol_gap)

    tol_gap = 0.1 * GAP_TOL

    def cond(carry):
        ws, n, corral, r, more = carry
        # A failing point with a full working set still gets re-solved (a fresh exact start
        # resolves stalls from rounding), up to max_rounds.
        return jnp.any(more) & (r < max_rounds)

    def body(carry):
        ws, n, corral, r, more = carry
        # Add the most violating points not yet in the working set, only where needed.
        _, dist, _, dual, inside, viol = certify(ws, corral)
        member = (
            jnp.zeros((b, K), bool)
            .at[jnp.arange(b)[:, None], ws]
            .set(jnp.arange(m_max)[None, :] < n[:, None])
        )
        viol = jnp.where(member, -jnp.inf, viol)
        top_v, top_j = jax.lax.top_k(viol, grow)
        slot = n[:, None] + jnp.arange(grow)[None, :]
        use = more[:, None] & (top_v > 0) & (slot < m_max)
        ws = ws.at[jnp.arange(b)[:, None], jnp.where(use, slot, m_max)].set(
            top_j.astype(jnp.int32), mode="drop"
        )
        n = n + jnp.sum(use, axis=1).astype(jnp.int32)
        corral = solve(ws, n, corral)
        _, dist, _, dual, inside, _ = certify(ws, corral)
        return ws, n, corral, r + 1, needs_more(dist, dual, inside)

    corral = solve(ws, n, corral)
    _, dist, _, dual, inside, _ = certify(ws, corral)
    carry = (ws, n, corral, jnp.int32(0), needs_more(dist, dual, inside))
    ws, n, corral, _, _ = jax.lax.while_loop(cond, body, carry)
    p, dist, h, dual, inside, _ = certify(ws, corral)
    h = jnp.where(inside[:, None], jnp.nan, h)
    dual = jnp.where(inside, 0.0, dual)
    return OneVsRest(dist, p, h, dual, dist - dual, inside)


def _check_sizes(K, d, m, m_max, grow, max_support):
    if K < 2:
        raise ValueError(f"K={K} is too small: a code needs K >= 2 points")
    if d < 1:
        raise ValueError(f"d={d} is too small: a code needs dimension d >= 1")
    m = min(m, K - 1)
    m_max = K - 1 if m_max is None else min(m_max, K - 1)
    if m < 1:
        raise ValueError(f"m={m} is too small: the working set needs m >= 1 points")
    if m_max < m:
        raise ValueError(f"m_max={m_max} is smaller than m={m}: need m <= m_max <= K - 1")
    grow = m if grow is None else grow
    if grow < 1:
        raise ValueError(f"grow={grow} is too small: need grow >= 1")
    grow = min(grow, K)
    s = min(m_max, d + 1) if max_support is None else min(max_support, m_max, d + 1)
    if s < 1:
        raise ValueError(f"max_support={max_support} is too small: need max_support >= 1")
    return m, m_max, grow, s


@precision.host_float64
def one_vs_rest(
    code: jax.Array,
    *,
    m: int = DEFAULT_M,
    m_max: int | None = 256,
    grow: int | None = None,
    max_support: int | None = 160,
    max_rounds: int = 32,
    block: int | None = None,
    tol: float = 1e-14,
    recertify: bool = True,
) -> OneVsRest:
    """Return the one-vs-rest distances of `code` (K, d) with nearest hull points, optimal
    features and weak-duality certificates (all float64, Euclidean distance units).

    m: initial working set (nearest neighbours by inner product); grow: points added per round
    to a point whose certificate fails (default m); m_max: working-set capacity; max_support:
    corral capacity (a nearest hull point is a combination of at most d + 1 points); block:
    points solved at once (memory O(block * (m_max * d + K))); tol: Wolfe's relative stopping
    test.  A point not certified within these limits keeps gap > GAP_TOL, visibly, unless
    recertify (the default, outside jit only) re-solves it exactly on the host: an active-set
    min-norm solve on its neighbours plus the points violating its certificate.
    Any input dtype is cast to float64 first; the function can be traced under jit and vmap.

    >>> import jax.numpy as jnp
    >>> sq = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> float(one_vs_rest(sq).distance[0])
    1.0
    """
    code = jnp.asarray(code)
    if code.ndim != 2:
        raise ValueError(f"code must have shape (K, d); got shape {code.shape}")
    K, d = code.shape
    from spherecodes.solvers.batching import ladder  # (the solvers package imports this one)

    _check_sizes(K, d, m, m_max, grow, max_support)  # errors name the caller's arguments
    if block is not None and block < 1:
        raise ValueError(f"block={block} is too small: need block >= 1")
    # Codes up to PAD_MAX_K points are solved padded to the ladder sizes (zero coordinates,
    # padding points masked out), so that codes of nearby shapes share one compiled program.
    K_pad, d_pad = (ladder(K), ladder(d)) if K <= PAD_MAX_K else (K, d)
    m, m_max, grow, s = _check_sizes(K_pad, d_pad, m, m_max, grow, max_support)
    if block is None:
        # About 32 MB of working-set coordinates per block: small enough to stay near
        # cache, wide enough to amortise the per-step loop overhead.
        block = int(max(1, min(K_pad, 256, (4 << 20) // max(1, m_max * d_pad))))
    x = jnp.pad(code.astype(jnp.float64), ((0, K_pad - K), (0, d_pad - d)))
    out = _one_vs_rest(
        x,
        jnp.int32(K),
        m=m,
        m_max=m_max,
        grow=grow,
        s=s,
        max_rounds=max_rounds,
        block=min(block, K_pad),
        tol=tol,
    )
    out = OneVsRest(*(a[:K] for a in out))
    if d_pad > d:
        out = out._replace(nearest=out.nearest[:, :d], feature=out.feature[:, :d])
    if not recertify or isinstance(out.gap, jax.core.Tracer):
        return out
    return _recertify(np.asarray(code, np.float64), out)


def min_norm_point(U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (x, lam): the min-norm point x = U^T lam of conv(rows of U), lam >= 0 summing to 1.

    Host float64, exact to rounding: Lawson-Hanson NNLS (``scipy.optimize.nnls``) on the
    system [U^T; w 1^T] lam = [0; w] with a heavy row w, which names the support even where it
    is degenerate (more points on the nearest face than its dimension + 1, as at optimal
    codes), then the exact equality-constrained least squares on that support.  Used by the
    host re-solve of points that the batched Wolfe solve leaves uncertified, and by the polish.
    """
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2 or U.shape[0] < 1 or U.shape[1] < 1:
        raise ValueError(f"U must be a 2-D array with at least one row; got shape {U.shape}")
    if not np.all(np.isfinite(U)):
        raise ValueError("U has NaN or infinite entries")
    m = U.shape[0]
    if m == 1:
        return U[0].copy(), np.ones(1)
    scale = max(1.0, float(np.max(np.abs(U))))
    w = 1e3 * scale
    A = np.vstack([U.T, np.full((1, m), w)])
    b = np.zeros(A.shape[0])
    b[-1] = w
    try:
        lam, _ = scipy.optimize.nnls(A, b, maxiter=50 * m)
    except RuntimeError:  # iteration limit: fall back to uniform weights
        lam = np.ones(m)
    if lam.sum() <= 0:
        lam = np.ones(m)
    lam = lam / lam.sum()
    # The heavy row enforces sum = 1 only approximately; re-solve exactly on the support:
    # lam = lam_S + Z y with Z spanning {sum = 0}.
    S = np.flatnonzero(lam > 0)
    if len(S) > 1:
        US = U[S].T
        Z = np.vstack([np.eye(len(S) - 1), -np.ones((1, len(S) - 1))])
        base = lam[S]
        y = scipy.linalg.lstsq(US @ Z, -(US @ base), lapack_driver="gelsd")[0]
        cand = base + Z @ y
        if cand.min() >= -1e-12:  # rounding-level negatives (degenerate faces): clip them
            cand = np.maximum(cand, 0.0)
            cand /= cand.sum()
        # The two norms agree to second order in the error of lam, so rounding alone can make
        # the exact solve look a few ulps longer; it is kept unless longer beyond rounding
        # (a norm of an m-term combination of d-vectors is good to ~(m + d) eps relative).
        # Rejecting it on an ulp left NNLS's lam, whose first-order error gave 1e-12 gaps.
        slack = 1.0 + 4 * (len(S) + US.shape[0]) * np.finfo(np.float64).eps
        if np.all(cand >= 0) and np.linalg.norm(US @ cand) <= slack * np.linalg.norm(US @ base):
            lam = np.zeros(m)
            lam[S] = cand / cand.sum()
    return lam @ U, lam


class PointDistance(NamedTuple):
    """dist(w_k, conv{w_j : j != k}) for one point k, with its weak-duality certificate."""

    distance: float  # ||w_k - p||, p a convex combination of the others: an upper bound
    dual: float  # min_{j != k} <h, w_k - w_j> over ALL j != k: a lower bound
    gap: float  # distance - dual
    feature: np.ndarray  # (d,) float64: h = (w_k - p) / ||w_k - p||
    support: np.ndarray  # (s,) int64: indices j with positive weight in p
    weights: np.ndarray  # (s,) float64: their convex weights (sum 1)


def point_one_vs_rest(
    code,
    k: int = 0,
    *,
    m: int = 64,
    grow: int = 64,
    max_rounds: int = 100,
    gap_tol: float = 1e-13,
    block: int = 65536,
) -> PointDistance:
    """Return the one-vs-rest distance of point `k` of `code` (K, d), certified over all j != k.

    Host float64, O(K d) memory, for one point of a code too large for :func:`one_vs_rest`
    (or one it left uncertified).  Working set: the `m` points of largest inner product with
    w_k; its min-norm point (:func:`min_norm_point`) gives p and h; every j with
    <h, w_j> > <h, p> violates optimality and the `grow` worst join the working set, until
    the gap is below `gap_tol` or nothing violates.  Each round's distance is an upper bound
    and its dual a lower bound, so the best of each over the rounds is returned.  The
    certificate is computed over all K - 1 other points in blocks of `block` rows.
    """
    code = np.asarray(code, dtype=np.float64)
    if code.ndim != 2 or code.shape[0] < 2:
        raise ValueError(f"code must have shape (K, d) with K >= 2; got shape {code.shape}")
    K = code.shape[0]
    if not 0 <= k < K:
        raise ValueError(f"k={k} is out of range: need 0 <= k < K={K}")
    w = code[k]

    def scores(v):
        out = np.concatenate([code[i : i + block] @ v for i in range(0, K, block)])
        out[k] = -np.inf
        return out

    s = scores(w)
    m = min(m, K - 1)
    ws = np.argpartition(-s, m - 1)[:m]
    best = None  # (distance, feature, support, weights) of the shortest p so far
    dual = -np.inf
    for _ in range(max_rounds):
        x, mu = min_norm_point(w - code[ws])
        dist = float(np.linalg.norm(x))
        if best is None or dist < best[0]:
            keep = mu > 0
            h = x / dist if dist > 0 else np.full_like(w, np.nan)
            best = (dist, h, ws[keep].astype(np.int64), mu[keep])
        if dist <= INSIDE_TOL:
            break
        h = x / dist
        g = scores(h)
        dual = max(dual, float(h @ w - g.max()))
        if best[0] - dual <= gap_tol:
            break
        viol = g - float(h @ (w - x))
        viol[ws] = -np.inf
        cand = np.flatnonzero(viol > 0)
        if cand.size == 0:
            break
        ws = np.concatenate([ws, cand[np.argsort(-viol[cand])[:grow]]])
    dist, h, support, weights = best
    return PointDistance(dist, dual, dist - dual, h, support, weights)


def _recertify(w: np.ndarray, out: OneVsRest) -> OneVsRest:
    """Return `out` with every point whose gap exceeds GAP_TOL re-solved exactly on the host
    (:func:`point_one_vs_rest` from the point's nearest neighbours, until the certificate over
    ALL points closes); a bound is replaced only by a better one."""
    gap = np.asarray(out.gap)
    bad = np.flatnonzero((gap > GAP_TOL) & ~np.asarray(out.inside))
    if bad.size == 0:
        return out
    dist, near, feat = (np.array(a) for a in (out.distance, out.nearest, out.feature))
    dual, gap = np.array(out.dual), gap.copy()
    K, d = w.shape
    for k in bad:
        pt = point_one_vs_rest(
            w, int(k), m=min(K - 1, max(4 * (d + 1), 64)), grow=16, max_rounds=64, gap_tol=GAP_TOL
        )
        if pt.distance < dist[k]:
            dist[k], near[k], feat[k] = pt.distance, w[k] - pt.distance * pt.feature, pt.feature
        dual[k] = max(dual[k], pt.dual)
        gap[k] = dist[k] - dual[k]
    return OneVsRest(
        jnp.asarray(dist),
        jnp.asarray(near),
        jnp.asarray(feat),
        jnp.asarray(dual),
        jnp.asarray(gap),
        out.inside,
    )


@partial(jax.jit, static_argnames=("m", "m_max", "grow", "s", "max_rounds", "block", "tol"))
def _one_vs_rest(code, n_real, *, m, m_max, grow, s, max_rounds, block, tol) -> OneVsRest:
    """The jitted core of `one_vs_rest` on a float64 code with checked sizes: its first
    `n_real` (traced) rows are the code, the rest padding (see PAD_MAX_K)."""
    K = code.shape[0]
    nb = -(-K // block)
    idx = jnp.minimum(jnp.arange(nb * block, dtype=jnp.int32), K - 1).reshape(nb, block)
    fn = partial(
        _solve_block,
        code,
        n_real,
        m=m,
        m_max=m_max,
        grow=grow,
        s=s,
        max_rounds=max_rounds,
        max_iter=20 * s + 100,
        tol=tol,
        inside_tol=INSIDE_TOL,
    )
    out = jax.lax.map(fn, idx)
    return jax.tree_util.tree_map(lambda a: a.reshape((nb * block,) + a.shape[2:])[:K], out)


@precision.host_float64
def rho_1vr(code: jax.Array) -> jax.Array:
    """Return the one-vs-rest distance min_k dist(w_k, conv{w_j : j != k}) (Euclidean)."""
    return jnp.min(one_vs_rest(code).distance)


@precision.host_float64
def softmax_rattlers(code: jax.Array, tol: float = RATTLER_TOL) -> jax.Array:
    """Return a (K,) bool mask of softmax-code rattlers (Definition 3.4 of the GNC paper):
    points whose one-vs-rest distance exceeds rho_1vr by more than `tol` (distance units)."""
    dist = one_vs_rest(code).distance
    return dist > jnp.min(dist) + tol


def one_vs_rest_cvxpy(code) -> np.ndarray:
    """Return the (K,) one-vs-rest distances computed with cvxpy + Clarabel (a reference path).

    One QP per point: min ||w_k - V^T lam||^2 over the simplex, V the other points.  The
    reported distance is ||w_k - V^T lam|| at the solver's weights clipped to >= 0 and
    renormalised, so it is a feasible hull point (an upper bound, accurate to ~1e-9).
    """
    import cvxpy as cp

    from spherecodes.sphere import validate_code

    w = validate_code(code)
    K = w.shape[0]
    lam = cp.Variable(K - 1)
    target = cp.Parameter(w.shape[1])
    others = cp.Parameter((K - 1, w.shape[1]))
    prob = cp.Problem(
        cp.Minimize(cp.sum_squares(target - others.T @ lam)), [lam >= 0, cp.sum(lam) == 1]
    )
    out = np.empty(K)
    opts = dict(tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13, max_iter=500)
    for k in range(K):
        target.value = w[k]
        others.value = np.delete(w, k, axis=0)
        prob.solve(solver=cp.CLARABEL, **opts)
        val = np.clip(np.asarray(lam.value, dtype=np.float64), 0.0, None)
        val = val / val.sum()
        out[k] = np.linalg.norm(w[k] - val @ others.value)
    return out
