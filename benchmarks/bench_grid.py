"""Batched grid against a Python loop over cells, same algorithm, one run.

    python benchmarks/bench_grid.py [--d 3] [--K 4:30] [--restarts 64] [--steps 2000] [--polish]

Times ``solve_grid`` over the whole grid (one program per padded bucket, rows of all cells in
one batch axis) and a Python loop of ``solve`` calls over the same cells with the same config
(each cell its own batch), both after a warm-up that compiles every program they need, and
reports cells per minute, the ratio, and per-cell success rates against the best-known angles
where the package's copy of Sloane's table has them.  Writes benchmarks/results/grid.csv
and grid.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import time
from pathlib import Path

import jax

from spherecodes.measures import min_angle_deg
from spherecodes.solvers import SolveConfig, solve, solve_grid
from spherecodes.tables.sweep import parse_range
from spherecodes.tables.tammes import best_known_tammes

jax.config.update("jax_enable_x64", True)  # a script: float64 for the whole run

HERE = Path(__file__).resolve().parent


def best_known(d: int) -> dict[int, float]:
    """Return {K: best-known angle in degrees} from the package's copy of Sloane's table, or {}."""
    return {K: angle for K, (angle, _) in best_known_tammes(d).items()}


def main() -> None:
    """Run the comparison and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", default="3")
    ap.add_argument("--K", default="4:30")
    ap.add_argument("--restarts", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--polish", action="store_true", help="include the float64 polish")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    cells = [
        (d, K)
        for d in parse_range(args.d, name="d", minimum=2)
        for K in parse_range(args.K, name="K", minimum=2)
    ]
    cfg = SolveConfig(
        objective="tammes", restarts=args.restarts, steps=args.steps, polish=args.polish
    )
    warm = SolveConfig(
        objective="tammes",
        restarts=args.restarts,
        steps=args.steps,
        polish=False,
        seed=cfg.seed + 1,
    )
    # Warm-up: compile the programs both paths use, so the timings below are steady state.
    solve_grid(cells, warm)
    for c in cells:
        solve(*c, warm)

    t0 = time.perf_counter()
    grid = solve_grid(cells, cfg)
    t_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = [solve(*c, cfg) for c in cells]
    t_loop = time.perf_counter() - t0

    ref = best_known(cells[0][0])
    rows = []
    for g, lo in zip(grid, loop, strict=True):
        ang = float(min_angle_deg(g.code))
        rows.append(
            {
                "d": g.d,
                "K": g.K,
                "min_angle_deg": ang,
                "best_known_deg": ref.get(g.K, math.nan),
                "reached_1e-6": abs(ang - ref[g.K]) <= 1e-6 if g.K in ref else "",
                "success_rate": g.success_rate,
                "same_as_loop": bool(abs(g.value - lo.value) <= 1e-12),
            }
        )
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
        f"devices {[str(x) for x in jax.devices()]}, load {os.getloadavg()[0]:.1f}"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grid.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    n = len(cells)
    hit = [r["reached_1e-6"] for r in rows if r["reached_1e-6"] != ""]
    text = (
        f"# Batched grid vs Python loop (tammes, d={args.d}, K={args.K})\n\n"
        f"Machine: {machine}.  restarts={args.restarts}, steps={args.steps}, "
        f"polish={args.polish}; both timed after a warm-up compile.\n\n"
        f"| path | seconds | cells / minute |\n|---|---|---|\n"
        f"| batched grid (solve_grid) | {t_grid:.1f} | {60 * n / t_grid:.1f} |\n"
        f"| Python loop over cells (solve) | {t_loop:.1f} | {60 * n / t_loop:.1f} |\n\n"
        f"Loop / grid time ratio: **{t_loop / t_grid:.2f}x**.  Same results in both paths: "
        f"{sum(r['same_as_loop'] for r in rows)}/{n} cells.  Cells at the best-known angle "
        f"(1e-6 deg): {sum(hit)}/{len(hit)}.  Mean per-restart success rate: "
        f"{sum(r['success_rate'] for r in rows) / n:.2f}.\n"
    )
    (out / "grid.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
