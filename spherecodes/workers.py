"""Solving a (d, K) grid in local worker processes: every CPU core of one machine at work.

XLA runs one small program on one CPU core, so a sweep in one process leaves the other cores
idle.  :func:`solve_on_workers` cuts the grid into the bucket chunks of
:func:`spherecodes.cluster.chunks` (cells of one padded shape), costliest first, and solves
them in ``workers`` spawned processes (:class:`concurrent.futures.ProcessPoolExecutor`; with
:func:`solve_jobs_on_workers`, the chunks of several jobs, say two objectives, in one pool), each
running :func:`spherecodes.cluster.solve_chunk` exactly as a Ray task does: a worker compiles
each shape it meets once, searches, polishes and, with ``finish``, measures, and the parent
alone writes.  No extra package is needed (Ray is for several machines).

A cell's result depends on its seed, objective, (d, K), budget and the cells it is solved
beside (the engine seeds a cell from its neighbours K - 1 and K + 1 in the same chunk), so a
given seed and worker count always give the same table; a different worker count may cut
the grid elsewhere.

Workers are spawned, so a script that calls these functions needs the usual
``if __name__ == "__main__":`` guard (the command line and notebooks need nothing).

>>> from spherecodes.tables.sweep import run_sweep
>>> rows = run_sweep(["tammes"], [3], range(4, 40), "out", workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from spherecodes.cluster import Solved, chunk_cells_for, chunks, solve_chunk
from spherecodes.solvers import CellResult, SolveConfig
from spherecodes.solvers.batching import host_lanes, ladder, validate_cells

__all__ = [
    "AUTO_MIN_COST",
    "auto_workers",
    "chunk_plan",
    "default_workers",
    "solve_jobs_on_workers",
    "solve_on_workers",
]

#: ``workers=None`` (``--workers auto``) starts processes only for grids whose padded K^2 d,
#: summed over the cells, is at least this (eight cells of (4, 32), about 10 s of solving on
#: one core): below it a worker's start-up, a fresh JAX import and compilation of every
#: shape, costs more than the second core saves.
AUTO_MIN_COST = 8 * 32 * 32 * 4


def default_workers() -> int:
    """Return the worker count of ``--workers auto``: this process's usable CPU cores when
    JAX computes on the CPU (one small XLA program keeps one core busy), else 1 (one process
    drives the accelerators): :func:`spherecodes.solvers.batching.host_lanes`."""
    return host_lanes()


def auto_workers(cells: Sequence[tuple[int, int]]) -> int:
    """Return the worker count ``workers=None`` means for `cells`: :func:`default_workers`
    when their summed padded K^2 d reaches :data:`AUTO_MIN_COST`, else 1."""
    return default_workers() if _cost(validate_cells(cells)) >= AUTO_MIN_COST else 1


def _cost(chunk: Sequence[tuple[int, int]]) -> int:
    """Return a chunk's relative cost: padded K^2 d summed over its cells."""
    return sum(ladder(K) ** 2 * ladder(d) for d, K in chunk)


def chunk_plan(cells: Sequence[tuple[int, int]], workers: int) -> list[tuple[tuple[int, int], ...]]:
    """Return the chunks `workers` processes solve: each padded-shape group cut into about
    `workers` chunks, costliest chunk first (longest-processing-time order, so the last
    chunks to finish are the cheap ones).

    >>> chunk_plan([(3, 4), (3, 5), (3, 6), (3, 40)], 2)
    [((3, 40),), ((3, 5),), ((3, 6),), ((3, 4),)]
    """
    cells = validate_cells(cells)
    plan = chunks(cells, chunk_cells=chunk_cells_for(cells, workers))
    return sorted(plan, key=_cost, reverse=True)


def _check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} is out of range: need an integer >= 1")
    return workers


def solve_on_workers(
    cells: Sequence[tuple[int, int]],
    config: SolveConfig,
    *,
    workers: int,
    finish: Callable[[CellResult], Any] | None = None,
    stream: bool | None = None,
) -> Iterator[Solved]:
    """Yield one Solved per cell, in the order the chunks finish, solving the chunks of
    :func:`chunk_plan` in `workers` spawned processes; ``finish(result)`` (a picklable,
    module-level function) runs in the worker and comes back as ``Solved.extra``.  A chunk
    that raises re-raises its exception here; then, as when the caller stops early, the
    chunks not started are cancelled and the processes still solving are terminated."""
    jobs = solve_jobs_on_workers([(config, cells)], workers=workers, finish=finish, stream=stream)
    with contextlib.closing(jobs):  # a caller that stops early cancels the pool's rest now
        for _, solved in jobs:
            yield solved


def solve_jobs_on_workers(
    jobs: Sequence[tuple[SolveConfig, Sequence[tuple[int, int]]]],
    *,
    workers: int,
    finish: Callable[[CellResult], Any] | None = None,
    stream: bool | None = None,
) -> Iterator[tuple[int, Solved]]:
    """Yield (job index, Solved) for every cell of `jobs` ((config, cells) pairs), in the
    order the chunks finish, all jobs' chunks (each job cut by :func:`chunk_plan`, so a cell
    is solved beside the same neighbours as alone) in one pool of `workers` spawned
    processes, costliest first: a second objective starts as soon as a process is free, not
    after the first objective's last chunk.  ``finish`` and errors as in
    :func:`solve_on_workers`."""
    workers = _check_workers(workers)
    plan = sorted(
        ((i, c) for i, (_, cells) in enumerate(jobs) for c in chunk_plan(cells, workers)),
        key=lambda ic: _cost(ic[1]),
        reverse=True,
    )
    if not plan:
        return
    # spawn, not fork: a forked child would inherit the parent's XLA threads mid-flight.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(plan)), mp_context=ctx) as pool:
        pending = {pool.submit(solve_chunk, c, jobs[i][0], stream, finish): i for i, c in plan}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    for solved in fut.result():
                        yield i, solved
        finally:
            if pending:
                # The caller stopped early, a chunk failed or a signal ended the run: every
                # result still pending would be discarded, so the chunks not started are
                # dropped and the processes still solving are stopped now, not left to run
                # their chunks to the end after this process is gone.
                for fut in pending:
                    fut.cancel()
                _terminate(pool)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop `pool`'s worker processes (Python 3.14's ``terminate_workers``; before it, the
    executor's own process table)."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
