"""`spherecodes sweep`: the table it writes, resuming, determinism and bad arguments."""

import json
import math

import errbounds
import numpy as np
import pytest

from spherecodes import tables
from spherecodes.cli import main
from spherecodes.tables.sweep import run_sweep

BUDGET = ["--restarts", "8", "--steps", "300", "--quiet", "--no-plot"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    rc = main(
        ["sweep", "--objective", "tammes", "--d", "2,3", "--K", "4:5", "--out", str(out), *BUDGET]
    )
    assert rc == 0
    return out


def test_files_and_columns(swept):
    rows = tables.read_table(swept / "results.csv", required=tables.SWEEP_COLUMNS)
    header = (swept / "results.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == tables.SWEEP_COLUMNS
    assert [(r["d"], r["K"]) for r in rows] == [(2, 4), (2, 5), (3, 4), (3, 5)]
    for r in rows:
        code = np.load(swept / r["code_file"])
        assert code.shape == (r["K"], r["d"]) and code.dtype == np.float64
        # normalized rows: a d-term sum of squares, a square root, a division
        np.testing.assert_allclose(np.linalg.norm(code, axis=1), 1.0, atol=errbounds.gram(r["d"]))
        # Theorem C.11 on every reported code, and a certified one-vs-rest distance.
        slack = errbounds.c11_slack(r["K"], r["d"])
        assert r["rho_1v1"] ** 2 / 2 - slack <= r["rho_1vr"] <= r["rho_1v1"] + slack
        assert r["rho_1vr_gap"] <= errbounds.reported_gap(r["K"], r["d"])
        # how it was found: the trust-region engine's starts and confirmations
        assert r["engine"] == "trust" and r["found_by"]
        assert 1 <= r["confirmations"] <= r["starts"] <= r["restarts"]
    (run,) = json.loads((swept / "run.json").read_text())["runs"]
    assert {"command", "versions", "devices", "machine", "start", "end", "pid", "host"} <= set(run)
    assert run["end"] is not None and run["cells_solved"] == 4


def test_known_optima(swept):
    rows = {(r["d"], r["K"]): r for r in tables.read_table(swept / "results.csv")}
    assert rows[(2, 4)]["min_angle_deg"] == pytest.approx(90.0, abs=1e-9)
    assert rows[(2, 5)]["min_angle_deg"] == pytest.approx(72.0, abs=1e-9)
    assert rows[(3, 4)]["min_angle_deg"] == pytest.approx(math.degrees(math.acos(-1 / 3)), abs=1e-9)
    assert rows[(3, 5)]["min_angle_deg"] == pytest.approx(90.0, abs=1e-9)


def test_rerun_skips_finished_cells(swept):
    before = (swept / "results.csv").read_text()
    solved = []
    run_sweep(
        ["tammes"], [2, 3], [4, 5], swept, restarts=8, steps=300, quiet=True, on_row=solved.append
    )
    assert solved == []  # nothing re-solved
    assert (swept / "results.csv").read_text() == before


def test_same_seed_same_table(swept, tmp_path):
    rc = main(
        [
            "sweep",
            "--objective",
            "tammes",
            "--d",
            "2,3",
            "--K",
            "4:5",
            "--out",
            str(tmp_path),
            *BUDGET,
        ]
    )
    assert rc == 0
    a = tables.read_table(swept / "results.csv")
    b = tables.read_table(tmp_path / "results.csv")
    for ra, rb in zip(a, b, strict=True):
        for col in tables.SWEEP_COLUMNS:
            if col not in ("seconds",):
                assert (ra[col] == rb[col]) or (ra[col] != ra[col] and rb[col] != rb[col]), col
        np.testing.assert_array_equal(
            np.load(swept / ra["code_file"]), np.load(tmp_path / rb["code_file"])
        )


@pytest.mark.parametrize(
    "args, match",
    [
        (["--d", "1:3", "--K", "4"], "d=1 is too small"),
        (["--d", "3", "--K", "1:3"], "K=1 is too small"),
        (["--objective", "nope", "--d", "3", "--K", "4"], "'nope' is unknown"),
        (["--d", "3", "--K", "6:4"], "empty"),
        (["--d", "3", "--K", "4", "--restarts", "0"], "restarts=0"),
        (["--d", "3", "--K", ""], "names no value"),
        (["--objective", "softmax", "--d", "512", "--K", "1000000"], "needs an estimated"),
        (["--objective", "tammes", "--d", "3", "--K", "5", "--tau", "0.1"], "--tau applies"),
        (["--objective", "ce", "--d", "3", "--K", "5", "--lam", "0.1"], "--lam applies"),
        (["--objective", "ce", "--d", "3", "--K", "5", "--neighbors", "4"], "min-max objective"),
        (["--d", "3", "--K", "5", "--neighbors", "-1"], "neighbors=-1"),
        (["--d", "3", "--K", "5", "--restarts", "x"], "invalid int value"),
    ],
)
def test_bad_arguments(args, match, capsys, tmp_path):
    rc = main(["sweep", *args, "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and match in err[0], err
    assert "Traceback" not in err[0]


def test_remeasure_recomputes_from_codes(swept, tmp_path):
    import shutil

    from spherecodes.tables.sweep import remeasure

    work = tmp_path / "copy"
    shutil.copytree(swept, work)
    rows = tables.read_table(work / "results.csv")
    for r in rows:
        r["rho_1vr"] = -1.0  # a wrong value that remeasure must replace
    tables.write_table(work / "results.csv", rows, tables.SWEEP_COLUMNS)
    fixed = {(r["d"], r["K"]): r for r in remeasure(work)}
    # square: 1 - cos(90 deg); simplex: K/(K-1); each within its gap (weak duality) + rounding
    for (d, K), want in {(2, 4): 1.0, (3, 4): 4 / 3}.items():
        tol = fixed[(d, K)]["rho_1vr_gap"] + errbounds.certificate_gap(K, d)
        assert abs(fixed[(d, K)]["rho_1vr"] - want) <= tol


def test_out_that_is_a_file_is_one_error_line(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    rc = main(["sweep", "--d", "3", "--K", "4", "--out", str(blocker), *BUDGET])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "cannot write" in err[0], err


def test_resume_tells_neighbour_list_sizes_apart(tmp_path):
    kw = dict(restarts=1, steps=100, quiet=True)
    first = run_sweep(["tammes"], [3], [12], tmp_path, neighbors=3, **kw)
    assert "neighbour lists (m=3" in first[0]["device"]
    # the setting travels as columns, not only as text in the device column
    assert first[0]["search_path"] == "neighbour lists" and first[0]["neighbors"] == 3
    again = run_sweep(["tammes"], [3], [12], tmp_path, neighbors=3, **kw)
    assert again[0]["seconds"] == first[0]["seconds"]  # skipped: same settings
    other = run_sweep(["tammes"], [3], [12], tmp_path, neighbors=4, **kw)
    assert "neighbour lists (m=4" in other[0]["device"]
    dense = run_sweep(["tammes"], [3], [12], tmp_path, **kw)
    assert "neighbour" not in dense[0]["device"]
    assert dense[0]["search_path"] == "dense" and dense[0]["neighbors"] == 0
    assert isinstance(dense[0]["converged"], bool)

    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert len(runs) == 4  # every resumed run keeps the earlier provenance
    assert [r["cells_solved"] for r in runs] == [1, 0, 1, 1]
    assert all(r["end"] is not None and r["start"] <= r["end"] for r in runs)
