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
          "tammes_d3_codes/results.csv", "equivalence_codes/results.csv",
          "cohn_kumar_codes/results.csv")  # fmt: skip


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


def test_equivalence_table_verdicts_follow_from_its_columns():
    # A committed row's verdict is what verdict() gives its measured columns (a table left
    # behind by a change of the rules fails here), and every cell d + 2 <= K <= 2d carries
    # Theorem 3.3's value rho_1vr = 1 (cross-polytope subsets), the others none.
    from spherecodes.tables import equivalence

    for row in tables.read_table(TABLES / "equivalence.csv"):
        assert equivalence.verdict(row) == (row["verdict"], row["reason"] or ""), row["K"]
        thm = row["theorem33_rho_1vr"]
        if row["K"] <= 2 * row["d"]:
            # the theorem's code measured in float64: the norm of a combination of K points
            # in R^d, the same 64 K d eps as the measures below
            assert abs(thm - 1.0) <= 64 * row["K"] * row["d"] * np.finfo(np.float64).eps
        else:
            assert thm is None or np.isnan(thm)


def test_equivalence_table_small_rows_measure_as_their_codes():
    # Both codes of every cell with K <= 12 measured again on the host, without the batched
    # hull solver (whose compilation for each (K, d) cost minutes here): rho_1vr from the exact
    # min-norm point of each {w_j - w_k}, and the minimal angle from the Gram matrix. They
    # equal the row's to float64 rounding (rho_1vr: a norm of a combination of K points in R^d,
    # 64 K d eps; the angle: an inner product of d terms, 64 d eps, through arccos, whose slope
    # is 1 / sin(angle)).
    from spherecodes import hull

    eps = np.finfo(np.float64).eps
    rows = [r for r in tables.read_table(TABLES / "equivalence.csv") if r["K"] <= 12]
    assert rows
    for row in rows:
        for side in ("tammes", "softmax"):
            w = np.load(TABLES / row[f"{side}_code_file"])
            dists = [
                np.linalg.norm(hull.min_norm_point(np.delete(w, k, axis=0) - w[k])[0])
                for k in range(len(w))
            ]
            tol = 64 * row["K"] * row["d"] * eps
            assert abs(min(dists) - row[f"{side}_rho_1vr"]) <= tol, (side, row["K"])
            gram = w @ w.T
            np.fill_diagonal(gram, -1.0)
            measured = np.degrees(np.arccos(np.clip(gram.max(), -1.0, 1.0)))
            angle = row[f"{side}_min_angle_deg"]
            tol_deg = np.degrees(64 * row["d"] * eps / np.sin(np.radians(angle)))
            assert abs(measured - angle) <= tol_deg, (side, row["K"])
