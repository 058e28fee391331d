"""Tables: pinned column schemas, atomic CSV/JSON/NPY writes, and reading tables back.

A table is a CSV file with a fixed, ordered list of columns (pinned by tests) plus a JSON
sidecar holding how it was made (command, versions, devices, times).  Every write goes to a
temporary file in the same directory followed by ``os.replace``, so a reader (or a resumed
run) never sees a half-written row or file.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from spherecodes.report import MEASURE_KEYS

#: How a cell was solved, beyond its settings (added to results.csv after it was first
#: written): ``engine`` the local solver ("trust" or "adam"), ``starts`` the starts it spent,
#: ``confirmations`` how many reached the reported basin, ``found_by`` how it was first reached,
#: ``search_path`` "dense", "streamed" or "neighbour lists", ``neighbors`` the pieces per point
#: of a neighbour-list search (0: all), ``converged`` whether the polish certified a KKT point.
SOLVE_PROVENANCE: tuple[str, ...] = (
    "engine",
    "starts",
    "confirmations",
    "found_by",
    "search_path",
    "neighbors",
    "converged",
)

#: Columns of `spherecodes sweep`'s results.csv, in order: the cell, the exact measures of
#: `spherecodes measure` (report.MEASURE_KEYS, rattlers as counts), then how it was solved.
SWEEP_COLUMNS: tuple[str, ...] = (
    "objective",
    *MEASURE_KEYS,
    "value",
    "kkt_residual",
    "success_rate",
    *SOLVE_PROVENANCE,
    "tau",
    "lam",
    "restarts",
    "steps",
    "seed",
    "seconds",
    "device",
    "code_file",
    "node",
)

#: Sweep columns added after results.csv was first written: an older table lacks them and is
#: still read, resumed and merged (its rows get an empty value there).  ``node`` is the host
#: that solved the cell (a Ray worker's node with ``--cluster``, else the sweeping machine).
SWEEP_ADDED_COLUMNS: tuple[str, ...] = ("node", *SOLVE_PROVENANCE)

#: Columns every results.csv has: :data:`SWEEP_COLUMNS` less :data:`SWEEP_ADDED_COLUMNS`.
SWEEP_REQUIRED: tuple[str, ...] = tuple(c for c in SWEEP_COLUMNS if c not in SWEEP_ADDED_COLUMNS)

_INT_COLUMNS = {
    "d",
    "K",
    "tammes_rattlers",
    "softmax_rattlers",
    "restarts",
    "steps",
    "seed",
    "starts",
    "confirmations",
    "neighbors",
    "random_restarts",
    "random_steps",
    "random_confirmations",
}
_BOOL_COLUMNS = {"theorem39_valid", "converged"}
_STR_COLUMNS = {
    "objective",
    "device",
    "code_file",
    "node",
    "name",
    "verdict",
    "inner_products",
    "engine",
    "found_by",
    "search_path",
    "random_engine",
}


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
        return None if column in _STR_COLUMNS else float("nan")
    if column in _BOOL_COLUMNS:
        return text == "true"
    if column in _INT_COLUMNS:
        return int(text)
    if column in _STR_COLUMNS:
        return text
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


#: Columns of the GNC paper's Figure 12 table (cross-entropy at falling tau against HardMax).
FIGURE12_COLUMNS: tuple[str, ...] = (
    "d",
    "K",
    "tau",
    "ce_min_angle_deg",
    "ce_rho_1vr",
    "hardmax_min_angle_deg",
    "hardmax_rho_1vr",
    "restarts",
    "steps",
    "seed",
)
