"""The GNC authors' recipe, applied to the Tammes objective max_{i != j} <w_i, w_j>.

Jiang et al., "Generalized Neural Collapse for a Large Number of Classes" (ICML 2024),
Appendix B.1: the Softmax Code (HardMax) problem is solved "using projected gradient descent
... an initial learning rate of 0.1 and decreased it by a factor of 10 every 1000 iterations,
for a total of 5000 iterations"; their public code decays the learning rate linearly to 0
instead.  As a user of that recipe would run it (autograd through ``max(W W^T)`` off the
diagonal, one plain gradient step, rows renormalized): each iteration computes the whole
Gram matrix, takes the subgradient of its largest off-diagonal entry (w_j for row i and w_i for
row j, the others zero), steps by the learning rate and projects back onto the sphere.

Both schedules are here (``schedule="step"``: the paper; ``schedule="linear"``: the code).
"""

from __future__ import annotations

import numpy as np

from benchmarks.peers.common import PeerRun, Tracker, check_cell, random_start

SCHEDULES = ("step", "linear")


def learning_rate(it: int, iterations: int, lr0: float, schedule: str) -> float:
    """Return the learning rate of iteration `it` (0-based) under `schedule`."""
    if schedule == "step":  # divided by 10 every 1000 iterations (paper, 5000 in all)
        return lr0 * 0.1 ** (it // 1000)
    if schedule == "linear":  # linear decay to 0 over the run (public code)
        return lr0 * (1.0 - it / iterations)
    raise ValueError(f"schedule={schedule!r} is not one of {SCHEDULES}")


def run_gnc(
    d: int,
    K: int,
    seed: int,
    *,
    schedule: str = "step",
    iterations: int = 5000,
    lr0: float = 0.1,
    time_budget: float = float("inf"),
    target_deg: float | None = None,
) -> PeerRun:
    """Return the PeerRun of projected subgradient descent on max_{i != j} <w_i, w_j>.

    Stops after `iterations` steps, at `time_budget` seconds, or once `target_deg` is reached.
    """
    check_cell(d, K)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} is not one of {SCHEDULES}")
    if iterations < 1:
        raise ValueError(f"iterations={iterations} is out of range: need iterations >= 1")
    tr = Tracker(target_deg)
    W = random_start(d, K, seed)
    diag = np.arange(K)
    it = 0
    for it in range(iterations + 1):
        G = W @ W.T
        G[diag, diag] = -np.inf
        flat = int(np.argmax(G))
        i, j = divmod(flat, K)
        tr.see(W, G[i, j])
        if it == iterations or tr.stop or tr.elapsed() > time_budget:
            break
        lr = learning_rate(it, iterations, lr0, schedule)
        grad = np.zeros_like(W)
        grad[i] += W[j]
        grad[j] += W[i]
        W = W - lr * grad
        W /= np.linalg.norm(W, axis=1, keepdims=True)
    return tr.result(it)
