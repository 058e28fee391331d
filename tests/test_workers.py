"""Sweeps in local worker processes (`--workers`): the same table as one process, every cell
once, costliest chunks first, and the automatic count only for grids that repay it."""

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from spherecodes import tables, workers
from spherecodes.solvers.batching import ladder
from spherecodes.tables.sweep import run_sweep

#: Cells of three padded shapes and no two neighbours in K (a cell is seeded from K - 1 and
#: K + 1 beside it, so only here does any cut of the grid give each cell the same search).
#: Two objectives: a worker pool solves both jobs' chunks together.
GRID = {"objectives": ["tammes", "grassmannian"], "ds": [3], "Ks": [4, 7, 9]}
BUDGET = {"restarts": 8, "steps": 100, "seed": 3, "quiet": True}


def test_chunk_plan_covers_every_cell_once_costliest_first():
    cells = [(d, K) for d in (3, 4) for K in range(4, 20)]
    plan = workers.chunk_plan(cells, 2)
    assert sorted(c for ch in plan for c in ch) == sorted(cells)
    for ch in plan:  # one padded shape per chunk: one compiled program serves it
        assert len({(ladder(K), ladder(d)) for d, K in ch}) == 1
    costs = [sum(ladder(K) ** 2 * ladder(d) for d, K in ch) for ch in plan]
    assert costs == sorted(costs, reverse=True)
    with pytest.raises(ValueError, match="workers=0"):
        list(workers.solve_on_workers(cells, None, workers=0))


def test_auto_uses_one_process_for_a_small_grid():
    assert workers.auto_workers([(3, K) for K in range(4, 9)]) == 1
    big = [(3, K) for K in range(4, 131)]
    assert workers.auto_workers(big) == workers.default_workers() >= 1


def test_two_workers_give_the_one_process_table(tmp_path):
    seen = []  # run.json's record as each cell is committed: current, not only at the end

    def on_row(row):
        (run,) = json.loads((tmp_path / "one" / "run.json").read_text())["runs"]
        seen.append((run["cells_solved"], run["wall_seconds"] > 0))

    one = run_sweep(**GRID, out_dir=tmp_path / "one", on_row=on_row, **BUDGET)
    n_cells = len(GRID["objectives"]) * len(GRID["Ks"])
    assert seen == [(i, True) for i in range(1, n_cells + 1)]
    two = run_sweep(**GRID, out_dir=tmp_path / "two", workers=2, **BUDGET)
    assert [(r["d"], r["K"]) for r in one] == [(r["d"], r["K"]) for r in two]
    for a, b in zip(one, two, strict=True):
        for col in tables.SWEEP_COLUMNS:
            if col in ("seconds", "node"):
                continue
            same = a[col] == b[col] or (
                isinstance(a[col], float) and np.isnan(a[col]) and np.isnan(b[col])
            )
            assert same, (a["K"], col, a[col], b[col])
        ca = np.load(tmp_path / "one" / a["code_file"])
        cb = np.load(tmp_path / "two" / b["code_file"])
        assert ca.tobytes() == cb.tobytes(), a["K"]
    (run,) = json.loads((tmp_path / "two" / "run.json").read_text())["runs"]
    assert run["workers"] == 2 and run["cells_solved"] == n_cells


@pytest.mark.parametrize(
    ("value", "match"),
    [("0", "--workers=0 is too small"), ("two", "--workers 'two' is not an integer")],
)
def test_bad_workers_is_one_error_line(value, match, capsys, tmp_path):
    from spherecodes.cli import main

    assert main(["sweep", "--K", "4", "--out", str(tmp_path), "--workers", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_a_pool_of_two_jobs_gives_each_cell_its_own_jobs_config():
    """Chunks of jobs with different configs share one pool; each result comes back with the
    index of its job (objective and seed differ, so a swapped index would show)."""
    from spherecodes.solvers import SolveConfig

    jobs = [
        (SolveConfig(objective="tammes", restarts=4, seed=1), [(3, 5), (3, 7)]),
        (SolveConfig(objective="grassmannian", restarts=4, seed=2), [(3, 6)]),
    ]
    got = sorted(
        (i, s.result.objective, s.result.d, s.result.K)
        for i, s in workers.solve_jobs_on_workers(jobs, workers=2)
    )
    assert got == [(0, "tammes", 3, 5), (0, "tammes", 3, 7), (1, "grassmannian", 3, 6)]


def test_stopping_early_stops_the_processes_still_solving():
    """A caller that closes the iterator after the first cell leaves no process solving on:
    the one still on its chunk (here minutes of work: a default-budget (8, 48) cell beside a
    4-start (3, 4) cell) is terminated, not waited for."""
    import multiprocessing
    import signal

    from spherecodes.solvers import SolveConfig

    jobs = [
        (SolveConfig(objective="tammes", restarts=4, seed=1), [(3, 4)]),
        (SolveConfig(objective="tammes", seed=1), [(8, 48)]),
    ]
    solved = workers.solve_jobs_on_workers(jobs, workers=2)
    i, first = next(solved)
    assert (i, first.result.K) == (0, 4)
    procs = multiprocessing.active_children()
    solved.close()
    assert procs and not any(p.is_alive() for p in procs)
    assert -signal.SIGTERM in [p.exitcode for p in procs]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find workers")
def test_sigterm_stops_the_command_and_its_worker_processes(tmp_path):
    """`kill` of a `--workers 2` run ends it with status 143 and leaves no worker solving."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "spherecodes", "sweep", "--d", "8", "--K", "40:48"]
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path), "--workers", "2"])

    def workers_of(pid):
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
                if ppid == pid and b"spawn_main" in cmdline:
                    found.append(int(stat.parent.name))
        return found

    try:
        while len(children := workers_of(proc.pid)) < 2:
            assert proc.poll() is None, "the run ended before its workers started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=300) == 128 + signal.SIGTERM
    finally:
        proc.kill()
    for pid in children:  # reaped by the pool's shutdown, so gone (not even a zombie)
        assert not os.path.exists(f"/proc/{pid}"), pid
