"""Benchmark of the streamed (blockwise) search and measures at d = 512, K in {1e3, 1e4, 1e5}.

For each K: the time per float32 search step of :func:`spherecodes.solvers.stream.search_steps`
(after compilation, blocking on the result), the compiled memory analysis (temporaries,
arguments, outputs) of the float32 search program and of the float64 refinement program, the
memory estimates of both paths, and the process max RSS.  Where a full step would take more
than ``--max-step-seconds`` (K = 1e5 on a small CPU), the step time is extrapolated from one
block of rows (a step is exactly ``n_blocks`` such blocks plus O(K d) work); both are measured
at the smaller K so the extrapolation can be checked.  Also: ``measures.max_inner`` (timed,
or extrapolated from one block likewise, with its compiled memory) and the one-vs-rest
distances ``hull.one_vs_rest`` (compiled memory of the whole call; time of one block of points).

Writes benchmarks/results/scale.csv and scale.md.

    python benchmarks/bench_scale.py            # all sizes (a few minutes on 2 cores)
    python benchmarks/bench_scale.py --quick    # K = 1e3 and 1e4 only
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import platform
import resource
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from spherecodes import hull, measures
from spherecodes.solvers import SolveConfig, planning, search, stream
from spherecodes.sphere import random_code

jax.config.update("jax_enable_x64", True)  # a script: float64 for the whole run

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
D = 512
KS = (1_000, 10_000, 100_000)
MIB = 2**20
COLUMNS = [
    "what",
    "objective",
    "d",
    "K",
    "block",
    "dtype",
    "seconds",
    "seconds_kind",
    "temp_mib",
    "argument_mib",
    "output_mib",
    "estimate_mib",
    "dense_estimate_mib",
    "max_rss_mib",
]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def mem(compiled) -> tuple[float, float, float]:
    m = compiled.memory_analysis()
    if m is None:
        return (np.nan,) * 3
    return m.temp_size_in_bytes / MIB, m.argument_size_in_bytes / MIB, m.output_size_in_bytes / MIB


def timed(fn, *args, repeats=1):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


@partial(jax.jit, static_argnames=("objective", "block"))
def one_block(objective, W, H, t, tau, *, block):
    """The dominant work of a streamed step for the first `block` rows (for extrapolation)."""
    r = jnp.arange(block)
    rt = stream._row_terms(objective, W[:block], H[:block], r, W, t, tau)
    out = (rt.ell, rt.s, rt.gw, rt.gh)
    if rt.e is not None:
        out = out + ((rt.e.T @ H[:block]),)
    return out


@partial(jax.jit, static_argnames=("block",))
def max_inner_block(code, *, block):
    g = code[:block] @ code.T
    g = jnp.where(jnp.arange(block)[:, None] == jnp.arange(code.shape[0])[None, :], -jnp.inf, g)
    return jnp.max(g)


def hull_settings(K, d):
    m, m_max, grow, s = hull._check_sizes(K, d, hull.DEFAULT_M, 256, None, 160)
    return dict(m=m, m_max=m_max, grow=grow, s=s, max_rounds=32)


@partial(jax.jit, static_argnames=("m", "m_max", "grow", "s", "max_rounds"))
def hull_block(code, idx, *, m, m_max, grow, s, max_rounds):
    """hull.one_vs_rest's work for the points idx (a private entry: one block of points)."""
    return hull._solve_block(
        code,
        idx,
        m=m,
        m_max=m_max,
        grow=grow,
        s=s,
        max_rounds=max_rounds,
        max_iter=20 * s + 100,
        tol=1e-14,
        inside_tol=hull.INSIDE_TOL,
    )


def bench_search(objective, K, cfg, steps, max_step_seconds, rows):
    b = stream.default_block(K)
    key = jax.random.PRNGKey(0)
    W = random_code(jax.random.fold_in(key, K), K, D, dtype=jnp.float32)
    H = random_code(jax.random.fold_in(key, K + 1), K, D, dtype=jnp.float32)
    params = (W, H) if objective in search.WITH_FEATURES else (W,)
    spec32 = tuple(jax.ShapeDtypeStruct(p.shape, p.dtype) for p in params)
    spec64 = tuple(jax.ShapeDtypeStruct(p.shape, jnp.float64) for p in params)
    t0 = time.perf_counter()
    prog = stream.search_steps.lower(objective, spec32, cfg.tau, cfg.lam, steps=steps, block=b)
    prog = prog.compile()
    compile_s = time.perf_counter() - t0
    temp, arg, out = mem(prog)
    temp64, arg64, out64 = mem(
        stream.refine_steps.lower(objective, spec64, cfg.tau, cfg.lam, steps=2, block=b).compile()
    )
    est = planning.stream_memory(objective, D, K, cfg, block=b) / MIB
    dense = planning.dense_memory(objective, D, K, cfg) / MIB
    # One block of rows: the unit the step is made of.
    blk_args = (objective, W, H, jnp.float32(1e-3), jnp.float32(cfg.tau))
    jax.block_until_ready(one_block(*blk_args, block=b))
    blk_s = timed(lambda: one_block(*blk_args, block=b), repeats=2)
    n_blocks = -(-K // b)
    extrapolated = n_blocks * blk_s
    common = dict(objective=objective, d=D, K=K, block=b, dtype="float32")
    rows.append(dict(common, what="stream_block", seconds=blk_s, seconds_kind="measured"))
    if extrapolated <= max_step_seconds:
        fn = partial(stream.search_steps, objective, steps=steps, block=b)
        jax.block_until_ready(fn(params, cfg.tau, cfg.lam))  # compile + warm up
        step_s = timed(fn, params, cfg.tau, cfg.lam) / steps
        kind = f"measured ({steps} steps)"
    else:
        step_s, kind = extrapolated, f"extrapolated: {n_blocks} blocks x one block"
    rows.append(
        dict(
            common,
            what="search_step",
            seconds=step_s,
            seconds_kind=kind,
            temp_mib=temp,
            argument_mib=arg,
            output_mib=out,
            estimate_mib=est,
            dense_estimate_mib=dense,
            max_rss_mib=rss_mib(),
        )
    )
    rows.append(
        dict(
            common,
            what="refine_program (memory only)",
            dtype="float64",
            temp_mib=temp64,
            argument_mib=arg64,
            output_mib=out64,
            estimate_mib=est,
        )
    )
    rows.append(dict(common, what="search_compile", seconds=compile_s, seconds_kind="measured"))
    print(
        f"{objective} K={K}: block {b}, step {step_s:.3g} s ({kind}), one block {blk_s:.3g} s, "
        f"temp {temp:.1f} MiB (f64 refine {temp64:.1f}), est {est:.0f} MiB, "
        f"dense est {dense:.0f} MiB, rss {rss_mib():.0f} MiB",
        flush=True,
    )
    return W


def bench_measures(K, W, max_step_seconds, hull_points, rows):
    code = W.astype(jnp.float64)
    code = code / jnp.linalg.norm(code, axis=1, keepdims=True)
    spec = jax.ShapeDtypeStruct((K, D), jnp.float64)
    temp, arg, out = mem(measures.nearest_neighbors.lower(spec).compile())
    blk = measures.BLOCK if K > measures.BLOCK else K
    jax.block_until_ready(max_inner_block(code, block=blk))
    blk_s = timed(lambda: max_inner_block(code, block=blk), repeats=2)
    n_blocks = -(-K // blk)
    if n_blocks * blk_s <= max_step_seconds:
        jax.block_until_ready(measures.max_inner(code))
        secs, kind = timed(measures.max_inner, code), "measured"
    else:
        secs, kind = n_blocks * blk_s, f"extrapolated: {n_blocks} blocks x one block"
    rows.append(
        dict(
            what="measures.max_inner",
            objective="tammes",
            d=D,
            K=K,
            block=blk,
            dtype="float64",
            seconds=secs,
            seconds_kind=kind,
            temp_mib=temp,
            argument_mib=arg,
            output_mib=out,
            max_rss_mib=rss_mib(),
        )
    )
    print(f"max_inner K={K}: {secs:.3g} s ({kind}), temp {temp:.1f} MiB", flush=True)
    kw = hull_settings(K, D)
    hb = int(max(1, min(K, 256, (4 << 20) // max(1, kw["m_max"] * max(D, kw["m_max"])))))
    htemp, harg, hout = mem(jax.jit(hull.one_vs_rest).lower(spec).compile())
    if hull_points > 0:
        idx = jnp.arange(hull_points, dtype=jnp.int32)
        jax.block_until_ready(hull_block(code, idx, **kw))
        hs = timed(lambda: hull_block(code, idx, **kw)) / hull_points
        kind = f"measured per point on {hull_points} points; whole code ~ K x this"
    else:
        hs, kind = np.nan, "not timed"
    rows.append(
        dict(
            what="hull.one_vs_rest (per point)",
            objective="softmax",
            d=D,
            K=K,
            block=hb,
            dtype="float64",
            seconds=hs,
            seconds_kind=kind,
            temp_mib=htemp,
            argument_mib=harg,
            output_mib=hout,
            max_rss_mib=rss_mib(),
        )
    )
    print(
        f"hull K={K}: {hs:.3g} s/point, whole code ~{hs * K:.3g} s, temp {htemp:.1f} MiB",
        flush=True,
    )


def notes(rows: list[dict]) -> list[str]:
    """Plain statements read off the rows (no figure is typed in by hand)."""
    out = [
        "Nothing K x K is formed: the temporaries grow like block x K plus a few K x d arrays "
        "(compare 'dense est.', the dense batched program's estimate for 8 restarts).  'est.' "
        "is planning.stream_memory, the figure the memory check uses: a deliberate over-estimate "
        "(float64, 12 K x d copies per variable) of the compiled float64 refinement program.",
        "A step is n_blocks blocks of rows plus O(K d) work, so where a full step is too slow "
        "for this run it is extrapolated from one block; at the K where both are measured "
        "compare 'search_step' with n_blocks x 'stream_block'.",
        "The one-vs-rest distances are timed on a few points only (their cost is per point); "
        "'temp' is the compiled memory of the whole hull.one_vs_rest call.",
    ]
    for r in rows:
        if r["what"] == "search_step" and r["K"] == max(x["K"] for x in rows):
            steps = 2000 * (1 + 2 * search.REFINE_FRACTION)  # float64 steps cost about 2x
            out.append(
                f"{r['objective']} at K = {r['K']}: {r['seconds']:.3g} s per float32 step here, "
                f"so a 2000-step restart (with its float64 refinement) would take about "
                f"{steps * r['seconds'] / 3600:.3g} h on this CPU."
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 1e3 and 1e4 only")
    parser.add_argument("--steps", type=int, default=2, help="timed search steps per K")
    parser.add_argument("--objectives", default="tammes,softmax")
    parser.add_argument(
        "--max-step-seconds",
        type=float,
        default=30.0,
        help="extrapolate a step (or max_inner) predicted to take longer",
    )
    parser.add_argument("--hull-points", type=int, default=4, help="points timed for the hull")
    args = parser.parse_args()
    ks = KS[:2] if args.quick else KS
    cfg = SolveConfig(restarts=8)
    rows: list[dict] = []
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    for K in ks:
        W = None
        for objective in args.objectives.split(","):
            W = bench_search(objective, K, cfg, args.steps, args.max_step_seconds, rows)
        bench_measures(K, W, args.max_step_seconds, args.hull_points, rows)
    total = time.perf_counter() - t_all
    load1 = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "scale.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS})
    devs = jax.devices()
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}), "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB RAM, "
        f"jax {jax.__version__} devices {[str(x) for x in devs]}; load average "
        f"{load0[0]:.1f} at start, {load1[0]:.1f} at end (the CPUs were shared)"
    )
    lines = [
        "# Scale: streamed search and measures at d = 512",
        "",
        f"Machine: {machine}.  No GPU was lent to this task: CPU figures only.  Whole run "
        f"{total:.0f} s.  Search config: restarts=8 for the dense estimate, block = "
        "stream.default_block(K); temp/argument/output are XLA's compiled memory analysis; "
        "max RSS is the process peak so far.",
        "",
        "| what | objective | K | block | dtype | seconds | how | temp MiB | args MiB "
        "| est. MiB | dense est. MiB | max RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(x, fmt):
        return "" if x in ("", None) or (isinstance(x, float) and np.isnan(x)) else fmt.format(x)

    for r in rows:
        lines.append(
            f"| {r['what']} | {r['objective']} | {r['K']} | {r['block']} | {r['dtype']} | "
            f"{f(r.get('seconds'), '{:.3g}')} | {r.get('seconds_kind', '')} | "
            f"{f(r.get('temp_mib'), '{:.1f}')} | {f(r.get('argument_mib'), '{:.1f}')} | "
            f"{f(r.get('estimate_mib'), '{:.0f}')} | {f(r.get('dense_estimate_mib'), '{:.0f}')} | "
            f"{f(r.get('max_rss_mib'), '{:.0f}')} |"
        )
    lines += ["", "Notes:", ""] + [f"- {x}" for x in notes(rows)]
    (RESULTS / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
