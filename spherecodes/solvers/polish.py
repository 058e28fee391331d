"""Float64 polish: turn an approximate code from the batched search into a local optimum.

Non-smooth objectives (``tammes``, ``grassmannian``, ``softmax``/``hardmax``) are min-max
problems, polished by :mod:`spherecodes.solvers.minmax`: sequential linear programming with a
trust region, active-set Newton on the KKT system (started from the surrogate's weights when
the input solves the log-sum-exp surrogate), and a KKT certificate over the pieces within
``tol`` (then :data:`ACTIVE_BAND`) of the max.  HardMax features, when none are given, start
at the optimal ones of the code (Lemma C.4).

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

from spherecodes import objectives, precision
from spherecodes.solvers import minmax
from spherecodes.solvers.minmax import ACTIVE_BAND, kkt_residual
from spherecodes.sphere import validate_code

__all__ = ["ACTIVE_BAND", "OBJECTIVES", "PolishResult", "polish", "kkt_residual"]

#: Objectives accepted by :func:`polish`: all of them.
OBJECTIVES = objectives.names()


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
        lam = minmax.simplex_min_norm((others - W[k]).T)  # min ||sum lam_j (w_j - w_k)||
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
        B = minmax.tangent_bases(X)  # (2K, d-1, d)
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
                zn = minmax.retract(X, B, step).ravel()
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

    prob = minmax.Problem(K, obj.has_features, obj.both_signs)
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
        Xn, it, done = minmax.newton_from_surrogate(prob, X, float(temperature))
        if done:
            X = Xn
    if not done:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=scipy.optimize.OptimizeWarning)
            X, k = minmax.polish_minmax(prob, X, tol, max_iter)
        it += k
    T, res, _, nact, ok = minmax.certificate(prob, X, tol)
    code_out = X[:K].copy()
    feats = X[K:].copy() if obj.has_features else None
    return PolishResult(code_out, feats, T, res, nact, it, ok)
