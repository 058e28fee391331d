"""Migrate the committed tables to the `spherecodes.tables` layout (run once, kept for the record).

What changed (see the README's "Tables" section):
* every published table solves its cells through the sweep driver into ``<stem>_codes/``
  (``results.csv`` + ``run.json`` + ``codes/{objective}_d{d}_K{K}.npy``);
* sweep tables gained the provenance columns (engine, starts, confirmations, found_by,
  search_path, neighbors, converged), ``node`` and the rattler indices
  (``tammes_rattler_points``, ``softmax_rattler_points``); the Tammes and GNC-figure tables
  gained the provenance columns and ``code_file``.

Values are not recomputed into the tables: every existing column keeps its value.  New
columns that a run did not record (how an older engine found a code) are left empty; the
rattler indices are measured from the saved codes.  As a check, each saved code is measured
again with the current core and every measure column the table holds is compared with it; the
largest differences are printed and written into the sidecar (``migrated``).

    python scripts/migrate_tables.py [TABLES_DIR]      (default: tables)
    python scripts/migrate_tables.py --check OLD_DIR NEW_DIR

``--check`` compares a copy of the tables taken before the migration with the migrated ones:
every column the old table has must hold the same values (the code-file columns excepted,
whose files moved); it prints the changed and added columns per table.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np

from spherecodes.io import read_code
from spherecodes.tables import schema, store
from spherecodes.tables.rows import measure_columns

#: Measure columns compared between a table and the code measured again.
COMPARED = ("max_inner", "min_angle_deg", "rho_1v1", "rho_1vr", "rho_1vr_gap", "coherence",
            "tammes_rattlers", "softmax_rattlers")  # fmt: skip


def _diff(a, b) -> float:
    if a is None or b is None:
        return 0.0 if a is None and b is None else math.inf
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, list):
        return 0.0 if a == b else math.inf
    a, b = float(a), float(b)
    if math.isnan(a) and math.isnan(b):
        return 0.0
    return abs(a - b)


class Report:
    """Largest |table - remeasured| per compared column, over one table."""

    def __init__(self):
        self.worst: dict[str, float] = {}

    def compare(self, row: dict, fresh: dict, prefix: str = "") -> None:
        for c in COMPARED:
            if prefix + c in row:
                self.worst[c] = max(self.worst.get(c, 0.0), _diff(row[prefix + c], fresh[c]))

    def record(self) -> dict:
        return {"at": store.now(), "max_abs_diff_remeasured": self.worst}


def _store_row(objective, d, K, fresh, solved: dict, code_file: str) -> dict:
    """A sweep-store row: the fresh measures, overridden by what the table recorded."""
    row = dict.fromkeys(schema.SWEEP_COLUMNS)
    row.update(objective=objective, d=d, K=K, **fresh, code_file=code_file)
    row.update({k: v for k, v in solved.items() if k in row})
    return row


def _write_store(folder: Path, rows: list[dict], meta: dict) -> None:
    """Write a sweep store's results.csv and one run record taken from the table's sidecar."""
    store.write_table(folder / "results.csv", rows, schema.SWEEP_COLUMNS)
    run = {"id": "migrated", **{k: meta.get(k) for k in ("command", "start", "end", "versions")}}
    store.record_run(folder / "run.json", run)


def _sidecar(path: Path, key: str, value) -> None:
    side = store.sidecar_path(path)
    meta = json.loads(side.read_text()) if side.exists() else {}
    meta[key] = value
    store.write_sidecar(side, meta)


def _header(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").splitlines()[0].split(","))


def migrate_sweep(folder: Path) -> dict:
    """Add the new columns to a sweep directory's results.csv; keep every existing value."""
    path = folder / "results.csv"
    if _header(path) == schema.SWEEP_COLUMNS:
        return {"skipped": "already migrated"}
    rows = store.read_table(path, required=schema.SWEEP_REQUIRED)
    rep = Report()
    for row in rows:
        fresh = measure_columns(np.load(folder / row["code_file"]))
        rep.compare(row, fresh)
        for c in schema.SWEEP_ADDED_COLUMNS:
            row.setdefault(c, None)
        for c in schema.RATTLER_POINTS:
            row[c] = fresh[c]
    store.write_table(path, rows, schema.SWEEP_COLUMNS)
    runs = store.read_runs(folder / "run.json")
    store.write_sidecar(folder / "run.json", {"runs": runs, "migrated": rep.record()})
    return rep.record()


def migrate_tammes(path: Path) -> dict:
    """Move ``<stem>_codes/pack.d.K.txt`` into a sweep store and add the new columns."""
    folder = path.with_name(path.stem + "_codes")
    if _header(path) == schema.TAMMES_COLUMNS:
        return {"skipped": "already migrated"}
    rows = store.read_table(path)
    meta = json.loads(store.sidecar_path(path).read_text())
    rep = Report()
    stored = []
    for row in rows:
        d, K = int(row["d"]), int(row["K"])
        pack = folder / f"pack.{d}.{K}.txt"
        code = read_code(pack)
        name = f"codes/tammes_d{d}_K{K}.npy"
        store.atomic_save_npy(folder / name, code)
        fresh = measure_columns(code)
        rep.compare(row, fresh)
        solved = {k: row[k] for k in ("kkt_residual", "success_rate", "restarts", "steps",
                                       "seed", "seconds", "device") if k in row}  # fmt: skip
        stored.append(_store_row("tammes", d, K, fresh, solved, name))
        for c in schema.TAMMES_ADDED_COLUMNS:
            row.setdefault(c, None)
        row["code_file"] = f"{folder.name}/{name}"
        pack.unlink()
    _write_store(folder, stored, meta)
    store.write_table(path, rows, schema.TAMMES_COLUMNS)
    _sidecar(path, "migrated", rep.record())
    return rep.record()


def migrate_equivalence(path: Path) -> dict:
    """Move ``<stem>_codes/*.npy`` into ``codes/`` of a sweep store; fix the code-file columns."""
    folder = path.with_name(path.stem + "_codes")
    if (folder / "results.csv").exists():
        return {"skipped": "already migrated"}
    rows = store.read_table(path)
    meta = json.loads(store.sidecar_path(path).read_text())
    restarts = 512  # equivalence_rows' default; the committed command gave no --restarts
    rep = Report()
    stored = []
    for row in rows:
        d, K = int(row["d"]), int(row["K"])
        for side in ("tammes", "softmax"):
            old = path.parent / row[f"{side}_code_file"]
            name = f"codes/{side}_d{d}_K{K}.npy"
            (folder / "codes").mkdir(parents=True, exist_ok=True)
            shutil.move(old, folder / name)
            code = np.load(folder / name)
            fresh = measure_columns(code)
            rep.compare(row, fresh, prefix=f"{side}_")
            solved = {
                "kkt_residual": row[f"{side}_kkt_residual"],
                "starts": row[f"{side}_starts"],
                "confirmations": row[f"{side}_confirmations"],
                "restarts": restarts,
                "seed": meta.get("seed", 0),
            }
            stored.append(_store_row(side, d, K, fresh, solved, name))
            row[f"{side}_code_file"] = f"{folder.name}/{name}"
    _write_store(folder, stored, meta)
    store.write_table(path, rows, schema.EQUIVALENCE_COLUMNS)
    _sidecar(path, "migrated", rep.record())
    return rep.record()


def migrate_gnc_figures(path: Path) -> dict:
    """Add the provenance and code-file columns (no codes were saved: left empty)."""
    if _header(path) == schema.GNC_FIGURES_COLUMNS:
        return {"skipped": "already migrated"}
    rows = store.read_table(path)
    for row in rows:
        for c in schema.GNC_FIGURES_ADDED_COLUMNS:
            row.setdefault(c, None)
    store.write_table(path, rows, schema.GNC_FIGURES_COLUMNS)
    record = {"at": store.now(), "note": "provenance columns added empty (not recorded)"}
    _sidecar(path, "migrated", record)
    return record


#: The committed tables and sweep directories the migration touches or must leave alone.
TABLES = ("cohn_kumar.csv", "tammes_d3.csv", "gnc_figures.csv", "gnc_figure12.csv",
          "equivalence.csv", "figure3_K1000/results.csv",
          "tammes_vs_softmax_d3/results.csv")  # fmt: skip


def check(old_dir: Path, new_dir: Path) -> bool:
    """Print, per table, the columns whose values changed and those added; return whether
    only code-file columns changed."""
    ok = True
    for name in TABLES:
        old, new = store.read_table(old_dir / name), store.read_table(new_dir / name)
        changed = {"rows"} if len(old) != len(new) else set()
        for a, b in zip(old, new, strict=False):
            changed |= {k for k in a if _diff(a[k], b.get(k)) != 0.0 and a[k] != b.get(k)}
        added = sorted(set(new[0]) - set(old[0])) if new and old else []
        print(f"{name}: changed {sorted(changed)}, added {added}")
        ok &= all(c.endswith("code_file") for c in changed)
    return ok


def main(argv: list[str]) -> int:
    """Migrate every committed table under the folder argv[0] (default tables), or with
    ``--check OLD NEW`` compare them; return the exit status."""
    if argv[:1] == ["--check"]:
        return 0 if check(Path(argv[1]), Path(argv[2])) else 1
    base = Path(argv[0]) if argv else Path("tables")
    report = {
        "tammes_d3": migrate_tammes(base / "tammes_d3.csv"),
        "equivalence": migrate_equivalence(base / "equivalence.csv"),
        "gnc_figures": migrate_gnc_figures(base / "gnc_figures.csv"),
        "figure3_K1000": migrate_sweep(base / "figure3_K1000"),
        "tammes_vs_softmax_d3": migrate_sweep(base / "tammes_vs_softmax_d3"),
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
