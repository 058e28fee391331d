"""Tests of spherecodes.losses against closed forms and the lemmas of the GNC paper."""

from __future__ import annotations

import importlib.util
import math

import errbounds as eb
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spherecodes.losses import (
    cross_entropy,
    cross_entropy_asymptotic,
    hardmax,
    optimal_features,
    weight_decay,
)

HAVE_HULL = importlib.util.find_spec("spherecodes.hull") is not None


def simplex(K: int, d: int | None = None) -> np.ndarray:
    """K unit vectors with <w_k, w_j> = -1/(K-1), embedded in R^d (d >= K-1)."""
    d = K if d is None else d
    e = np.eye(K) - 1.0 / K
    # An orthonormal basis of the sum-zero subspace puts the simplex in R^(K-1).
    q, _ = np.linalg.qr(e)
    coords = e @ q[:, : K - 1]
    coords /= np.linalg.norm(coords, axis=1, keepdims=True)
    out = np.zeros((K, d))
    out[:, : K - 1] = coords
    return out


def simplex_gram_bound(K: int) -> float:
    """Return a bound on the error of simplex(K)'s Gram entries against -1/(K-1).

    The rows are the rows of P = I - 11^T/K (one rounding each) in the basis Q = q[:, :K-1]; the
    Gram matrix is P Q Q^T P, which is P exactly when Q is an orthonormal basis of 1-perp.  Q's
    measured defects (|Q^T Q - I| and |1^T Q| / sqrt K, each plus dot(K) for measuring them)
    enter at most K times over (|rows| <= 1); then the normalization as in `eb.gram(K)`.
    """
    q, _ = np.linalg.qr(np.eye(K) - 1.0 / K)
    Q = q[:, : K - 1]
    defect = np.abs(Q.T @ Q - np.eye(K - 1)).max() + 2 * np.abs(Q.sum(axis=0)).max() / np.sqrt(K)
    return K * (defect + eb.dot(K)) + eb.gram(K)


def kgon(K: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def rotation(seed: int, d: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def random_problem(seed: int, K: int, n: int, d: int, noise: float):
    """A random unit code and unit features scattered around their own class's row."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    H = W[:, None, :] + noise * rng.standard_normal((K, n, d))
    H /= np.linalg.norm(H, axis=2, keepdims=True)
    return W, H


def naive_ce(W, H, tau):
    """Mean cross-entropy straight from the softmax definition (GNC paper eq. 1)."""
    K, n, _ = H.shape
    total = 0.0
    for k in range(K):
        for i in range(n):
            z = W @ H[k, i] / tau
            p = np.exp(z) / np.exp(z).sum()
            total -= np.log(p[k])
    return total / (n * K)


# ---------------------------------------------------------------------------------------------
# HardMax


@pytest.mark.parametrize("K", [2, 3, 4, 7])
def test_hardmax_simplex_with_self_dual_features(K):
    # <w_k' - w_k, w_k> = -1/(K-1) - 1 = -K/(K-1) for every k' != k.
    W = simplex(K, d=K + 1)
    H = np.repeat(W[:, None, :], 3, axis=1)
    # a piece <w_k', h> - <w_k, h>: two Gram entries (simplex_gram_bound each) and a difference
    bound = 2 * simplex_gram_bound(K) + eb.formula(2, 2.0)
    assert float(hardmax(W, H)) == pytest.approx(-K / (K - 1), abs=bound)


@pytest.mark.parametrize("K", [3, 4, 5, 6, 9])
def test_hardmax_kgon_equals_minus_one_vs_rest_distance(K):
    # The hull of the other K-1 vertices is nearest to w_0 at the midpoint of its two
    # neighbours, cos(2 pi / K) w_0, so dist = 1 - cos(2 pi / K) and the optimal feature
    # normalize(w_0 - cos(2 pi/K) w_0) is w_0 itself.
    W = kgon(K)
    rho = 1 - math.cos(2 * math.pi / K)
    # two Gram entries of rounded cos/sin rows (gram(2)) and a difference; rho: 1 - cos (7 ops)
    piece = 2 * eb.gram(2) + eb.formula(7, 2.0)
    assert float(hardmax(W, W[:, None, :])) == pytest.approx(-rho, abs=piece)
    # Lemma C.4 independently: no unit h on a fine grid does better for class 0 than -rho,
    # and the grid optimum comes within the grid's resolution of it.
    theta = np.linspace(-np.pi, np.pi, 20001)
    h = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    worst = ((W[1:] - W[0]) @ h.T).max(axis=0)
    assert worst.min() >= -rho - piece  # the same rounding, h from cos/sin as well
    assert worst.min() <= -rho + 1e-6


@pytest.mark.skipif(not HAVE_HULL, reason="spherecodes.hull is not written yet")
@pytest.mark.parametrize("seed", [0, 1])
def test_hardmax_at_optimal_features_is_minus_rho_1vr(seed):
    from spherecodes.hull import one_vs_rest, rho_1vr

    rng = np.random.default_rng(seed)
    W = rng.standard_normal((9, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    H = optimal_features(W, n=2)
    assert H.shape == (9, 2, 3)
    np.testing.assert_allclose(np.linalg.norm(H, axis=-1), 1.0, atol=1e-9)
    assert float(hardmax(W, H)) == pytest.approx(-float(rho_1vr(W)), abs=1e-7)
    # Per class, the optimal feature attains -dist(w_k, conv(others)) (Lemma C.4, eq. 28).
    dist = np.asarray(one_vs_rest(W).distance)
    alpha = W[None, :, :] @ np.asarray(H[:, 0, :])[:, :, None]
    alpha = alpha[:, :, 0] - np.sum(W * np.asarray(H[:, 0, :]), axis=1)[:, None]
    np.fill_diagonal(alpha, -np.inf)
    np.testing.assert_allclose(alpha.max(axis=1), -dist, atol=1e-7)
    # Self-dual features can only be worse than the optimal ones.
    assert float(hardmax(W, W[:, None, :])) >= float(hardmax(W, H)) - 1e-9


@pytest.mark.skipif(not HAVE_HULL, reason="spherecodes.hull is not written yet")
# Each new shape compiles the hull solver (~10 s on a shared CPU): one fast case, the rest slow.
@pytest.mark.parametrize(
    "K", [5, pytest.param(3, marks=pytest.mark.slow), pytest.param(8, marks=pytest.mark.slow)]
)
def test_optimal_features_of_kgon_are_the_code(K):
    W = kgon(K)
    np.testing.assert_allclose(np.asarray(optimal_features(W)), W, atol=1e-7)


def test_losses_are_rotation_invariant():
    W, H = random_problem(3, K=6, n=4, d=5, noise=0.5)
    R = rotation(4, 5)
    WR, HR = W @ R.T, H @ R.T
    # each inner product moves by rotated_inner(5, R); a piece holds two, each evaluated twice
    shift = eb.rotated_inner(5, R)
    hm_bound = 2 * shift + eb.same_sum(5 + 1, 2.0)
    assert float(hardmax(WR, HR)) == pytest.approx(float(hardmax(W, H)), abs=hm_bound)
    # a margin moves by 2 shift / tau and CE by at most that (softmax weights sum to < 1)
    ce_bound = 2 * shift / 0.3 + 2 * eb.cross_entropy(6, 4, 5, 0.3)
    assert float(cross_entropy(WR, HR, 0.3)) == pytest.approx(
        float(cross_entropy(W, H, 0.3)), abs=ce_bound
    )
    # |w| = 2: margins and their shift doubled; lam/2 |2 W R^T|^2 is 4 lam/2 sum of K squared
    # norms, each moved by shift (plus dot(5) rounding); |H R^T|^2 likewise over nK rows
    wd_bound = 2 * (2 * shift / 0.3 + eb.cross_entropy(6, 4, 5, 0.3, wh=2**0.5))
    wd_bound += 0.05 * (4 * 6 * (shift + eb.dot(5)) + 24 * (shift + eb.dot(5)))
    wd_bound += eb.same_sum(6 * 5 + 24 * 5, 4 * 6 + 24)
    assert float(weight_decay(2 * WR, HR, 0.3, lam=0.1)) == pytest.approx(
        float(weight_decay(2 * W, H, 0.3, lam=0.1)), abs=wd_bound
    )


def _pad(W, H, K_pad, seed=0):
    """Pad to K_pad classes: zero code rows, arbitrary (nonzero) feature rows."""
    K, n, d = H.shape
    rng = np.random.default_rng(seed)
    Wp = np.concatenate([W, np.zeros((K_pad - K, d))])
    Hp = np.concatenate([H, rng.standard_normal((K_pad - K, n, d))])
    mask = np.arange(K_pad) < K
    return Wp, Hp, mask


def test_mask_equals_unpadded():
    W, H = random_problem(5, K=5, n=3, d=4, noise=0.8)
    Wp, Hp, mask = _pad(W, H, 8)
    # padded and not: the same pieces and sums, possibly in another order; each side within
    # its rounding bound (K = 5, n = 3, d = 4, unit rows)
    hm_bound = eb.same_sum(4 + 1, 2.0)
    assert float(hardmax(Wp, Hp, mask=mask)) == pytest.approx(float(hardmax(W, H)), abs=hm_bound)
    for tau in (1.0, 0.05):
        assert float(cross_entropy(Wp, Hp, tau, mask=mask)) == pytest.approx(
            float(cross_entropy(W, H, tau)), abs=2 * eb.cross_entropy(5, 3, 4, tau)
        )
        assert float(cross_entropy_asymptotic(Wp, Hp, tau, mask=mask)) == pytest.approx(
            float(cross_entropy_asymptotic(W, H, tau)),
            abs=2 * eb.cross_entropy_asymptotic(5, 3, 4, tau),
        )
    # plus lam/2 times sums of 5 and 15 squared unit norms (dot)
    wd_bound = 2 * (eb.cross_entropy(5, 3, 4, 0.5) + 0.05 * eb.dot(20, 5) + 0.1 * eb.dot(60, 15))
    assert float(weight_decay(Wp, Hp, 0.5, lam_w=0.1, lam_h=0.2, mask=mask)) == pytest.approx(
        float(weight_decay(W, H, 0.5, lam_w=0.1, lam_h=0.2)), abs=wd_bound
    )
    # Without the mask the padding does change the value, so the mask is doing the work.
    assert float(cross_entropy(Wp, Hp, 1.0)) != pytest.approx(float(cross_entropy(W, H, 1.0)))


def test_mask_gradients_vanish_on_padding():
    W, H = random_problem(6, K=4, n=2, d=3, noise=0.5)
    Wp, Hp, mask = _pad(W, H, 6)
    gW, gH = jax.grad(cross_entropy, argnums=(0, 1))(Wp, Hp, 0.2, mask=mask)
    assert np.all(np.asarray(gW)[4:] == 0) and np.all(np.asarray(gH)[4:] == 0)
    gW0, gH0 = jax.grad(cross_entropy, argnums=(0, 1))(W, H, 0.2)
    # two evaluations of one gradient; each entry within its 2-norm bound
    g_bound = 2 * eb.cross_entropy_grad(4, 2, 3, 0.2)
    np.testing.assert_allclose(np.asarray(gW)[:4], gW0, rtol=0, atol=g_bound)
    np.testing.assert_allclose(np.asarray(gH)[:4], gH0, rtol=0, atol=g_bound)


# ---------------------------------------------------------------------------------------------
# cross-entropy


@pytest.mark.parametrize("K", [2, 4, 10])
@pytest.mark.parametrize("tau", [1.0, 0.1, 0.01])
def test_cross_entropy_simplex_closed_form(K, tau):
    # Every sample has logit 1/tau for its class and -1/((K-1) tau) for the K-1 others.
    W = simplex(K)
    H = np.repeat(W[:, None, :], 2, axis=1)
    expected = math.log1p((K - 1) * math.exp(-(1 + 1 / (K - 1)) / tau))
    # Relative accuracy holds even where expected ~ 1e-50 (tau = 0.01).
    assert float(cross_entropy(W, H, tau)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("tau", [2.0, 0.5, 0.2])
def test_cross_entropy_matches_naive_softmax(tau):
    W, H = random_problem(7, K=5, n=3, d=3, noise=1.0)
    # the naive softmax (no max shift, |z| <= 1/tau) has the rounding of a log-sum-exp too
    assert float(cross_entropy(W, H, tau)) == pytest.approx(
        naive_ce(W, H, tau), abs=2 * eb.cross_entropy(5, 3, 3, tau)
    )


def test_asymptotic_ce_tends_to_hardmax():
    # Correctly classified noisy features: every margin <= 0, the domain WH^- of Lemma C.2.
    W, H = random_problem(8, K=6, n=3, d=3, noise=0.15)
    K, n, _ = H.shape
    s = np.einsum("jd,kid->kij", W, H)
    alpha = s - np.einsum("kik->ki", s)[:, :, None]
    alpha[np.arange(K), :, np.arange(K)] = -np.inf
    assert alpha.max() < 0, "test premise: all samples correctly classified"
    hm = float(hardmax(W, H))
    assert hm == pytest.approx(alpha.max(), abs=eb.same_sum(3 + 1, 2.0))
    errors = []
    for tau in (0.1, 0.05, 0.02, 1e-3, 1e-5):
        L0 = float(cross_entropy_asymptotic(W, H, tau))
        # Lemma C.2, eq. (23), up to the rounding of L0 and of hm (and of the tau log terms)
        slack = eb.cross_entropy_asymptotic(K, n, 3, tau) + eb.same_sum(4, 2.0) + eb.formula(4, 1)
        assert hm - tau * math.log(K) - slack <= L0 <= hm + tau * math.log(n * K * (K - 1)) + slack
        errors.append(abs(L0 - hm))
    assert all(a > b for a, b in zip(errors[:-1], errors[1:], strict=True)), errors
    # At tau = 1e-5 CE itself underflows to 0, yet L0 is still finite and close to HardMax.
    assert float(cross_entropy(W, H, 1e-5)) == 0.0
    assert errors[-1] < 1e-4


def test_asymptotic_ce_equals_definition_at_moderate_tau():
    W, H = random_problem(9, K=4, n=2, d=3, noise=0.7)
    K, n, _ = H.shape
    for tau in (1.0, 0.3):
        naive = naive_ce(W, H, tau)
        expected = tau * math.log(n * K * naive)  # sum = nK * mean
        # the naive mean's absolute error over its value is the log's absolute error
        bound = (
            eb.cross_entropy_asymptotic(K, n, 3, tau) + tau * eb.cross_entropy(K, n, 3, tau) / naive
        )
        assert float(cross_entropy_asymptotic(W, H, tau)) == pytest.approx(
            expected, abs=bound + eb.formula(3, abs(expected))
        )


@pytest.mark.parametrize("fn", [cross_entropy, cross_entropy_asymptotic])
def test_gradients_finite_at_tiny_tau(fn):
    # Noisy enough that some samples are misclassified: large logits of both signs.
    W, H = random_problem(10, K=6, n=3, d=3, noise=1.5)
    for tau in (1e-3, 1e-6):
        value = fn(W, H, tau)
        gW, gH = jax.grad(fn, argnums=(0, 1))(W, H, tau)
        assert np.isfinite(float(value))
        assert np.isfinite(np.asarray(gW)).all() and np.isfinite(np.asarray(gH)).all()
        assert np.abs(np.asarray(gW)).max() > 0


def test_gradient_matches_finite_differences():
    W, H = random_problem(11, K=4, n=2, d=3, noise=0.6)
    rng = np.random.default_rng(12)
    dW, dH = rng.standard_normal(W.shape), rng.standard_normal(H.shape)
    for fn, args in [
        (cross_entropy, dict(tau=0.3)),
        (cross_entropy_asymptotic, dict(tau=0.3)),
        (weight_decay, dict(tau=0.3, lam_w=0.05, lam_h=0.2)),
    ]:
        gW, gH = jax.grad(lambda w, h, fn=fn, args=args: fn(w, h, **args), argnums=(0, 1))(W, H)
        eps = 1e-6
        fd = (fn(W + eps * dW, H + eps * dH, **args) - fn(W - eps * dW, H - eps * dH, **args)) / (
            2 * eps
        )
        directional = np.sum(np.asarray(gW) * dW) + np.sum(np.asarray(gH) * dH)
        assert directional == pytest.approx(float(fd), rel=1e-7, abs=1e-9)


def test_jit_and_vmap_match_a_loop():
    probs = [random_problem(s, K=5, n=2, d=3, noise=0.6) for s in range(4)]
    Ws = np.stack([p[0] for p in probs])
    Hs = np.stack([p[1] for p in probs])
    taus = np.array([1.0, 0.5, 0.1, 0.05])
    batched = jax.jit(jax.vmap(cross_entropy))(Ws, Hs, taus)
    hm = jax.jit(jax.vmap(hardmax))(Ws, Hs)
    for b in range(4):
        assert float(batched[b]) == pytest.approx(float(cross_entropy(Ws[b], Hs[b], taus[b])))
        assert float(hm[b]) == pytest.approx(
            float(hardmax(Ws[b], Hs[b])), abs=eb.same_sum(3 + 1, 2.0)
        )
    # Padded batch: one compiled program for unlike K, each equal to its unpadded loss.
    sizes = [3, 5, 4, 2]
    Wp = np.stack([_pad(Ws[b][: sizes[b]], Hs[b][: sizes[b]], 5, seed=b)[0] for b in range(4)])
    Hp = np.stack([_pad(Ws[b][: sizes[b]], Hs[b][: sizes[b]], 5, seed=b)[1] for b in range(4)])
    masks = np.arange(5)[None, :] < np.array(sizes)[:, None]
    ce_p = jax.jit(jax.vmap(lambda w, h, t, m: cross_entropy(w, h, t, mask=m)))(Wp, Hp, taus, masks)
    hm_p = jax.jit(jax.vmap(lambda w, h, m: hardmax(w, h, mask=m)))(Wp, Hp, masks)
    for b, K in enumerate(sizes):
        W, H = Ws[b][:K], Hs[b][:K]
        assert float(ce_p[b]) == pytest.approx(
            float(cross_entropy(W, H, taus[b])), abs=2 * eb.cross_entropy(5, 2, 3, taus[b])
        )
        assert float(hm_p[b]) == pytest.approx(float(hardmax(W, H)), abs=eb.same_sum(3 + 1, 2.0))


def test_float32_stays_float32_and_float64_is_float64():
    W, H = random_problem(13, K=4, n=2, d=3, noise=0.5)
    assert cross_entropy(W, H, 0.1).dtype == jnp.float64
    assert cross_entropy(W.astype(np.float32), H.astype(np.float32), 0.1).dtype == jnp.float32
    assert hardmax(W.astype(np.float32), H.astype(np.float32)).dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# weight decay


def test_weight_decay_equals_ce_plus_penalties():
    rng = np.random.default_rng(14)
    W, H = 1.7 * rng.standard_normal((5, 3)), 0.8 * rng.standard_normal((5, 4, 3))
    ce = float(cross_entropy(W, H, 0.7))
    sw, sh = float(np.sum(W**2)), float(np.sum(H**2))
    # CE evaluated twice at rows of norm <= wh (the magnitudes of this problem), the 15- and
    # 60-term sums of squares twice each (times lam/2 <= 0.15), and the final 3 additions
    wh = math.sqrt(np.linalg.norm(W, axis=1).max() * np.linalg.norm(H, axis=2).max())
    ce_err = 2 * eb.cross_entropy(5, 4, 3, 0.7, wh)
    bound = ce_err + 2 * 0.15 * (eb.dot(15, sw) + eb.dot(60, sh)) + eb.formula(3, ce + sw + sh)
    assert float(weight_decay(W, H, 0.7, lam=0.1)) == pytest.approx(
        ce + 0.05 * (sw + sh), abs=bound
    )
    assert float(weight_decay(W, H, 0.7, lam_w=0.1, lam_h=0.3)) == pytest.approx(
        ce + 0.05 * sw + 0.15 * sh, abs=bound
    )
    # lam sets both, lam_h overrides one of them.
    assert float(weight_decay(W, H, 0.7, lam=0.1, lam_h=0.3)) == pytest.approx(
        ce + 0.05 * sw + 0.15 * sh, abs=bound
    )


def test_weight_decay_matches_grassmannian_eq3():
    # Sum over samples, factors lambda (classifier M) and omega (features Z), tau = 1.
    rng = np.random.default_rng(15)
    K, n, d = 4, 3, 3
    M, Z = rng.standard_normal((K, d)), rng.standard_normal((K, n, d))
    lam, omega = 0.3, 0.07
    eq3 = n * K * naive_ce(M, Z, 1.0) + omega / 2 * np.sum(Z**2) + lam / 2 * np.sum(M**2)
    ours = n * K * float(weight_decay(M, Z, 1.0, lam_w=lam / (n * K), lam_h=omega / (n * K)))
    # nK times two mean CEs (ours and the naive softmax) at rows of norm <= wh, the sums of
    # squares (12 and 36 terms) twice each, and the few products and sums around them
    wh = math.sqrt(np.linalg.norm(M, axis=1).max() * np.linalg.norm(Z, axis=2).max())
    sm, sz = float(np.sum(M**2)), float(np.sum(Z**2))
    bound = n * K * 2 * eb.cross_entropy(K, n, d, 1.0, wh)
    bound += 2 * (lam / 2 * eb.dot(12, sm) + omega / 2 * eb.dot(36, sz)) + eb.formula(6, abs(eq3))
    assert ours == pytest.approx(eq3, abs=bound)


def _wd_stationary_point(K, n, tau, lam_w, lam_h):
    """Scaled simplex w_k = a e_k, h_{k,i} = b e_k at which grad(weight_decay) = 0.

    With t = ab the loss is g(t) + lam_w K a^2/2 + lam_h n K b^2/2, g(t) = log(1 + (K-1) e^{-ct}),
    c = K/((K-1) tau).  Setting d/da = d/db = 0 gives lam_w a^2 = lam_h n b^2 and
    -g'(t) = s := K sqrt(lam_w lam_h n), i.e. u = (K-1) e^{-ct} = s/(c - s).  By the symmetry of
    the simplex the gradient lies in the span of this two-parameter family, so it is 0.
    """
    c = K / ((K - 1) * tau)
    s = K * math.sqrt(lam_w * lam_h * n)
    assert s < c
    u = s / (c - s)
    t = math.log((K - 1) / u) / c
    assert t > 0
    r = math.sqrt(lam_w / (lam_h * n))
    a = math.sqrt(t / r)
    return a, a * r


@pytest.mark.parametrize("K,d", [(3, 3), (4, 5), (6, 5)])
def test_weight_decay_gradient_vanishes_at_scaled_simplex(K, d):
    n, tau, lam_w, lam_h = 2, 0.5, 0.01, 0.03
    a, b = _wd_stationary_point(K, n, tau, lam_w, lam_h)
    E = simplex(K, d)
    W, H = a * E, np.repeat(b * E[:, None, :], n, axis=1)

    def grads(W, H):
        return jax.grad(weight_decay, argnums=(0, 1))(W, H, tau, lam_w=lam_w, lam_h=lam_h)

    gW, gH = grads(W, H)
    # 0 at the exact point.  The computed point is off by delta: a and b from ~5 logs and square
    # roots (formula(20) relative) and the simplex's own error (simplex_gram_bound), over
    # sqrt(K d (1 + n)) entries; the gradient is Lipschitz with L <= lam + 2 (a + b)^2 / tau^2
    # + 1 / tau (softmax Jacobian <= 1, |h| / tau and |w| / tau factors, the p / tau cross
    # term).  Plus the gradient's own rounding (cross_entropy_grad, |w|, |h| <= max(a, b)) and
    # of lam * w.
    r = max(a, b)
    delta = (eb.formula(20) + simplex_gram_bound(K)) * r * math.sqrt(K * d * (1 + n))
    L = max(lam_w, lam_h) + 2 * (a + b) ** 2 / tau**2 + 1 / tau
    bound = (
        L * delta + eb.cross_entropy_grad(K, n, d, tau, r) + max(lam_w, lam_h) * eb.formula(1, r)
    )
    assert np.abs(np.asarray(gW)).max() < bound
    assert np.abs(np.asarray(gH)).max() < bound
    # Not vacuous: 10% off the stationary scale the gradient is clearly nonzero.
    gW2, _ = grads(1.1 * W, H)
    assert np.abs(np.asarray(gW2)).max() > 1e-4


# ---------------------------------------------------------------------------------------------
# argument checks


@pytest.mark.parametrize("tau", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_tau_raises(tau):
    W, H = random_problem(16, K=3, n=1, d=2, noise=0.1)
    for fn in (cross_entropy, cross_entropy_asymptotic):
        with pytest.raises(ValueError, match=r"tau=.*0 < tau"):
            fn(W, H, tau)
    with pytest.raises(ValueError, match="tau"):
        weight_decay(W, H, tau, lam=0.1)


def test_bad_shapes_raise():
    W, H = random_problem(17, K=3, n=2, d=4, noise=0.1)
    with pytest.raises(ValueError, match="features must have shape"):
        hardmax(W, H[:2])
    with pytest.raises(ValueError, match="features must have shape"):
        cross_entropy(W, H[..., :3], 0.1)
    with pytest.raises(ValueError, match="features must have shape"):
        cross_entropy(W, H[:, 0, :], 0.1)
    with pytest.raises(ValueError, match="code must have shape"):
        hardmax(W[0], H)
    with pytest.raises(ValueError, match="mask must have shape"):
        hardmax(W, H, mask=np.ones(4, bool))


def test_weight_decay_needs_valid_factors():
    W, H = random_problem(18, K=3, n=1, d=2, noise=0.1)
    with pytest.raises(ValueError, match="lam"):
        weight_decay(W, H, 1.0)
    with pytest.raises(ValueError, match="lam_h"):
        weight_decay(W, H, 1.0, lam_w=0.1)
    with pytest.raises(ValueError, match=r"lam_w=-0.1"):
        weight_decay(W, H, 1.0, lam=-0.1)
