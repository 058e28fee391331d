"""The Tammes <=> Softmax-Code table: both problems solved independently, a verdict per cell.

The GNC paper conjectures that a Softmax Code (largest rho_1vr) is a Tammes optimum.  For
every cell (d, K) the best Tammes code and the best Softmax Code are searched from random
starts through the same engine and budget rules, by the sweep driver
(:func:`spherecodes.tables.sweep.solve_cells`, directory ``<stem>_codes/`` beside the table),
polished, and measured exactly (rho_1vr with its certificate gap, minimal angle, rattlers of
both kinds).  The verdict (:func:`verdict`):

* ``same optimum``: the Tammes code's rho_1vr equals the best Softmax Code's (within RHO_TOL),
  so the Tammes code is Softmax-optimal as far as the search can tell;
* ``softmax better``: the Softmax Code has a larger rho_1vr and a smaller minimal angle than
  the Tammes code: the Softmax Code is not a Tammes optimum, a counterexample (certified by
  both certificates; the codes are written beside the table);
* ``tammes code not a softmax code``: the Softmax Code has a larger rho_1vr and the same
  minimal angle: it is a Tammes optimum too, but the Tammes code found is not a Softmax Code;
* ``inconclusive``: a certificate is missing or above GAP_TOL, the Tammes search missed a
  best-known angle or the Softmax Code's larger minimal angle, the Softmax search missed
  Theorem 3.3's value or stayed below the Tammes code's rho_1vr (then a search, not the
  conjecture, failed); the ``reason`` column says which.

Cells with K <= 2d (or d = 2) are settled by Theorem 3.3; their rows carry the theorem's
rho_1vr (``theorem33_rho_1vr``), which the Softmax search must reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from spherecodes import known, precision
from spherecodes.errors import ParameterError
from spherecodes.tables import schema
from spherecodes.tables.sweep import cell_rows, solve_cells
from spherecodes.tables.tammes import best_known_tammes

__all__ = [
    "ANGLE_TOL_DEG",
    "GAP_TOL",
    "RHO_TOL",
    "VERDICTS",
    "default_cells",
    "equivalence_rows",
    "summary",
    "theorem33_rho_1vr",
    "verdict",
]

VERDICTS = ("same optimum", "softmax better", "tammes code not a softmax code", "inconclusive")

#: Two rho_1vr values are equal within this (each is certified to GAP_TOL).
RHO_TOL = 1e-9
#: Every row's certificate gaps and KKT residuals must be at most this.
GAP_TOL = 1e-9
#: Two minimal angles are equal within this many degrees (Sloane's tables have 7 decimals).
ANGLE_TOL_DEG = 1e-6
#: Both searches are polished up to this many variables (softmax: 2 K d, so K d <= 500).
POLISH_MAX_VARIABLES = 1000


def theorem33_rho_1vr(d: int, K: int) -> float | None:
    """Return Theorem 3.3's optimal rho_1vr for (d, K) (d = 2 or K <= 2d), else None."""
    if d == 2 or K <= 2 * d:
        from spherecodes import hull

        return float(hull.rho_1vr(known.theorem33_code(d, K)))
    return None


def verdict(row: dict) -> tuple[str, str]:
    """Return (verdict, reason) of a row with the measured columns (see the module doc)."""
    for side in ("tammes", "softmax"):
        gap, kkt = row[f"{side}_rho_1vr_gap"], row[f"{side}_kkt_residual"]
        if not (gap is not None and gap <= GAP_TOL):
            return "inconclusive", f"{side} code's rho_1vr certificate gap {gap} > {GAP_TOL:g}"
        if not (kkt is not None and math.isfinite(kkt) and kkt <= GAP_TOL):
            return "inconclusive", f"{side} code not certified by the polish (KKT residual {kkt})"
    best, angle_t = row["best_known_min_angle_deg"], row["tammes_min_angle_deg"]
    if best is not None and angle_t < best - ANGLE_TOL_DEG:
        return "inconclusive", (
            f"tammes search missed the best-known angle ({angle_t:.7f} < {best:.7f} deg)"
        )
    angle_s = row["softmax_min_angle_deg"]
    if angle_s > angle_t + ANGLE_TOL_DEG:
        return "inconclusive", (
            f"tammes search missed: the Softmax Code's minimal angle is larger ({angle_s:.7f} > "
            f"{angle_t:.7f} deg)"
        )
    rho_t, rho_s = row["tammes_rho_1vr"], row["softmax_rho_1vr"]
    thm = row["theorem33_rho_1vr"]
    if thm is not None and abs(rho_s - thm) > RHO_TOL:
        return "inconclusive", f"softmax search missed Theorem 3.3's rho_1vr ({rho_s!r} vs {thm!r})"
    if rho_s < rho_t - RHO_TOL:
        return "inconclusive", (
            f"softmax search stayed below the Tammes code's rho_1vr ({rho_s!r} < {rho_t!r})"
        )
    if rho_s <= rho_t + RHO_TOL:
        return "same optimum", ""
    if angle_s < angle_t - ANGLE_TOL_DEG:
        return "softmax better", (
            f"rho_1vr {rho_s!r} > {rho_t!r} with minimal angle "
            f"{row['softmax_min_angle_deg']:.7f} < {angle_t:.7f} deg: the Softmax Code is not a "
            "Tammes optimum"
        )
    return "tammes code not a softmax code", (
        f"rho_1vr {rho_s!r} > {rho_t!r} at the same minimal angle"
    )


def _measured(prefix: str, row: dict, code_file: str) -> dict:
    """The `prefix`_* columns of one problem's measured sweep row."""
    keep = ("min_angle_deg", "rho_1v1", "rho_1vr", "rho_1vr_gap", "kkt_residual",
            "tammes_rattlers", "softmax_rattlers", "starts", "confirmations")  # fmt: skip
    return {
        **{f"{prefix}_{k}": row[k] for k in keep},
        f"{prefix}_code_file": code_file,
    }


@precision.float64
def equivalence_rows(
    cells: Sequence[tuple[int, int]],
    out_dir: str | Path,
    *,
    restarts: int = 512,
    seed: int = 0,
    reference_dir: str | Path | None = None,
    on_row: Callable[[dict], None] | None = None,
    cluster: str | None = None,
    command: str = "",
    workers: int | None = 1,
) -> list[dict]:
    """Return one row (columns :data:`~spherecodes.tables.schema.EQUIVALENCE_COLUMNS`) per
    (d, K) cell, in input order.

    Both objectives are solved over the whole grid into the sweep directory `out_dir` (on Ray
    with `cluster`, else in `workers` local processes, None: every core for a large grid),
    with ``restarts`` as the per-cell budget of starts; the code-file columns give each
    code's path relative to the folder holding `out_dir`; `on_row` sees each newly solved
    sweep row (one objective of one cell) as it is committed.  `reference_dir` holds
    best-known Tammes tables (default: the package's copy of Sloane's d = 3 data).
    """
    from spherecodes.solvers import SolveConfig

    cells = [(int(d), int(K)) for d, K in cells]
    for d, K in cells:
        if d < 2:
            raise ParameterError("d", "{name}={v} is too small: need {name} >= 2", v=d)
        if K < 2:
            raise ParameterError("Ks", "{name}={v} is too small: need {name} >= 2", v=K)
    if restarts < 1:
        raise ParameterError("restarts", "{name}={v} is too small: need {name} >= 1", v=restarts)
    folder = Path(out_dir)
    jobs = [
        (
            SolveConfig(
                objective=objective,
                restarts=restarts,
                seed=seed,
                polish_max_variables=POLISH_MAX_VARIABLES,
            ),
            cells,
        )
        for objective in ("tammes", "softmax")
    ]
    # on_row: progress of a run that can take an hour, one solved (objective, d, K) at a time
    solved = solve_cells(
        folder, jobs, command=command, cluster=cluster, workers=workers, on_row=on_row
    )
    out = {objective: cell_rows(solved, objective) for objective in ("tammes", "softmax")}
    # {d: {K: (angle, proven)}}, each table read once
    best_known = {
        d: best_known_tammes(d, reference_dir=reference_dir) for d in {c[0] for c in cells}
    }
    rows = []
    for d, K in cells:
        row: dict = {"d": d, "K": K}
        for objective in ("tammes", "softmax"):
            r = out[objective][(d, K)]
            row.update(_measured(objective, r, f"{folder.name}/{r['code_file']}"))
        best = best_known[d].get(K)
        row["best_known_min_angle_deg"] = None if best is None else best[0]
        row["theorem33_rho_1vr"] = theorem33_rho_1vr(d, K)
        row["verdict"], row["reason"] = verdict(row)
        row["seconds"] = round(sum(float(out[o][(d, K)]["seconds"]) for o in out), 3)
        row = {c: row.get(c) for c in schema.EQUIVALENCE_COLUMNS}
        rows.append(row)
    return rows


def default_cells(ds: Sequence[int], Ks: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """Return the cells of the equivalence table: every d in `ds` with every K in `Ks`
    (default d + 2 .. 48) that has K >= d + 2, in (d, K) order."""
    out = []
    for d in sorted(set(ds)):
        ks = range(d + 2, 49) if Ks is None else sorted(set(Ks))
        out += [(d, K) for K in ks if K >= d + 2]
    return out


def summary(rows: Sequence[dict]) -> dict[str, int]:
    """Return the number of rows of each verdict (every VERDICTS key, zeros included)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts
