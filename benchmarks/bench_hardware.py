"""How close spherecodes' batched search step comes to this machine's own limits.

    python benchmarks/bench_hardware.py           # about 2-4 minutes on 2 cores
    python benchmarks/bench_hardware.py --quick   # well under a minute

Measures, with jit and block_until_ready (compile excluded: every program runs once first):

* the machine's float32 matmul rate (GFLOP/s, large square matmul) and its elementwise exp
  rate (Gelem/s over a large array; also GB/s at 8 bytes per element, read + write) and a
  row-wise logsumexp rate;
* the float32 tammes search step of :mod:`spherecodes.solvers.search` (log-sum-exp surrogate,
  its gradient, tangent projection, optax Adam, row renormalization; vmapped over restarts and
  looped with ``fori_loop`` as ``search_batch`` does), per step, over batch sizes;
* as a check, the real ``search_batch`` (its float32 steps plus the float64 refinement) per
  step, for a whole run and marginally (difference of two step counts: no fixed costs).

The step's useful work is counted analytically per restart: the Gram matrix W W^T (2 K^2 d
flops), one gradient matmul (2 K^2 d flops) and the exp over the K^2 Gram entries.  The
roofline time of a step is max(matmul flops / peak GFLOP/s, exps / peak exp rate) and the
fraction of the hardware limit is roofline time / measured time.  Writes
benchmarks/results/hardware.csv.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from spherecodes.solvers import riemannian, search  # noqa: E402

jax.config.update("jax_enable_x64", True)  # float64 available; the step below is float32

RESULTS = ROOT / "benchmarks" / "results"
COLUMNS = [
    "kind",
    "d",
    "K",
    "restarts",
    "steps_timed",
    "seconds_per_step",
    "matmul_gflop_per_step",
    "exp_gelem_per_step",
    "achieved_gflops",
    "achieved_exp_gelem_s",
    "roofline_seconds",
    "fraction_of_limit",
    "bound",
    "peak_matmul_gflops",
    "peak_exp_gelem_s",
    "machine",
    "load_avg_1min",
]


def _time(fn, *args, repeats=3) -> float:
    """Return the best wall time (s) of fn(*args) over `repeats` runs after one warm run."""
    jax.block_until_ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def peak_matmul_gflops(n: int = 2048) -> float:
    """Return the float32 rate (GFLOP/s) of an n x n by n x n matmul."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    f = jax.jit(lambda x, y: x @ y)
    return 2 * n**3 / _time(f, a, b) / 1e9


def peak_exp_gelem_s(n: int = 1 << 24) -> float:
    """Return the float32 elementwise exp rate (Gelem/s) over an array of n elements."""
    x = jax.random.uniform(jax.random.PRNGKey(2), (n,), jnp.float32, -5, 0)
    f = jax.jit(jnp.exp)
    return n / _time(f, x) / 1e9


def peak_logsumexp_gelem_s(rows: int = 1 << 14, cols: int = 1024) -> float:
    """Return the float32 row-wise logsumexp rate (Gelem/s) over a rows x cols array."""
    x = jax.random.uniform(jax.random.PRNGKey(3), (rows, cols), jnp.float32, -5, 0)
    f = jax.jit(lambda v: jax.nn.logsumexp(v, axis=-1))
    return rows * cols / _time(f, x) / 1e9


def make_steps(d: int, K: int, steps: int):
    """Return a jitted f(W) running `steps` float32 tammes search steps on each (K, d) row of
    W (rows, K, d), as :func:`spherecodes.solvers.search.search_batch` does."""
    opt = riemannian.adam(sphere=True)
    pm = jnp.ones(K, bool)
    f32 = jnp.float32
    tau, lam = jnp.asarray(0.05, f32), jnp.asarray(5e-3, f32)

    def loss(p, t):
        return search.surrogate("tammes", (p[0], None), pm, t, tau, lam)

    def row(W):
        def step(s, carry):
            p, state = carry
            t = riemannian.geometric(search.T_START, search.T_END, s, steps, f32)
            lr = riemannian.geometric(search.LR_START, search.LR_END, s, steps, f32)
            return opt.step(p, jax.grad(loss)(p, t), state, lr)

        p0 = (W,)
        p, _ = jax.lax.fori_loop(0, steps, step, (p0, opt.init(p0)))
        return p[0]

    return jax.jit(jax.vmap(row))


def step_seconds(d: int, K: int, rows: int, steps: int) -> float:
    """Return the wall time (s) of one float32 search step on `rows` restarts of (d, K)."""
    W = jax.random.normal(jax.random.PRNGKey(4), (rows, K, d), jnp.float32)
    W = W / jnp.linalg.norm(W, axis=-1, keepdims=True)
    return _time(make_steps(d, K, steps), W, repeats=2) / steps


def search_batch_seconds(d: int, K: int, rows: int, steps: int) -> tuple[float, float]:
    """Return (whole, marginal) wall time (s) per step of the real search_batch.

    whole: one run of `steps` float32 steps plus the float64 refinement, divided by their total
    number; marginal: the difference between runs of 2 * `steps` and `steps` steps, divided by
    the difference in total steps (no fixed costs: start, true value, dispatch).
    """
    args = (
        jax.random.PRNGKey(0),
        jnp.full(rows, d, jnp.int32),
        jnp.full(rows, K, jnp.int32),
        jnp.arange(rows, dtype=jnp.int32),
        np.float64(0.05),
        np.float64(5e-3),
    )
    out = []
    for n in (steps, 2 * steps):
        spec = search.SearchSpec("tammes", n, "float32", K, d)
        total = n + int(np.ceil(search.REFINE_FRACTION * n))
        out.append(
            (_time(lambda *a, spec=spec: search.search_batch(spec, *a), *args, repeats=1), total)
        )
    (t1, n1), (t2, n2) = out
    return t1 / n1, (t2 - t1) / (n2 - n1)


def main(argv=None) -> int:
    """Run the hardware benchmark and write hardware.csv; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer batch sizes and steps")
    p.add_argument("--out", default=str(RESULTS / "hardware.csv"))
    args = p.parse_args(argv)
    from benchmarks.bench_peers import machine_description

    machine = machine_description()
    print(f"machine: {machine}; load average {os.getloadavg()}", flush=True)
    mm = peak_matmul_gflops(1024 if args.quick else 2048)
    ex = peak_exp_gelem_s(1 << 22 if args.quick else 1 << 24)
    lse = peak_logsumexp_gelem_s(1 << 12 if args.quick else 1 << 14)
    print(
        f"peak: matmul {mm:.1f} GFLOP/s, exp {ex:.3f} Gelem/s ({8 * ex:.2f} GB/s), "
        f"logsumexp {lse:.3f} Gelem/s",
        flush=True,
    )
    load = round(os.getloadavg()[0], 2)
    rows = [
        {"kind": "peak_matmul_f32", "achieved_gflops": mm},
        {"kind": "peak_exp_f32", "achieved_exp_gelem_s": ex},
        {"kind": "peak_logsumexp_f32", "achieved_exp_gelem_s": lse},
    ]
    if args.quick:
        grid = [((3, 30), (8, 128, 1024), 100), ((64, 1000), (8,), 2)]
    else:
        grid = [((3, 30), (8, 32, 128, 512, 1024), 200), ((64, 1000), (8, 16, 32, 64), 3)]
    for (d, K), batches, steps in grid:
        for b in batches:
            sec = step_seconds(d, K, b, steps)
            flop = 4.0 * K * K * d * b
            exps = float(K * K * b)
            roof = max(flop / (mm * 1e9), exps / (ex * 1e9))
            bound = "matmul" if flop / (mm * 1e9) >= exps / (ex * 1e9) else "exp"
            row = {
                "kind": "search_step_f32",
                "d": d,
                "K": K,
                "restarts": b,
                "steps_timed": steps,
                "seconds_per_step": sec,
                "matmul_gflop_per_step": flop / 1e9,
                "exp_gelem_per_step": exps / 1e9,
                "achieved_gflops": flop / sec / 1e9,
                "achieved_exp_gelem_s": exps / sec / 1e9,
                "roofline_seconds": roof,
                "fraction_of_limit": roof / sec,
                "bound": bound,
            }
            rows.append(row)
            print(
                f"step d={d} K={K} restarts={b}: {sec * 1e3:.3f} ms/step, "
                f"{row['achieved_gflops']:.2f} GFLOP/s, {row['achieved_exp_gelem_s']:.3f} "
                f"Gelem/s, {100 * row['fraction_of_limit']:.1f}% of the {bound} limit",
                flush=True,
            )
        b = batches[len(batches) // 2]
        whole, marginal = search_batch_seconds(d, K, b, steps)
        for kind, sec in (("search_batch_whole", whole), ("search_batch_marginal", marginal)):
            rows.append(
                {
                    "kind": kind,
                    "d": d,
                    "K": K,
                    "restarts": b,
                    "steps_timed": steps,
                    "seconds_per_step": sec,
                }
            )
        print(
            f"search_batch d={d} K={K} restarts={b}: {whole * 1e3:.3f} ms/step whole run, "
            f"{marginal * 1e3:.3f} ms/step marginal (float32 steps + float64 refinement)",
            flush=True,
        )
    for r in rows:
        r.update(peak_matmul_gflops=mm, peak_exp_gelem_s=ex, machine=machine, load_avg_1min=load)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    k: (f"{r[k]:.6g}" if isinstance(r.get(k), float) else r.get(k, ""))
                    for k in COLUMNS
                }
            )
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
