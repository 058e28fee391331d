"""Pymanopt's packing-on-the-sphere recipe (Manopt ``examples/packing_on_the_sphere.m``).

The Tammes objective max_{i < j} <x_i, x_j> is replaced by its log-sum-exp smoothing

    f_eps(X) = s + eps * log(sum_{i < j} exp((<x_i, x_j> - s) / eps)),   s = max_{i < j} <x_i, x_j>

(the shift by s is Manopt's, against overflow) on the oblique manifold (points as unit columns,
Manopt's ``obliquefactory``; here ``pymanopt.manifolds.Oblique(d, K)``).  The example's comments
recommend "to reduce epsilon bit by bit and to warm-start subsequent optimization in that way.
Trustregions will be more appropriate for these fine tunings", so: eps = 0.5^k for k = 1, 2, ...
down to `eps_min`, each stage warm-started from the previous one, with conjugate gradient
(``method="cg"``, the example's solver, its ``min_gradient_norm=1e-8``, Pymanopt's other defaults
per stage: 1000 iterations, 5000 cost evaluations) or Riemannian trust regions
(``method="tr"``, exact Hessian-vector products).

Cost, gradient and Hessian are hand-written NumPy (Pymanopt's ``numpy`` backend), as in the
Manopt example (cost and gradient with a shared cache there): the fastest backend for the peer
on a CPU, faster than autograd or op-by-op JAX differentiation at these sizes.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.peers.common import PeerRun, Tracker, check_cell, random_start

METHODS = ("cg", "tr")


def _import_pymanopt():
    try:
        import pymanopt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Pymanopt peer needs pymanopt (pip install pymanopt; the numpy backend "
            "suffices, no autograd/jax/torch backend is used)"
        ) from e
    return pymanopt


def _lse_parts(X: np.ndarray, eps: float):
    """Return (s, E, u) for points as columns of X (d, K): E = exp((X^T X - s)/eps), zero
    diagonal; u = sum_{i<j} E_ij."""
    Y = X.T @ X
    K = Y.shape[0]
    iu = np.triu_indices(K, 1)
    s = Y[iu].max()
    np.fill_diagonal(Y, -np.inf)  # exp(-inf) = 0: the diagonal is not a piece
    E = np.exp((Y - s) / eps)
    u = 0.5 * E.sum()
    return s, E, u


def make_problem(d: int, K: int, eps: float, tracker: Tracker | None = None):
    """Return the pymanopt.Problem of f_eps on Oblique(d, K) (points are unit columns).

    Every cost evaluation reports its point and true max inner product to `tracker`.
    """
    pymanopt = _import_pymanopt()
    manifold = pymanopt.manifolds.Oblique(d, K)

    @pymanopt.function.numpy(manifold)
    def cost(X):
        s, E, u = _lse_parts(X, eps)
        if tracker is not None:
            tracker.see(X.T, s)
        return s + eps * math.log(u)

    @pymanopt.function.numpy(manifold)
    def euclidean_gradient(X):
        _, E, u = _lse_parts(X, eps)
        return X @ E / u

    @pymanopt.function.numpy(manifold)
    def euclidean_hessian(X, V):
        _, E, u = _lse_parts(X, eps)
        XtV = X.T @ V
        dE = E * (XtV + XtV.T) / eps
        du = 0.5 * dE.sum()
        return (X @ dE + V @ E) / u - (X @ E) * (du / u**2)

    return pymanopt.Problem(
        manifold,
        cost,
        euclidean_gradient=euclidean_gradient,
        euclidean_hessian=euclidean_hessian,
    )


def run_pymanopt(
    d: int,
    K: int,
    seed: int,
    *,
    method: str = "cg",
    eps_min: float = 1e-12,
    max_iterations: int = 1000,
    time_budget: float = 60.0,
    target_deg: float | None = None,
) -> PeerRun:
    """Return the PeerRun of the eps = 0.5^k continuation with warm starts (see module doc).

    Stops when eps would fall below `eps_min`, at `time_budget` seconds (Pymanopt's
    ``max_time`` within a stage), or once `target_deg` is reached (checked between stages).
    """
    check_cell(d, K)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}")
    if not 0 < eps_min < 0.5:
        raise ValueError(f"eps_min={eps_min!r} is out of range: need 0 < eps_min < 0.5")
    pymanopt = _import_pymanopt()
    tr = Tracker(target_deg)
    X = random_start(d, K, seed).T
    tr.see(X.T, float(np.max(np.triu(X.T @ X, 1)[np.triu_indices(K, 1)])))
    iterations = 0
    k = 1
    while 0.5**k >= eps_min and not tr.stop:
        left = time_budget - tr.elapsed()
        if left <= 0:
            break
        problem = make_problem(d, K, 0.5**k, tr)
        opts = dict(verbosity=0, max_time=left, max_iterations=max_iterations)
        if method == "cg":
            opt = pymanopt.optimizers.ConjugateGradient(min_gradient_norm=1e-8, **opts)
        else:
            opt = pymanopt.optimizers.TrustRegions(**opts)
        res = opt.run(problem, initial_point=X)
        X = res.point
        iterations += int(res.iterations)
        k += 1
    return tr.result(iterations)
