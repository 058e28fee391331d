"""Solving a (d, K) grid on a Ray cluster: one task per bucket chunk, results as they arrive.

The unit of remote work is a *bucket chunk*: cells of one padded shape
``(ladder(K), ladder(d))`` (:mod:`spherecodes.solvers.batching`), at most ``chunk_cells`` of
them.  A task runs :func:`spherecodes.solvers.solve_grid` on its chunk in a Ray worker, so a
worker compiles each shape once and reuses the program for every later chunk of that shape;
it searches, polishes and, with ``finish``, measures there too, and returns the results with
the name of its node.  The driver receives chunks as they finish (``ray.wait``) and alone
writes anything (see :func:`spherecodes.tables.sweep.run_sweep`).

A worker that dies mid-task (SIGKILL, a lost node) has its task run again, up to
``max_retries`` times, elsewhere if need be; since each cell's result depends only on the
seed, objective, (d, K) and the budget, a retried chunk gives the same codes, and the same
seed gives the same table as a local run (bitwise on the same platform).

Ray is an optional extra (``pip install 'spherecodes[cluster]'``) and is imported only inside
these functions: importing this module, the toolkit or its command line never imports it.

>>> with connect("local", num_cpus=2) as cluster:  # doctest: +SKIP
...     results = solve_grid_on_ray([(3, 4), (3, 5)], SolveConfig(restarts=8, steps=100))
"""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from spherecodes.solvers import CellResult, SolveConfig, batching, solve_grid
from spherecodes.solvers.batching import ladder, validate_cells

#: The message of the ImportError raised when Ray is missing.
NEEDS_EXTRA = "--cluster needs the optional extra: pip install 'spherecodes[cluster]'"

#: Times a task is run again after its worker died (Ray's own default for tasks is 3).
MAX_RETRIES = 3


class Solved(NamedTuple):
    """One solved cell as it came back from the cluster."""

    result: CellResult  # the cell's result, exactly as solve_grid returns it
    node: str  # host name of the node whose worker solved it
    extra: Any  # finish(result), computed on that node; None without finish


def _ray():
    """Return the ray module, or raise ImportError with the install line."""
    try:
        import ray
    except ImportError as e:
        raise ImportError(NEEDS_EXTRA) from e
    return ray


def node_name() -> str:
    """Return the name a result carries for the node that solved it: the host name."""
    return socket.gethostname()


def chunks(
    cells: Sequence[tuple[int, int]], *, chunk_cells: int
) -> list[tuple[tuple[int, int], ...]]:
    """Return `cells` grouped by padded shape (ladder(K), ladder(d)), each group cut into
    chunks of at most `chunk_cells` cells, in order of first appearance.

    >>> chunks([(3, 4), (3, 5), (3, 6), (3, 7)], chunk_cells=1)
    [((3, 4),), ((3, 5),), ((3, 6),), ((3, 7),)]
    >>> chunks([(3, 4), (3, 5), (3, 6), (3, 7)], chunk_cells=8)
    [((3, 4),), ((3, 5), (3, 6)), ((3, 7),)]
    """
    if isinstance(chunk_cells, bool) or not isinstance(chunk_cells, int) or chunk_cells < 1:
        raise ValueError(f"chunk_cells={chunk_cells!r} is out of range: need an integer >= 1")
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for d, K in cells:
        groups.setdefault((ladder(K), ladder(d)), []).append((d, K))
    return [
        tuple(group[i : i + chunk_cells])
        for group in groups.values()
        for i in range(0, len(group), chunk_cells)
    ]


def chunk_cells_for(cells: Sequence[tuple[int, int]], slots: int) -> int:
    """Return the chunk size that cuts the largest padded-shape group of `cells` into about
    `slots` chunks (one per worker), at least 1."""
    sizes: dict[tuple[int, int], int] = {}
    for d, K in cells:
        sizes[(ladder(K), ladder(d))] = sizes.get((ladder(K), ladder(d)), 0) + 1
    return max(1, math.ceil(max(sizes.values(), default=1) / slots))


def solve_chunk(
    cells: Sequence[tuple[int, int]],
    config: SolveConfig,
    stream: bool | None = None,
    finish: Callable[[CellResult], Any] | None = None,
) -> list[Solved]:
    """Return the Solved records of one chunk, solved in this process (the body of a task, on
    one core: a pool or cluster runs one task per core, so its rounds run one chunk at a time)."""
    node = node_name()
    out = [
        Solved(r, node, None if finish is None else finish(r))
        for r in solve_grid(list(cells), config, stream=stream, lanes=1)
    ]
    # a worker process solves chunk after chunk, each of its own shape: it keeps their
    # compiled programs only while it has memory maps to spare
    batching.release_if_crowded()
    return out


def cluster_slots() -> int:
    """Return the number of CPUs of the connected Ray cluster (at least 1)."""
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


def describe() -> dict:
    """Return the connected cluster as a JSON-able record: Ray version and, per live node,
    host, address, CPUs and GPUs."""
    ray = _ray()
    nodes = []
    for n in ray.nodes():
        if not n.get("Alive", False):
            continue
        res = n.get("Resources", {})
        nodes.append(
            {
                "host": n.get("NodeManagerHostname"),
                "address": n.get("NodeManagerAddress"),
                "node_id": n.get("NodeID"),
                "cpus": int(res.get("CPU", 0)),
                "gpus": int(res.get("GPU", 0)),
            }
        )
    return {"ray": ray.__version__, "nodes": nodes}


def solve_on_ray(
    cells: Sequence[tuple[int, int]],
    config: SolveConfig,
    *,
    finish: Callable[[CellResult], Any] | None = None,
    chunk_cells: int | None = None,
    max_retries: int = MAX_RETRIES,
    num_gpus: float = 0,
    stream: bool | None = None,
) -> Iterator[Solved]:
    """Yield one Solved per cell, in the order the chunks finish, solving the chunks of
    :func:`chunks` as Ray tasks on the connected cluster (see :func:`connect`).

    ``chunk_cells`` None cuts each padded-shape group into about one chunk per cluster CPU.
    ``finish(result)`` (picklable) runs on the worker beside the solve; its value comes back
    as ``Solved.extra``.  A task whose worker dies is run again up to ``max_retries`` times;
    a task that raises re-raises the worker's exception here.  ``num_gpus`` per task (a
    fraction shares a GPU) gives the workers accelerators.
    """
    ray = _ray()
    if not ray.is_initialized():
        raise RuntimeError("no Ray connection: call solve_on_ray inside `with connect(...)`")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries={max_retries!r} is out of range: need an integer >= 0")
    if not (isinstance(num_gpus, (int, float)) and num_gpus >= 0):
        raise ValueError(f"num_gpus={num_gpus!r} is out of range: need a number >= 0")
    cells = validate_cells(cells)
    if chunk_cells is None:
        chunk_cells = chunk_cells_for(cells, cluster_slots())
    task = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=max_retries)(solve_chunk)
    pending = [
        task.remote(c, config, stream, finish) for c in chunks(cells, chunk_cells=chunk_cells)
    ]
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                solved = ray.get(ready[0])
            except ray.exceptions.RayTaskError as e:
                # The worker's own exception (ValueError, MemoryError, ...) without Ray's wrapper.
                cause = getattr(e, "cause", None)
                raise (cause if isinstance(cause, BaseException) else e) from None
            yield from solved
    finally:
        for ref in pending:  # the driver stopped early: do not leave tasks running
            ray.cancel(ref, force=True)


def solve_grid_on_ray(
    cells: Sequence[tuple[int, int]],
    config: SolveConfig,
    *,
    on_bucket: Callable[[str, int], None] | None = None,
    on_result: Callable[[CellResult], None] | None = None,
    stream: bool | None = None,
    chunk_cells: int | None = None,
    max_retries: int = MAX_RETRIES,
) -> list[CellResult]:
    """Return one CellResult per cell in input order, like :func:`solve_grid`, solved on the
    connected Ray cluster; ``on_result`` is called on the driver as each cell comes back.

    The Ray counterpart of :func:`~spherecodes.solvers.solve_grid` for a notebook; sweeps and
    tables reach Ray through :func:`spherecodes.tables.sweep.solve_cells` instead.
    """
    cells = validate_cells(cells)
    if on_bucket is not None:
        on_bucket(f"{config.objective}: {len(cells)} cells on Ray", len(cells))
    results: dict[tuple[int, int], CellResult] = {}
    for s in solve_on_ray(
        cells, config, chunk_cells=chunk_cells, max_retries=max_retries, stream=stream
    ):
        results[(s.result.d, s.result.K)] = s.result
        if on_result is not None:
            on_result(s.result)
    return [results[c] for c in cells]


@contextlib.contextmanager
def connect(
    address: str = "local",
    *,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
) -> Iterator[dict]:
    """Connect to a Ray cluster for the block and yield :func:`describe`'s record of it.

    ``address``: ``"local"`` starts a Ray runtime on this machine's cores (``num_cpus`` of
    them if given) for the block only; ``"auto"`` joins the cluster started on this machine
    with ``ray start``; ``"ray://host:port"`` joins a remote one through Ray Client.  If this
    process is already connected, that connection is used and left open.
    """
    if not isinstance(address, str) or not address.strip():
        raise ValueError(
            f"cluster address {address!r} is not valid: give 'local', 'auto' or 'ray://host:port'"
        )
    ray = _ray()
    if ray.is_initialized():
        yield describe()
        return
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address == "local":
        if num_cpus is not None:
            kw["num_cpus"] = num_cpus
        if object_store_memory is not None:
            kw["object_store_memory"] = object_store_memory
    elif num_cpus is not None or object_store_memory is not None:
        raise ValueError(
            f"num_cpus and object_store_memory size a local runtime only, not address={address!r}"
        )
    else:
        kw = {"log_to_driver": False}
    try:
        ray.init(address=address, **kw)
    except ConnectionError as e:
        raise ValueError(f"cannot reach the Ray cluster at {address!r}: {e}") from None
    try:
        yield describe()
    finally:
        ray.shutdown()


__all__ = [
    "NEEDS_EXTRA",
    "Solved",
    "chunk_cells_for",
    "chunks",
    "connect",
    "describe",
    "solve_chunk",
    "solve_grid_on_ray",
    "solve_on_ray",
]
