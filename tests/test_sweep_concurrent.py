"""Several real `spherecodes sweep` processes writing one directory, one of them killed.

The children import the tree under test (PYTHONPATH) and share a JAX compilation cache in a
temporary folder, so a later process of this module compiles less.  Budget: d = 2, K = 4..7,
2 restarts x 20 steps; each test takes about 30 s on 2 shared cores, nearly all of it XLA
compilation.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spherecodes
from spherecodes import tables
from spherecodes.tables.sweep import CELL_KEY

BUDGET = ["--objective", "tammes", "--d", "2", "--restarts", "2", "--steps", "20"]


@pytest.fixture(scope="module")
def child_env(tmp_path_factory):
    """Environment of the child processes: this tree first on the path, a shared JAX cache."""
    root = str(Path(spherecodes.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env["JAX_COMPILATION_CACHE_DIR"] = str(tmp_path_factory.mktemp("jax-cache"))
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    return env


def _sweep(out: Path, Ks: str, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "spherecodes", "sweep", *BUDGET, "--K", Ks, "--out", str(out)]
    return subprocess.Popen(
        [*cmd, "--quiet", "--no-plot"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 300) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"sweep exited {proc.returncode}:\n{out}\n{err}"


def _consistent_rows(out: Path) -> list[dict]:
    """Return the rows of out/results.csv after checking the directory is consistent."""
    rows = tables.read_table(out / "results.csv", required=tables.SWEEP_COLUMNS)
    keys = [tuple(r[c] for c in CELL_KEY) for r in rows]
    assert len(keys) == len(set(keys)), f"duplicate cells: {keys}"
    for r in rows:
        code = np.load(out / r["code_file"], allow_pickle=False)  # exists and loads
        assert code.shape == (r["K"], r["d"]) and code.dtype == np.float64
        # Unit rows: a torn or foreign file would not be (rounding of a normalized row).
        assert np.all(np.abs(np.linalg.norm(code, axis=1) - 1) <= 8 * r["d"] * np.finfo(float).eps)
    return rows


def test_two_writers_on_one_directory_lose_and_duplicate_nothing(tmp_path, child_env):
    # One cell each keeps compilation short; both start long before either finishes (imports
    # and compilation take seconds), so each commits while the other is running: before the
    # store, each rewrote results.csv from its own memory and one row was lost.
    a = _sweep(tmp_path, "4", child_env)
    b = _sweep(tmp_path, "5", child_env)
    _finish(a)
    _finish(b)
    rows = _consistent_rows(tmp_path)
    assert sorted((r["d"], r["K"]) for r in rows) == [(2, 4), (2, 5)]
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert sorted(r["pid"] for r in runs) == sorted([a.pid, b.pid])
    assert all(r["end"] is not None and r["cells_solved"] == 1 for r in runs)


def test_killed_writer_leaves_a_consistent_directory_that_resume_completes(tmp_path, child_env):
    killed = _sweep(tmp_path, "4:7", child_env)
    csv_path = tmp_path / "results.csv"
    deadline = time.monotonic() + 300
    while not (csv_path.is_file() and len(csv_path.read_text().splitlines()) >= 2):
        assert killed.poll() is None, f"writer ended before its first row: {killed.communicate()}"
        assert time.monotonic() < deadline, "no row written within 300 s"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    at_kill = _consistent_rows(tmp_path)
    assert 1 <= len(at_kill) < 4, "the writer finished before it was killed"

    other = _sweep(tmp_path, "5:7", child_env)  # overlaps the killed writer's cells
    _finish(other)
    after = _consistent_rows(tmp_path)
    assert {r["K"] for r in after} >= {5, 6, 7}

    resume = _sweep(tmp_path, "4:7", child_env)
    _finish(resume)
    final = _consistent_rows(tmp_path)
    assert sorted((r["d"], r["K"]) for r in final) == [(2, 4), (2, 5), (2, 6), (2, 7)]
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert [r["pid"] for r in runs] == [killed.pid, other.pid, resume.pid]
    assert runs[0]["end"] is None  # the killed writer's record says it never finished
    # The second writer skips the cells the killed one committed (whichever it reached first).
    assert runs[1]["cells_solved"] == len({5, 6, 7} - {r["K"] for r in at_kill})
    # Resume solves exactly the cells no finished writer left: here at most K = 4.
    assert runs[2]["cells_solved"] == (0 if 4 in {r["K"] for r in after} else 1)
