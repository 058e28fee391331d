"""The sweep driver: cells -> batched solve -> exact measures -> committed rows and code files.

:func:`solve_cells` is the one driver: every table of the toolkit solves its cells through it
(the published-table builders keep its directory beside their table, ``<stem>_codes/``), so
resume, atomic writes and code-file naming are the same everywhere.  :func:`run_sweep` is what
``spherecodes sweep`` calls, and what a notebook calls: a grid of objectives x d x K.  It writes
``DIR/results.csv`` (columns ``schema.SWEEP_COLUMNS``), ``DIR/codes/{objective}_d{d}_K{K}.npy``
and ``DIR/run.json``.  Each finished cell is committed as soon as it is measured: under the
directory's lock (:mod:`spherecodes.tables.store`) its code file is written atomically, then its row
is merged into results.csv by the key :data:`CELL_KEY`.  So several processes may sweep into
one directory at once and every finished cell of every writer is in results.csv exactly once,
with its code file; killing a writer loses at most its cells in flight.  Re-running the same
command skips cells already in results.csv with the same solver settings (and completes a
directory left by a killed writer).  ``run.json`` holds ``{"runs": [...]}``, one record per
writer (pid, host, command, settings, versions, start, end; with a cluster, its nodes).

With ``cluster`` (``--cluster``), the cells are solved and measured by Ray workers
(:mod:`spherecodes.cluster`) and this process, the driver, alone commits them as they come
back, the same way; each row's ``node`` column names the host that solved it.  Without a
cluster, ``workers`` > 1 does the same with local processes (:mod:`spherecodes.workers`).
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np

from spherecodes import precision
from spherecodes.errors import ParameterError
from spherecodes.solvers import OBJECTIVES, CellResult, SolveConfig, batching, solve_grid
from spherecodes.tables import schema, store
from spherecodes.tables.rows import measure_columns, result_row, settings_columns, want_neighbors

#: Settings that must match for an existing row to count as finished.
_SETTING_COLUMNS = ("restarts", "steps", "seed", "tau", "lam")

#: Columns that identify a cell of results.csv: one row (and one code file, named by them) per
#: cell.  A row solved with other settings replaces the cell's row, as its code replaces the file.
CELL_KEY = ("objective", "d", "K")


def parse_range(text: str, *, name: str, minimum: int) -> list[int]:
    """Return the sorted unique integers of `text`: comma items, each ``a`` or ``a:b`` inclusive.

    >>> parse_range("4:6,10", name="K", minimum=2)
    [4, 5, 6, 10]
    """
    out: set[int] = set()
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if ":" in item:
                a, b = (int(p) for p in item.split(":"))
                if b < a:
                    raise ParameterError(
                        name, "{name} range {v!r} is empty (its end is below its start)", v=item
                    )
                out.update(range(a, b + 1))
            else:
                out.add(int(item))
        except ParameterError:
            raise
        except ValueError:
            raise ParameterError(
                name, "{name} item {v!r} is not an integer or a range a:b", v=item
            ) from None
    if not out:
        raise ParameterError(name, "{name} {v!r} names no value", v=text)
    low = min(out)
    if low < minimum:
        raise ParameterError(
            name, "{name}={v} is too small: need {name} >= {low}", v=low, low=minimum
        )
    return sorted(out)


def code_file_name(objective: str, d: int, K: int) -> str:
    """Return the file name of a cell's best code: ``{objective}_d{d}_K{K}.npy``."""
    return f"{objective}_d{d}_K{K}.npy"


def cell_measures(result: CellResult) -> dict:
    """Return :func:`~spherecodes.tables.rows.measure_columns` of a solved cell's code (what a
    cluster worker sends back beside the result)."""
    return measure_columns(result.code)


def _same_settings(row: dict, config: SolveConfig) -> bool:
    want = settings_columns(config)
    for k in _SETTING_COLUMNS:
        a, b = row.get(k), want[k]
        if isinstance(b, float) or b is None:
            a = float("nan") if a is None else float(a)
            b = float("nan") if b is None else float(b)
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                return False
        elif a != b:
            return False
    # a row written before the neighbors column existed counts as all pieces (neighbors 0)
    m = row.get("neighbors")
    m = 0 if m is None or (isinstance(m, float) and math.isnan(m)) else int(m)
    return m == want_neighbors(config, int(row["K"]))


class _Progress:
    """A tqdm bar on stderr showing cells done, the current bucket and time left (or nothing)."""

    def __init__(self, total: int, quiet: bool):
        self.bar = None
        if not quiet and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True)

    def bucket(self, desc: str, n: int) -> None:
        if self.bar is not None:
            self.bar.set_description(desc)

    def done(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@precision.float64
def solve_cells(
    out_dir: str | Path,
    jobs: Sequence[tuple[SolveConfig, Sequence[tuple[int, int]]]],
    *,
    quiet: bool = True,
    command: str = "",
    on_row: Callable[[dict], None] | None = None,
    cluster: str | None = None,
    run_fields: dict | None = None,
    workers: int | None = 1,
) -> list[dict]:
    """Solve every cell of `jobs` ((config, cells) pairs) into the sweep directory `out_dir`
    and return all rows of its results.csv, in (objective, d, K) order.

    Each cell is committed as soon as it is measured (code file ``codes/{objective}_d{d}_K{K}
    .npy``, row merged into results.csv under the directory's lock); a cell already present
    with the same settings and its code file is skipped, so an interrupted run resumes.
    ``on_row`` sees each new row; ``cluster`` solves on Ray (an address for
    :func:`spherecodes.cluster.connect`; an open Ray connection is used as it is);
    ``workers`` > 1 solves in that many local processes (:mod:`spherecodes.workers`); None
    picks per job (:func:`spherecodes.workers.auto_workers`: every core for a large grid).
    ``run_fields`` go into this writer's record in ``run.json``.
    """
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ParameterError(
            "workers", "{name}={v!r} is out of range: need an integer >= 1", v=workers
        )
    out = Path(out_dir)
    (out / "codes").mkdir(parents=True, exist_ok=True)
    csv_path = out / "results.csv"
    rows: dict[tuple, dict] = {}
    if csv_path.exists():
        for r in store.read_table(csv_path, required=schema.SWEEP_REQUIRED):
            rows[tuple(r[c] for c in CELL_KEY)] = r

    with contextlib.ExitStack() as stack:
        cluster_record = None
        if cluster is not None:
            from spherecodes import cluster as ray_cluster  # imports Ray: only when asked to

            cluster_record = {
                "address": cluster,
                **stack.enter_context(ray_cluster.connect(cluster)),
            }
        t0 = time.perf_counter()
        started = store.now()
        run = {
            "id": f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            **store.provenance(command, started=started, wall_seconds=0.0),
            **(run_fields or {}),
            "cluster": cluster_record,
            "workers": None,  # the largest worker count a job used
            "end": None,
            "cells_solved": 0,
        }
        with store.locked(out):
            store.record_run(out / "run.json", run)

        todos = []
        for config, cells in jobs:
            obj = config.objective
            todo = [
                (int(d), int(K))
                for d, K in cells
                if not (
                    (obj, d, K) in rows
                    and _same_settings(rows[(obj, d, K)], config)
                    and (out / "codes" / code_file_name(obj, d, K)).exists()
                )
            ]
            todos.append((config, todo))

        def commit(res: CellResult, config: SolveConfig, measures=None, node=None) -> None:
            name = code_file_name(res.objective, res.d, res.K)
            row = result_row(res, config, f"codes/{name}", measures=measures, node=node)
            run["cells_solved"] += 1
            # kept current, so a run that is killed still records its time and cells
            run["wall_seconds"] = round(time.perf_counter() - t0, 3)
            commit_cell(out, row, res.code, run=run)
            # each cell's measures and polish compile for its own (K, d): a long run keeps
            # them only while the process has memory maps to spare
            batching.release_if_crowded()
            progress.done()
            if on_row is not None:
                on_row(row)

        progress = _Progress(sum(len(t) for _, t in todos), quiet)
        try:
            pooled = []  # jobs for local worker processes: solved together, in one pool
            for config, todo in todos:
                if not todo:
                    continue
                if cluster is None:
                    from spherecodes import workers as local

                    n_proc = local.auto_workers(todo) if workers is None else workers
                    run["workers"] = max(run["workers"] or 1, n_proc)
                    if n_proc > 1:
                        pooled.append((config, todo, n_proc))
                        continue
                    # chunk by chunk (one per padded shape, costliest first, as a worker
                    # pool cuts the grid): a cell is committed when its chunk is solved, not
                    # when the whole grid is, so a long run stopped early keeps its cells
                    for chunk in local.chunk_plan(todo, 1):
                        solve_grid(
                            list(chunk),
                            config,
                            on_bucket=progress.bucket,
                            on_result=lambda res, config=config: commit(res, config),
                        )
                    jax.clear_caches()  # the next job's buckets and cells have other shapes
                    continue
                n_nodes = len(cluster_record["nodes"])
                progress.bucket(f"{config.objective} on Ray ({n_nodes} node(s))", len(todo))
                # Workers measure too: the driver only writes, so it keeps up with many nodes.
                for s in ray_cluster.solve_on_ray(todo, config, finish=cell_measures):
                    commit(s.result, config, s.extra, s.node)
            if pooled:
                # every pooled job has the same count: `workers`, or every core under auto
                n_proc = max(n for _, _, n in pooled)
                names = ", ".join(c.objective for c, _, _ in pooled)
                progress.bucket(f"{names} in {n_proc} processes", sum(len(t) for _, t, _ in pooled))
                # Workers measure too, as on Ray: the parent only writes.
                solved = local.solve_jobs_on_workers(
                    [(c, t) for c, t, _ in pooled], workers=n_proc, finish=cell_measures
                )
                # closed on any error or signal here too, which stops the worker processes
                with contextlib.closing(solved):
                    for i, s in solved:
                        commit(s.result, pooled[i][0], s.extra, s.node)
        finally:
            progress.close()
        run["end"] = store.now()
        run["wall_seconds"] = round(time.perf_counter() - t0, 3)
        with store.locked(out):
            store.record_run(out / "run.json", run)
            # The table always exists after a run, even if every cell was skipped; the rows
            # returned include every other writer's cells committed so far.
            return _merge(out, [])


def cell_rows(rows: Sequence[dict], objective: str) -> dict[tuple[int, int], dict]:
    """Return {(d, K): row} of the sweep rows of `objective`."""
    return {(int(r["d"]), int(r["K"])): r for r in rows if r["objective"] == objective}


@precision.float64
def run_sweep(
    objectives: Sequence[str],
    ds: Sequence[int],
    Ks: Sequence[int],
    out_dir: str | Path,
    *,
    restarts: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    tau: float | None = None,
    lam: float | None = None,
    neighbors: int = 0,
    quiet: bool = False,
    command: str = "",
    on_row: Callable[[dict], None] | None = None,
    cluster: str | None = None,
    workers: int | None = 1,
) -> list[dict]:
    """Solve every (objective, d, K) cell and return the rows of ``out_dir/results.csv``.

    ``neighbors`` > 0 searches with neighbour lists (see :class:`SolveConfig`).  Cells already
    present with the same settings are skipped (resumable).  ``cluster`` solves on Ray:
    ``"local"``, ``"auto"`` or ``"ray://host:port"`` (see :func:`spherecodes.cluster.connect`;
    an open Ray connection is used as it is); without it, ``workers`` local processes (None:
    every usable core for a large grid).  Returns all rows of the table after the run,
    in (objective, d, K) order.
    """
    for obj in objectives:
        if obj not in OBJECTIVES:
            raise ParameterError(
                "objectives",
                "{name} {v!r} is unknown: choose from {ok}",
                v=obj,
                ok=", ".join(OBJECTIVES),
            )
    if not objectives:
        raise ParameterError("objectives", "{name} names no objective")
    for d in ds:
        if d < 2:
            raise ParameterError("ds", "d={v} is too small: need d >= 2", v=d)
    for K in Ks:
        if K < 2:
            raise ParameterError("Ks", "K={v} is too small: a code needs K >= 2 points", v=K)
    jobs = []
    for obj in objectives:
        kw = {"objective": obj, "seed": seed}
        for name, v in (("restarts", restarts), ("steps", steps), ("tau", tau), ("lam", lam)):
            if v is not None:
                kw[name] = v
        if neighbors:
            kw["neighbors"] = neighbors
        jobs.append((SolveConfig(**kw), [(d, K) for d in ds for K in Ks]))
    fields = {
        "objectives": list(objectives),
        "d": list(ds),
        "K": list(Ks),
        "seed": seed,
        "restarts": restarts,
        "steps": steps,
        "tau": tau,
        "lam": lam,
        "neighbors": neighbors,
    }
    return solve_cells(
        out_dir,
        jobs,
        quiet=quiet,
        command=command,
        on_row=on_row,
        cluster=cluster,
        run_fields=fields,
        workers=workers,
    )


def _row_order(row: dict) -> tuple:
    """Sort key of results.csv rows: objective (in solvers.OBJECTIVES order), d, K."""
    obj = row["objective"]
    rank = OBJECTIVES.index(obj) if obj in OBJECTIVES else len(OBJECTIVES)
    return (rank, str(obj), row["d"], row["K"])


def commit_cell(out_dir: str | Path, row: dict, code, *, run: dict | None = None) -> list[dict]:
    """Write a finished cell into the sweep directory `out_dir`: under its lock, the code file
    ``row["code_file"]`` atomically, then the row merged into results.csv, then (given) the
    writer's `run` record into run.json; return all rows."""
    out = Path(out_dir)
    with store.locked(out):
        store.atomic_save_npy(out / row["code_file"], code)
        rows = _merge(out, [row])
        if run is not None:
            store.record_run(out / "run.json", run)
        return rows


def _merge(out: Path, rows: list[dict]) -> list[dict]:
    """Merge `rows` into out/results.csv (hold the lock); return all rows in table order."""
    return store.merge_table(
        out / "results.csv",
        rows,
        schema.SWEEP_COLUMNS,
        CELL_KEY,
        sort_key=_row_order,
        optional=schema.SWEEP_ADDED_COLUMNS,
    )


def load_code(path: str | Path) -> np.ndarray:
    """Return a code saved by a sweep (``codes/*.npy``) as a float64 (K, d) array."""
    return np.load(path, allow_pickle=False).astype(np.float64)


@precision.float64
def remeasure(out_dir: str | Path) -> list[dict]:
    """Recompute the measure columns of ``out_dir/results.csv`` from its saved codes; return rows.

    Solver columns (value, kkt_residual, success_rate, settings, seconds, device) are kept; the
    exact measures are recomputed with the current measuring core and the table is rewritten
    atomically.  Use it after the measuring core changed, instead of solving again.
    """
    out = Path(out_dir)
    csv_path = out / "results.csv"
    if not csv_path.is_file():
        raise ValueError(f"table {csv_path} does not exist")
    with store.locked(out):
        rows = store.read_table(csv_path, required=schema.SWEEP_REQUIRED)
        for row in rows:
            for c in schema.SWEEP_ADDED_COLUMNS:  # a table written before these columns
                row.setdefault(c, None)
            row.update(measure_columns(load_code(out / row["code_file"])))
        store.write_table(csv_path, rows, schema.SWEEP_COLUMNS)
    return rows
