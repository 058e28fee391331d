"""Smoke tests of the benchmark peers (benchmarks/peers): valid codes, sound traces, the
smoothed cost's derivatives, the learning-rate schedules.  No timing assertions."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.peers.common import Trace, best_at, random_start, time_to_target  # noqa: E402
from benchmarks.peers.gnc_subgradient import learning_rate, run_gnc  # noqa: E402
from spherecodes.measures import min_angle_deg  # noqa: E402
from spherecodes.sphere import validate_code  # noqa: E402

#: Tammes optima in R^3 (degrees): tetrahedron, octahedron.
OPT_D3 = {4: math.degrees(math.acos(-1 / 3)), 6: 90.0}


def _check_run(run, d, K):
    code = validate_code(run.code)
    assert code.shape == (K, d)
    assert run.angle_deg == pytest.approx(float(min_angle_deg(code)), abs=1e-9)
    assert np.all(np.diff(run.trace.angle_deg) > 0)
    assert np.all(np.diff(run.trace.seconds) >= 0)
    assert run.trace.angle_deg[-1] == pytest.approx(run.angle_deg, abs=1e-9)


@pytest.mark.parametrize("schedule", ["step", "linear"])
def test_gnc_returns_a_valid_code_below_the_optimum(schedule):
    run = run_gnc(3, 6, seed=0, schedule=schedule, iterations=2000)
    _check_run(run, 3, 6)
    assert run.iterations == 2000
    # no 6 points of S^2 are more than 90 deg apart; the subgradient method gets close
    assert 80.0 < run.angle_deg <= OPT_D3[6] + 1e-9


def test_gnc_schedules():
    assert learning_rate(999, 5000, 0.1, "step") == pytest.approx(0.1)
    assert learning_rate(1000, 5000, 0.1, "step") == pytest.approx(0.01)
    assert learning_rate(4999, 5000, 0.1, "step") == pytest.approx(1e-5)
    assert learning_rate(2500, 5000, 0.1, "linear") == pytest.approx(0.05)
    with pytest.raises(ValueError, match="schedule"):
        learning_rate(0, 10, 0.1, "cosine")
    with pytest.raises(ValueError, match="K=1"):
        run_gnc(3, 1, seed=0)


def test_gnc_stops_at_the_target():
    run = run_gnc(3, 4, seed=1, iterations=5000, target_deg=100.0)
    assert run.angle_deg >= 100.0 and run.iterations < 5000


def test_pymanopt_smoothed_cost_derivatives():
    pytest.importorskip("pymanopt")
    from benchmarks.peers.pymanopt_packing import make_problem

    prob = make_problem(3, 7, 0.05)
    X = random_start(3, 7, 0).T  # points as columns
    V = np.random.default_rng(1).standard_normal(X.shape)
    h = 1e-6
    f, g, H = prob.cost, prob.euclidean_gradient, prob.euclidean_hessian
    fd = (f(X + h * V) - f(X - h * V)) / (2 * h)
    assert fd == pytest.approx(np.sum(g(X) * V), rel=1e-6)
    fd_g = (g(X + h * V) - g(X - h * V)) / (2 * h)
    np.testing.assert_allclose(fd_g, H(X, V), atol=1e-6)
    # the smoothing is an upper bound on the max within eps * log(#pairs)
    s = np.max((X.T @ X)[np.triu_indices(7, 1)])
    assert s <= f(X) <= s + 0.05 * math.log(21) + 1e-12


@pytest.mark.parametrize("method", ["cg", "tr"])
def test_pymanopt_finds_the_tetrahedron(method):
    pytest.importorskip("pymanopt")
    from benchmarks.peers.pymanopt_packing import run_pymanopt

    run = run_pymanopt(3, 4, seed=0, method=method, time_budget=20.0, eps_min=1e-6)
    _check_run(run, 3, 4)
    assert run.angle_deg <= OPT_D3[4] + 1e-9
    assert run.angle_deg == pytest.approx(OPT_D3[4], abs=1e-2)


def test_trace_readouts():
    tr = Trace(np.array([0.1, 0.5, 2.0]), np.array([40.0, 43.0, 43.69]))
    assert time_to_target(tr, 43.0) == 0.5
    assert math.isnan(time_to_target(tr, 44.0))
    assert best_at(tr, 1.0) == 43.0
    assert math.isnan(best_at(tr, 0.05))
