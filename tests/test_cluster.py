"""Sweeps and tables on Ray (`--cluster`): same table as a local run, a SIGKILLed worker's
task retried, two drivers on one directory, and Ray never imported without `--cluster`.

The Ray tests run on a local Ray runtime of 2 CPUs (2 worker processes) and are skipped when
the optional extra is not installed (``pip install -e '.[test,cluster]'``).
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spherecodes import tables
from spherecodes.cluster import NEEDS_EXTRA, chunks
from spherecodes.tables.sweep import run_sweep

#: A tiny grid over three padded shapes (K 4 | 5-6 | 7), cut into one-cell tasks on a
#: 2-CPU cluster, with a budget that keeps each run to seconds.
GRID = {"objectives": ["tammes"], "ds": [3], "Ks": [4, 5, 6, 7]}
BUDGET = {"restarts": 8, "steps": 100, "seed": 3, "quiet": True}
CLI_BUDGET = ["--restarts", "8", "--steps", "100", "--seed", "3", "--quiet", "--no-plot"]

#: Columns that legitimately differ between two runs of one cell: wall time.
TIMING = ("seconds",)


def _env() -> dict:
    """Environment for child processes: this checkout first on the path."""
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _assert_same_tables(a: Path, b: Path) -> None:
    """Every shared column of two sweep tables is equal and the codes are bitwise equal."""
    rows_a = tables.read_table(a / "results.csv", required=tables.SWEEP_COLUMNS)
    rows_b = tables.read_table(b / "results.csv", required=tables.SWEEP_COLUMNS)
    assert [(r["d"], r["K"]) for r in rows_a] == [(r["d"], r["K"]) for r in rows_b]
    for ra, rb in zip(rows_a, rows_b, strict=True):
        for col in tables.SWEEP_COLUMNS:
            if col in TIMING:
                continue
            va, vb = ra[col], rb[col]
            same = va == vb or (isinstance(va, float) and np.isnan(va) and np.isnan(vb))
            assert same, (ra["K"], col, va, vb)
        code_a, code_b = np.load(a / ra["code_file"]), np.load(b / rb["code_file"])
        assert code_a.tobytes() == code_b.tobytes(), ra["K"]


def _descends_from(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        pid = parents.get(pid, 0)
    return False


def _busy_workers(ancestor: int) -> list[int]:
    """Return the pids of Ray workers under `ancestor` that are running a solve_chunk task
    (Ray titles a busy worker ``ray::<task name>``, an idle one ``ray::IDLE``)."""
    parents, busy = {}, []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if cmdline.startswith(b"ray::solve_chunk"):
            busy.append(int(proc.name))
    return [p for p in busy if _descends_from(p, ancestor, parents)]


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray")
    from spherecodes.cluster import connect

    with connect("local", num_cpus=2, object_store_memory=100 * 1024**2) as record:
        yield record


@pytest.fixture(scope="module")
def local_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    run_sweep(**GRID, out_dir=out, **BUDGET)
    return out


def test_chunks_follow_buckets():
    cells = [(3, K) for K in range(4, 10)]
    got = chunks(cells, chunk_cells=2)
    assert got == [((3, 4),), ((3, 5), (3, 6)), ((3, 7), (3, 8)), ((3, 9),)]
    assert sorted(c for ch in got for c in ch) == cells
    with pytest.raises(ValueError, match="chunk_cells=0"):
        chunks(cells, chunk_cells=0)


def test_no_ray_without_cluster(tmp_path):
    """A sweep without --cluster, through the command line, never imports Ray."""
    script = (
        "import sys\n"
        "import spherecodes.cli as cli\n"
        "assert 'ray' not in sys.modules, 'import spherecodes.cli imported ray'\n"
        f"rc = cli.main(['sweep', '--objective', 'tammes', '--d', '2', '--K', '4', "
        f"'--out', {str(tmp_path)!r}, *{CLI_BUDGET!r}])\n"
        "assert rc == 0, rc\n"
        "assert 'ray' not in sys.modules, 'a sweep without --cluster imported ray'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = tables.read_table(tmp_path / "results.csv")
    assert row["node"] == os.uname().nodename


def test_missing_ray_is_one_error_line(tmp_path):
    """Without the extra, --cluster gives the install line and exit status 2, nothing else."""
    script = (
        "import sys\n"
        "sys.modules['ray'] = None  # as if the extra were not installed: import ray fails\n"
        "from spherecodes.cli import main\n"
        f"sys.exit(main(['sweep', '--K', '4', '--out', {str(tmp_path)!r}, '--cluster']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"spherecodes sweep: error: {NEEDS_EXTRA}"
    assert not (tmp_path / "results.csv").exists()


def test_bad_address_is_one_error_line(capsys):
    from spherecodes.cli import main

    assert main(["sweep", "--K", "4", "--cluster", "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cluster 'nowhere' is not a cluster address" in err[0]


def test_cluster_table_equals_local(ray_session, local_table, tmp_path):
    rows = run_sweep(**GRID, out_dir=tmp_path, cluster="local", **BUDGET)
    assert len(rows) == len(GRID["Ks"])
    _assert_same_tables(local_table, tmp_path)
    (run,) = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert run["cluster"]["address"] == "local"
    assert [n["cpus"] for n in run["cluster"]["nodes"]] == [2]
    hosts = {n["host"] for n in run["cluster"]["nodes"]}
    assert {r["node"] for r in rows} <= hosts
    assert run["cells_solved"] == len(GRID["Ks"])


def test_killed_worker_still_completes_the_table(ray_session, local_table, tmp_path):
    """SIGKILL a worker in the middle of a task: Ray runs the task again and the table ends
    complete, without duplicates, and equal to the local one."""
    killed: list[int] = []

    def kill_a_busy_worker(row):
        if killed:
            return
        busy = _busy_workers(os.getpid())
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            killed.append(busy[0])

    run_sweep(**GRID, out_dir=tmp_path, cluster="local", on_row=kill_a_busy_worker, **BUDGET)
    assert killed, "no worker was busy when the first rows came back"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(lines) == 1 + len(GRID["Ks"])  # header + one row per cell, no duplicates
    _assert_same_tables(local_table, tmp_path)


@pytest.mark.slow
def test_two_drivers_on_one_directory(ray_session, local_table, tmp_path):
    """A second driver (its own process and Ray runtime) sweeps an overlapping grid into the
    same directory at the same time: every cell of both ends up in the table exactly once."""
    other = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spherecodes",
            "sweep",
            "--objective",
            "tammes",
            "--d",
            "3",
            "--K",
            "6:9",
            "--out",
            str(tmp_path),
            "--cluster",
            *CLI_BUDGET,
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_sweep(["tammes"], [3], [4, 5, 6, 7], tmp_path, cluster="local", **BUDGET)
        _, err = other.communicate(timeout=300)
    finally:
        other.kill()
    assert other.returncode == 0, err[-2000:]
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(lines) == 1 + len(GRID["Ks"])
    _assert_same_tables(local_table, tmp_path)
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert len(runs) == 2 and all(r["end"] is not None for r in runs)


@pytest.mark.slow
def test_table_on_cluster_equals_local(ray_session, tmp_path):
    """`spherecodes table tammes --cluster` routes the table builder's solves through Ray."""
    from spherecodes.tables.build import run_table
    from spherecodes.tables.schema import TAMMES_COLUMNS

    opts = {"d": 3, "Ks": [4, 5, 6], "restarts": 8, "steps": 100, "seed": 3}
    (local,) = run_table("tammes", out=tmp_path / "local.csv", **opts)
    (remote,) = run_table("tammes", out=tmp_path / "ray.csv", cluster="local", **opts)
    rows_l, rows_r = tables.read_table(local), tables.read_table(remote)
    for rl, rr in zip(rows_l, rows_r, strict=True):
        for col in TAMMES_COLUMNS:
            if col not in TIMING and col != "code_file":  # each table has its own codes folder
                assert rl[col] == rr[col] or rl[col] != rl[col], (rl["K"], col)
    sidecar = json.loads(tables.sidecar_path(remote).read_text())
    assert sidecar["cluster"]["nodes"][0]["cpus"] == 2
