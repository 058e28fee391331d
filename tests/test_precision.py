"""Importing spherecodes changes no global JAX setting; its entry points still report float64.

Run in a fresh interpreter: the test session itself turns 64-bit mode on (conftest.py).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import errbounds
import pytest

_SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    import spherecodes
    import spherecodes.hull, spherecodes.known
    from spherecodes import measures, precision
    from spherecodes.report import measure_code
    from spherecodes.solvers import SolveConfig, solve
    from spherecodes.solvers.polish import polish

    out = {"after_import": str(jnp.zeros(3).dtype), "x64_after_import": precision.enabled()}
    res = solve(3, 6, SolveConfig(objective="tammes", restarts=8))
    out["solve_dtype"] = str(res.code.dtype)
    out["solve_value"] = res.value
    out["solve_kkt"] = res.kkt_residual
    # The regular pentagon: measured through the reporting entry point.
    a = 2 * np.pi * np.arange(5) / 5
    pent = np.stack([np.cos(a), np.sin(a)], axis=1)
    m = measure_code(pent)
    out["pentagon_min_angle"] = m["min_angle_deg"]
    out["pentagon_rho_1vr"] = m["rho_1vr"]
    q = pent + 1e-4 * np.eye(5, 2)
    p = polish("tammes", q / np.linalg.norm(q, axis=1, keepdims=True))
    out["polish_value"] = float(p.value)
    out["after_calls"] = str(jnp.zeros(3).dtype)
    out["x64_after_calls"] = precision.enabled()
    # Measures called on concrete arrays run in float64 (NumPy results); traced inside the
    # caller's jit or vmap they follow the caller's dtype.
    ico = spherecodes.known.icosahedron()
    out["ico_angle"] = float(measures.min_angle_deg(ico))
    out["ico_rho_1vr"] = float(spherecodes.hull.rho_1vr(ico))
    out["measures_dtype"] = str(measures.max_inner(pent).dtype)
    out["jit_dtype"] = str(jax.jit(measures.max_inner)(pent).dtype)
    out["vmap_dtype"] = str(jax.vmap(measures.max_inner)(jnp.stack([pent, pent])).dtype)
    out["after_measures"] = str(jnp.zeros(3).dtype)
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def fresh():
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_import_leaves_the_default_dtype_alone(fresh):
    assert fresh["after_import"] == "float32"
    assert fresh["x64_after_import"] is False
    assert fresh["after_calls"] == "float32"
    assert fresh["x64_after_calls"] is False


def test_entry_points_report_float64(fresh):
    # Every bound below is float64's (tests/errbounds.py); float32 would miss each by ~1e-7.
    cos72 = math.cos(math.radians(72))
    assert fresh["solve_dtype"] == "float64"
    # The octahedron's max inner product is 0: a certified polish, plus its 3-d inner products
    assert abs(fresh["solve_value"]) <= errbounds.polish_value(6) + errbounds.gram(3)
    assert fresh["solve_kkt"] <= errbounds.polish_tol()
    # Regular pentagon: 72 degrees, rho_1vr = 1 - cos(72 deg) (a vertex's distance to the chord
    # of its two neighbours) and, polished, max inner product cos(72 deg).
    assert abs(fresh["pentagon_min_angle"] - 72.0) <= errbounds.angle_deg(2, cos72)
    assert abs(fresh["pentagon_rho_1vr"] - (1 - cos72)) <= errbounds.hull_distance(5, 2)
    assert abs(fresh["polish_value"] - cos72) <= errbounds.polish_value(5) + errbounds.gram(2)


def test_measures_are_float64_on_concrete_arrays_and_follow_the_caller_when_traced(fresh):
    # icosahedron: arccos(1/sqrt 5) degrees and rho_1vr = 1 - 1/sqrt 5 (float32: off by ~1e-6)
    c = 5**-0.5
    assert abs(fresh["ico_angle"] - math.degrees(math.acos(c))) <= errbounds.angle_deg(3, c)
    assert abs(fresh["ico_rho_1vr"] - (1 - c)) <= errbounds.hull_distance(12, 3)
    assert fresh["measures_dtype"] == "float64"
    assert fresh["jit_dtype"] == "float32" and fresh["vmap_dtype"] == "float32"
    assert fresh["after_measures"] == "float32"


def test_reading_tables_and_plotting_import_no_jax(tmp_path):
    """A table and its figure need NumPy and matplotlib only: no JAX, no solver."""
    table = tmp_path / "t.csv"
    table.write_text("objective,d,K,rho_1vr\ntammes,3,4,1.3333333333333333\n")
    script = textwrap.dedent(
        f"""
        import sys
        import spherecodes
        from spherecodes import plots, tables
        rows = tables.read_table({str(table)!r})
        assert rows[0]["K"] == 4, rows
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "optax"))
        print("HEAVY", heavy)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY []" in proc.stdout, proc.stdout
