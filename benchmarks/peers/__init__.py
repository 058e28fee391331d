"""Peer methods for the Tammes problem, written as their users run them (benchmarks only).

* :func:`run_pymanopt` -- Pymanopt's packing-on-the-sphere recipe: log-sum-exp smoothing on the
  oblique manifold, eps = 0.5^k continuation with warm starts, conjugate gradient or trust
  regions (needs ``pip install pymanopt``).
* :func:`run_gnc` -- the GNC authors' projected subgradient descent on the unsmoothed maximum,
  the paper's step schedule or their code's linear one.

Both return a :class:`PeerRun` with the best code seen and its (time, best angle) trace.
"""

from benchmarks.peers.common import PeerRun, Trace, best_at, time_to_target
from benchmarks.peers.gnc_subgradient import run_gnc
from benchmarks.peers.pymanopt_packing import run_pymanopt

__all__ = ["PeerRun", "Trace", "best_at", "run_gnc", "run_pymanopt", "time_to_target"]
