"""Per-start hit rates and costs of the engine's local solvers (arms) on hard Tammes cells.

For each cell, the same random starts (``search.random_starts``, seed 0) go through:

* ``anneal``: the anneal arm (``search.anneal_batch``, 2000 float32 steps + float64 refinement);
* ``trust``: trust-region continuation with the engine's schedule (float64 throughout here,
  t0 = 0.5 and 0.03 alternating, temperature x 1/4 per stage, to 1e-4);
* ``trust-halving``: the same from t0 = 0.5 with the temperature halved per stage, to 1e-7
  (Pymanopt's packing recipe halves eps), at most 4000 iterations.

Every result gets the float64 refinement (``search.refine_batch``) before it is measured, so
the angles compare across arms.  A start "hits" when its minimal angle is within ``--tol``
degrees of the best angle of the run.  Each batch runs twice and the second run is timed (the
first compiles).  Writes ``results/arms.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import jax
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def run_cells(cells: str, starts: int, tol: float) -> list[dict]:
    """Return the rows of arms.csv for the cells "dxK,..." (float64 where results are measured)."""
    from spherecodes import precision

    return precision.float64(_run_cells)(cells, starts, tol)


def _run_cells(cells: str, starts: int, tol: float) -> list[dict]:
    from spherecodes.tables import store

    machine = f"{store.machine()}, jax {jax.__version__}"
    rows = []
    for cell in cells.split(","):
        try:
            d, K = (int(v) for v in cell.split("x"))
        except ValueError:
            raise SystemExit(f"--cells: {cell!r} is not a cell 'dxK' (e.g. 3x96)") from None
        if d < 2 or K < 2:
            raise SystemExit(f"--cells: {cell!r} is out of range: need d >= 2 and K >= 2")
        rows += _cell(d, K, starts, tol, machine)
    return rows


def _cell(d: int, K: int, n: int, tol: float, machine: str) -> list[dict]:
    from spherecodes.solvers import batching
    from spherecodes.solvers.search import SearchSpec, anneal_batch, random_starts, refine_batch
    from spherecodes.solvers.trust import LocalSpec, local_batch

    Kp, dp = batching.ladder(K), batching.ladder(d)
    dd, KK = np.full(n, d, np.int32), np.full(n, K, np.int32)
    r = np.arange(n, dtype=np.int32)
    refine = SearchSpec("tammes", 2000, "float32", Kp, dp)
    key = jax.random.PRNGKey(0)
    W0, _ = random_starts(SearchSpec("tammes", 1, "float64", Kp, dp), key, dd, KK, r)
    W32, _ = random_starts(refine, key, dd, KK, r)

    def anneal():
        return anneal_batch(refine, W32, None, dd, KK, r % 2, 0.0, 0.0).value

    def trust(spec, t0):
        def run():
            out = local_batch(spec, W0, None, dd, KK, t0, 0.0, 0.0)
            return refine_batch(refine, out.code, None, KK, 0.0, 0.0).value

        return run

    arms = {
        "anneal": anneal,
        "trust": trust(LocalSpec("tammes", Kp, dp), np.where(r % 2 == 0, 0.5, 0.03)),
        "trust-halving": trust(
            LocalSpec("tammes", Kp, dp, factor=0.5, t_end=1e-7, max_iter=4000), np.full(n, 0.5)
        ),
    }
    found = {}
    for name, fn in arms.items():
        np.asarray(fn())  # compile
        t0 = time.perf_counter()
        v = np.asarray(fn())
        sec = time.perf_counter() - t0
        found[name] = (np.degrees(np.arccos(np.clip(v, -1, 1))), sec)
        print(f"({d}, {K}) {name}: {sec:.1f} s, best {found[name][0].max():.7f} deg", flush=True)
    best = max(a.max() for a, _ in found.values())
    return [
        {
            "d": d,
            "K": K,
            "arm": name,
            "starts": n,
            "seconds_per_start": round(sec / n, 4),
            "hits": int(np.sum(ang >= best - tol)),
            "best_angle_deg": f"{ang.max():.9f}",
            "best_in_run_deg": f"{best:.9f}",
            "machine": machine,
        }
        for name, (ang, sec) in found.items()
    ]


def main(argv=None) -> int:
    """Run the benchmark and write arms.csv; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default="3x43,3x61,3x96", help="e.g. '3x43,3x96'")
    p.add_argument("--starts", type=int, default=16, help="starts per arm and cell")
    p.add_argument("--tol", type=float, default=1e-4, help="hit tolerance, degrees")
    p.add_argument("--out", default=str(RESULTS / "arms.csv"))
    args = p.parse_args(argv)
    if args.starts < 1:
        raise SystemExit(f"--starts={args.starts} is out of range: need >= 1")
    if not args.tol >= 0:
        raise SystemExit(f"--tol={args.tol} is out of range: need a number >= 0 (degrees)")

    rows = run_cells(args.cells, args.starts, args.tol)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out}")
    return 0 if all(math.isfinite(float(r["best_angle_deg"])) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
