"""Batched solvers over (d, K) grids: local solves of every start of every cell in a few
compiled programs, basin search with adaptive budgets, then an exact float64 polish.

>>> from spherecodes.solvers import SolveConfig, solve
>>> res = solve(3, 6, SolveConfig(restarts=8, steps=300, polish=False))
>>> round(float(res.value), 6)  # the octahedron: max inner product 0
0.0

The pipeline per grid (``engine="auto"``, see :data:`ENGINES`): cells of up to
:data:`TRUST_MAX_VARIABLES` variables go to :func:`spherecodes.solvers.engine.basin_search`
(rounds of batched Riemannian trust-region solves, :mod:`spherecodes.solvers.trust`, over the
buckets of :mod:`spherecodes.solvers.batching`; random starts, perturbations and neighbouring
cells' codes; a cell stops once its best basin is confirmed), and the best distinct optima of
each cell are polished by :func:`spherecodes.solvers.polish.polish` from the surrogate's
weights.  Larger cells, and ``engine="adam"``, run the first-order search
(:func:`spherecodes.solvers.search.search_batch`, or the streamed / neighbour-list paths for
the largest), whose ``polish_top`` best restarts are polished.

This package only re-exports: :mod:`~spherecodes.solvers.config` (SolveConfig, CellResult,
constants), :mod:`~spherecodes.solvers.planning` (which path solves a cell, memory) and
:mod:`~spherecodes.solvers.grid` (the grid driver and the per-cell finishing).
"""

from __future__ import annotations

from spherecodes.solvers import (
    batching,
    config,
    engine,
    grid,
    neighbors,
    planning,
    riemannian,
    search,
    stream,
    trust,
)
from spherecodes.solvers.batching import Bucket, buckets
from spherecodes.solvers.config import (
    ENGINES,
    POLISH_MAX_VARIABLES,
    SUCCESS_RTOL,
    TRUST_MAX_VARIABLES,
    CellResult,
    SolveConfig,
)
from spherecodes.solvers.grid import run_bucket, solve, solve_grid
from spherecodes.solvers.planning import use_trust
from spherecodes.solvers.search import OBJECTIVES

__all__ = [
    "ENGINES",
    "OBJECTIVES",
    "POLISH_MAX_VARIABLES",
    "SUCCESS_RTOL",
    "TRUST_MAX_VARIABLES",
    "Bucket",
    "CellResult",
    "SolveConfig",
    "batching",
    "buckets",
    "config",
    "engine",
    "grid",
    "neighbors",
    "planning",
    "riemannian",
    "run_bucket",
    "search",
    "solve",
    "solve_grid",
    "stream",
    "trust",
    "use_trust",
]
