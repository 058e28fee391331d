"""Tests of spherecodes.gnc against closed forms of collapsed and perturbed configurations."""

from __future__ import annotations

import importlib.util
import math

import errbounds as eb
import numpy as np
import pytest

from spherecodes.gnc import GNCMetrics, gnc1, gnc2, gnc3, gnc_metrics, ncc_accuracy

HAVE_HULL = importlib.util.find_spec("spherecodes.hull") is not None
needs_hull = pytest.mark.skipif(not HAVE_HULL, reason="spherecodes.hull is not written yet")


def simplex(K: int, d: int) -> np.ndarray:
    """K unit vectors with <w_k, w_j> = -1/(K-1), embedded in R^d (d >= K-1)."""
    e = np.eye(K) - 1.0 / K
    q, _ = np.linalg.qr(e)
    coords = e @ q[:, : K - 1]
    coords /= np.linalg.norm(coords, axis=1, keepdims=True)
    out = np.zeros((K, d))
    out[:, : K - 1] = coords
    return out


def kgon(K: int, phase: float = 0.0) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def rotation(seed: int, d: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def collapsed(W: np.ndarray, n: int):
    """Features h_{k,i} = w_k for n samples per class, shuffled, with their labels."""
    K = W.shape[0]
    labels = np.repeat(np.arange(K), n)
    perm = np.random.default_rng(0).permutation(K * n)
    return W[labels][perm], labels[perm]


def noisy(seed: int, K: int, n: int, d: int, noise: float):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    labels = np.repeat(np.arange(K), n)
    H = W[labels] + noise * rng.standard_normal((K * n, d))
    return H, labels, W


@pytest.mark.parametrize("K,d", [(3, 2), (4, 3), (5, 7)])
def test_collapsed_simplex_gnc1_gnc3_ncc(K, d):
    W = simplex(K, d)
    H, y = collapsed(W, 4)
    lam_max = np.linalg.eigvalsh(W.T @ W / K).max()  # Sigma_B = means^T means / K, means = W
    assert gnc1(H, y) == pytest.approx(0.0, abs=eb.gnc1_collapsed(4, K, lam_max))
    assert gnc3(H, y, W) == pytest.approx(0.0, abs=eb.gnc3_closed(4, d))
    assert ncc_accuracy(H, y) == 1.0


# Each new shape compiles the hull solver (~10 s on a shared CPU): one fast case, the rest slow.
@needs_hull
@pytest.mark.parametrize(
    "K,d",
    [
        (4, 3),
        pytest.param(3, 2, marks=pytest.mark.slow),
        pytest.param(5, 7, marks=pytest.mark.slow),
    ],
)
def test_collapsed_simplex_all_metrics(K, d):
    # The hull of the other K-1 vertices is nearest to w_k at its centroid
    # sum_{j != k} w_j / (K-1) = -w_k / (K-1) (the rows sum to 0), so every one-vs-rest
    # distance is 1 + 1/(K-1) = K/(K-1).
    W = simplex(K, d)
    H, y = collapsed(W, 3)
    m = gnc_metrics(H, y, W)
    assert isinstance(m, GNCMetrics)
    lam_max = np.linalg.eigvalsh(W.T @ W / K).max()
    assert m.gnc1 == pytest.approx(0.0, abs=eb.gnc1_collapsed(3, K, lam_max))
    assert m.gnc2 == pytest.approx(K / (K - 1), abs=1e-7)
    assert m.gnc3 == pytest.approx(0.0, abs=eb.gnc3_closed(3, d))
    assert m.ncc_accuracy == 1.0
    assert gnc2(3.0 * W) == pytest.approx(K / (K - 1), abs=1e-7)  # rows are normalized


@pytest.mark.parametrize("theta", [0.1, 0.4, 0.9, 1.2])
def test_triangle_with_spread_features_closed_forms(theta):
    # K = 3 in d = 2, class k's two samples at angles +-theta around w_k (unit features).
    # Means m_k = cos(theta) w_k; deviations +-sin(theta) t_k with t_k the tangent at w_k.
    # Both {w_k} and {t_k} are tight frames: sum_k w_k w_k^T = sum_k t_k t_k^T = (3/2) I, so
    # Sigma_B = cos^2/2 I, Sigma_W = sin^2/2 I and GNC1 = (1/3) tr(tan^2 I) = 2 tan^2(theta)/3.
    W = kgon(3)
    H = np.concatenate([kgon(3, theta), kgon(3, -theta)])
    y = np.concatenate([np.arange(3), np.arange(3)])
    # Sigma_B = cos^2/2 I (kappa = 1), deviations of size sin(theta) (a cancellation), N = 6,
    # n = 2; the reference tan^2 has about 8 roundings
    rel = eb.gnc1_relative(6, 2, 2, 3, 1.0, math.sin(theta)) + eb.formula(8)
    assert gnc1(H, y) == pytest.approx(2 * math.tan(theta) ** 2 / 3, rel=rel)
    # rows from cos/sin (4 eps each, within gram's allowance) and 1 - cos (formula(7))
    bound = eb.gnc3_closed(2, 2) + eb.gram(2) + eb.formula(7)
    assert gnc3(H, y, W) == pytest.approx(1 - math.cos(theta), abs=bound)
    # All means have length cos(theta): the nearest is the nearest in angle, theta for the own
    # class and 2 pi/3 - theta for the next one, so NCC is all right below pi/3, all wrong above.
    assert ncc_accuracy(H, y) == (1.0 if theta < math.pi / 3 else 0.0)


def test_gnc1_uses_uncentred_between_class_matrix():
    # Means (1, 1) and (1, -1): uncentred Sigma_B = I; within-class spread +-delta along e1,
    # so Sigma_W = delta^2 e1 e1^T and GNC1 = delta^2 / 2.  (With the global mean (1, 0)
    # subtracted, Sigma_B would be e2 e2^T and its pseudo-inverse would hide the spread: 0.)
    delta = 0.3
    H = np.array([[1 + delta, 1], [1 - delta, 1], [1 + delta, -1], [1 - delta, -1]])
    y = np.array([0, 0, 1, 1])
    # Sigma_B = I (kappa = 1), raw features of size <= sqrt(1 + (1 + delta)^2), spread delta
    rel = eb.gnc1_relative(4, 2, 2, 2, 1.0, delta, h_max=math.hypot(1, 1 + delta)) + eb.formula(3)
    assert gnc1(H, y, normalize_features=False) == pytest.approx(delta**2 / 2, rel=rel)


def test_gnc1_ignores_spread_outside_the_span_of_the_means():
    # Pseudo-inverse: means span e1 only, spread along e2 is invisible to tr(Sigma_W Sigma_B^+).
    H = np.array([[1, 0.5], [1, -0.5], [-1, 0.5], [-1, -0.5]])
    y = np.array([0, 0, 1, 1])
    # means (+-1, 0) and Sigma_B = diag(1, 0) are exact here; eigh's eigenvectors are off by at
    # most 4 d eps / gap (gap 1, Davis-Kahan with eigh's backward error), which leaks
    # ||Sigma_W|| = 1/4 into the kept direction to second order: 2 (4 d eps)^2 / 4 / K (the
    # null eigenvalue is computed exactly 0 from an exact diagonal matrix, below the rank cut)
    bound = 2 * (4 * 2 * eb.EPS) ** 2 / 4 / 2
    assert gnc1(H, y, normalize_features=False) == pytest.approx(0.0, abs=bound)


def test_ncc_accuracy_counts_the_misclassified_sample():
    # Unit features; the last class-0 sample lies at 140 degrees.  Class means:
    # m0 = ((3 + cos 140)/4, sin 140/4) = (0.558, 0.161), m1 = (-1, 0).  That sample is 1.41
    # from m0 and 0.68 from m1, so it alone is misclassified (the others are 0.47 from m0).
    a = math.radians(140)
    H = np.array([[1, 0], [1, 0], [1, 0], [math.cos(a), math.sin(a)], [-1, 0], [-1, 0]])
    y = np.array([0, 0, 0, 0, 1, 1])
    means = np.array([H[:4].mean(0), H[4:].mean(0)])
    dist = np.linalg.norm(H[:, None, :] - means[None], axis=2)
    expected = float(np.mean(dist.argmin(1) == y))
    assert expected == pytest.approx(5 / 6)  # brute force agrees with the hand count
    assert ncc_accuracy(H, y) == pytest.approx(5 / 6)


def test_noisy_features_are_not_collapsed():
    H, y, W = noisy(1, K=6, n=20, d=4, noise=0.3)
    assert gnc1(H, y) > 1e-3
    assert gnc3(H, y, W) > 1e-3
    # Less noise, less variability: GNC1 grows with the spread.
    H2, y2, _ = noisy(1, K=6, n=20, d=4, noise=0.03)
    assert gnc1(H2, y2) < gnc1(H, y)


def test_rotation_invariance():
    # K = 4, d = 3: the shape of the fast collapsed-simplex case, so the hull solver is reused.
    H, y, W = noisy(2, K=4, n=10, d=3, noise=0.4)
    R = rotation(3, 3)
    for fn, args in [(gnc1, (H, y)), (ncc_accuracy, (H, y))]:
        rot = tuple(a @ R.T if a.ndim == 2 else a for a in args)
        assert fn(*rot) == pytest.approx(fn(*args), rel=1e-10)
    assert gnc3(H @ R.T, y, W @ R.T) == pytest.approx(gnc3(H, y, W), rel=1e-10)
    if HAVE_HULL:
        a, b = gnc_metrics(H, y, W), gnc_metrics(H @ R.T, y, W @ R.T)
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-7, atol=1e-9)


def test_features_normalized_by_default():
    H, y, W = noisy(4, K=5, n=6, d=3, noise=0.5)
    scale = np.random.default_rng(5).uniform(0.5, 3.0, size=(len(y), 1))
    # after normalization the two feature sets differ by 2 (d + 2) u per row (unit_norm(3)), a
    # relative perturbation the GNC1 computation sees like its own rounding of the means:
    # twice gnc1_relative with this problem's Sigma_B condition number and spread
    h = H / np.linalg.norm(H, axis=1, keepdims=True)
    means = np.array([h[y == k].mean(axis=0) for k in range(5)])
    ev = np.linalg.eigvalsh(means.T @ means / 5)
    spread = np.sqrt(np.mean(np.sum((h - means[y]) ** 2, axis=1)))
    rel = 2 * eb.gnc1_relative(30, 6, 3, 5, ev.max() / ev.min(), spread) + eb.unit_norm(3) / spread
    assert gnc1(scale * H, y) == pytest.approx(gnc1(H, y), rel=rel)
    assert gnc3(scale * H, y, W) == pytest.approx(gnc3(H, y, W), abs=2 * eb.gnc3_closed(6, 3))
    assert gnc1(scale * H, y, normalize_features=False) != pytest.approx(gnc1(H, y), rel=1e-3)


def test_results_are_python_floats():
    H, y, W = noisy(6, K=4, n=3, d=3, noise=0.2)
    for v in (gnc1(H, y), gnc3(H, y, W), ncc_accuracy(H, y)):
        assert type(v) is float


# ---------------------------------------------------------------------------------------------
# argument checks


def test_bad_labels_raise():
    H, y, W = noisy(7, K=4, n=3, d=3, noise=0.2)
    with pytest.raises(ValueError, match=r"labels\[0\]=4 is out of range.*\[0, K=4\)"):
        gnc3(H, np.where(np.arange(len(y)) == 0, 4, y), W)
    with pytest.raises(ValueError, match=r"labels\[2\]=-1"):
        gnc3(H, np.where(np.arange(len(y)) == 2, -1, y), W)
    with pytest.raises(ValueError, match="class 2 has no samples"):
        gnc3(H, np.where(y == 2, 1, y), W)
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\)"):
        gnc3(H, y[:-1], W)
    with pytest.raises(ValueError, match="labels must be integers"):
        gnc3(H, y + 0.5, W)
    with pytest.raises(ValueError, match="class 4 has no samples"):
        gnc1(H, y, num_classes=5)
    with pytest.raises(ValueError, match="class 3 has no samples"):
        gnc_metrics(H[y < 3], y[y < 3], W)


def test_bad_shapes_raise():
    H, y, W = noisy(8, K=4, n=3, d=3, noise=0.2)
    with pytest.raises(ValueError, match="classifier has d=2 columns but features have d=3"):
        gnc3(H, y, W[:, :2])
    with pytest.raises(ValueError, match=r"features must have shape \(N, d\)"):
        gnc1(H[None], y)
    with pytest.raises(ValueError, match="classifier has zero row"):
        gnc3(H, y, np.where(np.arange(4)[:, None] == 1, 0.0, W))
    with pytest.raises(ValueError, match="zero sample"):
        gnc1(np.where(np.arange(len(y))[:, None] == 1, 0.0, H), y)
