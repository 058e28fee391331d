"""One record per objective: its pieces, smooth surrogate, exact value and variables.

Every solver path (the batched local solves, the first-order search, the streamed and
neighbour-list paths) and the polish read these records; nothing else dispatches on the name.

=============  ==========================================  =====================================
objective      pieces f_a (min-max) / smooth loss          variables
=============  ==========================================  =====================================
tammes         <w_i, w_j>, i < j                            W on spheres
grassmannian   +<w_i, w_j> and -<w_i, w_j>, i < j           W on spheres
softmax        <w_k' - w_k, h_k>, k' != k                   W, H on spheres; H starts at W
hardmax        <w_k' - w_k, h_k>, k' != k                   W, H on spheres; H starts at random
ce             tau log(sum of CE at temperature tau)       W, H on spheres
wd             cross-entropy + lam/2 (|W|^2 + |H|^2)        W, H unconstrained
=============  ==========================================  =====================================

A min-max objective's surrogate at temperature ``t`` is ``t * logsumexp(f_a / t)`` over its
pieces: an upper bound on ``max_a f_a`` within ``t log(#pieces)``, whose softmax weights are
the multipliers of the pieces as ``t -> 0``.  ``pm`` is always the (K_pad,) bool mask of the
real points of a code padded to a bucket shape.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp

from spherecodes import bounds, losses

__all__ = ["OBJECTIVES", "Objective", "get", "names"]


def pair_mask(pm):
    """Return the (K_pad, K_pad) bool mask of real pairs i < j."""
    n = pm.shape[0]
    upper = jnp.arange(n)[:, None] < jnp.arange(n)[None, :]
    return pm[:, None] & pm[None, :] & upper


def class_mask(pm):
    """Return the (K_pad, K_pad) bool mask of real (class, competitor) pairs k != k'."""
    n = pm.shape[0]
    off = jnp.arange(n)[:, None] != jnp.arange(n)[None, :]
    return pm[:, None] & pm[None, :] & off


def margins(W, H):
    """Return A[k, k'] = <w_k' - w_k, h_k>, shape (K, K)."""
    S = H @ W.T
    return S - jnp.diagonal(S)[:, None]


def smooth_max(x, valid, t):
    """Return t * logsumexp(x / t) over the entries where ``valid`` (a scalar)."""
    # x * (1/t) rather than x / t: with a per-row t a vectorized division may be lowered
    # differently for different batch splits; a product is exact IEEE.
    return t * jax.nn.logsumexp(jnp.where(valid, x * (1 / t), -jnp.inf))


def _tammes_pieces(W, H, pm):
    return W @ W.T, pair_mask(pm)


def _grassmannian_pieces(W, H, pm):
    G = W @ W.T
    v = pair_mask(pm)
    return jnp.stack([G, -G]), jnp.stack([v, v])


def _hardmax_pieces(W, H, pm):
    return margins(W, H), class_mask(pm)


def _ce_smooth(W, H, pm, t, tau, lam):
    # tau log(sum CE) (GNC eq. 12): a monotone function of the mean CE, so the same
    # minimizers, with gradients of a steady size where CE decays like exp(-margin / tau).
    return losses.cross_entropy_asymptotic(W, H[:, None, :], tau, mask=pm)


def _ce_exact(W, H, pm, tau, lam):
    return losses.cross_entropy(W, H[:, None, :], tau, mask=pm)


def _wd_smooth(W, H, pm, t, tau, lam):
    return losses.weight_decay(W, H[:, None, :], tau, lam=lam, mask=pm)


def _wd_exact(W, H, pm, tau, lam):
    return losses.weight_decay(W, H[:, None, :], tau, lam=lam, mask=pm)


def _tammes_floor(d: int, K: int) -> float:
    # Rankin's simplex and orthoplex bounds (K <= 2d, met by the simplex and the
    # cross-polytope), the regular K-gon (d = 2), else Levenshtein's bound (met by the sharp
    # codes: the icosahedron, E8's 240 roots, the Schlafli and Clebsch codes, ...)
    if K <= d + 1:
        return -1.0 / (K - 1)
    if K <= 2 * d:
        return 0.0
    if d == 2:
        return math.cos(2 * math.pi / K)
    return math.cos(math.radians(float(bounds.min_angle_upper_bound_deg(d, K))))


def _grassmannian_floor(d: int, K: int) -> float:
    # K equally spaced lines in the plane; else the Welch and orthoplex bounds (met by
    # equiangular tight frames and by maximal sets of mutually unbiased bases)
    if K <= d:
        return 0.0  # orthonormal lines
    if d == 2:
        return math.cos(math.pi / K)
    return float(bounds.coherence_lower_bound(d, K))


def _hardmax_floor(d: int, K: int) -> float | None:
    # -max rho_1vr where Theorem 3.3 of the GNC paper settles it: the simplex (K <= d + 1),
    # cross-polytope subsets (K <= 2d), the regular K-gon (d = 2); no closed form elsewhere
    if K <= d + 1:
        return -K / (K - 1)
    if K <= 2 * d:
        return -1.0
    if d == 2:
        return -(1.0 - math.cos(2 * math.pi / K))
    return None


@dataclasses.dataclass(frozen=True)
class Objective:
    """What a solver needs to know about one objective (hashable: usable as a static arg)."""

    name: str
    features: str  # "none" (W only), "code" (H starts at W) or "random" (H starts at random)
    sphere: bool  # variables are unit rows (else unconstrained, Euclidean)
    pieces: Callable | None = None  # min-max: (W, H, pm) -> (values, valid) same shape
    smooth_fn: Callable | None = None  # smooth: (W, H, pm, t, tau, lam) -> scalar
    exact_fn: Callable | None = None  # smooth: (W, H, pm, tau, lam) -> scalar (pm None: all real)
    both_signs: bool = False  # pieces +<w_i, w_j> and -<w_i, w_j>: the max is |<w_i, w_j>|
    log_surrogate: bool = False  # smooth: surrogate tau log(sum_k CE_k), not the loss itself
    uses_tau: bool = False  # takes the CE temperature tau
    uses_lam: bool = False  # takes the weight decay lam (a term lam/2 (|W|^2 + |H|^2))
    # min-max: (d, K) -> a value no code of the cell goes below (a theorem), or None
    floor_fn: Callable[[int, int], float | None] | None = None
    # Memory model of the search programs (bytes estimates, solvers/planning.py), measured
    # from compiled programs and rounded up: the dense program's temporaries per row as a
    # multiple of K_pad^2 * 8, and the streamed search's live (block, K) arrays per block.
    dense_kk_factor: float = 1.5
    stream_bk_copies: int = 4

    @property
    def minmax(self) -> bool:
        """Return True for a min-max objective (pieces, temperature continuation)."""
        return self.pieces is not None

    @property
    def has_features(self) -> bool:
        """Return True when the objective has a feature per class (H) besides W."""
        return self.features != "none"

    def smooth(self, W, H, pm, t, tau, lam):
        """Return the smooth loss minimized by the local solvers (a scalar, W's dtype)."""
        if self.minmax:
            vals, valid = self.pieces(W, H, pm)
            return smooth_max(vals, valid, t)
        return self.smooth_fn(W, H, pm, t, tau, lam)

    def exact(self, W, H, pm, tau, lam):
        """Return the true objective (lower is better): max piece, mean CE or the WD loss."""
        if self.minmax:
            vals, valid = self.pieces(W, H, pm)
            return jnp.max(jnp.where(valid, vals, -jnp.inf))
        return self.exact_fn(W, H, pm, tau, lam)

    def floor(self, d: int, K: int) -> float | None:
        """Return a proven lower bound on the exact value of every code of (d, K), or None."""
        return None if self.floor_fn is None else self.floor_fn(int(d), int(K))

    def weights(self, W, H, pm, t):
        """Return the surrogate's softmax weights of the pieces (multiplier estimates)."""
        vals, valid = self.pieces(W, H, pm)
        return jax.nn.softmax(jnp.where(valid, vals * (1 / t), -jnp.inf).ravel()).reshape(
            vals.shape
        )


OBJECTIVES: Mapping[str, Objective] = types.MappingProxyType(
    {
        o.name: o
        for o in (
            Objective("tammes", "none", True, _tammes_pieces, floor_fn=_tammes_floor),
            Objective(
                "softmax",
                "code",
                True,
                _hardmax_pieces,
                floor_fn=_hardmax_floor,
                dense_kk_factor=2.5,
                stream_bk_copies=5,
            ),
            Objective(
                "hardmax",
                "random",
                True,
                _hardmax_pieces,
                floor_fn=_hardmax_floor,
                dense_kk_factor=2.5,
                stream_bk_copies=5,
            ),
            Objective(
                "ce",
                "random",
                True,
                None,
                _ce_smooth,
                _ce_exact,
                log_surrogate=True,
                uses_tau=True,
                dense_kk_factor=3.5,
                stream_bk_copies=6,
            ),
            Objective(
                "wd",
                "random",
                False,
                None,
                _wd_smooth,
                _wd_exact,
                uses_tau=True,
                uses_lam=True,
                dense_kk_factor=3.5,
                stream_bk_copies=6,
            ),
            Objective(
                "grassmannian",
                "none",
                True,
                _grassmannian_pieces,
                both_signs=True,
                floor_fn=_grassmannian_floor,
                dense_kk_factor=4.5,
                stream_bk_copies=6,
            ),
        )
    }
)


def names() -> tuple[str, ...]:
    """Return the objective names, in their fixed order (the order seeds fold in)."""
    return tuple(OBJECTIVES)


def get(name: str) -> Objective:
    """Return the Objective record called ``name``; ValueError naming the accepted names."""
    try:
        return OBJECTIVES[name]
    except (KeyError, TypeError):
        raise ValueError(f"objective={name!r} is not one of {names()}") from None
