"""Tests of spherecodes.solvers.batching: the bucketing rule, masks, compile reuse, sharding."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from spherecodes.solvers import SolveConfig, solve_grid, trust
from spherecodes.solvers import search as S
from spherecodes.solvers.batching import (
    MIN_BATCH,
    batch_size,
    buckets,
    ladder,
    layout,
    validate_cells,
)

FAST = dict(restarts=4, steps=300, polish=False)


def test_ladder_bounds_waste():
    for n in range(1, 300):
        m = ladder(n)
        assert m >= n
        assert m <= max(2, 1.5 * n), (n, m)  # waste at most 50%
        assert m == ladder(m)  # ladder values are fixed points
    assert [ladder(n) for n in (2, 3, 4, 5, 7, 9, 13, 17, 25, 33)] == [
        2,
        3,
        4,
        6,
        8,
        12,
        16,
        24,
        32,
        48,
    ]


def test_buckets_group_by_padded_shape():
    cells = [(3, 30), (3, 4), (2, 5), (3, 6), (5, 13), (6, 16)]
    bs = buckets(cells, SolveConfig(restarts=64), devices=1)
    shapes = [(b.K_pad, b.d_pad) for b in bs]
    assert shapes == sorted(shapes)
    by_shape = {(b.K_pad, b.d_pad): b.cells for b in bs}
    assert by_shape == {
        (4, 3): ((3, 4),),
        (6, 2): ((2, 5),),
        (6, 3): ((3, 6),),
        (16, 6): ((5, 13), (6, 16)),
        (32, 3): ((3, 30),),
    }
    for b in bs:
        assert b.rows == 64 * len(b.cells)
        assert b.chunks * b.batch >= b.rows > (b.chunks - 1) * b.batch
        assert "K<=" in b.describe("tammes")


def test_batch_size_rule():
    assert batch_size(1) == MIN_BATCH
    assert batch_size(100) == 128
    assert batch_size(5000, max_batch=512) == 512
    assert batch_size(100, devices=3) == 129  # a multiple of the device count
    assert batch_size(100, devices=4) == 128


def test_layout_is_cell_major_and_pads_with_real_rows():
    b = buckets([(3, 9), (3, 11), (2, 12)], SolveConfig(restarts=3), devices=1)
    (b12,) = [x for x in b if x.K_pad == 12 and x.d_pad == 3]
    rows = layout(b12, 3)
    n = b12.chunks * b12.batch
    assert rows.cell.shape == (n,)
    np.testing.assert_array_equal(rows.cell[:6], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(rows.restart[:6], [0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(rows.K[:6], [9, 9, 9, 11, 11, 11])
    assert (rows.cell[6:] == -1).all() and (rows.K[6:] == 9).all()  # spare rows: finite, dropped


@pytest.mark.parametrize(
    "cells, match",
    [
        ([(1, 4)], "d=1 is too small"),
        ([(3, 1)], "K=1 is too small"),
        ([(3, 4), (3, 4)], "appears twice"),
        ([(3.0, 4)], "integers"),
        ([(3,)], "not a \\(d, K\\) pair"),
    ],
)
def test_bad_cells_raise(cells, match):
    with pytest.raises(ValueError, match=match):
        validate_cells(cells)
    with pytest.raises(ValueError, match=match):
        solve_grid(cells, SolveConfig(**FAST))


def _run(objective, d, K, K_pad, d_pad, steps=1000, restarts=3, dtype="float64"):
    spec = S.SearchSpec(objective, steps, dtype, K_pad, d_pad)
    r = np.arange(restarts)
    return S.search_batch(
        spec, jax.random.PRNGKey(0), np.full(restarts, d), np.full(restarts, K), r, 0.05, 5e-3
    )


@pytest.mark.parametrize("objective", ["tammes", "hardmax"])
def test_padding_is_inert(objective):
    """Padded into a bigger bucket, a cell follows the same path to the same optimum."""
    small = _run(objective, 3, 6, 6, 3)
    big = _run(objective, 3, 6, 12, 6)
    # Padding points are zero rows and padding coordinates stay exactly zero.
    assert (np.asarray(big.code)[:, 6:, :] == 0).all()
    assert (np.asarray(big.code)[:, :, 3:] == 0).all()
    if objective == "hardmax":
        assert (np.asarray(big.features)[:, 6:, :] == 0).all()
        assert (np.asarray(big.features)[:, :, 3:] == 0).all()
    # Padded points never influence the result: the same path up to summation order.  The
    # optimum is only unique up to rotation (rounding moves it along that flat direction), so
    # compare Gram matrices, not coordinates.
    gram = lambda c: np.einsum("rkd,rjd->rkj", c, c)  # noqa: E731
    np.testing.assert_allclose(gram(np.asarray(big.code)[:, :6, :3]), gram(small.code), atol=1e-7)
    np.testing.assert_allclose(big.value, small.value, atol=1e-9)
    if objective == "tammes":  # the octahedron: 90 degrees
        np.testing.assert_allclose(np.asarray(big.value), 0.0, atol=1e-7)
    else:  # the best restart finds the cross-polytope: rho_1vr = 1
        assert abs(float(np.min(big.value)) + 1.0) < 1e-3


@pytest.mark.parametrize("engine", ["adam", "trust"])
def test_second_grid_in_same_buckets_does_not_recompile(engine):
    # The compiled programs' own caches count the traces: no counter kept by the library.
    program = S.search_batch if engine == "adam" else trust.local_batch
    config = SolveConfig(restarts=4, steps=50, polish=False, seed=3, engine=engine)
    solve_grid([(3, 9), (3, 10), (2, 5)], config)
    cache = program._cache_size()
    # Different cells, same buckets (K 9..12 -> 12, K 5..6 -> 6) and row classes, other seed.
    res = solve_grid([(3, 12), (3, 11), (2, 6)], dataclasses.replace(config, seed=4))
    assert program._cache_size() == cache
    assert [(r.d, r.K) for r in res] == [(3, 12), (3, 11), (2, 6)]


_SHARD_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, jax
    import spherecodes
    from spherecodes.solvers import SolveConfig, solve_grid
    assert len(jax.devices()) == int(sys.argv[2]), jax.devices()
    res = solve_grid([(3, 5), (3, 6)],
                     SolveConfig(restarts=6, steps=200, polish=False, seed=1))
    np.savez(sys.argv[1], *[r.code for r in res], values=np.array([r.value for r in res]),
             device=res[0].device)
    """
)


def test_sharded_grid_matches_one_device(tmp_path: pathlib.Path):
    """Four host devices (batch axis sharded) give the same table as one device."""
    out = {}
    for n in (1, 4):
        env = dict(os.environ)
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n}"
        env["JAX_PLATFORMS"] = "cpu"
        path = tmp_path / f"dev{n}.npz"
        subprocess.run(
            [sys.executable, "-c", _SHARD_SCRIPT, str(path), str(n)],
            env=env,
            check=True,
            timeout=300,
        )
        out[n] = np.load(path)
    assert str(out[4]["device"]).endswith("x4")
    for i in range(2):
        a, b = out[1][f"arr_{i}"], out[4][f"arr_{i}"]
        # Rows are computed independently, so sharding changes nothing; observed bitwise.
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[1]["values"], out[4]["values"], rtol=0, atol=1e-12)


def test_release_if_crowded_drops_compiled_programs_only_past_the_fraction():
    from spherecodes.solvers import batching

    with pytest.raises(ValueError, match="fraction"):
        batching.release_if_crowded(0.0)
    maps = batching.memory_maps()
    if maps is None:
        pytest.skip("the kernel does not report memory maps here (not Linux)")
    held, limit = maps
    assert 0 < held < limit
    traces = []

    @jax.jit
    def f(x):
        traces.append(1)  # runs only when JAX traces (compiles) f
        return x + 1

    f(np.float32(1.0))
    assert not batching.release_if_crowded(1.0)  # a live process holds fewer than its limit
    f(np.float32(1.0))
    assert len(traces) == 1  # still compiled
    assert batching.release_if_crowded(0.5 / limit)  # it holds more than half a map
    assert f(np.float32(1.0)) == 2.0
    assert len(traces) == 2  # recompiled on its next call
