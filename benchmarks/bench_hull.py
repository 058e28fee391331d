"""Benchmark of the one-vs-rest distances (spherecodes.hull): JAX path vs the cvxpy reference.

Times `one_vs_rest` (jit-compiled, after a warm-up call, blocking on the result) on random
codes for (d, K) = (10, 100), (64, 2000), (512, 10000), and the cvxpy + Clarabel path on the
smallest; ratios are measured in this one run.  Records the largest certificate gap and an
estimate of peak working memory.  Writes benchmarks/results/hull.csv and hull.md.

    python benchmarks/bench_hull.py            # all sizes
    python benchmarks/bench_hull.py --quick    # skip (512, 10000)
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import platform
import resource
import time

import jax
import numpy as np

from spherecodes import hull
from spherecodes.sphere import random_code

jax.config.update("jax_enable_x64", True)  # a script: float64 for the whole run

SIZES = [(10, 100), (64, 2000), (512, 10000)]
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def memory_estimate_mb(K: int, d: int) -> float:
    """Largest live arrays of one block (working-set coordinates, (block, K) certificate,
    corral inverses) plus the code and outputs, in MB, for the default settings."""
    m_max = min(256, K - 1)
    s = min(160, m_max, d + 1)
    block = max(1, min(K, 256, (4 << 20) // max(1, m_max * d)))
    per_block = block * (m_max * d + 4 * K + 3 * s * s + m_max)
    return 8 * (per_block + 4 * K * d) / 2**20


def time_jax(code, repeats: int) -> tuple[float, hull.OneVsRest]:
    fn = jax.jit(hull.one_vs_rest)
    res = jax.block_until_ready(fn(code))  # compile + warm up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = jax.block_until_ready(fn(code))
        best = min(best, time.perf_counter() - t0)
    return best, res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip (d, K) = (512, 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per size (best)")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__} devices {[str(dv) for dv in jax.devices()]}"
    )
    rows = []
    for d, K in sizes:
        code = random_code(jax.random.PRNGKey(0), K, d)
        reps = args.repeats if K <= 2000 else 1
        t, res = time_jax(code, reps)
        rows.append(
            dict(
                d=d,
                K=K,
                path="jax",
                seconds=t,
                per_point_ms=1e3 * t / K,
                max_gap=float(np.max(res.gap)),
                rho_1vr=float(np.min(res.distance)),
                mem_estimate_mb=memory_estimate_mb(K, d),
            )
        )
        print(rows[-1], flush=True)
    d, K = SIZES[0]
    code = np.asarray(random_code(jax.random.PRNGKey(0), K, d))
    t0 = time.perf_counter()
    ref = hull.one_vs_rest_cvxpy(code)
    t_cvx = time.perf_counter() - t0
    err = float(np.max(np.abs(ref - np.asarray(hull.one_vs_rest(code).distance))))
    rows.append(
        dict(
            d=d,
            K=K,
            path="cvxpy+clarabel",
            seconds=t_cvx,
            per_point_ms=1e3 * t_cvx / K,
            max_gap=float("nan"),
            rho_1vr=float(ref.min()),
            mem_estimate_mb=float("nan"),
        )
    )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "hull.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    t_small = rows[0]["seconds"]
    lines = [
        "# one-vs-rest distances: spherecodes.hull",
        "",
        f"Machine: {machine}.  Random codes (seed 0); JAX times are the best of the timed calls",
        "after compilation; the cvxpy path solves one Clarabel QP per point.",
        "",
        "| d | K | path | seconds | ms / point | vs jax (10, 100) | max gap | rho_1vr "
        "| est. working MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['d']} | {r['K']} | {r['path']} | {r['seconds']:.3g} | {r['per_point_ms']:.3g} "
            f"| {r['seconds'] / t_small:.3g}x | {r['max_gap']:.2e} | {r['rho_1vr']:.12f} "
            f"| {r['mem_estimate_mb']:.3g} |"
        )
    lines += [
        "",
        f"cvxpy vs JAX on (10, 100): {t_cvx / t_small:.3g}x slower; max |difference| of the "
        f"distances {err:.2e}.  Peak process RSS {peak_rss_mb:.0f} MB.",
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / "hull.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
