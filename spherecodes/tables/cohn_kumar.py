"""The Cohn–Kumar table: every universally optimal code of Cohn & Kumar (2007) as a Softmax Code.

Footnote 6 of the GNC paper says the equivalence of the Tammes problem and the Softmax Code
was verified numerically for every code of Table 1 of Cohn & Kumar (2007) with d <= 100.
:func:`cohn_kumar_rows` redoes that: for each code it measures rho_1vr exactly (certified by
weak duality), checks it sits at the lower end rho_1v1^2/2 of Theorem C.11 (optimal features
h_k = w_k), and gathers evidence that no code beats it: a local test around the known code
and, where affordable, the softmax solver from random starts, run through the sweep driver
(:func:`spherecodes.tables.sweep.solve_cells`, directory ``<stem>_codes/`` beside the table).

Large codes use their symmetry: the automorphism group of every sporadic Cohn–Kumar code and
of every family member listed is transitive on the points, so one point's one-vs-rest
distance (computed against ALL other points, with its certificate over all of them,
:func:`spherecodes.hull.point_one_vs_rest`) is every point's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from spherecodes import bounds, known, precision
from spherecodes.hull import point_one_vs_rest
from spherecodes.tables import schema
from spherecodes.tables.rows import measure_columns
from spherecodes.tables.sweep import cell_rows, load_code, solve_cells

__all__ = [
    "ALL_POINTS_MAX_K",
    "RANDOM_MAX_WORK",
    "RANDOM_POLISH_MAX_VARIABLES",
    "VERDICT_LOCAL",
    "VERDICT_RANDOM",
    "cohn_kumar_rows",
    "neighbor_centroid_residual",
]

#: A rho_1vr above the known code's by more than this counts as beating it.
BEAT_TOL = 1e-9

#: A polish from a perturbation "returns" when it ends within this of the known rho_1vr.
RETURN_TOL = 1e-9

#: Uniform-multiplier stationarity residual below which the first-order test passes.
STATIONARY_TOL = 1e-10

#: Noise level of the perturbation of the known code (per coordinate, then renormalized).
PERTURBATION = 1e-3

#: Codes with K above this are measured through one orbit representative.
ALL_POINTS_MAX_K = 1000

#: The float64 polish runs from a perturbation only where K * d is at most this (it costs
#: seconds at K d ~ 100 and minutes beyond a few hundred on a 2-core CPU).
POLISH_MAX_KD = 170

#: The softmax search from random starts runs only where K^2 * d (its cost per step and
#: restart) is at most this (issue 11's scale: (22, 275) and (23, 552) included).
RANDOM_MAX_WORK = 10_000_000

#: The random-start softmax codes are polished (Newton from the surrogate's weights, LP
#: fallback) up to this many variables (2 K d): the 600-cell's (960) takes 4 s; a fallback at
#: Higman-Sims' 4400 ran over 20 minutes, so larger codes get the
#: trust engine's float64 finish instead (engine.finish, no certificate).
RANDOM_POLISH_MAX_VARIABLES = 1000

#: A polished random-start code is the known code when a rotation/reflection and relabeling
#: matches every point within this Euclidean distance (spherecodes.congruence).
CONFIG_TOL = 1e-6

#: An unpolished random-start code (not polished, nor finished to the known rho_1vr within
#: RETURN_TOL) stops short of the optimum by more: its equivalence to the known code is judged
#: at this distance (stated in the column).
UNPOLISHED_CONFIG_TOL = 1e-3

METHOD_ALL = "all points"
METHOD_ORBIT = "one orbit representative (transitive symmetry)"


def neighbor_centroid_residual(code, rows=None, *, tol: float = 1e-12) -> float:
    """Return max over k in `rows` of ||mean_{j in N(k)} w_j - t w_k||, where t is the code's
    largest inner product and N(k) = {j : <w_k, w_j> >= t - tol} (the kissing neighbours).

    Zero means the HardMax problem is first-order stationary at (W, H = W) with uniform
    multipliers on its active pieces (k, j in N(k)): the Riemannian gradient of
    <h_k, w_k - w_j> is -(w_j - t w_k) in h_k and -(w_k - t w_j) in w_j, and both sums vanish,
    so no direction increases rho_1vr to first order.  (Valid where h_k = w_k is optimal,
    i.e. rho_1vr = 1 - t = rho_1v1^2 / 2.)
    """
    code = np.asarray(code, dtype=np.float64)
    K = code.shape[0]
    rows = np.arange(K) if rows is None else np.atleast_1d(np.asarray(rows))
    t = _max_inner(code, rows)
    worst = 0.0
    for start in range(0, len(rows), 256):
        idx = rows[start : start + 256]
        g = code[idx] @ code.T
        g[np.arange(len(idx)), idx] = -np.inf
        for a, i in enumerate(idx):
            nb = np.flatnonzero(g[a] >= t - tol)
            if nb.size == 0:  # no active piece at this point: it adds nothing to the sum
                continue
            r = np.linalg.norm(code[nb].mean(axis=0) - t * code[i])
            worst = max(worst, float(r))
    return worst


def _max_inner(code: np.ndarray, rows) -> float:
    best = -np.inf
    for start in range(0, len(rows), 256):
        idx = rows[start : start + 256]
        g = code[idx] @ code.T
        g[np.arange(len(idx)), idx] = -np.inf
        best = max(best, float(g.max()))
    return best


def _ip_string(values) -> str:
    # Snap rounding noise around 0 (e.g. 3e-17) so the string reads as the exact value.
    return ";".join(f"{0.0 if abs(float(v)) < 1e-12 else float(v):.12g}" for v in values)


# ---------------------------------------------------------------------------------------------
# The Cohn–Kumar table
# ---------------------------------------------------------------------------------------------


def _measure_known(code: np.ndarray, use_orbit: bool) -> dict:
    """Exact measures of a known code: all points, or one orbit representative (row 0)."""
    K, d = code.shape
    if not use_orbit:
        r = measure_columns(code)
        keep = ("min_angle_deg", "rho_1v1", "rho_1vr", "rho_1vr_gap", "max_inner")
        return {
            "inner_products": _ip_string(known.distinct_inner_products(code)),
            **{k: r[k] for k in keep},
            "rho_1vr_method": METHOD_ALL,
            "tammes_rattlers": r["tammes_rattlers"],
            "softmax_rattlers": r["softmax_rattlers"],
        }
    from spherecodes.sphere import pair_angle

    vals, _ = known.distance_distribution(code, 0)
    g = code @ code[0]
    g[0] = -np.inf
    j = int(np.argmax(g))
    pt = point_one_vs_rest(code, 0)
    return {
        "inner_products": _ip_string(vals),
        "min_angle_deg": float(np.degrees(pair_angle(code[0], code[j]))),
        "rho_1v1": float(np.linalg.norm(code[0] - code[j])),
        "rho_1vr": pt.distance,
        "rho_1vr_gap": pt.gap,
        "rho_1vr_method": METHOD_ORBIT,
        # Transitive symmetry: every point has the same neighbour angle and distance.
        "tammes_rattlers": 0,
        "softmax_rattlers": 0,
        "max_inner": float(g[j]),
    }


def _exact_rho_1vr(code: np.ndarray) -> float:
    """min over all points of the certified distance upper bound (no symmetry assumed)."""
    return min(point_one_vs_rest(code, k).distance for k in range(code.shape[0]))


def _local_check(code: np.ndarray, rho: float, c11: bool, use_orbit: bool, rng) -> dict:
    """Perturb + polish where affordable, else the first-order (uniform multiplier) test."""
    K, d = code.shape
    if K * d <= POLISH_MAX_KD:
        from spherecodes.solvers.polish import polish

        y = code + PERTURBATION * rng.standard_normal(code.shape)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        p = polish("softmax", y)
        return {
            "local_method": f"polish('softmax') from a {PERTURBATION:g} perturbation",
            "local_rho_1vr": _exact_rho_1vr(p.code),
            "local_residual": p.kkt_residual,
        }
    if not c11:
        return {
            "local_method": "not tested (rho_1vr is not rho_1v1^2/2: no closed-form test)",
            "local_rho_1vr": None,
            "local_residual": None,
        }
    rows = np.array([0]) if use_orbit else None
    where = "row 0 (transitive symmetry)" if use_orbit else "all points"
    return {
        "local_method": f"first-order stationarity, uniform multipliers, {where}",
        "local_rho_1vr": None,
        "local_residual": neighbor_centroid_residual(code, rows),
    }


def _random_cells(codes, restarts: int) -> list[tuple[int, int]]:
    """The (d, K) cells of `codes` the random-start search runs on (work within budget)."""
    if restarts <= 0:
        return []
    return sorted({(c.d, c.K) for c in codes if c.K * c.K * c.d <= RANDOM_MAX_WORK})


def _random_columns(
    c: known.KnownCode, row: dict | None, folder: Path, restarts: int, rho: float
) -> dict:
    """The random_* columns of code `c` (its rho_1vr `rho`) from its softmax sweep row (None:
    not searched)."""
    if row is None:
        work = c.K * c.K * c.d
        reason = (
            "random starts disabled"
            if restarts <= 0
            else f"K^2 d = {work} > {RANDOM_MAX_WORK}: beyond the CPU budget"
        )
        out = {k: None for k in schema.COHN_KUMAR_COLUMNS if k.startswith("random_")}
        return {**out, "random_reason": reason}
    polished = bool(np.isfinite(row["kkt_residual"]))
    # the trust engine ends the cells beyond the polish with its float64 finish (continuation
    # to t = 1e-9: at a symmetric code exact to rounding; the row holds the better of the
    # search's code and the finished one), the adam engine does not
    finished = not polished and row["engine"] == "trust"
    code = load_code(folder / row["code_file"])
    how = "" if polished else (", float64 finish, no certificate" if finished else ", unpolished")
    # a code judged at CONFIG_TOL must be as accurate as a polished one: a finished code is,
    # where its value is the known one's within RETURN_TOL
    exact = polished or (finished and abs(float(row["rho_1vr"]) - rho) <= RETURN_TOL)
    return {
        "random_rho_1vr": row["rho_1vr"],
        "random_restarts": row["starts"],  # starts spent (the trust engine stops when confirmed)
        "random_steps": row["steps"] if row["engine"] == "adam" else None,
        "random_engine": row["engine"] + how,
        "random_confirmations": row["confirmations"],
        "random_reason": "",
        "random_equivalent": _equivalence_note(
            code, c.build(), CONFIG_TOL if exact else UNPOLISHED_CONFIG_TOL
        ),
    }


def _equivalence_note(code: np.ndarray, reference: np.ndarray, tol: float) -> str:
    """Return "<verdict> (tol T)", with the differing invariant when not equivalent."""
    from spherecodes.congruence import equivalent

    r = equivalent(code, reference, tol=tol)
    why = "" if r.equivalent else f": {r.invariant} differs"
    return f"{r.verdict}{why} (tol {tol:g})"


#: Verdicts of the Cohn-Kumar table, by the evidence they rest on.
VERDICT_RANDOM = "consistent: random starts reach it"
VERDICT_LOCAL = "consistent: local optimum only"


def _verdict(rho: float, local: dict, c11: bool, rand: dict) -> str:
    """Return the row's verdict: "counterexample" (a code with larger rho_1vr was found),
    VERDICT_RANDOM (the random-start softmax search reached rho_1vr within RETURN_TOL and
    nothing beat it), VERDICT_LOCAL (only the local check around the known code passed),
    "inconclusive (...)" or "not tested"."""
    lr, rr = local["local_rho_1vr"], rand["random_rho_1vr"]
    if (lr is not None and lr > rho + BEAT_TOL) or (rr is not None and rr > rho + BEAT_TOL):
        return "counterexample"
    if rr is not None and rr >= rho - RETURN_TOL:
        return VERDICT_RANDOM
    if local["local_method"].startswith("polish"):
        ok = lr is not None and abs(lr - rho) <= RETURN_TOL
        return VERDICT_LOCAL if ok else "inconclusive (perturbation did not return)"
    if local["local_residual"] is not None:
        ok = c11 and local["local_residual"] <= STATIONARY_TOL
        return VERDICT_LOCAL if ok else "inconclusive (not first-order stationary)"
    return "not tested"


@precision.float64
def cohn_kumar_rows(
    out_dir: str | os.PathLike,
    names: Sequence[str] | None = None,
    *,
    max_dim: int = 100,
    max_points: int | None = None,
    all_points_max_k: int = ALL_POINTS_MAX_K,
    restarts: int = 16,
    steps: int = 1000,
    seed: int = 0,
    on_row: Callable[[dict], None] | None = None,
    cluster: str | None = None,
    command: str = "",
    workers: int | None = 1,
) -> list[dict]:
    """Return one row (columns :data:`~spherecodes.tables.schema.COHN_KUMAR_COLUMNS`) per
    Cohn–Kumar code.

    `names` selects codes of :data:`spherecodes.known.COHN_KUMAR` (default: all with
    d <= max_dim and K <= max_points).  Codes with K > `all_points_max_k` are measured through
    row 0 (their symmetry group is transitive).  The softmax search from random starts (the
    trust-region engine, at most ``restarts`` starts; ``steps`` is recorded but unused by that
    engine) runs where K^2 d <= RANDOM_MAX_WORK (restarts=0 disables it),
    solved into the sweep directory `out_dir` (on Ray with `cluster`, else in `workers` local
    processes, None: every core for a large grid); `on_row` sees each row.
    """
    from spherecodes.solvers import SolveConfig

    if names is None:
        codes = known.cohn_kumar_codes(max_dim, max_points=max_points)
    else:
        unknown = [n for n in names if n not in known.COHN_KUMAR]
        if unknown:
            raise ValueError(
                f"code name {unknown[0]!r} is unknown: choose from {', '.join(known.COHN_KUMAR)}"
            )
        codes = tuple(known.COHN_KUMAR[n] for n in names)
    folder = Path(out_dir)
    cells = _random_cells(codes, restarts)
    searched: dict[tuple[int, int], dict] = {}
    if cells:
        # trust regions at every size: "auto" gives the first-order engine above 8192
        # variables, which stops short of the d = 100 simplex and cross-polytope (7.8e-5 and
        # 0.023) where 4 trust-region starts reach them (15 s each on 2 cores)
        cfg = SolveConfig(
            objective="softmax",
            restarts=restarts,
            steps=steps,
            seed=seed,
            engine="trust",
            polish_max_variables=RANDOM_POLISH_MAX_VARIABLES,
        )
        sweep_rows = solve_cells(
            folder, [(cfg, cells)], command=command, cluster=cluster, workers=workers
        )
        searched = cell_rows(sweep_rows, "softmax")
    rng = np.random.default_rng(seed)
    rows = []
    for c in codes:
        t0 = time.perf_counter()
        code = c.build()
        use_orbit = c.K > all_points_max_k
        meas = _measure_known(code, use_orbit)
        rho = meas["rho_1vr"]
        c11 = bounds.at_c11_lower_end(meas["rho_1v1"], rho)
        local = _local_check(code, rho, c11, use_orbit, rng)
        rand = _random_columns(c, searched.get((c.d, c.K)), folder, restarts, rho)
        t39 = bounds.theorem39(c.d, c.K)
        row = {
            "name": c.name,
            "d": c.d,
            "K": c.K,
            **{k: meas[k] for k in schema.COHN_KUMAR_COLUMNS if k in meas},
            "c11_lower_end": bool(c11),
            "theorem39_lower": float(t39.lower),
            "theorem39_upper": float(t39.upper),
            "theorem39_valid": bool(t39.valid),
            "levenshtein_min_angle_deg": float(bounds.levenshtein_min_angle_deg(c.d, c.K)),
            **local,
            **rand,
            "verdict": _verdict(rho, local, c11, rand),
        }
        # this code's own work plus the search of its cell (solved once for codes sharing it)
        searched_for = float(searched[(c.d, c.K)]["seconds"]) if (c.d, c.K) in searched else 0.0
        row["seconds"] = round(time.perf_counter() - t0 + searched_for, 3)
        row = {k: row[k] for k in schema.COHN_KUMAR_COLUMNS}
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
