"""The Tammes <=> Softmax-Code table: verdicts, Theorem 3.3 values, the command.

Tolerances: rho_1vr of a closed-form code is a one-vs-rest distance computed by the certified
hull solver, within tests/errbounds.py's hull_distance(K, d) of the exact value.
"""

from __future__ import annotations

import json
import math

import errbounds
import numpy as np
import pytest

from spherecodes import tables
from spherecodes.cli import main
from spherecodes.tables import equivalence as cj


def _row(**kw) -> dict:
    """A measured row of two certified codes with equal rho_1vr (0.7) and angle (60 deg)."""
    row = {
        "tammes_rho_1vr_gap": 0.0,
        "tammes_kkt_residual": 1e-16,
        "softmax_rho_1vr_gap": 0.0,
        "softmax_kkt_residual": 1e-16,
        "best_known_min_angle_deg": None,
        "tammes_min_angle_deg": 60.0,
        "softmax_min_angle_deg": 60.0,
        "tammes_rho_1vr": 0.7,
        "softmax_rho_1vr": 0.7,
        "theorem33_rho_1vr": None,
    }
    row.update(kw)
    return row


def test_every_verdict_kind():
    assert cj.verdict(_row())[0] == "same optimum"
    # equal within RHO_TOL counts as equal
    assert cj.verdict(_row(softmax_rho_1vr=0.7 + cj.RHO_TOL / 2))[0] == "same optimum"
    v, why = cj.verdict(_row(softmax_rho_1vr=0.75, softmax_min_angle_deg=59.0))
    assert v == "softmax better" and "not a Tammes optimum" in why
    v, why = cj.verdict(_row(softmax_rho_1vr=0.75))
    assert v == "tammes code not a softmax code" and "same minimal angle" in why
    for bad, reason in (
        (dict(softmax_rho_1vr=0.6), "stayed below"),
        (dict(tammes_rho_1vr_gap=1e-6), "certificate gap"),
        (dict(softmax_kkt_residual=math.nan), "not certified"),
        (dict(best_known_min_angle_deg=61.0), "missed the best-known angle"),
        (dict(softmax_rho_1vr=0.75, softmax_min_angle_deg=61.0), "angle is larger"),
        (dict(theorem33_rho_1vr=0.8), "Theorem 3.3"),
    ):
        v, why = cj.verdict(_row(**bad))
        assert v == "inconclusive" and reason in why, (bad, why)


@pytest.mark.parametrize(
    ("d", "K", "want"),
    [
        (3, 4, 4 / 3),  # simplex: K / (K - 1)
        (4, 5, 5 / 4),
        (3, 5, 1.0),  # d + 1 < K <= 2d: cross-polytope subsets
        (4, 8, 1.0),
        (2, 5, 1 - math.cos(2 * math.pi / 5)),  # regular pentagon
    ],
)
def test_theorem33_values(d, K, want):
    assert abs(cj.theorem33_rho_1vr(d, K) - want) <= errbounds.hull_distance(K, d)
    assert cj.theorem33_rho_1vr(3, 7) is None


def test_default_cells_start_at_d_plus_2():
    cells = cj.default_cells([3, 4], None)
    assert cells[0] == (3, 5) and cells[-1] == (4, 48)
    assert all(K >= d + 2 for d, K in cells) and len(cells) == 44 + 43
    assert cj.default_cells([3], [4, 5, 6]) == [(3, 5), (3, 6)]


def test_table_command_writes_rows_codes_and_sidecar(tmp_path, capsys):
    out = tmp_path / "equivalence.csv"
    rc = main(["table", "equivalence", "--d", "2:3", "--K", "4,5", "--restarts", "16",
               "--out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    rows = tables.read_table(out, required=tables.EQUIVALENCE_COLUMNS)
    # d = 2: K = 4 (square) and 5 (pentagon); d = 3: K = 5 (K = 4 < d + 2 is left out)
    assert [(r["d"], r["K"]) for r in rows] == [(2, 4), (2, 5), (3, 5)]
    for r in rows:
        assert r["verdict"] == "same optimum", r
        # Theorem 3.3 settles all three: the softmax search reaches its value
        assert abs(r["softmax_rho_1vr"] - r["theorem33_rho_1vr"]) <= cj.RHO_TOL
        assert r["tammes_rho_1vr_gap"] <= cj.GAP_TOL and r["softmax_rho_1vr_gap"] <= cj.GAP_TOL
        for side in ("tammes", "softmax"):
            code = np.load(out.parent / r[f"{side}_code_file"])
            assert code.shape == (r["K"], r["d"])
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["verdicts"]["same optimum"] == 3 and meta["command"].startswith("spherecodes")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--d", "1:3"], "--d=1 is too small"),
        (["--d", "3", "--K", "2:4"], "leaves no cell"),
        (["--name", "E8 roots"], "--name applies to table cohn-kumar only"),
        (["--d", "x"], "--d item 'x' is not an integer"),
        # the trust-region engine takes no step count: dropping --steps silently would mislead
        (["--steps", "100"], "--steps=100 does not apply to table equivalence"),
    ],
)
def test_bad_arguments_are_one_error_line(argv, message, capsys):
    rc = main(["table", "equivalence", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err
