"""The committed tables in tables/ read with the current schemas: pinned headers, code files
that exist and load as unit-row codes of the row's shape, and sidecars with a command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spherecodes import tables
from spherecodes.tables import schema

TABLES = Path(__file__).resolve().parents[1] / "tables"

#: table file -> its pinned columns
PUBLISHED = {
    "cohn_kumar.csv": schema.COHN_KUMAR_COLUMNS,
    "tammes_d3.csv": schema.TAMMES_COLUMNS,
    "gnc_figures.csv": schema.GNC_FIGURES_COLUMNS,
    "gnc_figure12.csv": schema.FIGURE12_COLUMNS,
    "equivalence.csv": schema.EQUIVALENCE_COLUMNS,
}
SWEEPS = ("figure3_K1000/results.csv", "tammes_vs_softmax_d3/results.csv",
          "tammes_d3_codes/results.csv", "equivalence_codes/results.csv")  # fmt: skip


def _header(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").splitlines()[0].split(","))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_table_has_the_pinned_columns_and_a_sidecar(name):
    path = TABLES / name
    assert _header(path) == PUBLISHED[name]
    meta = json.loads(tables.sidecar_path(path).read_text())
    assert meta["command"].startswith("spherecodes ")


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_table_has_the_sweep_columns(name):
    assert _header(TABLES / name) == schema.SWEEP_COLUMNS


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("tammes_d3.csv", ("code_file",)),
        ("equivalence.csv", ("tammes_code_file", "softmax_code_file")),
        *((name, ("code_file",)) for name in SWEEPS),
    ],
)
def test_code_files_exist_with_the_rows_shape(name, columns):
    path = TABLES / name
    for row in tables.read_table(path):
        for c in columns:
            code = np.load(path.parent / row[c])
            assert code.shape == (row["K"], row["d"]), (name, c, row["K"])
            # unit rows to float64 rounding (a norm of d terms: d eps)
            norms = np.linalg.norm(code, axis=1)
            assert np.max(np.abs(norms - 1)) <= 4 * row["d"] * np.finfo(np.float64).eps
