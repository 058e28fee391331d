"""The result store: a directory that several processes may write at the same time.

Writers of one directory (two terminals, a cluster array job) serialize every
read-modify-write of a shared file through :func:`locked`, an exclusive ``flock`` on the lock
file ``.spherecodes.lock`` in that directory.  Inside the lock a writer reads the current
table, merges its rows by key (:func:`merge_rows`) and replaces the file atomically
(``tables.atomic_write_*``: temp file + ``os.replace``), so every finished row of every writer
is in the table exactly once and a reader never sees a half-written file.  The kernel releases
the lock when its holder dies, so a writer killed with SIGKILL never blocks the others.

The lock is advisory and per directory: readers need none, and it works wherever ``flock``
does (local disks; NFS only if the server supports it).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from spherecodes import tables

#: Name of the lock file :func:`locked` creates in the directory it locks.
LOCK_NAME = ".spherecodes.lock"


@contextlib.contextmanager
def locked(directory: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on `directory` (created if missing) while in the block; yield it.

    Not reentrant: do not nest two ``locked`` blocks on one directory in one process.
    """
    import fcntl  # POSIX only; imported here so that importing the toolkit works everywhere

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield directory
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def merge_rows(old: Iterable[Mapping], new: Iterable[Mapping], key: Sequence[str]) -> list[dict]:
    """Return one row per key: `old`'s rows in their order, each replaced by the last row of
    `new` with the same `key` values, then `new`'s rows with unseen keys in their order.

    >>> merge_rows([{"k": 1, "v": "a"}], [{"k": 2, "v": "b"}, {"k": 1, "v": "c"}], ["k"])
    [{'k': 1, 'v': 'c'}, {'k': 2, 'v': 'b'}]
    """
    if not key:
        raise ValueError("key names no column: need at least one key column")
    out: dict[tuple, dict] = {}
    for row in (*old, *new):
        missing = [c for c in key if c not in row]
        if missing:
            raise ValueError(f"row lacks key column(s) {missing}; key is {list(key)}")
        out[tuple(row[c] for c in key)] = dict(row)
    return list(out.values())


def merge_table(
    path: str | os.PathLike,
    rows: Iterable[Mapping],
    columns: Sequence[str],
    key: Sequence[str],
    *,
    sort_key: Callable[[dict], object] | None = None,
    optional: Sequence[str] = (),
) -> list[dict]:
    """Merge `rows` into the CSV table at `path` (created if missing) by `key`, write it
    atomically with `columns` and return all its rows (sorted by `sort_key` if given).

    `optional` columns may be missing from the table on disk (written before they existed):
    its rows get None there.  Call it inside ``locked(path.parent)`` when other processes may
    write the same table.
    """
    path = Path(path)
    required = [c for c in columns if c not in optional]
    old = tables.read_table(path, required=required) if path.is_file() else []
    old = [{**dict.fromkeys(optional), **r} for r in old]
    merged = merge_rows(old, rows, key)
    if sort_key is not None:
        merged.sort(key=sort_key)
    tables.write_table(path, merged, columns)
    return merged


def read_runs(path: str | os.PathLike) -> list[dict]:
    """Return the runs recorded in the provenance file `path`, oldest first ([] if none).

    Reads both forms: ``{"runs": [...]}`` and the older one run at top level with
    ``previous_runs`` beside it.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(meta, dict):
        return []
    if "runs" in meta:
        return list(meta["runs"])
    earlier = list(meta.pop("previous_runs", []))
    return [*earlier, meta] if meta else earlier


def record_run(path: str | os.PathLike, run: Mapping) -> list[dict]:
    """Write `run` into the provenance file `path` (``{"runs": [...]}``), replacing the run
    with the same ``id`` or appending it, atomically; return all runs.

    Call it inside ``locked(path.parent)`` when other processes may write the same file.
    """
    if "id" not in run:
        raise ValueError(f"run has no 'id' field; it has {sorted(run)}")
    runs = read_runs(path)
    at = next((i for i, r in enumerate(runs) if r.get("id") == run["id"]), None)
    if at is None:
        runs.append(dict(run))
    else:
        runs[at] = dict(run)
    tables.write_sidecar(path, {"runs": runs})
    return runs


def write_table_and_sidecar(
    path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str], meta: Mapping
) -> Path:
    """Write the CSV table `path` and its JSON sidecar `meta` together under the directory's
    lock, each atomically, so concurrent builders never leave a table with another's sidecar;
    return the table path."""
    path = Path(path)
    with locked(path.parent):
        tables.write_table(path, rows, columns)
        tables.write_sidecar(tables.sidecar_path(path), meta)
    return path
