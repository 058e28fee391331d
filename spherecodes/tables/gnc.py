"""The GNC paper's figure tables: optimal rho_1vr for Figures 2 and 8, and Figure 12.

Both builders solve their cells through the sweep driver
(:func:`spherecodes.tables.sweep.solve_cells`, directory ``<stem>_codes/`` beside the table)
and select columns of the measured sweep rows; the figures are drawn by
:mod:`spherecodes.plots` from the written tables only.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

from spherecodes import bounds, precision
from spherecodes.tables import schema
from spherecodes.tables.sweep import cell_rows, solve_cells

__all__ = [
    "FIGURE12_TAUS",
    "GNC_FIGURE_CELLS",
    "LARGE_NEIGHBORS",
    "figure12_rows",
    "gnc_figures_rows",
]

#: (figure, d, K) of the GNC paper's Figure 2 and Figure 8 settings.
GNC_FIGURE_CELLS: tuple[tuple[str, int, int], ...] = (
    ("2", 10, 100),
    ("2", 10, 200),
    ("8", 512, 10000),
)

#: The float64 polish runs where K * d is at most this (it is quadratic in the active pieces:
#: too slow at K d >= 1000 on a 2-core CPU).
POLISH_MAX_KD = 170

#: The GNC-figure cells too big for the dense search (work above ``max_work``) are searched
#: with neighbour lists of this many pieces per class (:mod:`spherecodes.solvers.neighbors`),
#: LARGE_RESTARTS restarts of LARGE_STEPS steps (a CPU budget of about half an hour at
#: (512, 10000); raise them on an accelerator).
LARGE_NEIGHBORS, LARGE_RESTARTS, LARGE_STEPS = 32, 1, 1000

#: Temperatures of the default Figure 12 table (GNC paper, appendix C.1), largest first.
FIGURE12_TAUS: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)


@precision.float64
def gnc_figures_rows(
    out_dir: str | os.PathLike,
    cells: Sequence[tuple[str, int, int]] = GNC_FIGURE_CELLS,
    *,
    restarts: int = 32,
    steps: int = 2000,
    seed: int = 0,
    max_work: float = 5e11,
    large_restarts: int = LARGE_RESTARTS,
    large_steps: int = LARGE_STEPS,
    neighbors: int = LARGE_NEIGHBORS,
    cluster: str | None = None,
    command: str = "",
    workers: int | None = 1,
) -> list[dict]:
    """Return one row (columns :data:`~spherecodes.tables.schema.GNC_FIGURES_COLUMNS`) per
    (figure, d, K): the best rho_1vr the softmax solver reaches, solved into the sweep
    directory `out_dir` and measured exactly (with its certificate gap).

    A cell whose dense search work restarts * steps * K^2 * d exceeds `max_work` is searched
    with neighbour lists of `neighbors` pieces per class, `large_restarts` restarts of
    `large_steps` steps (``search_path`` says so); `neighbors` = 0 leaves such a cell empty,
    with its reason.  Every value is a lower bound on max rho_1vr; the Theorem 3.9 bounds are
    beside.  `cluster` solves on Ray, `workers` in local processes (None: every core for a
    large grid).
    """
    from spherecodes.solvers import SolveConfig

    folder = Path(out_dir)
    plan: dict[tuple[int, int], SolveConfig | str] = {}
    for _, d, K in cells:
        cfg = SolveConfig(
            objective="softmax",
            restarts=restarts,
            steps=steps,
            seed=seed,
            polish=K * d <= POLISH_MAX_KD,
        )
        work = float(restarts) * steps * K * K * d
        if work > max_work and neighbors <= 0:
            plan[(d, K)] = (
                f"not run: restarts*steps*K^2*d = {work:.2g} flops-scale work "
                f"exceeds the CPU budget {max_work:.2g}"
            )
        elif work > max_work:
            plan[(d, K)] = dataclasses.replace(
                cfg, restarts=large_restarts, steps=large_steps, neighbors=neighbors
            )
        else:
            plan[(d, K)] = cfg
    jobs: dict[SolveConfig, list[tuple[int, int]]] = {}
    for cell, cfg in plan.items():
        if not isinstance(cfg, str):
            jobs.setdefault(cfg, []).append(cell)
    solved = {}
    if jobs:  # every cell may be out of budget: then nothing is solved or written
        swept = solve_cells(
            folder, list(jobs.items()), command=command, cluster=cluster, workers=workers
        )
        solved = cell_rows(swept, "softmax")
    rows = []
    for fig, d, K in cells:
        t39 = bounds.theorem39(d, K)
        row = dict.fromkeys(schema.GNC_FIGURES_COLUMNS)
        row.update(
            figure=str(fig),
            d=d,
            K=K,
            theorem39_lower=float(t39.lower),
            theorem39_upper=float(t39.upper),
            seed=seed,
            reason="",
        )
        if isinstance(plan[(d, K)], str):
            row["reason"] = plan[(d, K)]
        else:
            r = solved[(d, K)]
            row.update({c: r[c] for c in schema.GNC_FIGURES_COLUMNS if c in r and c != "seed"})
            row["code_file"] = f"{folder.name}/{r['code_file']}"
            row["seconds"] = round(float(r["seconds"]), 3)
        rows.append(row)
    return rows


@precision.float64
def figure12_rows(
    out_dir: str | os.PathLike,
    taus: Sequence[float] = FIGURE12_TAUS,
    *,
    d: int = 3,
    K: int = 7,
    restarts: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    cluster: str | None = None,
    command: str = "",
) -> list[dict]:
    """Return the rows of the GNC paper's Figure 12 table (columns
    :data:`~spherecodes.tables.schema.FIGURE12_COLUMNS`).

    For each temperature tau, the cross-entropy problem (GNC eq. 2) is solved at (d, K) and its
    code measured: minimal angle in degrees and rho_1vr (Euclidean distance); the HardMax
    problem (eq. 5, the tau -> 0 limit of Lemma 3.1) is solved once and its values repeated on
    every row.  The cells are solved through the sweep driver: HardMax into `out_dir`, each
    temperature into ``out_dir/tau_{tau}``.  `restarts` and `steps` default to
    ``SolveConfig``'s.
    """
    from spherecodes.solvers import SolveConfig

    taus = [float(t) for t in taus]
    if not taus:
        raise ValueError("taus=() names no temperature: give at least one tau > 0")
    for t in taus:
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"tau={t!r} is out of range: need 0 < tau < inf")
    budget = {k: v for k, v in (("restarts", restarts), ("steps", steps)) if v is not None}
    folder = Path(out_dir)

    def measured(config: SolveConfig, where: Path) -> dict:
        rows = solve_cells(where, [(config, [(d, K)])], command=command, cluster=cluster)
        return cell_rows(rows, config.objective)[(d, K)]

    hard = measured(SolveConfig(objective="hardmax", seed=seed, **budget), folder)
    rows = []
    for t in taus:
        config = SolveConfig(objective="ce", tau=t, seed=seed, **budget)
        ce = measured(config, folder / f"tau_{t!r}")
        rows.append(
            {
                "d": int(d),
                "K": int(K),
                "tau": t,
                "ce_min_angle_deg": ce["min_angle_deg"],
                "ce_rho_1vr": ce["rho_1vr"],
                "hardmax_min_angle_deg": hard["min_angle_deg"],
                "hardmax_rho_1vr": hard["rho_1vr"],
                "restarts": config.restarts,
                "steps": config.steps,
                "seed": int(seed),
            }
        )
    return rows
