"""Buckets, padding, masks and sharding: how a grid of unlike (d, K) cells shares compiled programs.

The bucketing rule (stated once, here)
--------------------------------------
* Sizes are rounded up on the ladder 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, ... (powers of two
  and three times powers of two), so a padded size wastes at most 50% (at most 33% above 4).
* A cell (d, K) goes to the bucket of padded shape ``(K_pad, d_pad) = (ladder(K), ladder(d))``.
  A bucket's padded d is therefore the ladder value covering its largest d; cells of
  the same ladder rung share it whatever grid they come from.
* Every cell contributes ``restarts`` rows, one per restart; the rows of all cells of a bucket
  form one flat batch axis.  It is run in chunks of ``batch`` rows, where ``batch`` is the
  row count rounded up to a power of two (at least ``MIN_BATCH``; the basin-search engine's
  rounds use :func:`min_batch`, 1 on CPU, and on CPU run rows of while-loop solves in buckets
  from ``SINGLE_ROW_COST`` one row per device: :func:`loop_batch_size`) and capped at
  ``max_batch``,
  then rounded up to a multiple of the device count.  Spare rows repeat the bucket's first row
  and are discarded.  So one bucket shape compiles at most ``log2(max_batch / min) + 1``
  programs ever (``min`` the smallest chunk in use), and a second grid with the same buckets
  and the same power-of-two row class reuses the compiled program.
* One compiled program per (objective, K_pad, d_pad, batch, steps, search dtype); ``tau``,
  ``lam`` and the seed are traced arguments and never cause a recompile.

Masks: padding points are zero rows and padding coordinates are zero columns.  The search
masks padding points out of every max, sum and log-sum-exp; padding coordinates start at zero
and stay exactly zero, because every gradient there is a combination of rows that are zero
there, and the tangent projection, the Adam update and the normalization keep zeros zero.

Devices: the flat batch axis is sharded over ``jax.devices()`` with a 1-D ``Mesh`` and a
``NamedSharding`` along the batch axis; with one device nothing is sharded (no cost).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

#: Largest number of rows (cells x restarts) run in one chunk of a compiled program.
MAX_BATCH = 512

#: Smallest chunk on accelerators, where a few rows leave the device idle and padding to this
#: costs nothing (on CPU see :func:`min_batch`).
MIN_BATCH = 8

#: On CPU, rows of a vmapped while-loop solve (the trust-region and halving arms, whose rows
#: stop on their own) in buckets from padded K^2 d = SINGLE_ROW_COST on run one row per chunk
#: (one per device): the loop iterates every row until its slowest one is done, and on CPU a
#: masked row costs what a live one does; from this size a row's own work outweighs the
#: dispatch that a chunk of 8 saves.  Measured (AMD EPYC, one core, 32 random starts of the
#: engine's trust-region portfolio, chunks of 8 against single rows): Tammes (3, 64) 2.96 s
#: against 1.82 s, (3, 96) (16 starts) 4.90 against 2.03 s, (8, 240) 8 starts from
#: (0.1, 1e-3): 29.8 s, of which 7 rows needed about 0.27 s each and one 183 + 123
#: iterations; below it chunks of 8 win: (3, 48) 0.27 against 0.40 s, (3, 30) 0.34 against
#: 0.51 s.
SINGLE_ROW_COST = 64 * 64 * 3


class Bucket(NamedTuple):
    """Cells sharing one padded shape, and how their rows are laid out in chunks."""

    K_pad: int  # padded number of points (ladder value >= every member's K)
    d_pad: int  # padded dimension (ladder value >= every member's d)
    cells: tuple  # ((d, K), ...) member cells, in the order their rows are laid out
    rows: int  # real rows: len(cells) * restarts
    batch: int  # rows per chunk (the compiled batch size)
    chunks: int  # number of chunks: ceil(rows / batch)

    def describe(self, objective: str = "") -> str:
        """Return a one-line description such as ``tammes K<=8 d<=3: 2 cells, 128 rows``."""
        head = f"{objective} " if objective else ""
        return (
            f"{head}K<={self.K_pad} d<={self.d_pad}: {len(self.cells)} cells, {self.rows} rows "
            f"in {self.chunks} chunk(s) of {self.batch}"
        )


def ladder(n: int) -> int:
    """Return the smallest ladder size (2^k or 3 * 2^k, at least 2) that is >= n."""
    if n < 1:
        raise ValueError(f"n={n} is out of range: a size to pad needs n >= 1")
    p = 2
    while True:
        if n <= p:
            return p
        if n <= 3 * p // 2:
            return 3 * p // 2
        p *= 2


def _pow2_ceil(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def batch_size(
    rows: int, *, max_batch: int = MAX_BATCH, devices: int = 1, min_batch: int = MIN_BATCH
) -> int:
    """Return the chunk size for `rows` rows: next power of two in [min_batch, max_batch],
    rounded up to a multiple of `devices`."""
    b = min(max(_pow2_ceil(rows), min_batch), max(max_batch, min_batch))
    return -(-b // devices) * devices


def loop_batch_size(rows: int, cost: int, *, devices: int = 1) -> int:
    """Return the chunk size for `rows` rows of a vmapped while-loop solve in a bucket of padded
    K^2 d = `cost`: one row per device on CPU from SINGLE_ROW_COST on, else
    :func:`batch_size` from :func:`min_batch`."""
    small = min_batch()
    if small == 1 and cost >= SINGLE_ROW_COST:
        return devices
    return batch_size(rows, devices=devices, min_batch=small)


def host_lanes() -> int:
    """Return how many chunks this process may run at once: its usable CPU cores when JAX
    computes on the CPU (a small XLA program keeps one core busy, and programs called from
    separate threads run side by side), else 1 (one process drives the accelerators)."""
    if jax.default_backend() != "cpu":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_lanes(lanes) -> int:
    """Return `lanes` if it is an integer >= 1, else raise ValueError naming it."""
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise ValueError(f"lanes={lanes!r} is out of range: need an integer >= 1")
    return int(lanes)


def min_batch() -> int:
    """Return the smallest chunk worth padding to on the default backend: 1 on CPU, where a
    vmapped row costs its share at any batch size (a float64 trust-region solve of Tammes
    (3, 48): 0.026 s alone, 0.163 s padded to 8 rows; (3, 24): 0.008 s, 0.030 s), else
    MIN_BATCH."""
    return 1 if jax.default_backend() == "cpu" else MIN_BATCH


def validate_cells(cells: Sequence) -> list[tuple[int, int]]:
    """Return `cells` as a list of (d, K) int pairs, or raise ValueError naming the bad cell."""
    out = []
    seen = set()
    for cell in cells:
        try:
            d, K = cell
        except (TypeError, ValueError):
            raise ValueError(f"cell {cell!r} is not a (d, K) pair") from None
        if not (isinstance(d, (int, np.integer)) and isinstance(K, (int, np.integer))):
            raise ValueError(f"cell {cell!r} must hold integers (d, K)")
        d, K = int(d), int(K)
        if d < 2:
            raise ValueError(f"cell (d={d}, K={K}): d={d} is too small: need dimension d >= 2")
        if K < 2:
            raise ValueError(f"cell (d={d}, K={K}): K={K} is too small: a code needs K >= 2 points")
        if (d, K) in seen:
            raise ValueError(f"cell (d={d}, K={K}) appears twice: cells must be unique")
        seen.add((d, K))
        out.append((d, K))
    return out


def buckets(cells: Sequence, config, *, max_batch: int = MAX_BATCH, devices=None) -> list[Bucket]:
    """Return the buckets of `cells` under `config` (only ``config.restarts`` is used), sorted by
    padded shape; member cells keep their input order."""
    cells = validate_cells(cells)
    n_dev = len(jax.devices()) if devices is None else int(devices)
    groups: dict[tuple[int, int], list] = {}
    for d, K in cells:
        groups.setdefault((ladder(K), ladder(d)), []).append((d, K))
    out = []
    for (K_pad, d_pad), members in sorted(groups.items()):
        rows = len(members) * config.restarts
        b = batch_size(rows, max_batch=max_batch, devices=n_dev)
        out.append(Bucket(K_pad, d_pad, tuple(members), rows, b, -(-rows // b)))
    return out


class Rows(NamedTuple):
    """The flat batch of a bucket: one entry per (cell, restart), padded to whole chunks."""

    d: np.ndarray  # (chunks * batch,) int32: true dimension of the row's cell
    K: np.ndarray  # (chunks * batch,) int32: true number of points of the row's cell
    restart: np.ndarray  # (chunks * batch,) int32: restart index within the cell
    cell: np.ndarray  # (chunks * batch,) int32: index into bucket.cells, -1 for spare rows


def layout(bucket: Bucket, restarts: int) -> Rows:
    """Return the row layout of `bucket`: cell-major, restart-minor, spare rows at the end."""
    n = bucket.chunks * bucket.batch
    cell = np.full(n, -1, np.int32)
    cell[: bucket.rows] = np.repeat(np.arange(len(bucket.cells), dtype=np.int32), restarts)
    restart = np.zeros(n, np.int32)
    restart[: bucket.rows] = np.tile(np.arange(restarts, dtype=np.int32), len(bucket.cells))
    dk = np.asarray(bucket.cells, np.int32)  # (n_cells, 2)
    src = np.where(cell >= 0, cell, 0)  # spare rows repeat a real row: finite and discarded
    return Rows(d=dk[src, 0].copy(), K=dk[src, 1].copy(), restart=restart, cell=cell)


def batch_sharding() -> NamedSharding | None:
    """Return a NamedSharding of axis 0 over all devices, or None when there is one device."""
    devs = jax.devices()
    if len(devs) == 1:
        return None
    mesh = Mesh(np.asarray(devs), ("batch",))
    return NamedSharding(mesh, PartitionSpec("batch"))


def shard(x, sharding: NamedSharding | None):
    """Return `x` placed along its batch axis by `sharding` (unchanged when it is None)."""
    if sharding is None:
        return x
    return jax.device_put(x, sharding)


def device_description() -> str:
    """Return the devices the batch runs on, e.g. ``cpu x1`` or ``NVIDIA H100 x4``."""
    devs = jax.devices()
    kind = getattr(devs[0], "device_kind", devs[0].platform) or devs[0].platform
    return f"{kind} x{len(devs)}"


__all__ = [
    "MAX_BATCH",
    "MIN_BATCH",
    "Bucket",
    "Rows",
    "batch_sharding",
    "batch_size",
    "buckets",
    "device_description",
    "ladder",
    "layout",
    "min_batch",
    "shard",
    "validate_cells",
]


# --------------------------------------------------------------------------------------------
# compiled programs and the kernel's memory-map limit

#: Compiled programs are dropped when this process holds more than this fraction of the
#: kernel's memory-map limit.  XLA's CPU JIT maps memory per compiled program (measured: one
#: trust-region solve of one (objective, shape) cell adds 1000 to 1800 maps), and Linux allows
#: vm.max_map_count (65530 by default) per process: a long run over many shapes, which keeps
#: them all, dies with "LLVM compilation error: Cannot allocate memory" (the Tammes table after
#: 34 min in one process; the equivalence table after 52 min in two workers).
MAP_FRACTION = 0.5


def memory_maps() -> tuple[int, int] | None:
    """Return (memory maps this process holds, the kernel's per-process limit), or None where
    the kernel does not say (not Linux)."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            limit = int(f.read())
        with open("/proc/self/maps", "rb") as f:
            held = sum(1 for _ in f)
    except (OSError, ValueError):
        return None
    return held, limit


def release_if_crowded(fraction: float = MAP_FRACTION) -> bool:
    """Return True after dropping JAX's compiled programs (``jax.clear_caches``) because this
    process holds more than `fraction` of its memory-map limit, else False (nothing done).

    The caches of every jitted function go, the caller's too: they recompile on their next
    call, where keeping them would abort the process at its next compilation.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r} is out of range: need 0 < fraction <= 1")
    maps = memory_maps()
    if maps is None or maps[0] <= fraction * maps[1]:
        return False
    jax.clear_caches()
    return True
