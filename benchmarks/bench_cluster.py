"""The same sweep run locally and through `--cluster` (a local Ray runtime), one run each.

    python benchmarks/bench_cluster.py [--K 4:27] [--restarts 16] [--steps 200] [--workers 2]

Runs ``run_sweep`` over tammes d = 3, K = 4..27 (24 cells) twice into fresh folders: in this
process, then on a local Ray runtime of ``--workers`` CPUs (one worker process per CPU); both
start cold (each process compiles the programs it needs).  Also measures what a cluster adds
per unit of work: the round trip of an empty Ray task on the warm runtime, and the driver's
commit of one cell (lock, code file, merge into results.csv) with 24 and with 2000 rows in
the table, which bounds how many cells per hour one driver can write.  Checks that the two
tables agree on every column but wall time.  Writes benchmarks/results/cluster.csv and
cluster.md.  Needs the extra: pip install -e '.[cluster]'.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from spherecodes import cluster, tables
from spherecodes.solvers import SolveConfig
from spherecodes.tables.sweep import commit_cell, parse_range, run_sweep

HERE = Path(__file__).resolve().parent


def noop() -> int:
    """Return 0: the body of the empty task whose round trip is timed."""
    return 0


def task_round_trip(n: int) -> float:
    """Return the mean seconds per empty task over `n` tasks submitted at once (warm runtime)."""
    import ray

    task = ray.remote(num_cpus=1)(noop)
    ray.get([task.remote() for _ in range(8)])  # start the workers first
    t0 = time.perf_counter()
    ray.get([task.remote() for _ in range(n)])
    return (time.perf_counter() - t0) / n


def commit_seconds(rows: list[dict], n_rows: int, repeats: int = 20) -> float:
    """Return the mean seconds of one commit_cell into a table of `n_rows` rows."""
    template = rows[0]
    code = np.eye(template["K"], template["d"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        filler = [
            {**template, "K": 1000 + i, "code_file": f"codes/x{i}.npy"} for i in range(n_rows)
        ]
        tables.write_table(out / "results.csv", filler, tables.SWEEP_COLUMNS)
        t0 = time.perf_counter()
        for i in range(repeats):
            commit_cell(out, {**template, "K": 10**6 + i, "code_file": f"codes/y{i}.npy"}, code)
        return (time.perf_counter() - t0) / repeats


def table_differences(a: list[dict], b: list[dict]) -> list[str]:
    """Return "K=..: column a != b" for every cell and column but seconds where two sweep
    tables differ (NaN equals NaN); [] when they agree."""
    if [r["K"] for r in a] != [r["K"] for r in b]:
        return [f"cells differ: {[r['K'] for r in a]} != {[r['K'] for r in b]}"]
    out = []
    for ra, rb in zip(a, b, strict=True):
        for col in tables.SWEEP_COLUMNS:
            va, vb = ra[col], rb[col]
            if col != "seconds" and va != vb and not (va != va and vb != vb):
                out.append(f"K={ra['K']}: {col} {va!r} != {vb!r}")
    return out


def main() -> None:
    """Run both sweeps, the overhead probes, and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", default="4:27")
    ap.add_argument("--restarts", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    Ks = parse_range(args.K, name="K", minimum=2)
    budget = {"restarts": args.restarts, "steps": args.steps, "seed": 0, "quiet": True}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run_sweep(["tammes"], [3], Ks, Path(tmp) / "local", **budget)
        local_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        with cluster.connect("local", num_cpus=args.workers) as record:
            startup_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            remote = run_sweep(["tammes"], [3], Ks, Path(tmp) / "ray", cluster="local", **budget)
            cluster_s = time.perf_counter() - t0
            n_tasks = len(
                cluster.chunks([(3, K) for K in Ks], chunk_cells=_default_chunk(Ks, args.workers))
            )
            trip_s = task_round_trip(200)
        differences = table_differences(local, remote)
    commit_24 = commit_seconds(local, len(Ks))
    commit_2000 = commit_seconds(local, 2000)
    load = max(load, os.getloadavg()[0])
    cfg = SolveConfig(objective="tammes", restarts=args.restarts, steps=args.steps)
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs)"
    result = {
        "machine": machine,
        "ray": record["ray"],
        "cells": len(Ks),
        "restarts": cfg.restarts,
        "steps": cfg.steps,
        "polish": cfg.polish,
        "workers": args.workers,
        "tasks": n_tasks,
        "local_seconds": round(local_s, 2),
        "cluster_seconds": round(cluster_s, 2),
        "cluster_startup_seconds": round(startup_s, 2),
        "overhead_per_task_seconds": round((cluster_s - local_s) / n_tasks, 3),
        "empty_task_round_trip_ms": round(1e3 * trip_s, 3),
        "commit_ms_24_rows": round(1e3 * commit_24, 3),
        "commit_ms_2000_rows": round(1e3 * commit_2000, 3),
        "tables_agree": not differences,
        "differences": "; ".join(differences),
        "load_1min_max": round(load, 2),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cluster.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(result))
        w.writeheader()
        w.writerow(result)
    (out / "cluster.md").write_text(render(result))
    print(render(result))


def _default_chunk(Ks: list[int], workers: int) -> int:
    """Return the chunk size solve_on_ray picks for tammes d = 3 over Ks on `workers` CPUs."""
    from spherecodes.solvers.batching import ladder

    sizes: dict[int, int] = {}
    for K in Ks:
        sizes[ladder(K)] = sizes.get(ladder(K), 0) + 1
    return max(1, -(-max(sizes.values()) // workers))


def render(r: dict) -> str:
    """Return the Markdown summary of one benchmark result."""
    per_hour_commit = 3600 / (r["commit_ms_2000_rows"] / 1e3)
    return (
        f"# Local sweep vs `--cluster` (tammes, d=3, {r['cells']} cells)\n\n"
        f"Machine: {r['machine']}, shared with other work while measuring (1-minute load up "
        f"to {r['load_1min_max']}); Ray {r['ray']}.  restarts={r['restarts']}, "
        f"steps={r['steps']}, polish={r['polish']}; both runs cold (compile included).\n\n"
        "| path | seconds |\n|---|---|\n"
        f"| local (`spherecodes sweep`) | {r['local_seconds']} |\n"
        f"| cluster, {r['workers']} local workers, {r['tasks']} tasks (`--cluster`) | "
        f"{r['cluster_seconds']} (+ {r['cluster_startup_seconds']} to start Ray) |\n\n"
        f"Overhead per task (cluster - local, over {r['tasks']} tasks): "
        f"**{r['overhead_per_task_seconds']} s**.  Empty task round trip on the warm runtime: "
        f"{r['empty_task_round_trip_ms']} ms.  Driver commit per cell: "
        f"{r['commit_ms_24_rows']} ms with 24 rows, {r['commit_ms_2000_rows']} ms with 2000 "
        f"rows (about {per_hour_commit:,.0f} cells per hour at that size).  Same table on both "
        f"paths (all columns but seconds): {r['tables_agree']} {r['differences']}.\n"
    )


if __name__ == "__main__":
    main()
