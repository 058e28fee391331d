"""Tests for `spherecodes measure` and the report behind it (spherecodes.report)."""

import json
import math
import pathlib
import re
import subprocess
import sys

import errbounds as eb
import numpy as np
import pytest

from spherecodes.cli import main
from spherecodes.io import write_code
from spherecodes.report import MEASURE_KEYS, format_report, report_json

PHI = (1 + math.sqrt(5)) / 2
# Icosahedron: cyclic permutations of (0, +-1, +-phi), exact to rounding.
ICOSA = np.array(
    [
        p
        for s1 in (-1, 1)
        for s2 in (-1, 1)
        for p in ([0, s1, s2 * PHI], [s1, s2 * PHI, 0], [s2 * PHI, 0, s1])
    ]
) / math.sqrt(1 + PHI**2)
ICOSA_ANGLE = math.degrees(math.atan(2.0))  # 63.43494882292201 degrees
ICOSA_RHO_1VR = 1 - 1 / math.sqrt(5)  # vertex to the plane of its five neighbours

EXPECTED_KEYS = [
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
]


def _run_json(capsys, *argv):
    rc = main(["measure", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert err == ""
    return json.loads(out)


def _theorem39(d, K):
    """The GNC paper's Theorem 3.9 bounds on max rho_1vr, computed here from the formula."""
    g = math.lgamma
    lower = 0.5 * (math.sqrt(math.pi) / K * math.exp(g((d + 1) / 2) - g(d / 2 + 1))) ** (
        2 / (d - 1)
    )
    upper = 2 * (2 * math.sqrt(math.pi) / K * math.exp(g((d + 1) / 2) - g(d / 2))) ** (1 / (d - 1))
    return lower, upper, K >= math.sqrt(2 * math.pi * math.sqrt(math.e * d))


def test_measure_keys_are_pinned():
    assert list(MEASURE_KEYS) == EXPECTED_KEYS


def test_icosahedron_json(tmp_path, capsys):
    path = tmp_path / "icosa.txt"
    write_code(path, ICOSA)
    r = _run_json(capsys, path)
    assert list(r) == EXPECTED_KEYS
    assert (r["d"], r["K"]) == (3, 12)
    # rows (0, +-1, +-phi) normalized (closed-form entries, rounded): Gram entries within
    # gram(3), the angle through arccos' slope (angle_deg), the references a few operations
    # each (atan and degrees: formula(5, 90); 1/sqrt 5: formula(2); the chord: formula(12, 2))
    angle_tol = eb.angle_deg(3, 1 / math.sqrt(5)) + eb.formula(5, 90.0)
    assert r["min_angle_deg"] == pytest.approx(ICOSA_ANGLE, abs=angle_tol)
    assert r["max_inner"] == pytest.approx(1 / math.sqrt(5), abs=eb.gram(3) + eb.formula(2))
    assert r["coherence"] == pytest.approx(1.0, abs=eb.gram(3))  # antipodal pairs
    chord = 2 * math.sin(math.radians(ICOSA_ANGLE) / 2)
    assert r["rho_1v1"] == pytest.approx(chord, abs=eb.gram(3) + eb.formula(12, 2.0))
    assert r["rho_1vr"] == pytest.approx(ICOSA_RHO_1VR, abs=1e-9)
    assert 0 <= r["rho_1vr_gap"] <= 1e-6
    assert r["tammes_rattlers"] == []
    assert r["softmax_rattlers"] == []
    lower, upper, valid = _theorem39(3, 12)
    # both sides: exp of sums of logs and lgammas (here at d = 3, K = 12), then powers 1 and 2
    scale = abs(math.lgamma(2)) + abs(math.lgamma(2.5)) + abs(math.lgamma(1.5)) + math.log(12) + 2
    rel = 2 * eb.exp_of_sum(6, scale, 1.0) + eb.formula(4)
    assert r["theorem39_lower"] == pytest.approx(lower, rel=rel)
    assert r["theorem39_upper"] == pytest.approx(upper, rel=rel)
    assert r["theorem39_valid"] is valid is True
    assert r["rho_1vr"] <= r["theorem39_upper"]  # holds for every code
    # Levenshtein bounds the minimal angle of every 12-point code from above.
    assert r["levenshtein_min_angle_deg"] >= r["min_angle_deg"] - 1e-9


def test_sloane_icosahedron_text_and_json(ref_data, capsys):
    path = ref_data / "sloane_d3" / "pack.3.12.txt"
    r = _run_json(capsys, path)
    # Sloane's coordinates have 12 digits, which bounds the agreement.
    assert r["min_angle_deg"] == pytest.approx(63.4349488, abs=1e-7)
    assert r["rho_1vr"] == pytest.approx(ICOSA_RHO_1VR, abs=1e-8)
    assert r["tammes_rattlers"] == [] and r["softmax_rattlers"] == []

    assert main(["measure", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == EXPECTED_KEYS
    # aligned: every value starts in the same column
    assert len({re.match(r"\S+:\s+", ln).end() for ln in lines}) == 1
    values = {ln.split(":")[0]: ln.split(":", 1)[1].strip() for ln in lines}
    assert float(values["min_angle_deg"]) == pytest.approx(63.4349488, abs=1e-7)
    assert float(values["rho_1vr"]) == pytest.approx(ICOSA_RHO_1VR, abs=1e-8)
    assert values["d"] == "3" and values["K"] == "12"
    assert values["tammes_rattlers"] == "[]" and values["softmax_rattlers"] == "[]"


def test_rattlers_tammes_and_softmax_differ(tmp_path, capsys):
    # Points at 0, 60, 120, 180, 270 degrees on the circle.  Minimal angle 60 degrees; only
    # the point at 270 touches nothing (Tammes rattler).  One-vs-rest distances: 60 and 120
    # sit 0.5 from the chord of their neighbours, 0 and 180 sit cos(15) - cos(75) = 1/sqrt(2)
    # from the chord 60-270 (or 120-270), 270 sits 1 from the diameter 0-180.
    ang = np.radians([0.0, 60.0, 120.0, 180.0, 270.0])
    code = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    path = tmp_path / "c.npy"
    write_code(path, code)
    r = _run_json(capsys, path)
    # rows from cos/sin of exact degrees: gram(2), then arccos' slope at cos 60 = 1/2
    assert r["min_angle_deg"] == pytest.approx(60.0, abs=eb.angle_deg(2, 0.5))
    assert r["rho_1vr"] == pytest.approx(0.5, abs=1e-9)
    assert r["tammes_rattlers"] == [4]
    assert r["softmax_rattlers"] == [0, 3, 4]


def test_point_inside_hull_is_visible(tmp_path, capsys):
    # A repeated point lies in the convex hull of the others: rho_1vr must read 0.
    octa = np.vstack([np.eye(3), -np.eye(3), np.eye(3)[:1]])
    path = tmp_path / "dup.txt"
    write_code(path, octa)
    r = _run_json(capsys, path)
    assert r["rho_1vr"] == 0.0
    assert r["rho_1v1"] == 0.0
    assert r["min_angle_deg"] == 0.0
    assert r["max_inner"] == 1.0
    # every point but the repeated pair (0 and 6) is farther than the minimum
    assert r["tammes_rattlers"] == [1, 2, 3, 4, 5]
    assert r["softmax_rattlers"] == [1, 2, 3, 4, 5]


def test_console_script_entry_point(tmp_path):
    script = pathlib.Path(sys.executable).with_name("spherecodes")
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    path = tmp_path / "pack.3.12.txt"
    write_code(path, ICOSA)
    proc = subprocess.run(
        [str(script), "measure", str(path), "--json"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert list(r) == EXPECTED_KEYS
    angle_tol = eb.angle_deg(3, 1 / math.sqrt(5)) + eb.formula(5, 90.0)  # as in the JSON test
    assert r["min_angle_deg"] == pytest.approx(ICOSA_ANGLE, abs=angle_tol)


def test_python_m_spherecodes_reports_errors(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "spherecodes", "measure", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"spherecodes measure: error: {tmp_path / 'missing.txt'}: no such file"
    ]


# --- bad input ----------------------------------------------------------------------------


def _bad_files(tmp_path):
    octa = np.vstack([np.eye(3), -np.eye(3)])
    rows = "\n".join(" ".join(map(repr, r)) for r in octa.tolist()) + "\n"
    files = {
        "missing": (tmp_path / "missing.txt", [], "no such file"),
        "directory": (tmp_path, [], "is a directory"),
        "empty": (tmp_path / "empty.txt", [], "empty"),
        "nan": (tmp_path / "nan.txt", [], "NaN"),
        "norm": (tmp_path / "norm.txt", [], "norm"),
        "one_per_line": (tmp_path / "one.txt", [], "--dim"),
        "dim_conflict": (tmp_path / "pack.3.6.txt", ["--dim", "4"], "conflicts"),
        "dim_data": (tmp_path / "rows.txt", ["--dim", "4"], "conflicts with the data"),
        "binary": (tmp_path / "junk.bin", [], "unknown format"),
        "count": (tmp_path / "pack.3.5.txt", [], "file name says d=3, K=5"),
    }
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "nan.txt").write_text(rows.replace("-1.0", "nan", 1))
    (tmp_path / "norm.txt").write_text(rows.replace("-1.0", "-1.01", 1))
    (tmp_path / "one.txt").write_text("\n".join(map(repr, octa.ravel().tolist())))
    (tmp_path / "pack.3.6.txt").write_text(rows)
    (tmp_path / "rows.txt").write_text(rows)
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)))
    (tmp_path / "pack.3.5.txt").write_text(rows)
    return files


BAD = [
    "missing",
    "directory",
    "empty",
    "nan",
    "norm",
    "one_per_line",
    "dim_conflict",
    "dim_data",
    "binary",
    "count",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    path, extra, pattern = _bad_files(tmp_path)[case]
    rc = main(["measure", str(path), *extra])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("spherecodes measure: error: ")
    assert pattern in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [[], ["measure"], ["measure", "x.txt", "--dim", "three"], ["nonsense"], ["measure", "--bad"]],
)
def test_usage_errors_exit_2(capsys, argv):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    if not argv:  # no command: the overview
        assert "usage:" in err
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, like every other bad input
    assert lines[0].startswith("spherecodes") and ": error: " in lines[0]
    assert "--help" in lines[0]


def test_help_exits_0(capsys):
    assert main(["measure", "--help"]) == 0
    assert "--dim" in capsys.readouterr().out


def test_text_and_json_rendering():
    report = {"K": 30, "rattlers": list(range(25)), "none": [], "x": 0.1, "ok": False}
    report["bad"] = float("nan")
    lines = format_report(report).splitlines()
    assert lines[0] == "K:        30"
    assert lines[1].startswith("rattlers: [0, 1, 2,") and "19, ...] (25 points" in lines[1]
    assert lines[2:5] == ["none:     []", "x:        0.1", "ok:       no"]
    back = json.loads(report_json(report))
    assert back["rattlers"] == list(range(25))  # JSON lists everything
    assert back["bad"] is None  # strict JSON has no NaN
