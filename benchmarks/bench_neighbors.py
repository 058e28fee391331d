"""Benchmark: neighbour-list search step against the exact streamed step, and what it finds.

Speed: at d = 512 and K in {1000, 10000} (--quick: 1000 only), the float32 time per step of
the exact streamed surrogate (:func:`spherecodes.solvers.stream.search_steps`, all K^2
pieces) and of the neighbour-list surrogate (:mod:`spherecodes.solvers.neighbors`, m pieces
per point) with the cost of one list refresh spread over ``REFRESH`` steps; ratios are from the
same run.  Quality: the same budget (restarts x steps) of the dense search and the
neighbour-list search on small cells, compared by their exact objective (the dense search
sees every piece, so it is the reference).

Writes benchmarks/results/neighbors.csv and neighbors.md.

    python benchmarks/bench_neighbors.py            # a few minutes on 2 cores
    python benchmarks/bench_neighbors.py --quick
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

from spherecodes.solvers import SolveConfig, search, solve, stream
from spherecodes.solvers import neighbors as NB

jax.config.update("jax_enable_x64", True)  # a script: float64 for the whole run

OUT = Path(__file__).resolve().parent / "results"


def _time(fn, repeats=2):
    jax.block_until_ready(fn())  # compile
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t)
    return best


def bench_speed(objective, d, K, ms, steps, rows):
    W0, H0 = search.initial_point(objective, d, K, 0, 0, dtype="float32")
    p = (jnp.asarray(W0),) if H0 is None else (jnp.asarray(W0), jnp.asarray(H0))
    b = stream.default_block(K)
    t_full = (
        _time(lambda: stream.search_steps(objective, p, 0.05, 5e-3, 0.01, steps=steps, block=b))
        / steps
    )
    rows.append(dict(kind="speed", objective=objective, d=d, K=K, m="all", step_s=t_full,
                     refresh_s="", amortized_s=t_full, speedup=1.0))  # fmt: skip
    state = optax.scale_by_adam().init(p)
    Hl = p[-1]
    for m in ms:
        t_list = _time(lambda m=m: NB.neighbor_lists(objective, p[0], Hl, m=m, block=b))
        nbr = NB.neighbor_lists(objective, p[0], Hl, m=m, block=b)
        t_step = (
            _time(
                lambda nbr=nbr: NB._steps(
                    objective, p, state, nbr, 0, 0.01, 1e-5, 0.02, 1e-5, n=steps, total=1000
                )  # fmt: skip
            )
            / steps
        )
        amort = t_step + t_list / NB.REFRESH
        rows.append(dict(kind="speed", objective=objective, d=d, K=K, m=m, step_s=t_step,
                         refresh_s=t_list, amortized_s=amort, speedup=t_full / amort))  # fmt: skip
        print(rows[-1], flush=True)


def bench_quality(objective, d, K, m, restarts, steps, rows):
    base = SolveConfig(objective=objective, restarts=restarts, steps=steps, polish=False)
    t = time.perf_counter()
    dense = solve(d, K, base)
    t_dense = time.perf_counter() - t
    t = time.perf_counter()
    nb = solve(d, K, SolveConfig(objective=objective, restarts=restarts, steps=steps,
                                 polish=False, neighbors=m))  # fmt: skip
    t_nb = time.perf_counter() - t
    rows.append(dict(kind="quality", objective=objective, d=d, K=K, m=m,
                     dense_value=dense.value, neighbor_value=nb.value,
                     dense_s=t_dense, neighbor_s=t_nb, restarts=restarts, steps=steps))  # fmt: skip
    print(rows[-1], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="K = 1000 only, fewer quality cells")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    args = ap.parse_args()
    rows: list[dict] = []
    Ks = (1000,) if args.quick else (1000, 10000)
    for objective in ("tammes", "softmax"):
        for K in Ks:
            bench_speed(objective, 512, K, (32, 64), args.steps, rows)
    cells = [("tammes", 3, 60, 12), ("softmax", 10, 100, 32)]
    if not args.quick:
        cells.append(("softmax", 10, 200, 32))
    for objective, d, K, m in cells:
        bench_quality(objective, d, K, m, 4, 2000, rows)

    OUT.mkdir(exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "kind", k))
    with open(OUT / "neighbors.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)
    machine = f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip()
    lines = [
        "# Neighbour-list search vs exact streamed search",
        "",
        f"Machine: {machine}, jax {jax.__version__}, devices {jax.devices()}.",
        "",
        "| objective | d | K | m | step (s) | refresh (s) | per step incl. refresh (s) "
        "| speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "speed":
            ref = f"{r['refresh_s']:.3g}" if r["refresh_s"] != "" else "-"
            lines.append(
                f"| {r['objective']} | {r['d']} | {r['K']} | {r['m']} | {r['step_s']:.3g} | "
                f"{ref} | {r['amortized_s']:.3g} | {r['speedup']:.1f}x |"
            )
    lines += [
        "",
        "Same budget (4 restarts x 2000 steps, no polish), exact objective (lower is better):",
        "",
        "| objective | d | K | m | dense value | neighbour value | dense (s) | neighbour (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "quality":
            lines.append(
                f"| {r['objective']} | {r['d']} | {r['K']} | {r['m']} | {r['dense_value']:.10f} "
                f"| {r['neighbor_value']:.10f} | {r['dense_s']:.1f} | {r['neighbor_s']:.1f} |"
            )
    (OUT / "neighbors.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
