"""Benchmark spherecodes against its peers on the Tammes problem (see benchmarks/README.md).

    python benchmarks/bench_peers.py            # default run (about 20 minutes on 2 cores)
    python benchmarks/bench_peers.py --quick    # about 2 minutes

Solvers: ``spherecodes`` (``solve`` with its defaults: it stops when its own rules have
confirmed its best code), ``spherecodes-target`` (the same, also given the reference angle as
``SolveConfig.target``, as the peers are: it stops after the first round that reaches it; on a
cell without a reference, after the others, with the run's best angle, the angle at which the
peers' traces are timed), ``pymanopt-cg`` / ``pymanopt-tr``
(Pymanopt's packing recipe, conjugate gradient / trust regions), ``gnc-step`` / ``gnc-linear``
(the GNC authors' projected subgradient descent, paper / code learning-rate schedule).
Each solver runs once per seed on each cell with the same wall-time budget; the peers record
(time, best angle) traces, spherecodes is timed as a whole ``solve`` call after an untimed
call with the same seed (its compile time is reported separately).  Writes
benchmarks/results/peers.csv and benchmarks/results/peers.png.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.peers import run_gnc, run_pymanopt  # noqa: E402
from benchmarks.peers.common import Trace, best_at, max_inner, time_to_target  # noqa: E402
from spherecodes import known  # noqa: E402
from spherecodes.tables.tammes import best_known_tammes  # noqa: E402

jax.config.update("jax_enable_x64", True)  # a script: float64 for the whole run

RESULTS = ROOT / "benchmarks" / "results"
LOOSE_DEG, EXACT_DEG = 1e-3, 1e-6

#: Higher-dimensional cells whose optimum is proven: sharp codes of Cohn & Kumar's Table 1
#: (they meet Levenshtein's bound, so they are optimal spherical codes).
KNOWN_CELLS = {
    (5, 16): ("hemicube", known.hemicube),
    (6, 27): ("Schlafli", known.schlafli),
    (7, 56): ("E7 kissing (28 lines)", known.e7_kissing),
    (8, 240): ("E8 roots", known.e8_roots),
}
DEFAULT_CELLS = [(3, 13), (3, 24), (3, 48), (5, 16), (6, 27), (4, 24), (3, 96), (3, 120), (8, 240)]
QUICK_CELLS = [(3, 13), (3, 24), (5, 16)]
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
SOLVERS = (
    "spherecodes",
    "spherecodes-target",
    "pymanopt-cg",
    "pymanopt-tr",
    "gnc-step",
    "gnc-linear",
)
OURS = ("spherecodes", "spherecodes-target")
#: spherecodes-target's target: the reference's largest inner product plus this margin (its
#: search values sit up to the final smoothing bound above their basin's value, see
#: SolveConfig.target); success is still judged on the polished code, at EXACT_DEG.
TARGET_MARGIN = 1e-5

COLUMNS = [
    "solver",
    "d",
    "K",
    "seeds",
    "reference_deg",
    "reference_source",
    "success_rate_loose",
    "success_rate_exact",
    "median_seconds_to_loose",
    "median_seconds_to_exact",
    "best_angle_at_budget_deg",
    "best_angle_deg",
    "budget_seconds",
    "speedup_loose",
    "speedup_exact",
    "compile_seconds",
    "run_seconds_median",
    "tts99_seconds",
    "tts99_best_peer_seconds",
    "tts99_goal_seconds",
    "tts99_goal_met",
    "machine",
    "load_avg_1min",
]


def machine_description() -> str:
    """Return platform, CPU count and JAX devices in one line."""
    devs = jax.devices()
    kinds = sorted({d.platform for d in devs})
    return (
        f"{platform.platform()}; {platform.processor() or platform.machine()}; "
        f"{os.cpu_count()} CPUs; jax {jax.__version__} {'/'.join(kinds)} x{len(devs)}"
    )


def d3_best_known() -> dict[int, float]:
    """Return {K: best-known minimal angle (deg)} for d = 3 from the package's Sloane table."""
    return {K: angle for K, (angle, _) in best_known_tammes(3).items()}


def reference(d: int, K: int, table: dict[int, float]) -> tuple[float, str]:
    """Return (reference angle in deg, its source), or (NaN, '') when none is known."""
    if d == 3 and K in table:
        return table[K], "Sloane best known"
    if (d, K) in KNOWN_CELLS:
        name, build = KNOWN_CELLS[(d, K)]
        return math.degrees(math.acos(max_inner(build()))), f"optimal: {name}"
    return math.nan, ""


def run_spherecodes(d, K, seeds, budget, log, target=None):
    """Return (traces, seconds, compile_seconds) of spherecodes' solve with its defaults (and
    ``target``, a largest inner product, when given), one per seed."""
    from spherecodes.solvers import SolveConfig, solve

    # Each timed call follows an untimed call with the same seed: the runs are deterministic,
    # so it compiled every program (batch size, arm) the timed call runs.  A warm-up with
    # another seed does not: its rounds have other row counts, hence other chunk sizes
    # (measured: 5 s of compiles in a timed (3, 13) call).  JAX's own compile events measure
    # the compile time.
    compiled = []

    def listener(event, duration, **kwargs):
        if event in COMPILE_EVENTS:
            compiled.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        traces, seconds = [], []
        compile_s = 0.0

        def cfg(seed):
            return SolveConfig(objective="tammes", seed=seed, target=target)

        for s in seeds:
            t0 = time.perf_counter()
            solve(d, K, cfg(s))
            warm = time.perf_counter() - t0
            new = sum(compiled) - compile_s
            log(f"  spherecodes warm-up seed {s} {warm:.1f}s, compile {new:.1f}s")
            compile_s = sum(compiled)
            t0 = time.perf_counter()
            res = solve(d, K, cfg(s))
            dt = time.perf_counter() - t0
            angle = math.degrees(math.acos(max_inner(np.asarray(res.code))))
            log(
                f"  spherecodes{'' if target is None else '-target'} seed {s}: "
                f"{angle:.9f} deg in {dt:.2f}s, {res.starts} starts "
                f"(compiles since warm-up: {sum(compiled) - compile_s:.2f}s)"
            )
            traces.append(Trace(np.array([dt]), np.array([angle])))
            seconds.append(dt)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return traces, seconds, compile_s


def run_at_angle(d, K, angle_deg, seeds, budget, log):
    """Return run_spherecodes' (traces, seconds, compile_seconds) given the target of a minimal
    angle: its largest inner product plus TARGET_MARGIN."""
    tv = math.cos(math.radians(angle_deg)) + TARGET_MARGIN
    return run_spherecodes(d, K, seeds, budget, log, target=tv)


def run_peer(solver, d, K, seeds, budget, target, log):
    """Return (traces, run seconds) of one peer, one per seed."""
    traces, seconds = [], []
    for s in seeds:
        if solver.startswith("pymanopt"):
            run = run_pymanopt(
                d, K, s, method=solver.split("-")[1], time_budget=budget, target_deg=target
            )
        else:
            run = run_gnc(
                d, K, s, schedule=solver.split("-")[1], time_budget=budget, target_deg=target
            )
        log(
            f"  {solver} seed {s}: {run.angle_deg:.9f} deg, {run.iterations} it, {run.seconds:.2f}s"
        )
        traces.append(run.trace)
        seconds.append(run.seconds)
    return traces, seconds


def tts99(success_rate: float, run_seconds: float) -> float:
    """Return the time to solution at 99% confidence, t_run ln(0.01) / ln(1 - p) (t_run when
    p >= 0.99, infinity when p = 0)."""
    if success_rate <= 0 or math.isnan(run_seconds):
        return math.inf
    if success_rate >= 0.99:
        return run_seconds
    return run_seconds * math.log(0.01) / math.log(1.0 - success_rate)


def _median(xs):
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def summarize(traces, seconds, ref, budget):
    """Return the per-solver statistics of one cell from its traces and run times.

    A run's time is its time to the exact target when it reaches it (a user who knows the
    target stops there; the peers are given it when it is known) and its whole wall time
    otherwise; TTS99 uses the median of those and the exact success rate."""
    loose = [time_to_target(t, ref - LOOSE_DEG) for t in traces]
    exact = [time_to_target(t, ref - EXACT_DEG) for t in traces]
    n = len(traces)
    runs = [e if not math.isnan(e) else s for e, s in zip(exact, seconds, strict=True)]
    p = sum(not math.isnan(x) for x in exact) / n
    return {
        "run_seconds_median": _median(runs),
        "tts99_seconds": tts99(p, _median(runs)),
        "seeds": n,
        "success_rate_loose": sum(not math.isnan(x) for x in loose) / n,
        "success_rate_exact": sum(not math.isnan(x) for x in exact) / n,
        "median_seconds_to_loose": _median(loose),
        "median_seconds_to_exact": _median(exact),
        "best_angle_at_budget_deg": _median([best_at(t, budget) for t in traces]),
        "best_angle_deg": max(float(t.angle_deg[-1]) for t in traces),
    }


def _fmt(x):
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.10g}"
    return x


def plot(all_traces, refs, path, budget):
    """Draw the gap to the reference angle against time, one panel per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(all_traces)
    ncol = min(4, len(cells))
    nrow = math.ceil(len(cells) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.3 * nrow), squeeze=False)
    colors = dict(
        zip(
            SOLVERS,
            ["k", "tab:purple", "tab:blue", "tab:green", "tab:red", "tab:orange"],
            strict=True,
        )
    )
    floor = 1e-9
    for ax, cell in zip(axes.flat, cells, strict=False):
        ref = refs[cell][0]
        for solver, traces in all_traces[cell].items():
            for i, t in enumerate(traces):
                gap = np.maximum(ref - t.angle_deg, floor)
                label = solver if i == 0 else None
                if solver in OURS:
                    ax.plot(t.seconds, gap, "o", color=colors[solver], label=label, ms=6)
                else:
                    x = np.append(t.seconds, min(budget, max(t.seconds[-1], 1e-3)))
                    y = np.append(gap, gap[-1])
                    ax.step(x, y, where="post", color=colors[solver], alpha=0.7, lw=1, label=label)
        for lvl, ls in ((LOOSE_DEG, "--"), (EXACT_DEG, ":")):
            ax.axhline(lvl, color="grey", ls=ls, lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 30)
        ax.set_title(f"d={cell[0]}, K={cell[1]} (ref {ref:.7f} deg)", fontsize=9)
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("reference - best angle (deg)")
    for ax in axes.flat[len(cells) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "Tammes: gap to the reference angle vs time (dashed: loose 1e-3, dotted: "
        f"exact 1e-6; gap < {floor:g} drawn at {floor:g})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    """Run the benchmark and write peers.csv / peers.png; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 cells, 2 seeds, 5 s budget")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per cell for Pymanopt trust regions (default 10)",
    )
    p.add_argument(
        "--other-seeds",
        type=int,
        default=3,
        help="seeds per cell for spherecodes and the other peers (default 3)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="wall-time budget per peer run, seconds (default 20)",
    )
    p.add_argument("--cells", default=None, help="e.g. '3x13,5x16' (default: the README's)")
    p.add_argument(
        "--other-budget",
        type=float,
        default=10.0,
        help="wall-time budget per run of the peers other than Pymanopt trust "
        "regions, seconds (default 10: they never reach the exact target)",
    )
    p.add_argument("--solvers", default=",".join(SOLVERS))
    p.add_argument("--out", default=str(RESULTS / "peers.csv"))
    args = p.parse_args(argv)

    seeds = list(range(args.seeds if args.seeds else (2 if args.quick else 10)))
    other_seeds = list(range(args.other_seeds))
    budget = args.budget if args.budget else (5.0 if args.quick else 20.0)
    if args.cells:
        cells = [tuple(int(v) for v in c.split("x")) for c in args.cells.split(",")]
    else:
        cells = QUICK_CELLS if args.quick else DEFAULT_CELLS
    solvers = [s for s in args.solvers.split(",") if s]
    for s in solvers:
        if s not in SOLVERS:
            raise ValueError(f"solver {s!r} is not one of {SOLVERS}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    machine = machine_description()
    log(f"machine: {machine}; load average {os.getloadavg()}")
    table = d3_best_known()
    t_start = time.perf_counter()
    all_traces, refs, compile_s, loads = {}, {}, {}, {}
    for d, K in cells:
        ref, source = reference(d, K, table)
        log(f"cell d={d} K={K}: reference {ref:.9f} deg ({source or 'best in run'})")
        target = ref - EXACT_DEG if not math.isnan(ref) else None
        per = {}
        for solver in solvers:
            if solver == "spherecodes":
                tr, secs, compile_s[(d, K), solver] = run_spherecodes(
                    d, K, other_seeds, budget, log
                )
            elif solver == "spherecodes-target":
                if target is None:
                    continue  # no reference yet: it runs after the others (below)
                tr, secs, compile_s[(d, K), solver] = run_at_angle(
                    d, K, ref, other_seeds, budget, log
                )
            else:
                tr_peer = solver == "pymanopt-tr"
                ss, bud = (seeds, budget) if tr_peer else (other_seeds, args.other_budget)
                tr, secs = run_peer(solver, d, K, ss, bud, target, log)
            per[solver] = (tr, secs)
        if math.isnan(ref):
            ref = max(float(t.angle_deg[-1]) for ts, _ in per.values() for t in ts)
            source = "best in this run"
            if "spherecodes-target" in solvers:
                # the peers' times on such a cell are their traces' first arrival at the run's
                # best angle, a stop that knows it: spherecodes is given the same angle
                tr, secs, compile_s[(d, K), "spherecodes-target"] = run_at_angle(
                    d, K, ref, other_seeds, budget, log
                )
                per["spherecodes-target"] = (tr, secs)
        all_traces[(d, K)], refs[(d, K)] = per, (ref, source)
        loads[(d, K)] = os.getloadavg()[0]
    log(f"total {time.perf_counter() - t_start:.0f}s; load average {os.getloadavg()}")

    rows = []
    for cell, per in all_traces.items():
        ref, source = refs[cell]
        stats = {s: summarize(tr, secs, ref, budget) for s, (tr, secs) in per.items()}
        ours = stats.get("spherecodes")
        peer_tts = [st["tts99_seconds"] for s, st in stats.items() if s not in OURS]
        best_peer = min(peer_tts) if peer_tts else math.inf
        # the goal: at most max(best peer / 5, 0.2 s), and finite where no peer succeeds
        goal = max(best_peer / 5, 0.2) if math.isfinite(best_peer) else math.inf
        for solver, st in stats.items():
            row = {
                "solver": solver,
                "d": cell[0],
                "K": cell[1],
                "reference_deg": ref,
                "reference_source": source,
                "budget_seconds": budget,
                "machine": machine,
                "load_avg_1min": round(loads[cell], 2),
                **st,
            }
            for tgt in ("loose", "exact"):
                sp = math.nan
                if ours is not None and solver not in OURS:
                    sp = st[f"median_seconds_to_{tgt}"] / ours[f"median_seconds_to_{tgt}"]
                row[f"speedup_{tgt}"] = sp
            row["compile_seconds"] = compile_s.get((cell, solver), math.nan)
            row["tts99_best_peer_seconds"] = best_peer
            row["tts99_goal_seconds"] = goal
            row["tts99_goal_met"] = (
                ""
                if solver not in OURS
                else math.isfinite(st["tts99_seconds"]) and st["tts99_seconds"] <= goal
            )
            rows.append(row)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({k: _fmt(row[k]) for k in COLUMNS})
    plot(
        {c: {s: tr for s, (tr, _) in per.items()} for c, per in all_traces.items()},
        refs,
        out.with_suffix(".png"),
        budget,
    )
    log(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
