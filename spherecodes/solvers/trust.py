"""Batched second-order local solves: Riemannian trust regions with truncated CG.

:func:`local_batch` takes a batch of starting points (one row = one start of one cell, padded
to the bucket shape) and runs, for every row independently inside one compiled program, the
Riemannian trust-region method of Absil, Baker and Gallivan on the objective's smooth
surrogate (:mod:`spherecodes.objectives`), with Steihaug-Toint truncated conjugate gradients
for the trust-region subproblem and Hessian-vector products by ``jax.linearize`` of the gradient.

Min-max objectives are solved by continuation in the surrogate's temperature ``t``: each row
starts at its own ``t0`` (a portfolio: a high start is an energy-like problem that funnels
into the wide basins, a low one a local max-min search from the start), solves the smoothed
problem until its Riemannian gradient norm is below ``GTOL_REL * t`` (or ``STAGE_ITER``
iterations), then multiplies ``t`` by ``FACTOR``, down to ``T_END``.  The final softmax weights
of the pieces are the multiplier estimates the exact polish starts from.  Smooth objectives
(``ce``, ``wd``) are one stage, to gradient norm ``GTOL_SMOOTH``.

Every row stops on its own: the loop is a ``lax.while_loop`` whose finished rows are masked
(``vmap`` of a while loop keeps iterating the unfinished rows only in effect); its state is the
NamedTuple :class:`TRState`.  Everything runs in the dtype of the starting points (float64 by
default: the last stages work at temperatures where float32 cannot resolve the pieces).

The manifold is the product of unit spheres (one per row of W, and of H when the objective has
features), or Euclidean space for ``wd``:

* tangent projection  P_x(v) = v - <v, x> x row by row,
* retraction          R_x(v) = normalize(x + v),
* Riemannian Hessian  Hess f(x)[v] = P_x(D grad f(x)[v]) - <x, grad f(x)> v (Weingarten term).

Padding rows are zero and stay zero (every gradient there is zero); padding coordinates too.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from spherecodes import objectives
from spherecodes.solvers.riemannian import normalize

__all__ = ["LocalOutput", "LocalSpec", "TRState", "local_batch"]

#: Gradient-norm tolerance of the smooth objectives (ce, wd), one stage.
GTOL_SMOOTH = 1e-11
#: tCG stops when ||r|| <= ||r0|| min(||r0||^THETA, KAPPA) (superlinear local convergence).
THETA, KAPPA = 1.0, 0.1
#: Step acceptance threshold on rho = actual / predicted decrease.
RHO_ACCEPT = 0.1


@dataclasses.dataclass(frozen=True)
class LocalSpec:
    """What the compiled local-solve program depends on (hashable: a static jit argument)."""

    objective: str
    K_pad: int
    d_pad: int
    max_iter: int = 600  # trust-region iterations per row, all stages together
    max_inner: int = 60  # tCG iterations per trust-region iteration
    t_end: float = 1e-4  # last temperature of the continuation
    factor: float = 0.25  # temperature factor between stages
    gtol_rel: float = 1e-2  # a stage ends at Riemannian gradient norm <= gtol_rel * t ...
    stage_iter: int = 60  # ... or after this many iterations
    first_stage_iter: int = 200  # cap of a first stage (at t0) given a tighter tolerance


class TRState(NamedTuple):
    """State of one row's trust-region loop."""

    x: tuple  # (W,) or (W, H): (K_pad, d_pad) each
    t: jax.Array  # () current temperature
    delta: jax.Array  # () trust-region radius
    it: jax.Array  # () int: trust-region iterations so far
    stage_it: jax.Array  # () int: iterations in the current stage
    done: jax.Array  # () bool
    converged: jax.Array  # () bool: last stage reached its gradient tolerance


class LocalOutput(NamedTuple):
    """Result of a batch of local solves, one entry per row."""

    code: jax.Array  # (rows, K_pad, d_pad): unit rows (wd: raw W)
    features: jax.Array | None  # (rows, K_pad, d_pad) or None without H
    value: jax.Array  # (rows,) exact objective at the result
    smooth: jax.Array  # (rows,) surrogate value at the final temperature
    grad_norm: jax.Array  # (rows,) Riemannian gradient norm at the final temperature
    iterations: jax.Array  # (rows,) int trust-region iterations
    converged: jax.Array  # (rows,) bool: final stage met its gradient tolerance


# --------------------------------------------------------------------------------------------
# manifold operations on tuples of (K_pad, d_pad) blocks


def _inner(a, b):
    return sum(jnp.sum(x * y) for x, y in zip(a, b, strict=True))


def _axpy(alpha, a, b):
    return tuple(alpha * x + y for x, y in zip(a, b, strict=True))


def _scale(alpha, a):
    return tuple(alpha * x for x in a)


def _local_row(spec: LocalSpec, x0, d, K, t0, tau, lam, gtol0):
    obj = objectives.get(spec.objective)
    dtype = x0[0].dtype
    pm = jnp.arange(spec.K_pad) < K
    eps = jnp.finfo(dtype).eps
    tau = jnp.asarray(tau, dtype)
    lam = jnp.asarray(lam, dtype)
    t_end = jnp.asarray(spec.t_end, dtype)
    n_blocks = len(x0)
    # Manopt's defaults for a product of spheres: typical distance pi sqrt(#spheres).
    delta_bar = jnp.pi * jnp.sqrt((n_blocks * K).astype(dtype))
    delta0 = delta_bar / 8

    def f(x, t):
        return obj.smooth(x[0], x[1] if n_blocks > 1 else None, pm, t, tau, lam)

    egrad = jax.grad(f)

    def proj(x, v):
        if not obj.sphere:
            return v
        return tuple(
            vi - jnp.sum(vi * xi, -1, keepdims=True) * xi for xi, vi in zip(x, v, strict=True)
        )

    def retract(x, v):
        if not obj.sphere:
            return _axpy(1.0, v, x)
        return tuple(normalize(xi + vi) for xi, vi in zip(x, v, strict=True))

    def hessian_operator(x, t):
        """Return (Euclidean gradient, v -> Riemannian Hessian [v]) at x.

        The gradient is linearized once per trust-region iteration, so the Hessian-vector
        products of the inner CG reuse its residuals (the exponentials of the pieces) instead
        of recomputing them as a jvp would."""
        eg, dgrad = jax.linearize(lambda y: egrad(y, t), x)
        if not obj.sphere:
            return eg, dgrad
        curv = tuple(jnp.sum(xi * gi, -1, keepdims=True) for xi, gi in zip(x, eg, strict=True))

        def hess(v):
            hv = proj(x, dgrad(v))
            return tuple(hi - ci * vi for hi, ci, vi in zip(hv, curv, v, strict=True))

        return eg, hess

    def tcg(x, hess, g, delta):
        """Steihaug-Toint tCG on min <g, s> + 1/2 <s, Hess s>, |s| <= delta; (s, Hs, hit)."""
        zero = _scale(0.0, g)
        r_r = _inner(g, g)
        norm_r0 = jnp.sqrt(r_r)
        stop_at = norm_r0 * jnp.minimum(norm_r0**THETA, KAPPA)

        class C(NamedTuple):
            j: jax.Array
            eta: tuple
            heta: tuple
            r: tuple
            dvec: tuple
            e_e: jax.Array
            e_d: jax.Array
            d_d: jax.Array
            r_r: jax.Array
            stop: jax.Array
            hit: jax.Array

        def body(c: C) -> C:
            hd = hess(c.dvec)
            dhd = _inner(c.dvec, hd)
            alpha = c.r_r / jnp.where(dhd != 0, dhd, 1)
            e_e_new = c.e_e + 2 * alpha * c.e_d + alpha**2 * c.d_d
            boundary = (dhd <= 0) | (e_e_new >= delta**2)
            # step to the boundary along d: |eta + s d| = delta
            disc = jnp.maximum(c.e_d**2 + c.d_d * (delta**2 - c.e_e), 0)
            s_b = (-c.e_d + jnp.sqrt(disc)) / jnp.where(c.d_d > 0, c.d_d, 1)
            step = jnp.where(boundary, s_b, alpha)
            eta = _axpy(step, c.dvec, c.eta)
            heta = _axpy(step, hd, c.heta)
            r = proj(x, _axpy(alpha, hd, c.r))
            r_r_new = _inner(r, r)
            small = jnp.sqrt(r_r_new) <= stop_at
            beta = r_r_new / jnp.where(c.r_r > 0, c.r_r, 1)
            dvec = _axpy(beta, c.dvec, _scale(-1.0, r))
            e_d = beta * (c.e_d + alpha * c.d_d)
            d_d = r_r_new + beta**2 * c.d_d
            return C(
                c.j + 1,
                eta,
                heta,
                r,
                dvec,
                e_e_new,
                e_d,
                d_d,
                r_r_new,
                boundary | small,
                boundary,
            )

        c0 = C(
            jnp.asarray(0),
            zero,
            zero,
            g,
            _scale(-1.0, g),
            jnp.asarray(0, dtype),
            jnp.asarray(0, dtype),
            r_r,
            r_r,
            norm_r0 == 0,
            jnp.asarray(False),
        )
        c = jax.lax.while_loop(lambda c: (~c.stop) & (c.j < spec.max_inner), body, c0)
        return c.eta, c.heta, c.hit

    # the first stage (t == t0: t is only ever multiplied down from it) may have its own
    # tolerance gtol0 (relative, as gtol_rel); a tighter one gets first_stage_iter iterations
    first_gtol = jnp.asarray(gtol0, dtype)
    first_iter = jnp.where(first_gtol < spec.gtol_rel, spec.first_stage_iter, spec.stage_iter)

    def gtol(t):
        if obj.minmax:
            return jnp.where(t == t0, first_gtol, spec.gtol_rel) * t
        return jnp.asarray(GTOL_SMOOTH, dtype)

    def body(s: TRState) -> TRState:
        x, t = s.x, s.t
        fx = f(x, t)
        eg, hess = hessian_operator(x, t)
        g = proj(x, eg)
        gnorm = jnp.sqrt(_inner(g, g))
        cap = jnp.where(t == t0, first_iter, spec.stage_iter)
        stage_over = (gnorm <= gtol(t)) | (s.stage_it >= cap) | (s.delta < 1e-14)
        last = (t <= t_end * (1 + 1e-6)) | (not obj.minmax)
        finished = stage_over & last
        advance = stage_over & ~last

        eta, heta, hit = tcg(x, hess, g, s.delta)
        x_new = retract(x, eta)
        f_new = f(x_new, t)
        model_dec = -(_inner(g, eta) + 0.5 * _inner(eta, heta))
        reg = jnp.maximum(1.0, jnp.abs(fx)) * eps * 1e3
        rho = (fx - f_new + reg) / (model_dec + reg)
        rho = jnp.where(jnp.isfinite(rho), rho, -1.0)
        delta = jnp.where(
            rho < 0.25,
            0.25 * s.delta,
            jnp.where((rho > 0.75) & hit, jnp.minimum(2 * s.delta, delta_bar), s.delta),
        )
        accept = (rho > RHO_ACCEPT) & ~stage_over
        x_out = jax.tree.map(lambda a, b: jnp.where(accept, a, b), x_new, x)
        t_out = jnp.where(advance, jnp.maximum(t * spec.factor, t_end), t)
        return TRState(
            x_out,
            t_out,
            jnp.where(advance, delta * spec.factor, delta),  # the model region scales with t
            s.it + 1,
            jnp.where(stage_over, 0, s.stage_it + 1),
            finished | (s.it + 1 >= spec.max_iter),
            finished & (gnorm <= gtol(t)),
        )

    t0 = jnp.asarray(t0, dtype) if obj.minmax else t_end
    s0 = TRState(
        tuple(x0),
        t0,
        delta0,
        jnp.asarray(0),
        jnp.asarray(0),
        jnp.asarray(False),
        jnp.asarray(False),
    )
    s = jax.lax.while_loop(lambda s: ~s.done, body, s0)
    x = s.x
    W, H = x[0], (x[1] if n_blocks > 1 else None)
    fx, eg = jax.value_and_grad(f)(x, s.t)
    g = proj(x, eg)
    return LocalOutput(
        W,
        H,
        obj.exact(W, H, pm, tau, lam),
        fx,
        jnp.sqrt(_inner(g, g)),
        s.it,
        s.converged,
    )


@partial(jax.jit, static_argnames=("spec",))
def local_batch(spec: LocalSpec, W0, H0, d, K, t0, tau, lam, gtol0=None) -> LocalOutput:
    """Return the local optima reached from a batch of starts (vmapped over rows).

    ``W0`` (and ``H0``, None without features) are (rows, K_pad, d_pad) starting points in
    the dtype to solve in; ``d``, ``K`` (rows,) int true sizes; ``t0`` (rows,) starting
    temperatures (ignored by smooth objectives); ``tau``, ``lam`` scalars; ``gtol0`` (rows,)
    each row's first-stage tolerance relative to t0 (None: ``spec.gtol_rel``).
    """
    x0 = (W0,) if H0 is None else (W0, H0)
    if gtol0 is None:
        gtol0 = jnp.full(jnp.shape(t0), spec.gtol_rel)

    def row(x, dd, kk, tt, gg):
        return _local_row(spec, x, dd, kk, tt, tau, lam, gg)

    return jax.vmap(row)(x0, d, K, t0, gtol0)
