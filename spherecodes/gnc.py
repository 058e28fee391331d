"""Generalized neural collapse (GNC) metrics of user features, labels and a classifier.

Definitions follow section 2.2 of Jiang et al., "Generalized Neural Collapse for a Large Number
of Classes" (ICML 2024), whose model keeps features and classifier rows on the unit sphere:

- class means h̄_k = (1/n_k) sum_{i: y_i = k} h_i (plain means: NOT renormalized, as written);
- GNC1 = (1/K) tr(Sigma_W Sigma_B^+), with the between-class matrix UNCENTRED as written,
  Sigma_B = (1/K) sum_k h̄_k h̄_k^T (Papyan et al. subtract the global mean first; the GNC paper
  does not), and Sigma_W = (1/N) sum_i (h_i - h̄_{y_i})(h_i - h̄_{y_i})^T, which is the paper's
  (1/nK) sum_{k,i} for balanced classes; ^+ is the Moore-Penrose pseudo-inverse;
- GNC2 = rho_1vr(W) = min_k dist(w_k, conv{w_j : j != k}) of the row-normalized classifier;
- GNC3 = (1/K) sum_k (1 - <w_k, h̄_k>) with unit w_k and the plain mean h̄_k;
- NCC accuracy: the fraction of samples whose nearest class mean (Euclidean) is their own.

Because the paper's features lie on the sphere, the features are normalized to unit length
first by default (``normalize_features=True``, a no-op for spherical features); pass False to
measure raw features (then GNC3 mixes lengths and angles and is no longer in [0, 2]).
All results are float64 NumPy scalars.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class GNCMetrics(NamedTuple):
    """The GNC measures of one (features, labels, classifier) triple."""

    gnc1: float  # () float64: (1/K) tr(Sigma_W Sigma_B^+), >= 0, 0 under variability collapse
    gnc2: float  # () float64: rho_1vr of the normalized classifier, a Euclidean distance in [0, 2]
    gnc3: float  # () float64: (1/K) sum_k (1 - <w_k, h̄_k>), 0 under self-duality
    ncc_accuracy: float  # () float64: nearest-class-centre accuracy, a fraction in [0, 1]


# ---------------------------------------------------------------------------------------------
# validation


def _as_features(features, *, normalize: bool) -> np.ndarray:
    h = np.asarray(features, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"features must have shape (N, d); got shape {h.shape}")
    if h.shape[0] < 1 or h.shape[1] < 1:
        raise ValueError(f"features must have N >= 1 samples and d >= 1; got shape {h.shape}")
    if not np.isfinite(h).all():
        bad = np.flatnonzero(~np.isfinite(h).all(axis=1))
        raise ValueError(f"features has NaN or infinite entries in sample(s) {bad[:5].tolist()}")
    if normalize:
        norms = np.linalg.norm(h, axis=1)
        if (norms == 0).any():
            bad = np.flatnonzero(norms == 0)
            raise ValueError(
                f"features has zero sample(s) {bad[:5].tolist()}: they cannot be normalized onto "
                f"the sphere (pass normalize_features=False to use raw features)"
            )
        h = h / norms[:, None]
    return h


def _as_classifier(classifier, d: int | None = None) -> np.ndarray:
    w = np.asarray(classifier, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"classifier must have shape (K, d); got shape {w.shape}")
    K, dw = w.shape
    if K < 2:
        raise ValueError(f"classifier has K={K} rows: GNC needs K >= 2 classes")
    if d is not None and dw != d:
        raise ValueError(f"classifier has d={dw} columns but features have d={d}")
    if not np.isfinite(w).all():
        raise ValueError("classifier has NaN or infinite entries")
    norms = np.linalg.norm(w, axis=1)
    if (norms == 0).any():
        raise ValueError(f"classifier has zero row(s) {np.flatnonzero(norms == 0)[:5].tolist()}")
    return w / norms[:, None]


def _as_labels(labels, N: int, K: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (N,):
        raise ValueError(f"labels must have shape (N,) = ({N},) to match features; got {y.shape}")
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels must be integers in [0, K); got dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= K)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"labels[{i}]={int(y[i])} is out of range: labels must lie in [0, K={K})")
    counts = np.bincount(y, minlength=K)
    if (counts == 0).any():
        k = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(f"class {k} has no samples: every class in [0, K={K}) needs at least one")
    return y


def _prepare(features, labels, K: int, normalize: bool):
    h = _as_features(features, normalize=normalize)
    y = _as_labels(labels, h.shape[0], K)
    return h, y


def _class_means(h: np.ndarray, y: np.ndarray, K: int) -> np.ndarray:
    """Return the plain class means h̄_k, shape (K, d)."""
    sums = np.zeros((K, h.shape[1]))
    np.add.at(sums, y, h)
    return sums / np.bincount(y, minlength=K)[:, None]


def _num_classes(labels, num_classes: int | None) -> int:
    if num_classes is not None:
        if not (isinstance(num_classes, (int, np.integer)) and num_classes >= 2):
            raise ValueError(f"num_classes={num_classes!r} is out of range: need K >= 2 classes")
        return int(num_classes)
    y = np.asarray(labels)
    if y.size == 0:
        raise ValueError("labels is empty: need at least one sample per class")
    return int(np.max(y)) + 1


# ---------------------------------------------------------------------------------------------
# metrics on validated arrays


def _gnc1(h, y, means) -> float:
    K = means.shape[0]
    centred = h - means[y]
    sigma_w = centred.T @ centred / h.shape[0]
    sigma_b = means.T @ means / K
    # Cut eigenvalues below the rank tolerance of numpy.linalg.matrix_rank: round-off
    # directions of a rank-deficient Sigma_B (e.g. a simplex, whose means sum to 0) must not
    # be inverted.
    evals, evecs = np.linalg.eigh(sigma_b)
    tol = max(evals.max(), 0.0) * max(sigma_b.shape) * np.finfo(np.float64).eps
    inv = np.where(evals > tol, 1.0 / np.where(evals > tol, evals, 1.0), 0.0)
    pinv = (evecs * inv) @ evecs.T
    return float(np.trace(sigma_w @ pinv) / K)


def _gnc3(w, means) -> float:
    return float(np.mean(1.0 - np.sum(w * means, axis=1)))


def _ncc(h, y, means) -> float:
    # ||h - m||^2 = ||h||^2 - 2<h, m> + ||m||^2; the first term is common to all classes.
    score = 2.0 * h @ means.T - np.sum(means * means, axis=1)[None, :]
    return float(np.mean(np.argmax(score, axis=1) == y))


# ---------------------------------------------------------------------------------------------
# public API


def gnc1(features, labels, *, num_classes: int | None = None, normalize_features: bool = True):
    """Return GNC1 = (1/K) tr(Sigma_W Sigma_B^+) (float64, >= 0; 0 under variability collapse).

    ``features`` (N, d), ``labels`` (N,) ints in [0, K); K is ``num_classes`` or max(labels)+1.
    Sigma_B is uncentred, as in the GNC paper (see the module docstring).

    >>> float(gnc1([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 0, 1]))
    0.0
    """
    K = _num_classes(labels, num_classes)
    h, y = _prepare(features, labels, K, normalize_features)
    return _gnc1(h, y, _class_means(h, y, K))


def gnc2(classifier) -> float:
    """Return GNC2 = rho_1vr of the row-normalized ``classifier`` (K, d): a distance in [0, 2]."""
    from spherecodes.hull import rho_1vr  # lazy: hull imports heavier machinery

    return float(rho_1vr(_as_classifier(classifier)))


def gnc3(features, labels, classifier, *, normalize_features: bool = True) -> float:
    """Return GNC3 = (1/K) sum_k (1 - <w_k, h̄_k>) with unit w_k (float64; 0 under self-duality).

    K is the number of rows of ``classifier``; h̄_k is the plain mean of class k's features
    (unit features by default, the mean itself not renormalized, as in the GNC paper).
    """
    h = _as_features(features, normalize=normalize_features)
    w = _as_classifier(classifier, h.shape[1])
    K = w.shape[0]
    y = _as_labels(labels, h.shape[0], K)
    return _gnc3(w, _class_means(h, y, K))


def ncc_accuracy(
    features, labels, *, num_classes: int | None = None, normalize_features: bool = True
) -> float:
    """Return the nearest-class-centre accuracy: fraction (in [0, 1]) of samples whose nearest
    class mean (Euclidean, ties to the lowest class index) is their own class."""
    K = _num_classes(labels, num_classes)
    h, y = _prepare(features, labels, K, normalize_features)
    return _ncc(h, y, _class_means(h, y, K))


def gnc_metrics(features, labels, classifier, *, normalize_features: bool = True) -> GNCMetrics:
    """Return GNCMetrics(gnc1, gnc2, gnc3, ncc_accuracy) of the features, labels and classifier.

    ``features`` (N, d); ``labels`` (N,) ints in [0, K); ``classifier`` (K, d), rows need not be
    unit (they are normalized).  Every class needs at least one sample.  See the module
    docstring for the exact definitions.
    """
    h = _as_features(features, normalize=normalize_features)
    w = _as_classifier(classifier, h.shape[1])
    K = w.shape[0]
    y = _as_labels(labels, h.shape[0], K)
    means = _class_means(h, y, K)
    return GNCMetrics(
        gnc1=_gnc1(h, y, means),
        gnc2=gnc2(w),
        gnc3=_gnc3(w, means),
        ncc_accuracy=_ncc(h, y, means),
    )


__all__ = ["GNCMetrics", "gnc1", "gnc2", "gnc3", "gnc_metrics", "ncc_accuracy"]
