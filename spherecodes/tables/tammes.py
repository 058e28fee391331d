"""The best-known Tammes table: the tammes solver's codes beside Sloane-style best-known ones.

:func:`tammes_rows` solves every K of a dimension through the sweep driver
(:func:`spherecodes.tables.sweep.solve_cells`, directory ``<stem>_codes/`` beside the table) and
turns each measured sweep row into a row of :data:`~spherecodes.tables.schema.TAMMES_COLUMNS`:
the exact measures, the best-known minimal angle and its deficit, whether the code is the
reference configuration (:func:`reference_config`), Theorem C.11's lower end, and how the cell
was solved.  The best-known values and codes come from ``tammes_d{d}_best_known.csv`` and
``pack.{d}.{K}.txt`` files (default: the package's copy of Sloane's d = 3 data).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from spherecodes import bounds, precision
from spherecodes.tables import schema, store
from spherecodes.tables.sweep import cell_rows, load_code, remeasure, solve_cells

__all__ = [
    "CONFIG_TOL",
    "SAME_ANGLE_TOL_DEG",
    "best_known_tammes",
    "reference_code",
    "reference_config",
    "reference_data_dir",
    "remeasure_tammes",
    "tammes_restarts",
    "tammes_row",
    "tammes_rows",
]

#: Two codes are one configuration when some rotation/reflection and relabeling matches every
#: point within this Euclidean distance (spherecodes.congruence): polished solver codes and
#: Sloane's coordinates (10 to 17 digits) agree to about 1e-8 where they are one code.
CONFIG_TOL = 1e-6

#: Minimal angles within this many degrees are the same angle (Sloane's list has 7 decimals).
SAME_ANGLE_TOL_DEG = 1e-6

#: Search budget of the Tammes table's default rule (:func:`tammes_restarts`): the solver's
#: default of 512 restarts up to K = TAMMES_FULL_K, then the same search work per cell
#: (restarts * K^2 constant), rounded down to a power of two, but never below TAMMES_MIN.
TAMMES_FULL_RESTARTS, TAMMES_FULL_K, TAMMES_MIN_RESTARTS = 512, 64, 64


def reference_data_dir() -> Path:
    """Return the folder of the reference data shipped with the package (``spherecodes/data``)."""
    return Path(__file__).resolve().parent.parent / "data"


def best_known_tammes(
    d: int, *, reference_dir: str | os.PathLike | None = None
) -> dict[int, tuple[float, str]]:
    """Return {K: (best-known min angle in degrees, proven_optimal)} for dimension d, from
    ``tammes_d{d}_best_known.csv`` in `reference_dir` (default: the package's copy of Sloane's
    table, :func:`reference_data_dir`); empty when there is no such file for d."""
    base = Path(reference_dir) if reference_dir is not None else reference_data_dir()
    path = base / f"tammes_d{d}_best_known.csv"
    if not path.is_file():
        return {}
    out = {}
    for r in store.read_table(path):
        if int(r["d"]) == d:
            out[int(r["K"])] = (float(r["best_known_min_angle_deg"]), str(r["proven_optimal"]))
    return out


def tammes_restarts(K: int) -> int:
    """Return the default number of restarts of the Tammes table for K points (see
    :data:`TAMMES_FULL_RESTARTS`): 512 up to K = 64, about 512 (64 / K)^2 above, at least 64."""
    if K <= TAMMES_FULL_K:
        return TAMMES_FULL_RESTARTS
    r = TAMMES_FULL_RESTARTS * (TAMMES_FULL_K / K) ** 2
    return max(TAMMES_MIN_RESTARTS, 2 ** int(np.floor(np.log2(r))))


def reference_code(reference_dir: str | os.PathLike | None, d: int, K: int) -> np.ndarray | None:
    """Return the reference code ``pack.{d}.{K}.txt`` found in `reference_dir` or its
    ``sloane_d{d}`` subfolder (default: the package's copy of Sloane's files,
    :func:`reference_data_dir`), or None when there is no such file."""
    from spherecodes.io import read_code

    base = Path(reference_dir) if reference_dir is not None else reference_data_dir()
    for folder in (base, base / f"sloane_d{d}"):
        path = folder / f"pack.{d}.{K}.txt"
        if path.is_file():
            return read_code(path, dim=d)
    return None


def reference_config(
    code: np.ndarray, reference: np.ndarray | None, tol: float = CONFIG_TOL
) -> str | None:
    """Return how `code` relates to the `reference` code (None without one): "sloane" (one
    configuration within `tol`), "sloane up to rattlers", "same angle, other configuration",
    "worse" or "better" (minimal angle below or above the reference's by > SAME_ANGLE_TOL_DEG)."""
    if reference is None:
        return None
    from spherecodes.congruence import UP_TO_RATTLERS, equivalent
    from spherecodes.measures import min_angle_deg

    r = equivalent(code, reference, tol=tol)
    if r.equivalent:
        return "sloane up to rattlers" if r.verdict == UP_TO_RATTLERS else "sloane"
    gap = float(min_angle_deg(code)) - float(min_angle_deg(reference))
    if abs(gap) <= SAME_ANGLE_TOL_DEG:
        return "same angle, other configuration"
    return "better" if gap > 0 else "worse"


def tammes_row(sweep_row: dict, code: np.ndarray, best, reference: np.ndarray | None) -> dict:
    """Return the Tammes-table row (:data:`~spherecodes.tables.schema.TAMMES_COLUMNS`) of a
    measured sweep row and its `code`; `best` is (angle, proven) or None, `reference` the
    best-known code of that size or None."""
    r = sweep_row
    angle = r["min_angle_deg"]
    row = {c: r.get(c) for c in schema.TAMMES_COLUMNS}
    row.update(
        best_known_min_angle_deg=None if best is None else best[0],
        angle_deficit_deg=None if best is None else best[0] - angle,
        proven_optimal=None if best is None else best[1],
        sloane_config=reference_config(code, reference),
        c11_lower_end=bounds.at_c11_lower_end(r["rho_1v1"], r["rho_1vr"]),
        seconds=None if r["seconds"] is None else round(float(r["seconds"]), 3),
    )
    return row


def _table_rows(sweep_rows, d, Ks, folder: Path, reference_dir) -> list[dict]:
    best = best_known_tammes(d, reference_dir=reference_dir)
    by_cell = cell_rows(sweep_rows, "tammes")
    rows = []
    for K in sorted(set(Ks)):
        r = dict(by_cell[(d, K)])
        code = load_code(folder / r["code_file"])
        r["code_file"] = f"{folder.name}/{r['code_file']}"
        rows.append(tammes_row(r, code, best.get(K), reference_code(reference_dir, d, K)))
    return rows


@precision.float64
def tammes_rows(
    d: int,
    Ks: Sequence[int],
    out_dir: str | os.PathLike,
    *,
    restarts: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    reference_dir: str | os.PathLike | None = None,
    on_row: Callable[[dict], None] | None = None,
    cluster: str | None = None,
    command: str = "",
    workers: int | None = 1,
) -> list[dict]:
    """Return one row (columns :data:`~spherecodes.tables.schema.TAMMES_COLUMNS`) per K: the
    tammes solver's code, solved into the sweep directory `out_dir` and measured exactly,
    beside the best-known angle where :func:`best_known_tammes` has one.

    ``sloane_config`` compares the code with ``pack.{d}.{K}.txt`` in `reference_dir` or its
    ``sloane_d{d}`` subfolder (default: the package's copy of Sloane's d = 3 files) by
    :func:`reference_config`; None where there is no file.  ``restarts`` None uses
    :func:`tammes_restarts` per K; ``steps`` None the solver default.  ``code_file`` is the
    code's path relative to the folder holding `out_dir`.  A cell already in `out_dir` with
    the same settings is not solved again.  `on_row` sees each newly solved sweep row;
    `cluster` solves on Ray, `workers` in local processes (None: every core for a large
    grid; see :func:`spherecodes.tables.sweep.solve_cells`).
    """
    from spherecodes.solvers import SolveConfig

    groups: dict[int, list[int]] = {}
    for K in Ks:
        groups.setdefault(restarts if restarts is not None else tammes_restarts(K), []).append(K)
    kw = {"steps": steps} if steps is not None else {}
    jobs = [
        (SolveConfig(objective="tammes", seed=seed, restarts=n, **kw), [(d, K) for K in group])
        for n, group in sorted(groups.items(), reverse=True)
    ]
    folder = Path(out_dir)
    sweep_rows = solve_cells(
        folder, jobs, command=command, on_row=on_row, cluster=cluster, workers=workers
    )
    return _table_rows(sweep_rows, d, Ks, folder, reference_dir)


@precision.float64
def remeasure_tammes(path: str | os.PathLike) -> list[dict]:
    """Recompute the measured columns of the Tammes table at `path` from the codes in its sweep
    directory (``<stem>_codes/``) with the current measuring core; rewrite the table
    atomically (its sidecar gains ``remeasured``) and return the rows.  Solver columns stay."""
    path = Path(path)
    old = store.read_table(path)
    folder = path.with_name(path.stem + "_codes")
    sweep_rows = remeasure(folder)
    rows = []
    for d in sorted({int(r["d"]) for r in old}):
        Ks = [int(r["K"]) for r in old if int(r["d"]) == d]
        rows += _table_rows(sweep_rows, d, Ks, folder, None)
    side = store.sidecar_path(path)
    with store.locked(path.parent):
        meta = json.loads(side.read_text()) if side.exists() else {}
        meta["remeasured"] = {"at": store.now(), "versions": store.versions()}
        store.write_table(path, rows, schema.TAMMES_COLUMNS)
        store.write_sidecar(side, meta)
    return rows
