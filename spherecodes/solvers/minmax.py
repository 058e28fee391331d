"""The min-max engine of the float64 polish: pieces, SLP, active-set Newton, certificate.

A min-max problem (:class:`Problem`: ``tammes``, ``grassmannian``, ``softmax``/``hardmax``)
is over blocks of unit vectors x (the code W, or W and the features H) with bilinear pieces
f_a(x) = sum of c <x_p, x_q> terms; the objective is t(x) = max_a f_a(x).  One engine
polishes them all (:func:`polish_minmax`, :func:`newton_from_surrogate`):

1. Sequential linear programming (SLP) with a trust region: on the near-active pieces, the LP
   min s s.t. f_a + <grad f_a, u> <= s, |u|_inf <= Delta over tangent steps u (HiGHS through
   ``scipy.optimize.linprog``); retract, accept if the true max went down, adapt Delta.  The
   LP duals are the multipliers mu and name the active set.
2. Newton on the KKT system of the active set A: {f_a(x) = t, a in A},
   sum_a mu_a grad f_a(x) = 0 (Riemannian gradients), sum_a mu_a = 1, with the Riemannian
   Hessian of the Lagrangian; Levenberg-Marquardt damping absorbs the rotation gauge,
   rattlers and non-unique multipliers.  The system is dense: :func:`kkt_memory` bytes, checked
   against the host's RAM before Newton starts (MemoryError with the estimate).  Pieces that
   overshoot are added to A, pieces whose multiplier goes negative are dropped, and Newton
   runs again.
3. A certificate at the final point (:func:`certificate`): the KKT residual
   min_{mu >= 0, sum mu = 1} ||sum_a mu_a grad f_a|| (:func:`kkt_residual`: NNLS, then an
   exact equality-constrained solve on its support) over the pieces within ``tol`` of the max;
   where that exceeds ``tol``, the residual and the spread max f_a - min f_a over all pieces
   within :data:`ACTIVE_BAND` of the max.

Everything is float64 NumPy/SciPy.  The entry point is :func:`spherecodes.solvers.polish.polish`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse

from spherecodes.hull import min_norm_point
from spherecodes.solvers.planning import check_bytes

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


# ---------------------------------------------------------------------------------------------
# pieces of the min-max objectives
#
# A piece set is (P, Q, C, idx): P, Q (m, 2) int and C (m, 2) float, piece a being
# sum_r C[a, r] <x_P[a, r], x_Q[a, r]> (unused second terms have C = 0); idx (m,) int is a
# unique id of the piece, used to carry multipliers between iterations.


class Problem(NamedTuple):
    """Which min-max problem: its size and the form of its pieces (from the Objective record)."""

    K: int  # number of classes / points
    features: bool  # pieces <w_j - w_k, h_k> of W and H (else <w_i, w_j> of W alone)
    both_signs: bool  # pieces of W alone come as +<w_i, w_j> and -<w_i, w_j>


def _all_values(prob: Problem, X: np.ndarray) -> np.ndarray:
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


def _objective(prob: Problem, X: np.ndarray) -> float:
    return float(np.max(_all_values(prob, X)))


def _pieces(prob: Problem, X: np.ndarray, level: float):
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


def tangent_bases(X: np.ndarray) -> np.ndarray:
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


def retract(X, B, u) -> np.ndarray:
    """Return the retraction normalize(x_p + B_p^T u_p) of tangent step u, row by row."""
    N, d = X.shape
    Y = X + np.einsum("nid,ni->nd", B, u.reshape(N, d - 1))
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# certificate


def simplex_min_norm(Gt: np.ndarray) -> np.ndarray:
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
    mu = simplex_min_norm(grads.T)
    return float(np.linalg.norm(grads.T @ mu)), mu


def certificate(prob, X, tol, band=ACTIVE_BAND):
    """Return (value, kkt residual, spread, number of active pieces, converged) at X.

    First the pieces within `tol` of the max: if they alone are stationary to `tol`, the point
    is certified (spread <= tol by construction; pieces lower in the band are near-ties with
    zero multiplier).  Otherwise the residual and spread are those of the whole band.
    """
    T = _objective(prob, X)
    B = tangent_bases(X)
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
    """Solve the trust-region LP; return (u, predicted change of the max, multipliers).

    The LP is solved in units of Delta (v = u / Delta in the unit box, every row divided by
    Delta): HiGHS' feasibility and optimality tolerances are absolute (1e-7), so in the
    original units they would swamp the predicted decrease once it falls below about 1e-7,
    and the SLP stalled there, rejecting steps whose linearized max was above the LP's."""
    m, n = G.shape
    A = scipy.sparse.hstack([G, -np.ones((m, 1))], format="csr")
    c = np.zeros(n + 1)
    c[-1] = 1.0
    bounds = [(-1.0, 1.0)] * n + [(None, None)]
    # The LPs near an optimal code are highly degenerate (hundreds of near-ties); there HiGHS'
    # interior point (with crossover, so the duals are basic) is 5-8x faster than its simplex.
    method = "highs-ipm" if n >= IPM_MIN_VARIABLES else "highs"
    res = scipy.optimize.linprog(c, A_ub=A, b_ub=-f / delta, bounds=bounds, method=method)
    if res.status != 0:
        return None
    # dividing the rows and the objective by Delta leaves the multipliers as they are
    mu = -np.asarray(res.ineqlin.marginals)
    return delta * res.x[:n], float(delta * res.x[n]), np.maximum(mu, 0.0)


def _kkt_system(prob, X, pieces, mu, t):
    """Return (F, J, B) of the active-set KKT system at (X, t, mu)."""
    P, Q, C = pieces[:3]
    m = len(P)
    N, d = X.shape
    n = N * (d - 1)
    B = tangent_bases(X)
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


def kkt_memory(m: int, n: int) -> int:
    """Return a bound on the bytes active-set Newton holds for `m` active pieces and `n`
    tangent coordinates, in float64: at most three (m + n + 1)^2 matrices at once (J with J^T J
    and its damped copy, or with the trial step's Jn), counted as four for the temporaries of
    the products, with the Lagrangian Hessian twice (its 4-index form and the block, n^2 each)
    and the trial step's dense Jacobian (m n)."""
    side = m + n + 1
    return 8 * (4 * side * side + 2 * n * n + m * n)


#: A Newton step that does not lower a KKT residual already at most this, or lowers it by
#: less than half, ends the iteration: there the residual is rounding (about sqrt(#equations)
#: eps), and further steps or the stronger damping of further trials cannot lower it.
#: Measured on Tammes (3, 48): residuals 1.8e-2, 6.4e-4, 1.3e-6, 6.3e-12, 1.4e-15, then
#: 1.3e-15, 1.0e-15, 1.4e-15 and 7 failed trials, half the polish's time.  Far below the
#: 1e-11 that :func:`_try_newton` accepts.
STALL_RESIDUAL = 1e-13


def _newton(prob, X, pieces, mu, t, max_iter, tol):
    """Levenberg-Marquardt Newton on {f_a = t (a in A), sum mu_a grad f_a = 0, sum mu = 1}.

    The damping lam = ||F|| keeps quadratic convergence where the solutions are not isolated
    (rotations, rattlers, families of optima, non-unique multipliers) and the Jacobian's rank
    drops at the solution (Fan and Yuan's error-bound analysis).  Returns (X, t, mu, it, res).
    """
    check_bytes(
        kkt_memory(len(pieces[0]), X.shape[0] * (X.shape[1] - 1)),
        f"the polish of a (d={X.shape[1]}, K={prob.K}) code (active-set Newton on "
        f"{len(pieces[0])} pieces, dense)",
        host=True,
        hint="lower polish_max_variables (SolveConfig) or skip the polish (polish=False)",
    )
    F, J, B = _kkt_system(prob, X, pieces, mu, t)
    res = float(np.linalg.norm(F))
    n = B.shape[0] * B.shape[1]
    it = 0
    lam_scale = 1.0
    while it < max_iter and res > tol:
        it += 1
        ok = False
        JtJ = J.T @ J
        diag = np.diag_indices_from(JtJ)
        for _ in range(8):
            # normal equations: cond(JtJ + lam I) <= |J|^2 / lam, so with lam = ||F|| the
            # error of a step of size ~||F|| stays at rounding level
            lam = lam_scale * res
            A = JtJ.copy()  # the one damped copy (kkt_memory), factored in place
            A[diag] += lam
            try:
                delta = scipy.linalg.cho_solve(
                    scipy.linalg.cho_factor(A, overwrite_a=True), -(J.T @ F)
                )
            except np.linalg.LinAlgError:
                lam_scale *= 16.0
                continue
            finally:
                A = None  # freed before the trial's KKT system is built
            if not np.all(np.isfinite(delta)) or np.max(np.abs(delta[:n])) > 0.2:
                lam_scale *= 16.0
                continue
            Xn = retract(X, B, delta[:n])
            tn, mun = t + delta[n], mu + delta[n + 1 :]
            Fn, Jn, Bn = _kkt_system(prob, Xn, pieces, mun, tn)
            rn = float(np.linalg.norm(Fn))
            if rn < res:
                ok = True
                break
            Fn = Jn = Bn = None  # a failed trial's system, freed before the next one
            if res <= STALL_RESIDUAL:
                break  # at rounding level: more damping only shortens the step
            lam_scale *= 16.0
        if not ok:
            break
        stalled = rn <= STALL_RESIDUAL and rn > 0.5 * res  # rounding: no longer converging
        X, t, mu, F, J, B, res = Xn, tn, mun, Fn, Jn, Bn, rn
        lam_scale = max(lam_scale / 16.0, 1.0)
        if stalled:
            break
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


def newton_from_surrogate(prob: Problem, X: np.ndarray, t: float):
    """Return (X', iterations, done) of active-set Newton from a surrogate solution at t.

    X solves the log-sum-exp surrogate at temperature t; the surrogate's softmax weights
    exp((f_a - T) / t), normalized, are the multiplier estimates (they converge to the KKT
    multipliers as t -> 0) and name the active set.
    X', iterations and done are as :func:`_try_newton` returns them.
    """
    T = _objective(prob, X)
    eps = max(WEIGHT_BAND * t, 1e-12)
    pool = _pieces(prob, X, T - eps)
    mu = np.exp((pool[4] - T) / t)
    return _try_newton(prob, X, T, pool, mu / mu.sum(), eps)


def polish_minmax(prob: Problem, X: np.ndarray, tol: float, max_iter: int):
    """Return (X, iterations): X (N, d) polished for the min-max problem by at most `max_iter`
    SLP steps and the Newton attempts between them; iterations counts both."""
    N, d = X.shape
    T = _objective(prob, X)
    delta = DELTA_START
    it = slp_it = 0
    newton_tried_at = np.inf
    lipschitz = 4.0 * np.sqrt(d - 1)  # bounds |f_a(x + step) - f_a(x)| / Delta to first order
    spare, spare_T = None, np.inf  # best unconfirmed Newton point
    # Newton's iterations do not spend the SLP budget: an attempt runs only after Delta has
    # shrunk 8-fold (at most 8 active sets x 25 steps each). On degenerate optima (more active
    # pieces than coordinates) the attempts can fail, and counting their steps left the
    # linearly converging SLP no budget to reach the point it could certify.
    while slp_it < max_iter and delta >= 1e-15:
        it += 1
        slp_it += 1
        eps = lipschitz * delta + 1e-12
        pieces = _pieces(prob, X, T - eps)
        B = tangent_bases(X)
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
            if Xn is not None and _objective(prob, Xn) < min(spare_T, T):
                # an attempt that lowered the max without settling its active set can still
                # have reached a KKT point (on degenerate optima the corrections cycle)
                if certificate(prob, Xn, tol)[4]:
                    return Xn, it
                spare, spare_T = Xn, _objective(prob, Xn)
        if pred <= 1e-15 * max(1.0, abs(T)):
            delta *= 0.25  # linearly stationary at this Delta
            continue
        Xn = retract(X, B, u)
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


__all__ = [
    "ACTIVE_BAND",
    "DELTA_START",
    "IPM_MIN_VARIABLES",
    "WEIGHT_BAND",
    "Problem",
    "certificate",
    "kkt_residual",
    "newton_from_surrogate",
    "polish_minmax",
    "retract",
    "simplex_min_norm",
    "tangent_bases",
]
