"""From a measured result to a row: the one place a solved code becomes table columns.

:func:`measure_columns` turns a code into the exact measure columns every table shares
(``measure_code``'s keys, rattlers as counts plus their point indices); :func:`result_row`
adds how the cell was solved (the solver's :class:`~spherecodes.solvers.CellResult`: value,
KKT residual, engine, starts, search path, neighbours, convergence, settings).  The published
tables select and extend these rows; none measures a code another way.
"""

from __future__ import annotations

import socket

from spherecodes.report import measure_code
from spherecodes.solvers import CellResult, SolveConfig

__all__ = ["measure_columns", "result_row", "settings_columns", "want_neighbors"]


def measure_columns(code) -> dict:
    """Return the exact measure columns of a row for `code` (K, d): ``measure_code``'s keys
    less d and K, rattlers as counts, and their 0-based indices in ``*_rattler_points``."""
    m = measure_code(code)
    out = {k: v for k, v in m.items() if k not in ("d", "K")}
    for kind in ("tammes", "softmax"):
        out[f"{kind}_rattlers"] = len(m[f"{kind}_rattlers"])
        out[f"{kind}_rattler_points"] = list(m[f"{kind}_rattlers"])
    return out


def want_neighbors(config: SolveConfig, K: int) -> int:
    """Return the neighbour-list length a cell with K points is searched with (0: all pieces)."""
    return min(config.neighbors, K - 1) if config.neighbors else 0


def settings_columns(config: SolveConfig) -> dict:
    """Return the setting columns of a row solved under `config` (tau and lam only where the
    objective has them, else None)."""
    return {
        "restarts": config.restarts,
        "steps": config.steps,
        "seed": config.seed,
        "tau": config.tau if config.objective in ("ce", "wd") else None,
        "lam": config.lam if config.objective == "wd" else None,
    }


def result_row(
    result: CellResult,
    config: SolveConfig,
    code_file: str = "",
    *,
    measures: dict | None = None,
    node: str | None = None,
) -> dict:
    """Return the sweep-table row (``tables.SWEEP_COLUMNS``) of one solved cell: its exact
    float64 measures, then its provenance.

    `measures` are :func:`measure_columns` of the code when already computed (on a cluster
    worker); `node` the host that solved it (default: this one).
    """
    return {
        "objective": result.objective,
        "d": result.d,
        "K": result.K,
        **(measure_columns(result.code) if measures is None else measures),
        "value": result.value,
        "kkt_residual": result.kkt_residual,
        "success_rate": result.success_rate,
        "engine": result.engine,
        "starts": result.starts,
        "confirmations": result.confirmations,
        "found_by": result.found_by,
        "search_path": result.search_path,
        "neighbors": result.neighbors,
        "converged": result.converged,
        **settings_columns(config),
        "seconds": result.seconds,
        "device": result.device,
        "code_file": code_file,
        "node": socket.gethostname() if node is None else node,
    }
