"""The neighbour-list search: exact lists, the surrogate it approximates, and known optima."""

import math

import errbounds as eb
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spherecodes.solvers import SolveConfig, search, solve
from spherecodes.solvers import neighbors as NB
from spherecodes.sphere import random_code


@pytest.mark.parametrize("objective", ["tammes", "grassmannian", "softmax"])
@pytest.mark.parametrize("block", [8, 16, 64])
def test_lists_are_the_top_pieces_of_each_row(objective, block):
    W = np.asarray(random_code(jax.random.PRNGKey(1), 37, 5))
    H = np.asarray(random_code(jax.random.PRNGKey(2), 37, 5))
    V = H if objective == "softmax" else W
    S = V @ W.T
    S = np.abs(S) if objective == "grassmannian" else S
    np.fill_diagonal(S, -np.inf)
    nbr = np.asarray(NB.neighbor_lists(objective, jnp.asarray(W), jnp.asarray(H), m=6, block=block))
    assert nbr.shape == (37, 6)
    want = np.sort(-S, axis=1)[:, :6]
    got = np.sort(-np.take_along_axis(S, nbr, axis=1), axis=1)
    np.testing.assert_array_equal(got, want)
    assert not np.any(nbr == np.arange(37)[:, None])


@pytest.mark.parametrize("objective", ["tammes", "grassmannian", "softmax", "hardmax"])
def test_full_lists_give_the_dense_surrogate(objective):
    """With every other point listed, the surrogate is the dense one (tammes and grassmannian:
    each unordered pair appears twice, which adds exactly t log 2)."""
    K, d, t = 11, 4, 0.03
    W = jnp.asarray(np.asarray(random_code(jax.random.PRNGKey(3), K, d)))
    H = jnp.asarray(np.asarray(random_code(jax.random.PRNGKey(4), K, d)))
    nbr = jnp.asarray([[j for j in range(K) if j != k] for k in range(K)])
    params = (W,) if objective in ("tammes", "grassmannian") else (W, H)
    local = float(NB.local_surrogate(objective, params, nbr, t))
    pm = jnp.ones(K, bool)
    dense = float(search.surrogate(objective, (W, params[-1] if len(params) > 1 else None),
                                   pm, t, 0.1, 0.1))  # fmt: skip
    shift = t * math.log(2) if objective in ("tammes", "grassmannian") else 0.0
    # two smooth maxima over at most 2 K^2 pieces (eb.smooth_max each) and the shift's 3 ops
    bound = 2 * eb.smooth_max(2 * K * K, d, t) + eb.formula(3, t)
    assert abs(local - (dense + shift)) <= bound


def test_tammes_reaches_the_regular_polygon():
    res = solve(2, 9, SolveConfig(restarts=2, steps=1500, neighbors=3, polish=False))
    assert abs(math.degrees(math.acos(res.value)) - 40.0) < 1e-5
    assert "neighbour lists (m=3" in res.device
    assert (res.search_path, res.neighbors, res.config.neighbors) == ("neighbour lists", 3, 3)
    assert res.restart_values.shape == (2,)


def test_softmax_reaches_the_simplex():
    cfg = SolveConfig(objective="softmax", restarts=2, steps=1500, neighbors=3)
    res = solve(3, 4, cfg)  # m clipped to K-1 = 3: simplex, rho_1vr = K/(K-1)
    assert abs(-res.value - 4 / 3) < 1e-9


def test_value_is_the_exact_objective_over_all_pieces():
    cfg = SolveConfig(restarts=1, steps=200, neighbors=4, polish=False)
    res = solve(3, 40, cfg)
    G = res.code @ res.code.T
    np.fill_diagonal(G, -np.inf)
    # the largest Gram entry, evaluated again here (another summation order)
    assert res.value == pytest.approx(G.max(), abs=eb.same_sum(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="neighbors"):
        SolveConfig(objective="ce", neighbors=8)
    with pytest.raises(ValueError, match="neighbors"):
        SolveConfig(neighbors=-1)
    with pytest.raises(ValueError, match="neighbors"):
        NB.search_neighbors("tammes", 3, 10, SolveConfig(), m=10)
    with pytest.raises(ValueError, match="refresh"):
        NB.search_neighbors("tammes", 3, 10, SolveConfig(), m=3, refresh=0)
