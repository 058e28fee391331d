"""Builders of the tables behind the papers' figures: solve, measure exactly, return rows.

Each builder returns rows whose keys are a pinned column list of :mod:`spherecodes.tables`,
and a ``write_*`` companion stores them as CSV plus JSON sidecar.  The figures themselves are
drawn by :mod:`spherecodes.plots` from the written tables only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import jax.numpy as jnp

from spherecodes import precision, store, tables

# ----------------------------------------------------------------------------- Figure 12

#: Temperatures of the default Figure 12 table (GNC paper, appendix C.1), largest first.
FIGURE12_TAUS: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)


@precision.float64
def figure12_rows(
    taus: Sequence[float] = FIGURE12_TAUS,
    *,
    d: int = 3,
    K: int = 7,
    restarts: int | None = None,
    steps: int | None = None,
    seed: int = 0,
) -> list[dict]:
    """Return the rows of the GNC paper's Figure 12 table (columns ``tables.FIGURE12_COLUMNS``).

    For each temperature tau, the cross-entropy problem (GNC eq. 2) is solved at (d, K) and its
    code measured: minimal angle in degrees and rho_1vr (Euclidean distance); the HardMax
    problem (eq. 5, the tau -> 0 limit of Lemma 3.1) is solved once and its values repeated on
    every row.  `restarts` and `steps` default to ``SolveConfig``'s.

    >>> rows = figure12_rows((0.1,), restarts=4, steps=200)  # doctest: +SKIP
    >>> rows[0]["hardmax_min_angle_deg"]  # doctest: +SKIP
    77.8695...
    """
    # The solvers pull in the search programs; import them only when a table is built.
    from spherecodes import hull, measures
    from spherecodes.solvers import SolveConfig, solve

    taus = [float(t) for t in taus]
    if not taus:
        raise ValueError("taus=() names no temperature: give at least one tau > 0")
    for t in taus:
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"tau={t!r} is out of range: need 0 < tau < inf")
    budget = {k: v for k, v in (("restarts", restarts), ("steps", steps)) if v is not None}

    def measured(config):
        res = solve(d, K, config)
        code = jnp.asarray(res.code)
        return float(measures.min_angle_deg(code)), float(hull.rho_1vr(code))

    hard_config = SolveConfig(objective="hardmax", seed=seed, **budget)
    hard_angle, hard_rho = measured(hard_config)
    rows = []
    for t in taus:
        config = SolveConfig(objective="ce", tau=t, seed=seed, **budget)
        angle, rho = measured(config)
        rows.append(
            {
                "d": int(d),
                "K": int(K),
                "tau": t,
                "ce_min_angle_deg": angle,
                "ce_rho_1vr": rho,
                "hardmax_min_angle_deg": hard_angle,
                "hardmax_rho_1vr": hard_rho,
                "restarts": config.restarts,
                "steps": config.steps,
                "seed": int(seed),
            }
        )
    return rows


def write_figure12(path: str | os.PathLike, rows: Sequence[dict], command: str) -> Path:
    """Write the Figure 12 rows as a CSV table at `path` with its JSON sidecar; return the path."""
    seeds = sorted({int(r["seed"]) for r in rows})
    return store.write_table_and_sidecar(
        path,
        rows,
        tables.FIGURE12_COLUMNS,
        {
            "command": command,
            "versions": tables.versions(),
            "devices": tables.devices(),
            "seed": seeds[0] if len(seeds) == 1 else seeds,
            "time": tables.now(),
        },
    )
