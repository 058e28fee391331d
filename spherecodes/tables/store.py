"""The store: atomic CSV/JSON/NPY writes, typed reading, locking and merging, sidecars.

A table is a CSV file with a fixed, ordered list of columns (:mod:`.schema`) plus a JSON
sidecar holding how it was made (:func:`provenance`: command, versions, devices, start, end,
wall time).  Every write goes to a temporary file in the same directory followed by
``os.replace``, so a reader (or a resumed run) never sees a half-written row or file.

A directory of tables is shared: several processes may write it at the same time.

Writers of one directory (two terminals, a cluster array job) serialize every
read-modify-write of a shared file through :func:`locked`, an exclusive ``flock`` on the lock
file ``.spherecodes.lock`` in that directory.  Inside the lock a writer reads the current
table, merges its rows by key (:func:`merge_rows`) and replaces the file atomically
(``atomic_write_*``: temp file + ``os.replace``), so every finished row of every writer
is in the table exactly once and a reader never sees a half-written file.  The kernel releases
the lock when its holder dies, so a writer killed with SIGKILL never blocks the others.

The lock is advisory and per directory: readers need none, and it works wherever ``flock``
does (local disks; NFS only if the server supports it).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from spherecodes.tables.schema import BOOL_COLUMNS, INT_COLUMNS, LIST_COLUMNS, STR_COLUMNS


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (temp file + rename); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates the file 0600; give the result the usual umask-derived permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: str | os.PathLike, array) -> Path:
    """Save `array` as .npy at `path` atomically; return the path."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "" if math.isnan(v) else repr(v)
    if isinstance(value, (list, tuple, np.ndarray)):
        return json.dumps([int(v) for v in value])
    return str(value)


def format_csv(rows: Iterable[Mapping], columns: Sequence[str]) -> str:
    """Return CSV text for `rows` with exactly `columns` (floats at full repr precision)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(f"row is missing columns {missing}")
        w.writerow([_format(row[c]) for c in columns])
    return buf.getvalue()


def write_table(path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str]) -> Path:
    """Write `rows` as a CSV table with the pinned `columns`, atomically; return the path."""
    return atomic_write_text(path, format_csv(rows, columns))


def _parse(column: str, text: str):
    if text == "":
        return None if column in STR_COLUMNS or column in LIST_COLUMNS else float("nan")
    if column in BOOL_COLUMNS:
        return text == "true"
    if column in INT_COLUMNS:
        try:
            return int(text)
        except ValueError:  # "3.0": an int column once written through a float
            value = float(text)
            if not value.is_integer():
                raise ValueError(f"column {column} holds {text!r}, not an integer") from None
            return int(value)
    if column in STR_COLUMNS:
        return text
    if column in LIST_COLUMNS:
        return [int(v) for v in json.loads(text)]
    try:
        return float(text)
    except ValueError:
        return text


def read_table(path: str | os.PathLike, *, required: Sequence[str] = ()) -> list[dict]:
    """Return the rows of a toolkit CSV table as dicts with typed values.

    Raises ValueError naming the file and the missing columns when `required` columns are absent.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"table {path} does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"table {path} lacks column(s) {missing}; it has {header}")
        return [{k: _parse(k, v) for k, v in row.items()} for row in reader]


def versions() -> dict[str, str]:
    """Return the versions of Python and of the packages that determine results."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("spherecodes", "jax", "jaxlib", "optax", "chex", "numpy", "cvxpy", "scipy"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing optional package is just not listed
            out[name] = "absent"
    return out


def devices() -> list[str]:
    """Return a description of every JAX device visible to this process."""
    import jax

    return [f"{d.platform}:{d.id}:{getattr(d, 'device_kind', '')}" for d in jax.devices()]


def machine() -> str:
    """Return the machine a run ran on: architecture, CPU count and CPU model, memory."""
    model = platform.processor() or ""
    mem = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        model = names[0] if names else model
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError, IndexError):
        pass  # not Linux: architecture and CPU count only
    cpu = f" ({model})" if model else ""
    return f"{platform.machine()}, {os.cpu_count()} CPUs{cpu}{mem}"


def now() -> str:
    """Return the current UTC time in ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_sidecar(path: str | os.PathLike, meta: Mapping) -> Path:
    """Write the JSON sidecar `meta` (command, versions, devices, times, ...) atomically."""
    return atomic_write_text(
        path, json.dumps(dict(meta), indent=2, sort_keys=True, default=str) + "\n"
    )


def sidecar_path(table: str | os.PathLike) -> Path:
    """Return the sidecar path of a table: ``results.csv`` -> ``results.json``."""
    return Path(table).with_suffix(".json")


def find_sidecar(table: str | os.PathLike) -> Path | None:
    """Return the JSON sidecar of a table (``X.json``, else ``run.json`` beside it), or None."""
    table = Path(table)
    for cand in (table.with_suffix(".json"), table.parent / "run.json"):
        if cand.is_file():
            return cand
    return None


def provenance(command: str, *, started: str, wall_seconds: float, **extra) -> dict:
    """Return a sidecar's fields: the command, package versions, devices, machine, start and
    end (UTC) and wall seconds of the run, then `extra` (seed, rows, cluster, ...)."""
    return {
        "command": command,
        "versions": versions(),
        "devices": devices(),
        "machine": machine(),
        "start": started,
        "end": now(),
        "wall_seconds": round(float(wall_seconds), 3),
        **extra,
    }


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
    old = read_table(path, required=required) if path.is_file() else []
    old = [{**dict.fromkeys(optional), **r} for r in old]
    merged = merge_rows(old, rows, key)
    if sort_key is not None:
        merged.sort(key=sort_key)
    write_table(path, merged, columns)
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
    write_sidecar(path, {"runs": runs})
    return runs


def write_table_and_sidecar(
    path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str], meta: Mapping
) -> Path:
    """Write the CSV table `path` and its JSON sidecar `meta` together under the directory's
    lock, each atomically, so concurrent builders never leave a table with another's sidecar;
    return the table path."""
    path = Path(path)
    with locked(path.parent):
        write_table(path, rows, columns)
        write_sidecar(sidecar_path(path), meta)
    return path
