"""Float64 polish: turn an approximate code from the batched search into a local optimum.

Non-smooth objectives (``tammes``, ``grassmannian``, ``softmax``/``hardmax``) are min-max
problems over blocks of unit vectors x (the code W, or W and the features H) with bilinear
pieces f_a(x) = sum of c <x_p, x_q> terms; the objective is t(x) = max_a f_a(x).  One engine
polishes them all:

1. Sequential linear programming (SLP) with a trust region: on the near-active pieces, the LP
   min s s.t. f_a + <grad f_a, u> <= s, |u|_inf <= Delta over tangent steps u (HiGHS through
   ``scipy.optimize.linprog``); retract, accept if the true max went down, adapt Delta.  The
   LP duals are the multipliers mu and name the active set.
2. Newton on the KKT system of the active set A: {f_a(x) = t, a in A},
   sum_a mu_a grad f_a(x) = 0 (Riemannian gradients), sum_a mu_a = 1, with the Riemannian
   Hessian of the Lagrangian; least squares (``lstsq``) absorbs the rotation gauge, rattlers
   and non-unique multipliers.  Pieces that overshoot are added to A, pieces whose multiplier
   goes negative are dropped, and Newton runs again.
3. A certificate at the final point: the KKT residual min_{mu >= 0, sum mu = 1}
   ||sum_a mu_a grad f_a|| (NNLS, then an exact equality-constrained solve on its support)
   over the pieces within ``tol`` of the max; where that exceeds ``tol``, the residual and
   the spread max f_a - min f_a over all pieces within :data:`ACTIVE_BAND` of the max.

Smooth objectives (``ce``, ``wd``) are polished by a regularized Riemannian (``ce``) or
Euclidean (``wd``) Newton method with JAX derivatives, until the gradient norm is <= tol.
Everything is float64 NumPy/SciPy except those derivatives.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse

from spherecodes import objectives, precision
from spherecodes.hull import min_norm_point
from spherecodes.sphere import validate_code

__all__ = ["ACTIVE_BAND", "OBJECTIVES", "PolishResult", "polish", "kkt_residual"]

#: Objectives accepted by :func:`polish`: all of them.
OBJECTIVES = objectives.names()

#: Where the pieces within ``tol`` of the max are not stationary by themselves, the certificate
#: is taken over the pieces within this much of the max, and their spread is reported: a point
#: that needs a piece lower than ``tol`` for stationarity is not converged.
ACTIVE_BAND = 1e-9

#: Starting trust-region radius (infinity norm of the tangent step) of the SLP phase.  The LP
#: takes every piece within about 4 sqrt(d-1) Delta of the max, so a large start makes the
#: first LPs take (nearly) all K^2 pieces; the radius doubles after each full, good step.
DELTA_START = 0.05

#: From this many tangent coordinates on, the SLP's LPs use HiGHS' interior point method.
IPM_MIN_VARIABLES = 400


class PolishResult(NamedTuple):
    """A polished code with its objective value and optimality certificate."""

    code: np.ndarray  # (K, d) float64: unit rows (wd: the unconstrained classifier W)
    features: np.ndarray | None  # (K, d) float64: unit rows (softmax/hardmax/ce), raw (wd), or None
    value: float  # objective at the result: max inner / coherence / hardmax = -rho_1vr / CE / WD
    kkt_residual: float  # min-max: min ||sum mu_a grad f_a|| over active pieces; smooth: ||grad||
    active: int  # number of active pieces (smooth objectives: 0)
    iterations: int  # SLP + Newton iterations (smooth: Newton iterations)
    converged: bool  # kkt_residual <= tol and (min-max) spread of the active values <= tol


# ---------------------------------------------------------------------------------------------
# pieces of the min-max objectives
#
# A piece set is (P, Q, C, idx): P, Q (m, 2) int and C (m, 2) float, piece a being
# sum_r C[a, r] <x_P[a, r], x_Q[a, r]> (unused second terms have C = 0); idx (m,) int is a
# unique id of the piece, used to carry multipliers between iterations.


class _Problem(NamedTuple):
    K: int  # number of classes / points
    features: bool  # pieces <w_j - w_k, h_k> of W and H (else <w_i, w_j> of W alone)
    both_signs: bool  # pieces of W alone come as +<w_i, w_j> and -<w_i, w_j>


def _all_values(prob: _Problem, X: np.ndarray) -> np.ndarray:
    """Return the matrix of all piece values, -inf where there is no piece."""
    K = prob.K
    if prob.features:
        M = X[K:] @ X[:K].T  # M[k, j] = <h_k, w_j>
        F = M - np.diag(M)[:, None]
        np.fill_diagonal(F, -np.inf)
        return F  # F[k, j] = <w_j - w_k, h_k>
    G = X @ X.T
    if prob.both_signs:
        G = np.abs(G)
    G[np.tril_indices(K)] = -np.inf
    return G


def _objective(prob: _Problem, X: np.ndarray) -> float:
    return float(np.max(_all_values(prob, X)))


def _pieces(prob: _Problem, X: np.ndarray, level: float):
    """Return the pieces with value >= level as (P, Q, C, idx, values)."""
    K = prob.K
    if prob.features:
        F = _all_values(prob, X)
        k, j = np.nonzero(F >= level)
        P = np.stack([j, k], axis=1)  # w_j and w_k
        Q = np.stack([K + k, K + k], axis=1)  # both against h_k
        C = np.tile([1.0, -1.0], (len(k), 1))
        return P, Q, C, k * K + j, F[k, j]
    G = X @ X.T
    G[np.tril_indices(K)] = -np.inf
    i, j = np.nonzero(G >= level)
    sign = np.ones(len(i))
    if prob.both_signs:
        i2, j2 = np.nonzero(-G >= level)  # -inf below the diagonal never passes
        keep = np.isfinite(G[i2, j2])
        i, j = np.concatenate([i, i2[keep]]), np.concatenate([j, j2[keep]])
        sign = np.concatenate([sign, -np.ones(int(keep.sum()))])
    P = np.stack([i, i], axis=1)
    Q = np.stack([j, j], axis=1)
    C = np.stack([sign, np.zeros_like(sign)], axis=1)
    idx = 2 * (i * K + j) + (sign < 0)
    return P, Q, C, idx, sign * G[i, j]


def _select(pieces, keep):
    return tuple(a[keep] for a in pieces)


def _tangent_bases(X: np.ndarray) -> np.ndarray:
    """Return B (N, d-1, d): orthonormal bases of the tangent spaces x_p^perp (Householder)."""
    N, d = X.shape
    s = np.where(X[:, 0] >= 0, 1.0, -1.0)
    v = X.copy()
    v[:, 0] += s  # |v|^2 = 2 (1 + |x_0|) >= 2
    Hh = np.eye(d)[None] - v[:, :, None] * v[:, None, :] / (1.0 + np.abs(X[:, 0]))[:, None, None]
    # Hh is symmetric orthogonal with Hh e_0 = -s x, so its other columns span x^perp.
    return np.transpose(Hh[:, :, 1:], (0, 2, 1))


def _jacobian_sparse(X, B, P, Q, C) -> scipy.sparse.csr_matrix:
    """Return G (m, N (d-1)) as CSR: Riemannian gradients of the pieces in tangent coordinates.

    A piece touches at most 4 of the N points, so G has at most 4 (d-1) entries per row."""
    N, d = X.shape
    e = d - 1
    m = P.shape[0]
    rows, cols, vals = [], [], []
    col = np.arange(e)
    for r in range(P.shape[1]):
        p, q, c = P[:, r], Q[:, r], C[:, r]
        keep = c != 0
        a = np.flatnonzero(keep)
        # d/dx_p of c <x_p, x_q> is c x_q; its tangent coordinates are B_p x_q.
        for u, v in ((p[keep], q[keep]), (q[keep], p[keep])):
            rows.append(np.repeat(a, e))
            cols.append((u[:, None] * e + col[None, :]).ravel())
            vals.append((c[keep][:, None] * np.einsum("mij,mj->mi", B[u], X[v])).ravel())
    coo = scipy.sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, N * e)
    )
    return coo.tocsr()  # duplicates (a point in two terms of a piece) are summed


def _jacobian(X, B, P, Q, C) -> np.ndarray:
    """Return G (m, N (d-1)) dense: Riemannian gradients of the pieces in tangent coordinates."""
    return _jacobian_sparse(X, B, P, Q, C).toarray()


def _lagrangian_hessian(X, B, P, Q, C, mu) -> np.ndarray:
    """Return the Riemannian Hessian of sum_a mu_a f_a in tangent coordinates (n, n)."""
    N, d = X.shape
    e = d - 1
    Hs = np.zeros((N, N))  # Euclidean Hessian is Hs kron I_d (bilinear pieces)
    egrad = np.zeros((N, d))
    for r in range(P.shape[1]):
        p, q, w = P[:, r], Q[:, r], mu * C[:, r]
        np.add.at(Hs, (p, q), w)
        np.add.at(Hs, (q, p), w)
        np.add.at(egrad, p, w[:, None] * X[q])
        np.add.at(egrad, q, w[:, None] * X[p])
    pi, qi = np.nonzero(Hs)
    H = np.zeros((N, e, N, e))
    H[pi, :, qi, :] = Hs[pi, qi][:, None, None] * np.einsum("kid,kjd->kij", B[pi], B[qi])
    # Weingarten term of the sphere: -<x_p, egrad_p> on block p.
    w = -np.sum(X * egrad, axis=1)
    H[np.arange(N), :, np.arange(N), :] += w[:, None, None] * np.eye(e)[None]
    return H.reshape(N * e, N * e)


def _step(X, B, u) -> np.ndarray:
    """Retract: normalize(x_p + B_p^T u_p)."""
    N, d = X.shape
    Y = X + np.einsum("nid,ni->nd", B, u.reshape(N, d - 1))
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# certificate


def _simplex_min_norm(Gt: np.ndarray) -> np.ndarray:
    """Return mu >= 0 with sum 1 minimizing ||Gt mu|| (Gt: (n, m)), to full float64 accuracy."""
    return min_norm_point(Gt.T)[1]


def kkt_residual(grads: np.ndarray) -> tuple[float, np.ndarray]:
    """Return (min_{mu >= 0, sum mu = 1} ||grads^T mu||, the minimizing mu) for grads (m, n).

    ``grads[a]`` is the Riemannian gradient of active piece a (any coordinates of the tangent
    space that are orthonormal); zero means the min-max point is first-order stationary.
    """
    grads = np.asarray(grads, dtype=np.float64)
    if grads.ndim != 2 or grads.shape[0] < 1:
        raise ValueError(f"grads must have shape (m, n) with m >= 1; got shape {grads.shape}")
    mu = _simplex_min_norm(grads.T)
    return float(np.linalg.norm(grads.T @ mu)), mu


def _certificate(prob, X, tol, band=ACTIVE_BAND):
    """Return (value, kkt residual, spread, number of active pieces, converged) at X.

    First the pieces within `tol` of the max: if they alone are stationary to `tol`, the point
    is certified (spread <= tol by construction; pieces lower in the band are near-ties with
    zero multiplier).  Otherwise the residual and spread are those of the whole band.
    """
    T = _objective(prob, X)
    B = _tangent_bases(X)
    P, Q, C, _, vals = _pieces(prob, X, T - tol)
    res, _ = kkt_residual(_jacobian(X, B, P, Q, C))
    if res <= tol:
        return T, res, float(vals.max() - vals.min()), len(vals), True
    P, Q, C, _, vals = _pieces(prob, X, T - band)
    res, _ = kkt_residual(_jacobian(X, B, P, Q, C))
    spread = float(vals.max() - vals.min())
    return T, res, spread, len(vals), bool(res <= tol and spread <= tol)


# ---------------------------------------------------------------------------------------------
# the min-max engine


def _slp_step(G, f, delta):
    """Solve the trust-region LP; return (u, predicted change of the max, multipliers)."""
    m, n = G.shape
    A = scipy.sparse.hstack([G, -np.ones((m, 1))], format="csr")
    c = np.zeros(n + 1)
    c[-1] = 1.0
    bounds = [(-delta, delta)] * n + [(None, None)]
    # The LPs near an optimal code are highly degenerate (hundreds of near-ties); there HiGHS'
    # interior point (with crossover, so the duals are basic) is 5-8x faster than its simplex.
    method = "highs-ipm" if n >= IPM_MIN_VARIABLES else "highs"
    res = scipy.optimize.linprog(c, A_ub=A, b_ub=-f, bounds=bounds, method=method)
    if res.status != 0:
        return None
    mu = -np.asarray(res.ineqlin.marginals)
    return res.x[:n], float(res.x[n]), np.maximum(mu, 0.0)


def _kkt_system(prob, X, pieces, mu, t):
    """Return (F, J, B) of the active-set KKT system at (X, t, mu)."""
    P, Q, C = pieces[:3]
    m = len(P)
    N, d = X.shape
    n = N * (d - 1)
    B = _tangent_bases(X)
    G = _jacobian(X, B, P, Q, C)
    f = np.einsum("mr,mrd,mrd->m", C, X[P], X[Q])
    F = np.concatenate([f - t, G.T @ mu, [mu.sum() - 1.0]])
    HL = _lagrangian_hessian(X, B, P, Q, C, mu)
    J = np.zeros((m + n + 1, n + 1 + m))
    J[:m, :n] = G
    J[:m, n] = -1.0
    J[m : m + n, :n] = HL
    J[m : m + n, n + 1 :] = G.T
    J[m + n, n + 1 :] = 1.0
    return F, J, B


def _newton(prob, X, pieces, mu, t, max_iter, tol):
    """Levenberg-Marquardt Newton on {f_a = t (a in A), sum mu_a grad f_a = 0, sum mu = 1}.

    The damping lam = ||F|| keeps quadratic convergence where the solutions are not isolated
    (rotations, rattlers, families of optima, non-unique multipliers) and the Jacobian's rank
    drops at the solution (Fan and Yuan's error-bound analysis).  Returns (X, t, mu, it, res).
    """
    F, J, B = _kkt_system(prob, X, pieces, mu, t)
    res = float(np.linalg.norm(F))
    n = B.shape[0] * B.shape[1]
    it = 0
    lam_scale = 1.0
    while it < max_iter and res > tol:
        it += 1
        ok = False
        JtJ = J.T @ J
        for _ in range(8):
            # normal equations: cond(JtJ + lam I) <= |J|^2 / lam, so with lam = ||F|| the
            # error of a step of size ~||F|| stays at rounding level
            lam = lam_scale * res
            try:
                delta = scipy.linalg.cho_solve(
                    scipy.linalg.cho_factor(JtJ + lam * np.eye(len(JtJ))), -(J.T @ F)
                )
            except np.linalg.LinAlgError:
                lam_scale *= 16.0
                continue
            if not np.all(np.isfinite(delta)) or np.max(np.abs(delta[:n])) > 0.2:
                lam_scale *= 16.0
                continue
            Xn = _step(X, B, delta[:n])
            tn, mun = t + delta[n], mu + delta[n + 1 :]
            Fn, Jn, Bn = _kkt_system(prob, Xn, pieces, mun, tn)
            rn = float(np.linalg.norm(Fn))
            if rn < res:
                ok = True
                break
            lam_scale *= 16.0
        if not ok:
            break
        X, t, mu, F, J, B, res = Xn, tn, mun, Fn, Jn, Bn, rn
        lam_scale = max(lam_scale / 16.0, 1.0)
    return X, t, mu, it, res


def _try_newton(prob, X, T, pool, mu_pool, eps):
    """Active-set Newton from X on the candidate pieces `pool` (values within eps of T at X).

    Returns (X', iterations, done): X' is the best point Newton found with a max not above T
    (or None), and done says that it is a KKT point with a consistent active set.
    """
    vals = pool[4]
    active = (mu_pool > 1e-9 * max(1.0, mu_pool.max())) | (vals >= T - 1e-10)
    mu_pool = mu_pool.copy()
    iters = 0
    best, best_T = None, T
    seen = set()
    for _ in range(8):  # active-set corrections
        sel = _select(pool, active)
        key = frozenset(sel[3].tolist())
        if key in seen:  # cycling between active sets: leave it to the SLP
            break
        seen.add(key)
        mu = mu_pool[active]
        mu = mu / mu.sum() if mu.sum() > 0 else np.full(len(mu), 1.0 / len(mu))
        Xn, t, mu, it, res = _newton(prob, X, sel, mu, T, max_iter=25, tol=1e-15)
        iters += it
        if not np.isfinite(res) or res > 1e-9:
            break
        Tn = _objective(prob, Xn)
        if Tn < best_T:
            best, best_T = Xn, Tn
        over = _pieces(prob, Xn, t + max(1e-13, 10 * res))[3]
        new = np.setdiff1d(over, sel[3])
        neg = mu < -1e-10
        if len(new) == 0 and not neg.any():
            if res <= 1e-11 and Tn <= T + 1e-13:
                return Xn, iters, True
            break
        mu_pool[active] = np.maximum(mu, 0.0)
        if len(new):
            if not np.all(np.isin(new, pool[3])):
                eps *= 4.0  # the pool missed a piece: widen it, keeping what we know
                wider = _pieces(prob, X, T - eps)
                old = dict(zip(pool[3].tolist(), zip(active, mu_pool, strict=True), strict=True))
                active = np.array([old.get(k, (False, 0.0))[0] for k in wider[3].tolist()])
                mu_pool = np.array([old.get(k, (False, 0.0))[1] for k in wider[3].tolist()])
                pool = wider
            active = active | np.isin(pool[3], new)
        if neg.any():
            drop = sel[3][np.argmin(mu)]
            hit = pool[3] == drop
            active = active & ~hit
            mu_pool[hit] = 0.0
        if not active.any():
            break
    return best, iters, False


#: Pieces whose surrogate weight is below exp(-WEIGHT_BAND) of the largest are left out of
#: the active set a surrogate solution names (e^-30 ~ 1e-13: numerically zero multipliers).
WEIGHT_BAND = 30.0


def _newton_from_surrogate(prob: _Problem, X: np.ndarray, t: float):
    """Active-set Newton from a solution of the surrogate at temperature t.

    The surrogate's softmax weights exp((f_a - T) / t), normalized, are the multiplier
    estimates (they converge to the KKT multipliers as t -> 0) and name the active set.
    Returns (X', iterations, done) as :func:`_try_newton`.
    """
    T = _objective(prob, X)
    eps = max(WEIGHT_BAND * t, 1e-12)
    pool = _pieces(prob, X, T - eps)
    mu = np.exp((pool[4] - T) / t)
    return _try_newton(prob, X, T, pool, mu / mu.sum(), eps)


def _minimax(prob: _Problem, X: np.ndarray, tol: float, max_iter: int):
    """Polish X (N, d) for the min-max problem; return (X, iterations)."""
    N, d = X.shape
    T = _objective(prob, X)
    delta = DELTA_START
    it = 0
    newton_tried_at = np.inf
    lipschitz = 4.0 * np.sqrt(d - 1)  # bounds |f_a(x + step) - f_a(x)| / Delta to first order
    spare, spare_T = None, np.inf  # best unconfirmed Newton point
    while it < max_iter and delta >= 1e-15:
        it += 1
        eps = lipschitz * delta + 1e-12
        pieces = _pieces(prob, X, T - eps)
        B = _tangent_bases(X)
        G = _jacobian_sparse(X, B, *pieces[:3])
        out = _slp_step(G, pieces[4] - T, delta)
        if out is None:
            delta *= 0.25
            continue
        u, s, mu = out
        pred = -s
        settled = pred < 1e-6 or delta < 1e-4
        if settled and delta < newton_tried_at / 8:
            # Newton from the current point, with the LP multipliers naming the active set
            newton_tried_at = delta
            Xn, k, done = _try_newton(prob, X, T, pieces, mu, eps)
            it += k
            if done:
                return Xn, it
            if Xn is not None and _objective(prob, Xn) < spare_T:
                spare, spare_T = Xn, _objective(prob, Xn)
        if pred <= 1e-15 * max(1.0, abs(T)):
            delta *= 0.25  # linearly stationary at this Delta
            continue
        Xn = _step(X, B, u)
        Tn = _objective(prob, Xn)
        ratio = (T - Tn) / pred
        if ratio > 0:
            X, T = Xn, Tn
            if ratio > 0.75 and np.max(np.abs(u)) >= 0.99 * delta:
                delta = min(2.0 * delta, 0.5)
            elif ratio < 0.25:
                delta *= 0.25
        else:
            delta *= 0.25
    if spare is not None and spare_T < T:
        return spare, it
    return X, it


# ---------------------------------------------------------------------------------------------
# features for the HardMax problem


def _optimal_features(W: np.ndarray) -> np.ndarray:
    """Return h_k = normalize(w_k - p_k), p_k the nearest point of conv{w_j : j != k} (Lemma C.4).

    Exact small NNLS problems, one per class: faster here than a first call of
    ``spherecodes.hull.one_vs_rest`` (which compiles per shape), and the polish refines H anyway.
    """
    K = W.shape[0]
    H = np.empty_like(W)
    for k in range(K):
        others = np.delete(W, k, axis=0)
        lam = _simplex_min_norm((others - W[k]).T)  # min ||sum lam_j (w_j - w_k)||
        v = W[k] - lam @ others
        nv = np.linalg.norm(v)
        H[k] = v / nv if nv > 1e-12 else W[k]
    return H


# ---------------------------------------------------------------------------------------------
# smooth objectives: CE on the sphere, weight decay in Euclidean space


def _smooth_loss(z, tau, lam, objective, K, d):
    """Return the exact loss of a smooth objective (the mean CE of ce, the weight-decay loss of
    wd) at the flat (2 K d,) variable (W, H)."""
    W = z[: K * d].reshape(K, d)
    H = z[K * d :].reshape(K, d)
    return objectives.get(objective).exact(W, H, None, tau, lam)


# Compiled once per (objective, K, d) by jit's own cache (static arguments): no cache here.
_STATIC = ("objective", "K", "d")
_smooth_value = jax.jit(_smooth_loss, static_argnames=_STATIC)
_smooth_grad = jax.jit(jax.grad(_smooth_loss), static_argnames=_STATIC)
_smooth_hessian = jax.jit(jax.hessian(_smooth_loss), static_argnames=_STATIC)


def _smooth(objective, W, H, tau, lam, tol, max_iter):
    """Regularized Newton; return (W, H, value, gradient norm, iterations)."""
    K, d = W.shape
    static = {"objective": objective, "K": K, "d": d}

    def fv(z, tau, lam):
        return _smooth_value(z, tau, lam, **static)

    def fg(z, tau, lam):
        return _smooth_grad(z, tau, lam, **static)

    def fh(z, tau, lam):
        return _smooth_hessian(z, tau, lam, **static)

    sphere = objectives.get(objective).sphere
    z = np.concatenate([W.ravel(), H.ravel()])

    def evaluate(z):
        return float(fv(z, tau, lam)), np.asarray(fg(z, tau, lam))

    def riem(z, g):
        """Return (basis (n, 2Kd) of the tangent space, Riemannian gradient in it)."""
        if not sphere:
            return None, g
        X = z.reshape(2 * K, d)
        B = _tangent_bases(X)  # (2K, d-1, d)
        return B, np.einsum("nid,nd->ni", B, g.reshape(2 * K, d)).ravel()

    val, g = evaluate(z)
    it = 0
    sigma = 1e-3
    while True:
        B, rg = riem(z, g)
        gnorm = float(np.linalg.norm(rg))
        if gnorm <= tol or it >= max_iter:
            break
        it += 1
        Hz = np.asarray(fh(z, tau, lam))
        if sphere:
            X = z.reshape(2 * K, d)
            e = d - 1
            Hb = Hz.reshape(2 * K, d, 2 * K, d)
            Hr = np.einsum("pid,pdqe,qje->piqj", B, Hb, B).reshape(2 * K * e, 2 * K * e)
            # Weingarten term: -<x_p, egrad_p> I on block p
            wgt = -np.sum(X * g.reshape(2 * K, d), axis=1)
            Hr += np.kron(np.diag(wgt), np.eye(e))
        else:
            Hr = Hz
        Hr = 0.5 * (Hr + Hr.T)
        lam_min = float(scipy.linalg.eigvalsh(Hr, subset_by_index=[0, 0])[0])
        # shift to positive definite, with a gradient-sized floor for superlinear convergence
        shift = max(0.0, -lam_min) + min(sigma, gnorm)
        accepted = False
        for _ in range(30):
            step = -np.linalg.solve(Hr + shift * np.eye(len(rg)), rg)
            if sphere:
                X = z.reshape(2 * K, d)
                zn = _step(X, B, step).ravel()
            else:
                zn = z + step
            vn, gn = evaluate(zn)
            _, rgn = riem(zn, gn)
            # accept on decrease, or (at rounding level) on a smaller gradient
            if vn < val - 1e-4 * 0.5 * abs(step @ rg) or (
                vn <= val + 1e-15 * max(1.0, abs(val)) and np.linalg.norm(rgn) < gnorm
            ):
                accepted = True
                break
            shift = max(4.0 * shift, 1e-8)
        if not accepted:
            break
        z, val, g = zn, vn, gn
        sigma = max(shift / 4.0, 1e-14)
    _, rg = riem(z, g)
    W = z[: K * d].reshape(K, d).copy()
    H = z[K * d :].reshape(K, d).copy()
    return W, H, val, float(np.linalg.norm(rg)), it


# ---------------------------------------------------------------------------------------------
# public entry point


@precision.float64
def polish(
    objective: str,
    code,
    features=None,
    *,
    tau: float | None = None,
    lam: float | None = None,
    tol: float = 1e-12,
    max_iter: int = 100,
    temperature: float | None = None,
) -> PolishResult:
    """Return a float64 local optimum of `objective` near `code` (and `features`), certified.

    ``value`` is the objective at the result: the largest inner product (``tammes``), the
    coherence (``grassmannian``), the HardMax loss max_k max_{k' != k} <w_k' - w_k, h_k> =
    -rho_1vr (``softmax``/``hardmax``), the mean cross-entropy at temperature ``tau`` (``ce``)
    or cross-entropy plus lam/2 (||W||^2 + ||H||^2) (``wd``, W and H unconstrained).
    ``kkt_residual`` is the stationarity residual over the pieces within ACTIVE_BAND of the max
    (min-max objectives) or the Riemannian/Euclidean gradient norm (smooth ones).
    ``temperature`` (min-max objectives): the input solves the log-sum-exp surrogate at this
    temperature (as the trust-region search leaves it), so its softmax weights name the active
    set and estimate the multipliers; active-set Newton runs from there first, and the
    sequential-LP phase only where that does not converge.

    >>> import numpy as np
    >>> ang = 2 * np.pi * np.arange(5) / 5 + 0.01 * np.arange(5)
    >>> r = polish("tammes", np.stack([np.cos(ang), np.sin(ang)], axis=1))
    >>> round(float(np.degrees(np.arccos(r.value))), 9), r.converged
    (72.0, True)
    """
    obj = objectives.get(objective)  # ValueError naming the accepted objectives
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter={max_iter!r} is out of range: need an integer >= 1")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol!r} is out of range: need 0 < tol < inf")
    if not obj.has_features and features is not None:
        raise ValueError(f"objective={objective!r} takes no features; got features")
    if not (obj.uses_tau or obj.uses_lam) and (tau is not None or lam is not None):
        raise ValueError(f"objective={objective!r} takes neither tau nor lam; got {tau=}, {lam=}")
    if obj.uses_lam:
        if lam is None or not (np.isfinite(lam) and lam > 0):
            raise ValueError(
                f"lam={lam!r} is out of range: objective {objective!r} needs 0 < lam < inf"
            )
        if tau is None:
            tau = 1.0
    if obj.uses_tau and (tau is None or not (np.isfinite(tau) and tau > 0)):
        raise ValueError(
            f"tau={tau!r} is out of range: objective {objective!r} needs 0 < tau < inf"
        )
    if not obj.uses_lam and lam is not None:
        raise ValueError(f"objective {objective!r} takes no lam (use 'wd'); got {lam=}")

    if not obj.sphere:
        W = np.asarray(code, dtype=np.float64)
        if W.ndim != 2 or W.shape[0] < 2 or W.shape[1] < 2 or not np.all(np.isfinite(W)):
            raise ValueError(f"code must be a finite (K, d) array with K, d >= 2; got {W.shape}")
    else:
        W = validate_code(code)
    K, d = W.shape
    H = None
    if features is not None:
        H = np.asarray(features, dtype=np.float64)
        if H.shape != (K, d):
            raise ValueError(f"features must have shape (K, d) = {(K, d)}; got shape {H.shape}")
        if obj.sphere:
            H = validate_code(H, name="features")
        elif not np.all(np.isfinite(H)):
            raise ValueError("features has NaN or infinite entries")

    if not obj.minmax:
        if H is None:
            H = W.copy()
        Wp, Hp, val, gnorm, it = _smooth(objective, W, H, float(tau), lam, tol, max_iter)
        return PolishResult(Wp, Hp, val, gnorm, 0, it, gnorm <= tol)

    prob = _Problem(K, obj.has_features, obj.both_signs)
    if obj.has_features:
        if H is None:
            H = _optimal_features(W)
        X = np.vstack([W, H])
    else:
        X = W.copy()
    if temperature is not None and not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature={temperature!r} is out of range: need 0 < temperature")
    done, it = False, 0
    if temperature is not None:
        Xn, it, done = _newton_from_surrogate(prob, X, float(temperature))
        if done:
            X = Xn
    if not done:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=scipy.optimize.OptimizeWarning)
            X, k = _minimax(prob, X, tol, max_iter)
        it += k
    T, res, _, nact, ok = _certificate(prob, X, tol)
    code_out = X[:K].copy()
    feats = X[K:].copy() if obj.has_features else None
    return PolishResult(code_out, feats, T, res, nact, it, ok)
