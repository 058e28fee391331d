"""Planning a grid: which path solves each cell, and whether it fits in memory.

A cell is solved by one of four paths: the trust-region engine (:func:`use_trust`: cells of
up to ``config.TRUST_MAX_VARIABLES`` variables under ``engine="auto"``), the dense batched
first-order search (:mod:`spherecodes.solvers.search`, every K x K matrix of pieces of every
restart of a bucket at once), the streamed search (:mod:`spherecodes.solvers.stream`, memory
O(K d + block K)) or the neighbour-list search (:mod:`spherecodes.solvers.neighbors`, with
``SolveConfig(neighbors=m)``).  :func:`plan` splits a grid into streamed cells and dense
buckets: a cell is streamed when its dense estimate, or that of the bucket it would share,
exceeds :func:`stream_limit`.  The estimates (:func:`dense_memory`, :func:`bucket_memory`,
:func:`stream_memory`, :func:`neighbor_memory`) are measured from compiled programs and
rounded up; :func:`check_memory` and :func:`check_bytes` refuse a run that cannot fit before
anything runs, naming the estimate and the memory available.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax

from spherecodes import objectives
from spherecodes.solvers import batching, stream
from spherecodes.solvers.config import TRUST_MAX_VARIABLES, SolveConfig

#: solve() takes the streamed path for a cell when the dense batched program's estimated
#: memory (:func:`dense_memory`) exceeds this many bytes.
STREAM_THRESHOLD_BYTES = 4 << 30

#: Live (K, d) arrays of the streamed search per variable (params, grad, Adam mu and nu,
#: update, tangent, scatter accumulator, row outputs, loop copies), measured from compiled
#: programs and rounded up.
_STREAM_KD_COPIES = 12
#: Per objective, the live (block, K) arrays of the streamed search and the dense program's
#: K_pad^2 temporaries are fields of its record (``Objective.stream_bk_copies``,
#: ``Objective.dense_kk_factor``), measured from compiled programs.
_DENSE_KD_COPIES = 16


def use_trust(d: int, K: int, config: SolveConfig) -> bool:
    """Return True when cell (d, K) is solved by the trust-region engine under `config`."""
    if config.engine != "auto":
        return config.engine == "trust"
    n_vars = K * d * (2 if objectives.get(config.objective).has_features else 1)
    return n_vars <= TRUST_MAX_VARIABLES


def dense_memory(objective: str, d: int, K: int, config) -> int:
    """Return the estimated bytes of the dense batched search of one cell (d, K): its chunk of
    rows x K_pad^2 pieces plus the (K_pad, d_pad) arrays of every row."""
    rows = batching.batch_size(config.restarts, devices=len(jax.devices()))
    return _dense_bytes(objective, rows, batching.ladder(K), batching.ladder(d))


def bucket_memory(objective: str, bucket) -> int:
    """Return the estimated bytes of one chunk of a dense bucket (a batching.Bucket)."""
    return _dense_bytes(objective, bucket.batch, bucket.K_pad, bucket.d_pad)


def _dense_bytes(objective: str, rows: int, K_pad: int, d_pad: int) -> int:
    obj = objectives.get(objective)
    nvar = 2 if obj.has_features else 1
    kk = obj.dense_kk_factor * rows * K_pad * K_pad * 8
    kd = _DENSE_KD_COPIES * nvar * rows * K_pad * d_pad * 8
    return int(kk + kd)


def stream_memory(objective: str, d: int, K: int, config=None, *, block: int | None = None) -> int:
    """Return the estimated bytes of the streamed search of one cell (d, K) with ``block`` rows
    per block: O(K d + block K), float64 (the refinement) bounding the float32 search."""
    b = min(stream.default_block(K) if block is None else stream.check_block(block), K)
    obj = objectives.get(objective)
    nvar = 2 if obj.has_features else 1
    kd = _STREAM_KD_COPIES * nvar * K * d * 8
    bk = obj.stream_bk_copies * b * K * 8
    return int(kd + bk)


def neighbor_memory(d: int, K: int, m: int, *, block: int | None = None) -> int:
    """Return the estimated peak bytes of the neighbour-list search of one cell (d, K) with
    ``m`` listed pieces per point (:func:`spherecodes.solvers.neighbors.search_neighbors`,
    float64 refinement): the gathered (K, m, d) neighbours and their gradient, the (K, d)
    variables with Adam's state, and one (block, K) block of the list refresh."""
    b = stream.default_block(K) if block is None else block
    return int(8 * (3 * K * m * d + 2 * 12 * K * d + 3 * b * K))


def estimate_memory(
    objective: str, d: int, K: int, config, *, path: str = "auto", block: int | None = None
) -> int:
    """Return the estimated peak bytes of solving cell (d, K): path "dense", "stream", or "auto"
    (the path :func:`choose_path` picks)."""
    objectives.get(objective)  # ValueError naming the accepted objectives
    if path == "auto":
        path = choose_path(objective, d, K, config)
    if path == "dense":
        return dense_memory(objective, d, K, config)
    if path == "stream":
        return stream_memory(objective, d, K, config, block=block)
    raise ValueError(f"path={path!r} is not one of ('auto', 'dense', 'stream')")


def choose_path(objective: str, d: int, K: int, config, *, stream: bool | None = None) -> str:
    """Return "stream" when forced (``stream=True``) or, with ``stream=None``, when the dense
    estimate exceeds STREAM_THRESHOLD_BYTES or half the memory available; else "dense"."""
    if stream is not None:
        return "stream" if stream else "dense"
    return "stream" if dense_memory(objective, d, K, config) > stream_limit() else "dense"


def stream_limit() -> int:
    """Return the dense-estimate bytes above which the streamed path is taken automatically:
    min(STREAM_THRESHOLD_BYTES, half the memory available)."""
    return int(min(STREAM_THRESHOLD_BYTES, available_memory()[0] // 2))


class Plan(NamedTuple):
    """How solve_grid runs a grid: which cells are streamed, and the dense buckets."""

    streamed: list  # [(d, K), ...] cells for search_stream, in input order
    dense: list  # [batching.Bucket, ...] buckets of the other cells


def plan(cells, config, *, stream: bool | None = None) -> Plan:
    """Return the Plan of a grid of (d, K) cells under ``config``, after checking memory.

    ``stream=True`` streams every cell, ``stream=False`` none; with ``None`` a cell is streamed
    when its own dense estimate or that of the dense bucket it would share exceeds
    :func:`stream_limit`.  Raises MemoryError (with the estimate and the memory available)
    when a streamed cell or a dense bucket cannot fit, before anything runs.
    """
    cells = batching.validate_cells(cells)
    obj = config.objective
    if stream is None:
        limit = stream_limit()
        streamed = {c for c in cells if dense_memory(obj, c[0], c[1], config) > limit}
        rest = [c for c in cells if c not in streamed]
        for bucket in batching.buckets(rest, config) if rest else []:
            if bucket_memory(obj, bucket) > limit:
                streamed.update(bucket.cells)
    else:
        streamed = set(cells) if stream else set()
    dense_cells = [c for c in cells if c not in streamed]
    dense = batching.buckets(dense_cells, config) if dense_cells else []
    streamed = [c for c in cells if c in streamed]
    for d, K in streamed:
        check_memory(obj, d, K, config, path="stream")
    for bucket in dense:
        check_bytes(bucket_memory(obj, bucket), f"dense bucket {bucket.describe(obj)}")
    return Plan(streamed, dense)


def available_memory() -> tuple[int, str]:
    """Return (bytes, where): the first device's ``bytes_limit`` when it reports one (an
    accelerator), else the host's physical RAM."""
    dev = jax.devices()[0]
    try:
        stats = dev.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats raise various errors
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]), f"{dev.device_kind} memory"
    return host_memory()


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_memory(
    objective: str, d: int, K: int, config, *, path: str = "auto", block: int | None = None
) -> int:
    """Return the estimate of :func:`estimate_memory`, or raise MemoryError (naming the estimate
    and the memory available) when it exceeds the memory available."""
    if path == "auto":
        path = choose_path(objective, d, K, config)
    need = estimate_memory(objective, d, K, config, path=path, block=block)
    return check_bytes(need, f"cell (d={d}, K={K}) for objective={objective!r} on the {path} path")


def host_memory() -> tuple[int, str]:
    """Return (bytes, where) of the host's physical RAM (NumPy work, such as the polish)."""
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "host RAM"


def check_bytes(
    need: int,
    what: str,
    *,
    host: bool = False,
    hint: str = "reduce K or d, or the restarts (the streamed path needs O(K*d + block*K) bytes)",
) -> int:
    """Return ``need`` (bytes), or raise MemoryError when it exceeds the memory available
    (the host's RAM with ``host``, else :func:`available_memory`), naming ``what``, the
    estimate, the memory available and ``hint``."""
    have, where = host_memory() if host else available_memory()
    if need > have:
        raise MemoryError(
            f"{what} needs an estimated {need} bytes ({_gib(need)}), more than the {have} "
            f"bytes ({_gib(have)}) of {where}; {hint}"
        )
    return need


__all__ = [
    "Plan",
    "STREAM_THRESHOLD_BYTES",
    "available_memory",
    "bucket_memory",
    "check_bytes",
    "check_memory",
    "choose_path",
    "dense_memory",
    "estimate_memory",
    "host_memory",
    "neighbor_memory",
    "plan",
    "stream_limit",
    "stream_memory",
    "use_trust",
]
