"""Objectives of the unconstrained features model: HardMax, cross-entropy, weight decay.

Conventions (Jiang et al., "Generalized Neural Collapse", ICML 2024, called "the GNC paper"):

- ``code`` is the classifier, shape (K, d), row k = w_k (the paper's W transposed).
- ``features`` has shape (K, n, d): ``features[k, i]`` = h_{k,i}, sample i of class k.
- The logits of a feature h are ``code @ h`` (K,), divided by the temperature ``tau``.
- ``mask`` (optional, (K,) bool) marks the real classes of a code padded to a bucket shape.
  Padding classes are left out of every max, sum and log-sum-exp, both as the true class
  (their features are ignored) and as a competitor (their logits are ignored); means are taken
  over the real classes only.

Every loss is a pure JAX function of arrays: jit-able, differentiable, and batched over a
leading axis with ``jax.vmap``.  Shapes and any concrete ``tau``/``lam`` are checked when the
function is called or traced; traced values cannot be checked and are taken as given.  The
arithmetic after the checks is one jitted kernel per loss, so eager calls are fast too; under
an outer jit or vmap it simply inlines.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# Below this, log(softplus(x)) is evaluated as x - exp(x)/2: softplus(x) = exp(x) - exp(2x)/2 + ...
# would underflow to 0 for x < -745 and its log would be -inf with a NaN gradient.
_LOG_SOFTPLUS_SWITCH = -30.0


# ---------------------------------------------------------------------------------------------
# argument checks (at the API boundary; shapes are static even under jit and vmap)


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _check_tau(tau) -> None:
    if not _is_concrete(tau):
        return
    t = np.asarray(tau, dtype=np.float64)
    if t.ndim != 0:
        raise ValueError(f"tau must be a scalar temperature; got shape {t.shape}")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"tau={float(t)!r} is out of range: the temperature needs 0 < tau < inf")


def _check_nonneg(name: str, value) -> None:
    if not _is_concrete(value):
        return
    v = np.asarray(value, dtype=np.float64)
    if v.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got shape {v.shape}")
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name}={float(v)!r} is out of range: need 0 <= {name} < inf")


def _check_shapes(code, features, mask) -> None:
    if jnp.ndim(code) != 2:
        raise ValueError(f"code must have shape (K, d); got shape {jnp.shape(code)}")
    K, d = jnp.shape(code)
    if K < 2:
        raise ValueError(f"code has K={K} rows: a classifier needs K >= 2 classes")
    fshape = jnp.shape(features)
    if len(fshape) != 3 or fshape[0] != K or fshape[2] != d or fshape[1] < 1:
        raise ValueError(
            f"features must have shape (K, n, d) = ({K}, n, {d}) with n >= 1 to match code of "
            f"shape {(K, d)}; got shape {fshape}"
        )
    if mask is not None and jnp.shape(mask) != (K,):
        raise ValueError(f"mask must have shape (K,) = ({K},); got shape {jnp.shape(mask)}")


# ---------------------------------------------------------------------------------------------
# shared pieces


def _margins(code: jax.Array, features: jax.Array) -> jax.Array:
    """Return alpha[k, i, j] = <w_j - w_k, h_{k,i}>, shape (K, n, K)."""
    s = jnp.einsum("jd,kid->kij", code, features)
    own = jnp.diagonal(s, axis1=0, axis2=2).T  # (K, n): <w_k, h_{k,i}>
    return s - own[:, :, None]


def _competitors(K: int, mask) -> jax.Array:
    """Return comp[k, j] (K, K) bool: j is a real class different from k."""
    comp = ~jnp.eye(K, dtype=bool)
    if mask is not None:
        m = jnp.asarray(mask, dtype=bool)
        comp = comp & m[None, :]
    return comp


def _per_sample_ce(code, features, tau, mask) -> jax.Array:
    """Return CE(W h_{k,i} / tau, y = k) for every sample, shape (K, n).

    CE = log(1 + sum_{j != k} exp(z_kij)) = softplus(x_ki) with x = logsumexp_{j != k} z:
    keeps full relative precision when CE is tiny (small tau), where logsumexp over all K
    logits minus the own logit would round 1 + 1e-20 to 1 and return 0.
    """
    z = _margins(code, features) / tau  # (K, n, K)
    comp = _competitors(code.shape[0], mask)
    x = jax.nn.logsumexp(jnp.where(comp[:, None, :], z, -jnp.inf), axis=-1)
    return jax.nn.softplus(x)


def _class_weights(K: int, n: int, mask, dtype) -> jax.Array:
    """Return per-class weights (K,) equal to 1/(n K_real) on real classes and 0 on padding."""
    if mask is None:
        return jnp.full((K,), 1.0 / (n * K), dtype=dtype)
    m = jnp.asarray(mask, dtype=bool)
    return jnp.where(m, 1.0, 0.0).astype(dtype) / (n * jnp.sum(m).astype(dtype))


def _float_dtype(*xs):
    return jnp.result_type(float, *xs)


# ---------------------------------------------------------------------------------------------
# public objectives


def hardmax(code: jax.Array, features: jax.Array, *, mask: jax.Array | None = None) -> jax.Array:
    """Return L_HardMax(W, H) = max_k max_i max_{k' != k} <w_k' - w_k, h_{k,i}> (GNC paper eq. 5).

    A scalar (an inner-product difference, no units); negative when every sample is classified
    correctly with a margin.  At the simplex ETF with h_k = w_k it is -K/(K-1).

    >>> import jax.numpy as jnp
    >>> W = jnp.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> float(hardmax(W, W[:, None, :]))
    -2.0
    """
    _check_shapes(code, features, mask)
    return _hardmax(code, features, mask)


@jax.jit
def _hardmax(code, features, mask):
    dtype = _float_dtype(code, features)
    alpha = _margins(jnp.asarray(code, dtype), jnp.asarray(features, dtype))
    K = alpha.shape[0]
    comp = _competitors(K, mask)  # (K, K) over (k, j)
    valid = comp[:, None, :]
    if mask is not None:
        valid = valid & jnp.asarray(mask, dtype=bool)[:, None, None]
    return jnp.max(jnp.where(valid, alpha, -jnp.inf))


def cross_entropy(
    code: jax.Array, features: jax.Array, tau, *, mask: jax.Array | None = None
) -> jax.Array:
    """Return the mean cross-entropy (1/nK) sum_{k,i} CE(W h_{k,i} / tau, y = k) (GNC eq. 2), nats.

    CE(z, k) = logsumexp_j z_j - z_k, computed as log(1 + sum_{j != k} exp(z_j - z_k)) from the
    margins <w_j - w_k, h_{k,i}> / tau, so it neither overflows nor loses relative precision
    at small tau.  With ``mask``, padding classes are
    neither samples nor competitors and the mean is over the real classes.

    >>> import jax.numpy as jnp
    >>> W = jnp.array([[1.0, 0.0], [-1.0, 0.0]])
    >>> round(float(cross_entropy(W, W[:, None, :], tau=1.0)), 6)  # log(1 + e^-2)
    0.126928
    """
    _check_tau(tau)
    _check_shapes(code, features, mask)
    return _cross_entropy(code, features, tau, mask)


@jax.jit
def _cross_entropy(code, features, tau, mask):
    dtype = _float_dtype(code, features, tau)
    code = jnp.asarray(code, dtype)
    features = jnp.asarray(features, dtype)
    K, n = features.shape[:2]
    ce = _per_sample_ce(code, features, jnp.asarray(tau, dtype), mask)  # (K, n)
    return jnp.sum(_class_weights(K, n, mask, dtype) * jnp.sum(ce, axis=1))


def log_softplus(x: jax.Array) -> jax.Array:
    """Return log(log(1 + e^x)) accurately for all x, with finite gradients."""
    big = jnp.log(jnp.logaddexp(0.0, jnp.maximum(x, _LOG_SOFTPLUS_SWITCH)))
    xs = jnp.minimum(x, _LOG_SOFTPLUS_SWITCH)
    small = xs - 0.5 * jnp.exp(xs)  # log(e^x - e^2x/2 + ...) to O(e^{2x})
    return jnp.where(x > _LOG_SOFTPLUS_SWITCH, big, small)


def cross_entropy_asymptotic(
    code: jax.Array, features: jax.Array, tau, *, mask: jax.Array | None = None
) -> jax.Array:
    """Return L_0 = tau * log sum_{k,i} CE(W h_{k,i} / tau, y = k) (GNC paper eq. 12), a scalar.

    Note the *sum* (not the mean) over samples, as in the paper.  L_0 tends to HardMax as
    tau -> 0 (Lemma C.2): when every margin <w_k' - w_k, h_{k,i}> <= 0,
    HardMax - tau log K <= L_0 <= HardMax + tau log(nK(K-1))  (eq. 23).
    Computed in log space throughout, so it stays finite and accurate at any tau > 0 where
    CE itself underflows to 0.
    """
    _check_tau(tau)
    _check_shapes(code, features, mask)
    return _cross_entropy_asymptotic(code, features, tau, mask)


@jax.jit
def _cross_entropy_asymptotic(code, features, tau, mask):
    dtype = _float_dtype(code, features, tau)
    code = jnp.asarray(code, dtype)
    features = jnp.asarray(features, dtype)
    tau = jnp.asarray(tau, dtype)
    z = _margins(code, features) / tau
    K = z.shape[0]
    comp = _competitors(K, mask)
    # CE_{k,i} = softplus(x_ki) with x = logsumexp_{j != k} z (see _per_sample_ce).
    x = jax.nn.logsumexp(jnp.where(comp[:, None, :], z, -jnp.inf), axis=-1)  # (K, n)
    log_ce = log_softplus(x)
    if mask is not None:
        log_ce = jnp.where(jnp.asarray(mask, dtype=bool)[:, None], log_ce, -jnp.inf)
    return tau * jax.nn.logsumexp(log_ce)


def weight_decay(
    code: jax.Array,
    features: jax.Array,
    tau=1.0,
    *,
    lam=None,
    lam_w=None,
    lam_h=None,
    mask: jax.Array | None = None,
) -> jax.Array:
    """Return the regularized UFM loss CE + lam_w/2 ||W||_F^2 + lam_h/2 ||H||_F^2 (a scalar, nats).

    GNC paper eq. (10) is ``lam_w = lam_h = lam`` (pass ``lam``); CE is the mean cross-entropy
    of :func:`cross_entropy` at temperature ``tau``.  Here the classifier ``code`` (K, d) and
    ``features`` (K, n, d) are unconstrained: rows need not be unit vectors.

    The Grassmannian-frame paper's eq. (3) uses a *sum* over the N = nK samples with factors
    lambda (on the classifier M) and omega (on the features Z), at tau = 1; it equals
    ``nK * weight_decay(W, H, tau=1, lam_w=lambda / (nK), lam_h=omega / (nK))``.

    ``lam`` sets both factors; ``lam_w`` / ``lam_h`` override it for the classifier / features.
    With ``mask``, padding classes are dropped from the CE and from both norms.
    """
    lam_w = lam if lam_w is None else lam_w
    lam_h = lam if lam_h is None else lam_h
    if lam_w is None or lam_h is None:
        raise ValueError(
            f"weight_decay needs its factors: pass lam (both) or lam_w and lam_h; got "
            f"lam={lam!r}, lam_w={lam_w!r}, lam_h={lam_h!r}"
        )
    _check_nonneg("lam_w", lam_w)
    _check_nonneg("lam_h", lam_h)
    _check_tau(tau)
    _check_shapes(code, features, mask)
    return _weight_decay(code, features, tau, lam_w, lam_h, mask)


@jax.jit
def _weight_decay(code, features, tau, lam_w, lam_h, mask):
    ce = _cross_entropy(code, features, tau, mask)
    dtype = ce.dtype
    W = jnp.asarray(code, dtype)
    H = jnp.asarray(features, dtype)
    if mask is not None:
        m = jnp.asarray(mask, dtype=bool)
        W = jnp.where(m[:, None], W, 0.0)
        H = jnp.where(m[:, None, None], H, 0.0)
    return ce + 0.5 * lam_w * jnp.sum(W * W) + 0.5 * lam_h * jnp.sum(H * H)


def optimal_features(code, *, n: int | None = None) -> jax.Array:
    """Return the HardMax-optimal unit feature of each class for the fixed classifier ``code``.

    By Lemma C.4 of the GNC paper, h_k = normalize(w_k - P_k(w_k)), where P_k(w_k) is the
    nearest point to w_k of the convex hull of the other rows; it attains
    max_{k' != k} <w_k' - w_k, h_k> = -dist(w_k, conv{w_j : j != k}), so
    ``hardmax(code, optimal_features(code, n=1)) == -rho_1vr(code)``.
    Shape (K, d), or (K, n, d) (the same feature repeated n times) when ``n`` is given.
    The hull distances come from :func:`spherecodes.hull.one_vs_rest`.
    """
    from spherecodes.hull import one_vs_rest  # lazy: hull imports heavier machinery

    feature = jnp.asarray(one_vs_rest(code).feature)
    if n is None:
        return feature
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n={n!r} is out of range: the number of samples per class needs n >= 1")
    return jnp.broadcast_to(feature[:, None, :], (feature.shape[0], n, feature.shape[1]))


__all__ = [
    "cross_entropy",
    "cross_entropy_asymptotic",
    "hardmax",
    "optimal_features",
    "weight_decay",
]
