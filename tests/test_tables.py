"""Table schemas, atomic writes and range parsing."""

import json
import math

import numpy as np
import pytest

from spherecodes import tables
from spherecodes.tables.sweep import parse_range

PINNED_SWEEP = (
    "objective",
    "d",
    "K",
    "max_inner",
    "min_angle_deg",
    "rho_1v1",
    "rho_1vr",
    "rho_1vr_gap",
    "coherence",
    "tammes_rattlers",
    "softmax_rattlers",
    "theorem39_lower",
    "theorem39_upper",
    "theorem39_valid",
    "levenshtein_min_angle_deg",
    "value",
    "kkt_residual",
    "success_rate",
    "engine",
    "starts",
    "confirmations",
    "found_by",
    "search_path",
    "neighbors",
    "converged",
    "tammes_rattler_points",
    "softmax_rattler_points",
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


def test_sweep_columns_pinned():
    assert tables.SWEEP_COLUMNS == PINNED_SWEEP


def test_roundtrip_types(tmp_path):
    row = {c: None for c in PINNED_SWEEP}
    row.update(
        objective="tammes",
        d=3,
        K=7,
        max_inner=0.1 + 0.2,
        theorem39_valid=True,
        tammes_rattlers=1,
        seconds=1.5,
        device="cpu:0",
        code_file="codes/x.npy",
    )
    path = tables.write_table(tmp_path / "t.csv", [row], PINNED_SWEEP)
    back = tables.read_table(path, required=PINNED_SWEEP)[0]
    assert back["max_inner"] == 0.1 + 0.2  # repr round-trips float64 exactly
    assert back["d"] == 3 and back["K"] == 7 and back["theorem39_valid"] is True
    assert math.isnan(back["rho_1vr"]) and back["tau"] != back["tau"]
    assert back["tammes_rattler_points"] is None  # empty cell: not recorded


def test_rattler_points_are_json_lists_of_indices(tmp_path):
    rows = [{"K": 5, "tammes_rattler_points": [0, 3]}, {"K": 6, "tammes_rattler_points": []}]
    path = tables.write_table(tmp_path / "t.csv", rows, ["K", "tammes_rattler_points"])
    assert path.read_text().splitlines()[1] == '5,"[0, 3]"'
    back = tables.read_table(path)
    assert [r["tammes_rattler_points"] for r in back] == [[0, 3], []]


def test_every_table_schema_has_types_for_its_nonfloat_columns():
    """A column that holds text, ints or flags is declared, so it reads back as written."""
    from spherecodes.tables import schema

    declared = schema.INT_COLUMNS | schema.BOOL_COLUMNS | schema.STR_COLUMNS | schema.LIST_COLUMNS
    for columns in (schema.SWEEP_COLUMNS, schema.COHN_KUMAR_COLUMNS, schema.TAMMES_COLUMNS,
                    schema.GNC_FIGURES_COLUMNS, schema.EQUIVALENCE_COLUMNS):  # fmt: skip
        for c in columns:
            if c.endswith(("_file", "_method", "verdict", "reason", "device", "engine")):
                assert c in declared, c


def test_missing_columns_message(tmp_path):
    tables.write_table(tmp_path / "t.csv", [{"d": 2}], ["d"])
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['K'\]"):
        tables.read_table(tmp_path / "t.csv", required=["d", "K"])


def test_atomic_writes_leave_no_temp(tmp_path):
    tables.atomic_save_npy(tmp_path / "a.npy", np.eye(3))
    tables.write_sidecar(tmp_path / "a.json", {"command": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npy"]
    assert json.loads((tmp_path / "a.json").read_text())["command"] == "x"
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.eye(3))


def test_parse_range():
    assert parse_range("4:6,10,5", name="K", minimum=2) == [4, 5, 6, 10]
    assert parse_range("3", name="d", minimum=2) == [3]
    with pytest.raises(ValueError, match="empty"):
        parse_range("6:4", name="K", minimum=2)
    with pytest.raises(ValueError, match="d=1 is too small"):
        parse_range("1:3", name="d", minimum=2)
    with pytest.raises(ValueError, match="not an integer"):
        parse_range("a:b", name="K", minimum=2)
    with pytest.raises(ValueError, match="names no value"):
        parse_range(",", name="K", minimum=2)
