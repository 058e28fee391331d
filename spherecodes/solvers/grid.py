"""Solving a grid of (d, K) cells: the search of every cell on its path, then the polish of
each cell's best candidates into its CellResult.

:func:`solve_grid` takes the :func:`spherecodes.solvers.planning.plan` of the grid and runs
the streamed cells one by one (:mod:`spherecodes.solvers.stream`), the trust-region cells
through :func:`spherecodes.solvers.engine.basin_search` and the other dense cells bucket by
bucket (:func:`run_bucket`, the first-order search); ``SolveConfig(neighbors=m)`` runs every
cell through the neighbour-list search instead.  Each cell's best distinct candidates are then
polished in float64 (:func:`spherecodes.solvers.polish.polish`) and reported as a
:class:`~spherecodes.solvers.config.CellResult`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np

from spherecodes import objectives, precision
from spherecodes.solvers import batching, engine, neighbors, planning, trust
from spherecodes.solvers.batching import Bucket
from spherecodes.solvers.config import SUCCESS_RTOL, CellResult, SolveConfig
from spherecodes.solvers.search import SearchSpec, search_batch
from spherecodes.solvers.stream import MAX_STREAM_RESTARTS, search_stream

EPS = float(np.finfo(np.float64).eps)
#: Sequential-LP iterations of a last polish of a min-max cell's best code when the first
#: ones (the polish's default, 100) did not certify it.  On degenerate optima (fewer active
#: pieces than tangent directions) that phase can take hundreds of iterations to find the
#: active set on which Newton converges: measured, the equivalence table's Softmax code of
#: R^7, K = 29 (308 active pieces, 348 directions; KKT residual 4e-3 after the first two
#: polishes) is certified after 428 iterations, 60 s on 2 cores.
RETRY_MAX_ITER = 600

try:  # polish.py is written separately; the search works without it (polish=False).
    from spherecodes.solvers.polish import polish as _polish
except ImportError as _e:  # pragma: no cover - depends on the checkout
    _polish = None
    _POLISH_IMPORT_ERROR = repr(_e)


def _check_polish_available(config: SolveConfig) -> None:
    if config.polish and _polish is None:
        raise ImportError(
            "polish=True needs spherecodes.solvers.polish, which failed to import "
            f"({_POLISH_IMPORT_ERROR}); pass SolveConfig(polish=False) to search only"
        )


def _check_finite(objective, d, K, code, config):
    if not np.all(np.isfinite(code)):
        raise ValueError(
            f"the {objective} search diverged for d={d}, K={K} (non-finite coordinates); "
            f"with tau={config.tau}, lam={config.lam}, steps={config.steps}: try a larger tau "
            "or fewer steps"
        )


def _better(q, p, K, d) -> bool:
    """Return True when polish result q replaces p: lower, or certified and equal to rounding
    (the value is a max of K d-term sums)."""
    return q.value < p.value or (q.converged and q.value <= p.value + 64 * K * d * EPS)


def _polish_candidates(objective, d, K, candidates, config, temperature=None):
    """Return (code, features, value, kkt, converged) of the best polished candidate, or None
    when the cell is not polished (polish off or more than config.polish_max_variables variables).

    ``candidates`` is a list of (code, features) in order of preference; at most
    ``config.polish_top`` of them are polished."""
    has_h = candidates[0][1] is not None
    if not config.polish or K * d * (2 if has_h else 1) > config.polish_max_variables:
        return None
    obj = objectives.get(objective)
    kw = {}
    if obj.uses_tau:
        kw["tau"] = config.tau
    if obj.uses_lam:
        kw["lam"] = config.lam
    if obj.minmax and temperature is not None:
        kw["temperature"] = temperature
    plain = {k: v for k, v in kw.items() if k != "temperature"}
    best = None
    for code, feat in candidates[: config.polish_top]:
        p = _polish(objective, code, feat, **kw)
        if not p.converged and obj.minmax and feat is not None:
            # The search's features can hold the polish in a corner from which it does not
            # certify (a Softmax search code at R^3 K = 35 did); start once more from the
            # polished code's optimal features (Lemma C.4), as a code given alone is polished.
            q = _polish(objective, p.code, None, **plain)
            if _better(q, p, K, d):
                p = q
        if best is None or p.value < best.value:
            best = p
    if not best.converged and obj.minmax:
        # the best one, uncertified: once more for longer (RETRY_MAX_ITER), from its code alone
        q = _polish(objective, best.code, None, max_iter=RETRY_MAX_ITER, **plain)
        if _better(q, best, K, d):
            best = q
    return best.code, best.features, float(best.value), float(best.kkt_residual), best.converged


def _result(objective, d, K, code, feat, value, kkt, values, success, seconds, device, **kw):
    if not objectives.get(objective).sphere:
        # reported: W's rows normalized (value stays that of the raw W, H)
        code = code / np.linalg.norm(code, axis=1, keepdims=True)
    return CellResult(
        objective=objective,
        d=d,
        K=K,
        code=np.asarray(code, np.float64),
        features=None if feat is None else np.asarray(feat, np.float64),
        value=float(value),
        kkt_residual=float(kkt),
        restart_values=np.asarray(values, np.float64),
        success_rate=float(success),
        seconds=seconds,
        device=device,
        **kw,
    )


def _finish_cell(
    objective, d, K, codes, feats, values, config, search_seconds, device, path="dense", m=0
):
    """Polish the best restarts of one cell (first-order search) and return its CellResult
    (`path` the search path, `m` the neighbour-list length)."""
    t0 = time.perf_counter()
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    best = int(order[0])
    _check_finite(objective, d, K, codes[best], config)
    # Restarts whose searched values agree to 1e-9 sit in the same basin and would polish to
    # the same optimum: polish one of each.
    distinct: list[int] = []
    for r in order:
        if not any(abs(values[r] - values[q]) <= 1e-9 * max(1.0, abs(values[q])) for q in distinct):
            distinct.append(int(r))
    cands = [(codes[r], None if feats is None else feats[r]) for r in distinct]
    out = _polish_candidates(objective, d, K, cands, config)
    if out is None:
        out = (codes[best], cands[0][1], float(values[best]), math.nan, False)
    code, feat, value, kkt, converged = out
    tol = SUCCESS_RTOL * max(1.0, abs(value))
    hits = int(np.sum(values - value <= tol))
    return _result(
        objective,
        d,
        K,
        code,
        feat,
        value,
        kkt,
        values,
        hits / len(values),
        search_seconds + time.perf_counter() - t0,
        device,
        engine="adam",
        starts=len(values),
        confirmations=hits,
        found_by="random",
        search_path=path,
        neighbors=m,
        converged=converged,
        config=config,
    )


def _finish_search(objective, cs: engine.CellSearch, config, device) -> CellResult:
    """Polish the population of one basin-searched cell and return its CellResult."""
    t0 = time.perf_counter()
    d, K = cs.d, cs.K
    best = cs.best
    _check_finite(objective, d, K, best[2], config)
    # The surrogate at the final temperature t exceeds the max by at most t log(#pieces), so a
    # basin whose searched value is worse than the best's by more cannot polish to a better one.
    t_end = trust.LocalSpec.t_end
    slack = 2 * t_end * math.log(2 * K * K) if objectives.get(objective).minmax else 0.0
    cands = [(p[2], p[3]) for p in cs.population if p[1] <= best[1] + slack]
    out = _polish_candidates(objective, d, K, cands, config, temperature=t_end)
    if out is None:
        out = (best[2], best[3], best[1], math.nan, False)
        if config.polish and objectives.get(objective).minmax:
            # too large for the exact polish: the best code's float64 continuation to a low
            # temperature (engine.finish; one row, as it costs about a search start), kept
            # where its exact value is better
            ((code, feat, value),) = engine.finish(objective, d, K, cands[:1], config, t_end)
            if value < out[2]:
                out = (code, feat, value, math.nan, False)
    code, feat, value, kkt, converged = out
    return _result(
        objective,
        d,
        K,
        code,
        feat,
        value,
        kkt,
        cs.values,
        cs.hits / max(cs.starts, 1),
        cs.seconds + time.perf_counter() - t0,
        device,
        engine="trust",
        starts=cs.starts,
        confirmations=cs.hits,
        found_by=cs.found_by,
        stopped_by=cs.stopped_by,
        converged=converged,
        config=config,
    )


@precision.float64
def run_bucket(bucket: Bucket, config: SolveConfig):
    """Return (codes, features, values, rows, seconds) of all rows of `bucket`, as NumPy.

    codes/features are (n_rows, K_pad, d_pad) float64 (features None without H), values
    (n_rows,); rows is the :class:`batching.Rows` layout; seconds the wall time of the search.
    """
    t0 = time.perf_counter()
    spec = SearchSpec(
        config.objective, config.steps, config.search_dtype, bucket.K_pad, bucket.d_pad
    )
    rows = batching.layout(bucket, config.restarts)
    sharding = batching.batch_sharding()
    key = jax.random.PRNGKey(config.seed)
    outs = []
    for c in range(bucket.chunks):
        sl = slice(c * bucket.batch, (c + 1) * bucket.batch)
        args = [batching.shard(np.asarray(x[sl]), sharding) for x in (rows.d, rows.K, rows.restart)]
        outs.append(search_batch(spec, key, *args, np.float64(config.tau), np.float64(config.lam)))
    codes = np.concatenate([np.asarray(o.code) for o in outs])
    feats = None
    if objectives.get(config.objective).has_features:
        feats = np.concatenate([np.asarray(o.features) for o in outs])
    values = np.concatenate([np.asarray(o.value) for o in outs])
    return codes, feats, values, rows, time.perf_counter() - t0


@precision.float64
def solve_grid(
    cells: Sequence[tuple[int, int]],
    config: SolveConfig,
    *,
    on_bucket: Callable[[str, int], None] | None = None,
    on_result: Callable[[CellResult], None] | None = None,
    stream: bool | None = None,
    lanes: int | None = None,
) -> list[CellResult]:
    """Return one CellResult per (d, K) cell, in input order, solving bucket by bucket.

    ``on_bucket(description, n_cells)`` is called before each bucket is searched and
    ``on_result(result)`` as soon as each cell is finished.

    Cells too large for the dense batched program (estimated memory of the cell or of its
    bucket above ``planning.stream_limit()``, see :func:`spherecodes.solvers.planning.plan`;
    ``stream=True`` forces it, ``stream=False`` forbids it)
    are searched one by one on the streamed path (:mod:`spherecodes.solvers.stream`): at most
    ``stream.MAX_STREAM_RESTARTS`` restarts, no dense polish (``kkt_residual`` NaN, ``value``
    the exact float64 objective computed blockwise), ``device`` ending in ", streamed ...".
    Before anything runs, a cell or bucket whose estimated memory exceeds the memory available
    raises MemoryError with the estimate.  The trust engine runs ``lanes`` chunks of a round at
    once (None: :func:`spherecodes.solvers.batching.host_lanes`, this process's CPU cores on a
    CPU); the results do not depend on it.

    >>> res = solve_grid([(2, 5), (3, 4)], SolveConfig(restarts=8, steps=500, polish=False))
    >>> [(r.d, r.K) for r in res]
    [(2, 5), (3, 4)]
    """
    cells = batching.validate_cells(cells)
    lanes = batching.host_lanes() if lanes is None else batching.check_lanes(lanes)
    obj = config.objective
    if config.neighbors:
        return _solve_neighbors(cells, config, on_bucket, on_result)
    plan = planning.plan(cells, config, stream=stream)  # raises MemoryError when it cannot fit
    if plan.dense:
        _check_polish_available(config)
    device = batching.device_description()
    results: dict[tuple[int, int], CellResult] = {}
    for d, K in plan.streamed:
        if on_bucket is not None:
            n_restarts = min(config.restarts, MAX_STREAM_RESTARTS)
            on_bucket(f"{obj} d={d} K={K}: streamed, {n_restarts} restarts", 1)
        out = search_stream(obj, d, K, config)
        dev = f"{device}, streamed (block {out.block}, no polish)"
        unpolished = dataclasses.replace(config, polish=False)
        res = _finish_cell(
            obj, d, K, out.code, out.features, out.value, unpolished, out.seconds, dev, "streamed"
        )
        results[(d, K)] = res
        if on_result is not None:
            on_result(res)
    trust_cells = [c for b in plan.dense for c in b.cells if planning.use_trust(*c, config)]
    if trust_cells:

        def on_round(rnd, n_open):
            if on_bucket is not None:
                on_bucket(f"{obj} trust regions, round {rnd + 1}: {n_open} cells open", 0)

        searched = engine.basin_search(trust_cells, config, on_round=on_round, lanes=lanes)
        for (d, K), cs in searched.items():
            res = _finish_search(obj, cs, config, device)
            results[(d, K)] = res
            if on_result is not None:
                on_result(res)
    adam_cells = {c for b in plan.dense for c in b.cells if not planning.use_trust(*c, config)}
    adam_cells = [c for c in cells if c in adam_cells]
    dense = batching.buckets(adam_cells, config) if adam_cells else []
    for bucket in dense:
        if on_bucket is not None:
            on_bucket(bucket.describe(config.objective), len(bucket.cells))
        codes, feats, values, rows, seconds = run_bucket(bucket, config)
        share = seconds / len(bucket.cells)
        for i, (d, K) in enumerate(bucket.cells):
            sel = np.flatnonzero(rows.cell == i)
            sel = sel[np.argsort(rows.restart[sel], kind="stable")]
            c = codes[sel][:, :K, :d]
            f = None if feats is None else feats[sel][:, :K, :d]
            res = _finish_cell(config.objective, d, K, c, f, values[sel], config, share, device)
            results[(d, K)] = res
            if on_result is not None:
                on_result(res)
    return [results[c] for c in cells]


def _solve_neighbors(cells, config, on_bucket, on_result) -> list[CellResult]:
    """solve_grid with config.neighbors > 0: every cell by the neighbour-list search."""
    obj = config.objective
    for d, K in cells:
        m = min(config.neighbors, K - 1)
        need = planning.neighbor_memory(d, K, m)
        planning.check_bytes(need, f"{obj} d={d} K={K} with neighbour lists of {m}")
    device = batching.device_description()
    results = []
    for d, K in cells:
        m = min(config.neighbors, K - 1)
        n_restarts = min(config.restarts, MAX_STREAM_RESTARTS)
        if on_bucket is not None:
            on_bucket(f"{obj} d={d} K={K}: neighbour lists of {m}, {n_restarts} restarts", 1)
        out = neighbors.search_neighbors(obj, d, K, config, m=m)
        dev = f"{device}, neighbour lists (m={m}, refresh {neighbors.REFRESH})"
        res = _finish_cell(
            obj,
            d,
            K,
            out.code,
            out.features,
            out.value,
            config,
            out.seconds,
            dev,
            "neighbour lists",
            m,
        )
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results


@precision.float64
def solve(
    d: int, K: int, config: SolveConfig, *, stream: bool | None = None, lanes: int | None = None
) -> CellResult:
    """Return the best code for one cell (d, K): :func:`solve_grid` on a one-cell grid.

    >>> res = solve(2, 5, SolveConfig(restarts=8, steps=500, polish=False))
    >>> round(float(np.degrees(np.arccos(res.value))), 4)  # the regular pentagon
    72.0
    """
    return solve_grid([(d, K)], config, stream=stream, lanes=lanes)[0]


__all__ = ["run_bucket", "solve", "solve_grid"]
