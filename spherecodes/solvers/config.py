"""What a solve is asked for and what it returns: SolveConfig, CellResult and the constants
that bound a solve (engines, variables for the trust-region engine and the polish, the
success tolerance)."""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from spherecodes import objectives
from spherecodes.solvers import neighbors

#: Default largest number of variables (K * d, doubled with features) that the dense float64
#: polish takes on (``SolveConfig.polish_max_variables``); bigger cells report their float64
#: search result with kkt_residual NaN.  The polish's Newton system is dense in the variables
#: plus the active pieces: measured 4 s at 960 variables and ~1400 active pieces (softmax,
#: the 600-cell, one core), growing with the cube of that size; its LP fallback is slower.
POLISH_MAX_VARIABLES = 600

#: Relative tolerance of CellResult.success_rate (see there).  1e-5 in inner-product units is
#: about 1e-3 degrees at the angles of interest: loose enough that a restart the float64 search
#: left 1e-4 degrees short of its polished optimum still counts, tight enough to tell apart the
#: nearby basins of hard cells (Tammes d = 3, K = 26: 41.0377 against 41.0347 degrees).
SUCCESS_RTOL = 1e-5

_DTYPES = ("float32", "float64")

#: Local-solver engines: "trust" (batched Riemannian trust regions with continuation and basin
#: search, :mod:`spherecodes.solvers.engine`), "adam" (first-order Adam on the surrogate, fixed
#: budget of restarts x steps), "auto" (trust for cells up to TRUST_MAX_VARIABLES variables).
ENGINES = ("auto", "trust", "adam")

#: Largest number of variables (K d, doubled with features) that "auto" gives the trust-region
#: engine; above it the first-order search (its Hessian-vector products cost K^2 d each, and
#: a cell needs a few thousand of them).
TRUST_MAX_VARIABLES = 8192


@dataclasses.dataclass(frozen=True)
class SolveConfig:
    """How to solve a cell: objective, budget, seed and model parameters (hashable, frozen).

    ``engine`` picks the local solver (see ENGINES).  With "trust", ``restarts`` is the most
    starts a cell may spend (random, perturbed and seeded; rounds of ``engine.ROUND_STARTS``),
    and a cell stops early once ``confirm`` starts reached its best basin and the last round
    found nothing better (the first round: all its random trust-region starts ended in that
    basin; see :mod:`spherecodes.solvers.engine`); ``steps`` and ``search_dtype`` are not
    used (float32 at the high temperatures, float64 after).
    With "adam", ``restarts`` random starts per cell, each searched for ``steps`` steps in
    ``search_dtype``;
    ``tau`` is the CE temperature (ce, wd) and ``lam`` the weight decay (wd); with ``polish``,
    the ``polish_top`` best restarts of a cell (by true value after search; all of them when
    there are fewer) are polished in float64 and the best polished one is reported, in cells of
    at most ``polish_max_variables`` variables (K d, doubled with features).
    ``target`` (trust engine) also stops a cell after the first round in which one of its
    local optima has a true value (``CellResult.value``'s units, before the polish) at most
    ``target``: a known optimum being reproduced, as the peers of ``benchmarks/bench_peers``
    are given it.  Search values sit a little above their basin's polished value (by up to the
    final smoothing bound, ``engine.resolution``, about 1e-6 for K = 24 Tammes), so a target
    equal to the known value can miss; give it a margin (the known value plus 1e-5, say).
    The adam engine ignores it.
    ``neighbors`` > 0 searches every cell with the neighbour-list surrogate
    (:mod:`spherecodes.solvers.neighbors`: each point's ``neighbors`` largest pieces, lists
    refreshed every ``neighbors.REFRESH`` steps; at most ``stream.MAX_STREAM_RESTARTS``
    restarts, one at a time): for K in the thousands, where all K^2 pieces per step are too
    slow.  Objectives tammes, grassmannian, softmax and hardmax.
    """

    objective: str = "tammes"
    restarts: int = 512
    steps: int = 2000
    seed: int = 0
    tau: float = 0.05
    lam: float = 5e-3
    search_dtype: str = "float32"
    polish: bool = True
    polish_top: int = 4
    neighbors: int = 0
    engine: str = "auto"
    confirm: int = 3
    polish_max_variables: int = POLISH_MAX_VARIABLES
    target: float | None = None

    def __post_init__(self):
        obj = objectives.get(self.objective)  # ValueError naming the accepted objectives
        for name, low in (
            ("restarts", 1),
            ("steps", 1),
            ("polish_top", 1),
            ("seed", 0),
            ("neighbors", 0),
            ("confirm", 1),
            ("polish_max_variables", 1),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name}={v!r} must be an integer >= {low}")
            if v < low:
                raise ValueError(f"{name}={v} is out of range: need {name} >= {low}")
        if self.seed >= 2**32:
            raise ValueError(f"seed={self.seed} is out of range: need 0 <= seed < 2**32")
        for name in ("tau", "lam"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise ValueError(f"{name}={v!r} must be a positive finite number")
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name}={v!r} is out of range: need 0 < {name} < inf")
        t = self.target
        if t is not None and (
            isinstance(t, bool)
            or not isinstance(t, (int, float, np.floating, np.integer))
            or not math.isfinite(t)
        ):
            raise ValueError(f"target={t!r} must be None or a finite number")
        if self.engine not in ENGINES:
            raise ValueError(f"engine={self.engine!r} is not one of {ENGINES}")
        if self.search_dtype not in _DTYPES:
            raise ValueError(f"search_dtype={self.search_dtype!r} is not one of {_DTYPES}")
        if not isinstance(self.polish, (bool, np.bool_)):
            raise ValueError(f"polish={self.polish!r} must be True or False")
        if self.neighbors and not obj.minmax:
            raise ValueError(
                f"neighbors={self.neighbors} needs a min-max objective "
                f"{neighbors.OBJECTIVES}; got objective={self.objective!r}"
            )


class CellResult(NamedTuple):
    """The best code found for one (d, K) cell, with how good and how reproducible it is.

    ``value`` is the true objective (lower is better) of ``code`` (and ``features``): tammes
    max_{i != j} <w_i, w_j>; grassmannian the coherence max |<w_i, w_j>|; softmax/hardmax the
    HardMax loss (GNC eq. 5; -rho_1vr at optimal features); ce the mean CE (eq. 2) at ``tau``;
    wd the loss of eq. 10 at the raw (W, H), of which ``code`` is W with rows normalized.

    ``success_rate`` is the fraction of restarts r whose searched value (``restart_values[r]``,
    true value after search, before polish) satisfies
    ``restart_values[r] - value <= SUCCESS_RTOL * max(1, |value|)`` with SUCCESS_RTOL = 1e-5,
    i.e. the restarts that the search alone brought into the basin of the reported optimum
    (restarts are not polished one by one, so this is the per-restart success rate).
    """

    objective: str
    d: int
    K: int
    code: np.ndarray  # (K, d) float64 unit rows: best over restarts after polish
    features: np.ndarray | None  # (K, d) float64 features (softmax/hardmax/ce/wd), else None
    value: float  # true objective of code (see class docstring)
    kkt_residual: float  # from polish; NaN when not polished (streamed, or too many variables)
    restart_values: np.ndarray  # (restarts,) float64: true value of every restart after search
    success_rate: float  # fraction of restarts within SUCCESS_RTOL of value (see docstring)
    seconds: float  # wall time: the cell's share (by rows) of its bucket's search, plus polish
    device: str  # devices the search ran on, e.g. "cpu x1"
    engine: str = "adam"  # the local solver that ran: "trust" or "adam"
    starts: int = 0  # starts spent on the cell (random, perturbed, seeded)
    confirmations: int = 0  # starts that reached the reported basin (trust; adam: hits)
    found_by: str = "random"  # how the reported basin was first reached
    search_path: str = "dense"  # "dense" (batched), "streamed" or "neighbour lists"
    neighbors: int = 0  # pieces per point of the neighbour-list search (0: all pieces)
    converged: bool = False  # polished, and the polish certified a KKT point (see polish)
    # why the trust engine's search of the cell ended: "bound" (a code within the converged
    # smoothing bound of a proven lower bound, Objective.floor), "target", "confirmed" (the
    # stop rule) or "budget" (restarts spent); "" for the adam engine
    stopped_by: str = ""
    config: SolveConfig | None = None  # the configuration that produced this result


__all__ = [
    "ENGINES",
    "POLISH_MAX_VARIABLES",
    "SUCCESS_RTOL",
    "TRUST_MAX_VARIABLES",
    "CellResult",
    "SolveConfig",
]
