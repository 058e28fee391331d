"""Basin search over a grid with adaptive budgets: rounds of batched local solves from three arms.

Every round runs, for each bucket of cells that are not finished, the rows of its cells in
batches, one compiled program per arm, bucket shape and batch size.  A cell's rows come from
up to three local solvers (arms), shared by :func:`arm_starts`:

* the **trust-region arm** (:func:`spherecodes.solvers.trust.local_batch`, second order with
  continuation in the temperature), :func:`round_starts` rows (``ROUND_STARTS`` for cells up
  to ``ROUND_COST`` pieces x coordinates, fewer, down to 2, for costlier ones):

  - random starts (restart r of a cell is the same start on every path, see
    :func:`spherecodes.solvers.search.random_starts`), with starting temperature
    and first-stage tolerance ``PORTFOLIO[i % len(PORTFOLIO)]`` for the cell's i-th such
    start: high temperatures are energy-like problems, also solved to ``FIRST_GTOL_REL`` at t0
    before the continuation goes on, low ones local max-min searches (Tammes K = 13 in R^3 is
    found from t0 = 0.03 only);
  - perturbations of the cell's population (its ``POPULATION`` best distinct local optima):
    one point moved into the largest hole, or every point shaken by a fraction of the minimal
    distance, re-solved from ``PERTURB_T0`` (iterated local search / basin hopping);
  - neighbour seeds, in grids with cells (d, K - 1) or (d, K + 1): the neighbour's best code
    plus a point in its largest hole, or minus one point;

* the **anneal arm** (min-max objectives; :func:`spherecodes.solvers.search.anneal_batch`,
  first-order Riemannian Adam cooled slowly from a low temperature, ``ANNEAL_STEPS`` float32
  steps and a float64 refinement): random starts and perturbations of the population, and
  while it leads, mostly shakes of the best code (monotonic basin hopping, ``MBH_SHARE``).  Its
  noisy descent reaches the best basins of large packings that the trust regions miss, at a
  fraction of their cost; the trust regions win on symmetric high-dimensional cells;

* the **halving arm** (min-max objectives): random starts solved by float64 trust-region
  continuation from ``HALVING_T0`` with the temperature halved per stage down to
  ``HALVING_T_END`` (Pymanopt's packing recipe).  From a high temperature its path is nearly
  deterministic on large packings, and that path ends in the best-known code where neither
  other arm goes (Tammes R^3, K = 96); a cell's first ``HALVING_ROUNDS`` rounds include it.

Arms run while each reaches the cell's best basin; while one leads, the others get a
trickle.  Min-max results of the halving arm, and of the trust-region arm in cells up to
``CONVERGE_COST`` (:func:`converges`), are converged smoothed optima at ``HALVING_T_END``
(float64); anneals, and trust-region results in larger cells, end with a float64 Adam
refinement.  All are compared by their exact values.

A cell is finished when its best basin has been reached by ``confirm`` starts, the last
round found nothing better (after the first round: every random trust-region start and every
halving start of it ended in that basin) and the Good-Turing estimate of the chance that one
more random trust-region start finds an unseen basin (basins reached once / such starts) is at most
``MISSING_MASS`` with at least ``STARTS_PER_BASIN`` random starts per basin they reached (or
``PATIENCE`` starts found nothing better: large cells, where nearly every start ends in a basin
of its own), or when ``restarts`` starts are spent: easy cells cost one round, hard cells
get the budget (with ``SolveConfig.target``, also after the first round in which a local
optimum's exact value is at most the target).  A cell is also finished, proven optimal, after
the first round in which a local optimum's exact value is within :func:`smoothing_bound` of
the objective's proven lower bound (``Objective.floor``: Rankin's and Levenshtein's bounds
for Tammes, met by the simplex, the cross-polytope and the sharp codes such as E8's 240
roots; Welch and orthoplex for Grassmannian frames; Theorem 3.3 for Softmax): no start can
find a basin better by more than that.  A round's rows run halving first, then trust
region, then anneals, and a row that brings its cell to its floor or to the target ends the
cell's round: its rows in later chunks are skipped.  On a CPU the chunks of a stage (the
halving rows, then the trust-region and anneal rows) run on several threads at once
(``lanes``, see :func:`_run_rows`), with the same result as on one thread.
``CellResult.stopped_by`` says which rule ended it.
In these statistics (basins, confirmations, which arm leads) two local optima are the same
basin when their values (min-max objectives: exact values; smooth ones: surrogate values) agree
to ``BASIN_RTOL`` (relative) or, where the trust-region arm converges, to the cell's
:func:`resolution`, the smoothing bound of the final temperature: a converged smoothed optimum
lies within it of its basin's value, so nearer values cannot be told apart (measured: 8 of 8
trust-region starts of Softmax (5, 20) agree to 1e-16 among themselves and sit 2e-8 above the
refined anneals of their basin; told apart at 1e-8, they were 8 basins and the cell ran 275
starts, 12 s, instead of 34, 1 s).  The population keeps optima distinct to ``BASIN_RTOL``, so
the polish still sees the better of two such near-equal codes.  Each cell reports how its best
code was first found (``found_by``) and how many starts reached it (``confirmations``).
Finally the ``polish_top`` best distinct optima are polished exactly
(:func:`spherecodes.solvers.polish.polish`, active-set Newton from the surrogate's weights).

Deterministic for a seed: random starts come from the seed by ``jax.random.fold_in``, every
perturbation from a NumPy generator seeded by (seed, objective, d, K, round).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from spherecodes import objectives, precision
from spherecodes.solvers import batching, search
from spherecodes.solvers.search import SearchSpec, anneal_batch, random_starts, refine_batch
from spherecodes.solvers.trust import LocalSpec, local_batch

__all__ = [
    "BASIN_RTOL",
    "PORTFOLIO",
    "CellSearch",
    "basin_search",
    "coarse_spec",
    "finish",
    "per_basin",
    "round_starts",
]

#: (starting temperature, first-stage tolerance relative to it) of a cell's random
#: trust-region starts, cycled: three temperatures with the later stages' tolerance (1e-2 t)
#: and the two energy-like ones also solved to FIRST_GTOL_REL at t0 (see there).
PORTFOLIO = ((0.03, 1e-2), (0.5, 1e-3), (0.1, 1e-3), (0.5, 1e-2), (0.1, 1e-2))
#: Starting temperature of perturbed and seeded starts (a local search around them).
PERTURB_T0 = 0.01
#: Starts per unfinished cell and round.
ROUND_STARTS = 8
#: Padded K^2 d up to which a round gives a cell ROUND_STARTS starts (above: proportionally
#: fewer, at least 2, so that a round of a large cell costs about what a round of (3, 64) does).
ROUND_COST = 64 * 64 * 3
#: Distinct local optima kept per cell for perturbation and polish.
POPULATION = 4
#: Two local optima are one basin when their surrogate values agree to this (relative).
BASIN_RTOL = 1e-8
#: The float32 phase of the local solves ends at this temperature, with between COARSE_INNER
#: and COARSE_INNER_MAX tCG steps per trust-region iteration (tangent dimension / 16); the
#: float64 phase goes on to ``LocalSpec.t_end``.
COARSE_T_END, COARSE_INNER, COARSE_INNER_MAX = 1e-3, 8, 32
#: The first stage of a PORTFOLIO start with the tight tolerance (at its starting
#: temperature) ends at Riemannian gradient norm <= FIRST_GTOL_REL * t or after
#: FIRST_STAGE_ITER iterations (the later stages, and other rows' first: LocalSpec's 1e-2 t or
#: 60).  At t0 the surrogate is an energy (sum of exp(<w_i, w_j> / t)); which of its local
#: minima a start reaches decides the basin, and the loose tolerance left codes halfway, in
#: worse basins.  Measured, float32 phase, 32 random starts unless said: Tammes R^4, K = 24
#: from t0 = 0.5 reaches the 24-cell from 15 starts (2 with 1e-2 t, 19 with 1e-4 t); Softmax
#: Higman-Sims (22, 100) from t0 = 0.1 from 3 of 8 (0 of 8 with 1e-2 t, 5 with 1e-4 t), at
#: the same cost; Tammes (3, 13) from 0.03: 5 either way; 1e-4 t costs (3, 48) from 0.5 four
#: times the iterations (float32's floor), 1e-3 t none.  Tight alone loses diversity: Tammes
#: (3, 26)'s best basin (41.0377 deg) was reached from 4 of 64 starts at t0 = 0.03 and 4 of 64
#: at 0.5 with 1e-2 t, from none with 1e-3 t (those all end in one of two worse basins, which
#: stopped the cell early), so the portfolio has both.
FIRST_GTOL_REL, FIRST_STAGE_ITER = 1e-3, 200
#: A cell is not finished while the Good-Turing estimate of the chance that a random start
#: finds a basin not seen yet exceeds this (rugged landscapes get more starts).
MISSING_MASS = 0.02
#: ... nor before it has spent this many random starts per distinct basin they reached.
STARTS_PER_BASIN = 8
#: Sampled hole candidates refined by descent in _largest_hole.
HOLE_CANDIDATES = 8
#: ... unless this many starts since the last improvement found nothing better (large cells,
#: where nearly every random start ends in a basin of its own; half the default budget: the
#: best basin of Tammes (3, 61) is reached by about 1 anneal in 250).
PATIENCE = 256
#: Shake size, as a fraction of the code's minimal distance (per coordinate / sqrt(d)).
SHAKE = 0.25
#: Monotonic basin hopping in the anneal arm: while it gets ANNEAL_MAX anneals a round, that
#: fraction of them (MBH_SHARE) restarts from the cell's best code shaken by each of
#: MBH_SHAKES (fractions of its minimal distance, cycled), one in four moving a point of a
#: population member into its largest hole instead; otherwise a quarter of the anneals perturb
#: the population.  The best basins of large packings lie near the best code found so far,
#: seldom near a random start: measured on Tammes R^3 (one core, 40 s from the committed
#: table's code, before this rule), K = 61, 76, 93, 99, 106, 122, 130 each improved, by
#: 1e-3 to 2.3e-2 deg (K = 130: 18.48695 -> 18.51010 deg), where the table's 128-512 starts,
#: mostly random anneals, had found each best code once; the same 40 s of trust-region
#: restarts from the shaken code (16 a round) improved nothing on K = 93.
MBH_SHARE, MBH_SHAKES = 0.75, (0.25, 0.5, 1.0)
#: The first-order arm (min-max objectives): annealed Riemannian Adam from the start
#: (:func:`spherecodes.solvers.search.anneal_batch`, the schedule of a random restart of the
#: "adam" engine) for ANNEAL_STEPS float32 steps, then the float64 refinement.  Its noisy,
#: slowly cooled descent reaches best basins that every trust-region continuation misses on
#: large packings (measured on Tammes R^3, K = 43: 2 of 256 anneals within 1e-4 deg of the
#: best code, 0 of 64 trust solves from any of t0 = 0.5, 0.03, 0.01, each 10x to 20x dearer),
#: while the trust-region arm finds cells the anneal rarely does (R^4, K = 24: 1 of 256).
ANNEAL_STEPS = 2000
#: Anneals per unfinished cell and round (see :func:`arm_starts`): as many as trust-region
#: starts while both arms reach the best basin, ANNEAL_MAX while the anneals lead (they cost
#: 5x to 20x less than a trust-region start there: 100 against 550 ms at (3, 73), 2 cores),
#: ANNEAL_MIN while the trust regions lead.
ANNEAL_MIN, ANNEAL_MAX = 4, 32
#: In cells where the trust-region arm does not converge (:func:`converges` False: the large
#: ones, where one of its starts costs as much as 15 anneals: 1.9 against 0.125 s at (3, 106),
#: one core), the trust-region arm's trickle is one start every TRUST_TRICKLE_ROUNDS rounds
#: while another arm leads, not one a round (neighbour seeds, trust-region rows, wait for
#: those rounds): there it took 30-45% of a round that the leading anneals' hops use better.
#: Measured on Tammes R^3 (table budgets, K = 68, 82, 99, 106, 118, 121, seeds 0 and 1, one
#: core each): no trust-region trickle at all was larger in 6 cells of 12, smaller in 4, 13%
#: faster; in the committed table no cell above K = 60 had its best code first found by a
#: trust-region start, but one of those 12 runs was (K = 99, a hole perturbation), so the arm
#: keeps a trickle.
TRUST_TRICKLE_ROUNDS = 4
#: The halving arm (min-max objectives): float64 trust-region continuation from HALVING_T0
#: with the temperature multiplied by HALVING_FACTOR per stage down to HALVING_T_END
#: (Pymanopt's packing recipe halves eps), at most HALVING_ITER iterations.  Its slow cooling
#: from an energy-like start is nearly deterministic on large packings and funnels into basins
#: both other arms miss on some (Tammes R^3, K = 96: 13 of 16 starts reach Sloane's code,
#: against 0 of 16 for either other arm; benchmarks/bench_arms), at 3x to 5x the cost of a
#: default trust-region start.  So a cell's first HALVING_ROUNDS rounds give it HALVING_OPEN
#: starts each, and later rounds one start only while it alone leads the cell.  Each stage
#: is solved to Riemannian gradient norm HALVING_GTOL_REL * t (or 60 iterations): a looser
#: stage leaves the code halfway, and the next, colder stage then pulls it into a worse basin
#: at many more iterations.  Measured (AMD EPYC, one core, single rows from random starts):
#: Tammes (8, 240) with 1e-2 t 0 of 3 starts reach the E8 roots' 60 deg (54.9 deg after 960
#: iterations, 14 s each), with 1e-3 t 3 of 4 in 0.27-0.30 s (the fourth 57.35 deg, 15 s),
#: with 1e-4 t 8 of 8 in 0.6-1.0 s; (3, 96): Sloane's code from 4 of 6 at 1e-2 t (0.3 s, the
#: misses 1.1 s), 6 of 6 at 1e-3 t (0.34 s), 6 of 6 at 1e-4 t (0.65 s).
HALVING_T0, HALVING_FACTOR, HALVING_ITER, HALVING_T_END = 0.5, 0.5, 4000, 1e-7
HALVING_GTOL_REL = 1e-3
HALVING_OPEN, HALVING_ROUNDS = 1, 2
#: In cells up to padded K^2 d = CONVERGE_COST (see :func:`converges`) the trust-region arm's
#: float64 phase (min-max objectives) also ends at HALVING_T_END, in at most TRUST_ITER
#: iterations: both second-order arms then return converged smoothed optima, whose exact values
#: lie within :func:`resolution` of their basin's value, so the stop rule sees their basins.
#: Above, converging that far costs more than the starts it saves (about 60 trust-region
#: iterations per stage below t = 1e-4), so the phase ends at t = 1e-4 and the float64 Adam
#: refinement of the anneals follows.  Measured on the Tammes R^3 table (one run each way):
#: K = 13..32, converged 121 s in 1611 starts against 167 s in 6469; K = 33..48, 335 s against
#: 232 s; K = 49..64, 934 s against 376 s.
TRUST_ITER, CONVERGE_COST = 1200, 32 * 32 * 4


@dataclasses.dataclass
class CellSearch:
    """The search record of one cell while the rounds run (mutable, local to one search)."""

    d: int
    K: int
    next_restart: int = 0  # index of the next random start
    trust_random: int = 0  # random trust-region starts planned (cycles PORTFOLIO)
    starts: int = 0  # starts spent (random, perturbed, seeded)
    rounds: int = 0
    # the POPULATION best distinct results [(smooth, value, W, H, kind, source, arm)]
    population: list = dataclasses.field(default_factory=list)
    hits: int = 0  # starts that reached the best basin (not counting perturbations of it)
    found_by: str = ""
    improved: bool = True  # the last round found a better basin
    improved_at: int = 0  # starts spent when the best basin was last improved
    done: bool = False
    seeded_from: dict = dataclasses.field(default_factory=dict)  # neighbour K -> its smooth
    values: list = dataclasses.field(default_factory=list)  # exact value of every start
    basins: list = dataclasses.field(default_factory=list)  # [[smooth, hits]] of random starts
    halving: list = dataclasses.field(default_factory=list)  # exact value of every halving start
    seconds: float = 0.0
    arm_best: dict = dataclasses.field(default_factory=dict)  # arm -> best value it reached
    atol: float = 0.0  # values this close are one basin in the statistics (see resolution)
    floor: float | None = None  # a proven lower bound on the cell's values (Objective.floor)
    stopped_by: str = ""  # "bound", "target", "confirmed" or "budget" (see basin_search)

    def missing_mass(self) -> float:
        """Return the Good-Turing estimate of the chance that the next random start ends in a
        basin not seen yet: (basins reached by exactly one random start) / (random starts)."""
        n = sum(b[1] for b in self.basins)
        return sum(1 for b in self.basins if b[1] == 1) / n if n else 1.0

    @property
    def best(self):
        """Return the best (smooth, value, W, H, kind) found so far, or None."""
        return self.population[0] if self.population else None


def round_starts(d: int, K: int) -> int:
    """Return the number of starts a cell (d, K) gets per round (see ROUND_COST)."""
    cost = batching.ladder(K) ** 2 * batching.ladder(d)
    return int(min(ROUND_STARTS, max(2, ROUND_STARTS * ROUND_COST // cost)))


def per_basin(d: int, K: int) -> int:
    """Return the random starts per basin seen that a cell needs before it may stop
    (STARTS_PER_BASIN, scaled down with the starts per round, at least 2)."""
    return max(2, STARTS_PER_BASIN * round_starts(d, K) // ROUND_STARTS)


def converges(d: int, K: int) -> bool:
    """Return True where the trust-region arm converges its min-max results at HALVING_T_END
    (padded K^2 d up to CONVERGE_COST)."""
    return batching.ladder(K) ** 2 * batching.ladder(d) <= CONVERGE_COST


def smoothing_bound(K: int) -> float:
    """Return HALVING_T_END log(#pieces) (#pieces <= K (K - 1)): how far the exact value of a
    smoothed min-max optimum converged at HALVING_T_END may lie from its basin's value."""
    return HALVING_T_END * math.log(max(K * (K - 1), 2))


def resolution(minmax: bool, d: int, K: int) -> float:
    """Return the value difference below which two results of a cell count as one basin in
    its statistics: :func:`smoothing_bound` for min-max objectives in cells where every
    second-order result is converged at HALVING_T_END (:func:`converges`), else 0
    (BASIN_RTOL alone)."""
    if not (minmax and converges(d, K)):
        return 0.0
    return smoothing_bound(K)


def _same(a: float, b: float, atol: float = 0.0) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= max(BASIN_RTOL * max(1.0, abs(a), abs(b)), atol)


def _largest_hole(W: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a unit vector approximately farthest from every row of W: the best of sampled
    candidates, refined by descent on the log-sum-exp of its inner products with the rows."""
    K, d = W.shape
    C = rng.standard_normal((max(256, 32 * K), d))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    c = C[np.argsort(np.max(C @ W.T, axis=1))[:HOLE_CANDIDATES]]  # (n, d), emptiest first
    best, best_val = c.copy(), np.max(c @ W.T, axis=1)
    for k in range(200):
        t = 0.05 * 0.97**k
        ip = c @ W.T
        w = np.exp((ip - ip.max(axis=1, keepdims=True)) / t)
        g = (w / w.sum(axis=1, keepdims=True)) @ W  # gradient of t log sum exp(<w_i, c> / t)
        g -= np.sum(g * c, axis=1, keepdims=True) * c  # tangent part
        c = c - 2 * t * g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        val = np.max(c @ W.T, axis=1)
        better = val < best_val
        best[better], best_val[better] = c[better], val[better]
    return best[int(np.argmin(best_val))]


def _unit(x):
    n = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x / jnp.where(n > 0, n, 1)


def _min_distance(W: np.ndarray) -> float:
    G = W @ W.T
    np.fill_diagonal(G, -np.inf)
    return float(np.sqrt(max(2.0 - 2.0 * G.max(), 0.0)))


def _perturb(W, H, kind: str, rng, sphere: bool, size: float = SHAKE):
    """Return a perturbed copy (W', H') of a local optimum: a point into the largest hole
    ("hole") or every point shaken by `size` times the minimal distance ("shake")."""
    W = W.copy()
    H = None if H is None else H.copy()
    K, d = W.shape
    if kind == "hole":
        i = int(rng.integers(K))
        c = _largest_hole(np.delete(W, i, axis=0), rng)
        scale = np.linalg.norm(W[i]) if not sphere else 1.0
        W[i] = scale * c
        if H is not None:
            H[i] = c * (np.linalg.norm(H[i]) if not sphere else 1.0)
    else:
        Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
        s = size * max(_min_distance(Wn), 1e-3) / math.sqrt(d)
        W = W + s * rng.standard_normal(W.shape)
        if H is not None:
            H = H + s * rng.standard_normal(H.shape)
    if sphere:
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        if H is not None:
            H /= np.linalg.norm(H, axis=1, keepdims=True)
    return W, H


def _from_neighbour(W, H, K: int, rng, sphere: bool):
    """Return a start for K points from a neighbour cell's best code (K - 1 or K + 1 rows)."""
    if W.shape[0] == K - 1:
        c = _largest_hole(W / np.linalg.norm(W, axis=1, keepdims=True), rng)
        W = np.vstack([W, c])
        H = None if H is None else np.vstack([H, c])
    else:
        i = int(rng.integers(W.shape[0]))
        W = np.delete(W, i, axis=0)
        H = None if H is None else np.delete(H, i, axis=0)
    return W.copy(), None if H is None else H.copy()


class _Row(NamedTuple):
    """One start of one cell in a round."""

    cell: int  # index of the cell in the search's cell list
    W: np.ndarray | None  # (K, d) start, or None for random start number `restart`
    H: np.ndarray | None  # (K, d) feature start (None: from W, or random)
    t0: float  # starting temperature (anneals: one of search.T_STARTS)
    kind: str  # "random", "perturbed (hole|shake)", "neighbour K=..."
    restart: int = -1  # random start index
    source: float = math.nan  # surrogate value of the population member it perturbs
    arm: str = "trust"  # the local solver: "trust", "halving" (trust regions) or "anneal"
    gtol0: float = 1e-2  # trust-region arm: first-stage tolerance relative to t0


def arm_starts(cs: CellSearch, n: int) -> dict[str, int]:
    """Return {arm: starts} for a cell's next round, `n` the round size.

    Opening shares (trust-region n, anneals max(ANNEAL_MIN, n), halving HALVING_OPEN in the
    first HALVING_ROUNDS rounds) while nothing is known or for the arms that tie for the
    cell's best basin; an arm that alone leads gets the round (the anneals ANNEAL_MAX, and
    when the halving arm leads, one halving start with ANNEAL_MAX anneals); the others a
    trickle (one trust-region start, ANNEAL_MIN anneals, no halving after its opening; in
    cells where the trust regions do not converge, one trust-region start every
    TRUST_TRICKLE_ROUNDS rounds)."""
    halving = HALVING_OPEN if cs.rounds < HALVING_ROUNDS else 0
    opening = {"trust": n, "halving": halving, "anneal": max(ANNEAL_MIN, n)}
    if not cs.arm_best:
        return opening
    best = min(cs.arm_best.values())
    lead = {arm for arm, v in cs.arm_best.items() if v <= best or _same(v, best, cs.atol)}
    sparse = not converges(cs.d, cs.K) and cs.rounds % TRUST_TRICKLE_ROUNDS != 0
    trickle = {"trust": 0 if sparse else 1, "halving": halving, "anneal": ANNEAL_MIN}
    if len(lead) > 1:
        return {arm: opening[arm] if arm in lead else trickle[arm] for arm in opening}
    if lead == {"halving"}:
        # its path is nearly deterministic: one start a round confirms, and the round's search
        # for rarer, better basins goes to the cheapest arm
        return {"trust": trickle["trust"], "halving": 1, "anneal": ANNEAL_MAX}
    leading = {"trust": n, "anneal": ANNEAL_MAX}
    return {arm: leading[arm] if arm in lead else trickle[arm] for arm in opening}


def _plan_round(cs: CellSearch, index, obj, config, grid, rng) -> list[_Row]:
    """Return the rows of one cell for the next round: trust-region starts (random, perturbed,
    seeded by neighbours) and, for min-max objectives, halving starts (random) and anneals
    (random and perturbed), as many of each as :func:`arm_starts` gives."""
    budget = config.restarts - cs.starts
    share = arm_starts(cs, round_starts(cs.d, cs.K))
    if not obj.minmax:
        share = {"trust": round_starts(cs.d, cs.K)}
    n = min(share["trust"], budget)
    rows: list[_Row] = []
    if cs.rounds > 0 and cs.population:
        # neighbour seeds, when a neighbour's best changed since this cell last used it
        for K2 in (cs.K - 1, cs.K + 1):
            nb = grid.get((cs.d, K2))
            if nb is None or nb.best is None or len(rows) >= n:
                continue
            if K2 in cs.seeded_from and _same(cs.seeded_from[K2], nb.best[0]):
                continue
            if K2 < 2 or (K2 == cs.K - 1 and K2 < 2):
                continue
            cs.seeded_from[K2] = nb.best[0]
            W, H = _from_neighbour(nb.best[2], nb.best[3], cs.K, rng, obj.sphere)
            rows.append(_Row(index, W, H, PERTURB_T0, f"neighbour K={K2}"))
        # perturbations of the population, half of the round
        n_pert = max(1, (n - len(rows)) // 2)
        for j in range(n_pert):
            if len(rows) >= n:
                break
            member = cs.population[j % len(cs.population)]
            kind = "hole" if j % 2 == 0 else "shake"
            W, H = _perturb(member[2], member[3], kind, rng, obj.sphere)
            rows.append(_Row(index, W, H, PERTURB_T0, f"perturbed ({kind})", source=member[0]))
    while len(rows) < n:
        r = cs.next_restart
        cs.next_restart += 1
        t0, gtol0 = PORTFOLIO[cs.trust_random % len(PORTFOLIO)]
        cs.trust_random += 1
        rows.append(_Row(index, None, None, t0, "random", r, gtol0=gtol0))
    for _ in range(min(share.get("halving", 0), budget - len(rows))):
        r = cs.next_restart
        cs.next_restart += 1
        rows.append(_Row(index, None, None, HALVING_T0, "random (halving)", r, arm="halving"))
    m = min(share.get("anneal", 0), budget - len(rows))
    hop = share.get("anneal", 0) >= ANNEAL_MAX  # monotonic basin hopping (see MBH_SHARE)
    n_pert = 0
    if cs.rounds > 0 and cs.population:
        n_pert = int(MBH_SHARE * m) if hop else m // 4
    pop = cs.population
    for j in range(n_pert):
        if not hop:  # the population in turn, hole and shake alternating
            member, kind, size = pop[j % len(pop)], ("hole", "shake")[j % 2], SHAKE
        elif j % 4 == 3:  # a point of a population member into its largest hole
            member, kind, size = pop[(j // 4) % len(pop)], "hole", SHAKE
        else:  # the best code shaken, the sizes cycled over the shakes
            member, kind, size = pop[0], "shake", MBH_SHAKES[(j - j // 4) % len(MBH_SHAKES)]
        W, H = _perturb(member[2], member[3], kind, rng, obj.sphere, size)
        rows.append(
            _Row(
                index,
                W,
                H,
                search.T_STARTS[-1],
                f"perturbed ({kind}, anneal)",
                source=member[0],
                arm="anneal",
            )
        )
    for _ in range(m - n_pert):
        r = cs.next_restart
        cs.next_restart += 1
        t0 = search.T_STARTS[r % len(search.T_STARTS)]
        rows.append(_Row(index, None, None, t0, "random (anneal)", r, arm="anneal"))
    return rows


class _Solved(NamedTuple):
    """The local optimum of one solved row (NumPy)."""

    code: np.ndarray  # (K_pad, d_pad) float64
    features: np.ndarray | None
    value: float  # exact objective
    smooth: float  # what basins are told apart by (see the arms' chunk functions)
    seconds: float  # the row's share of its chunk's wall time


def _starts(obj, config, K_pad, d_pad, chunk, cells):
    """Return the padded float64 starts (W0, H0) and int arrays d, K of a chunk of rows."""
    sspec = SearchSpec(obj.name, 1, "float64", K_pad, d_pad)
    d = np.array([cells[r.cell].d for r in chunk], np.int32)
    K = np.array([cells[r.cell].K for r in chunk], np.int32)
    restart = np.array([max(r.restart, 0) for r in chunk], np.int32)
    W0, H0 = random_starts(sspec, jax.random.PRNGKey(config.seed), d, K, restart)
    W0, H0 = np.array(W0), (None if H0 is None else np.array(H0))
    for i, r in enumerate(chunk):
        if r.W is not None:
            W0[i] = 0.0
            W0[i, : r.W.shape[0], : r.W.shape[1]] = r.W
            if H0 is not None:
                H0[i] = 0.0
                H0[i, : r.H.shape[0], : r.H.shape[1]] = r.H if r.H is not None else r.W
    return W0, H0, d, K


def _trust_inputs(obj, config, K_pad, d_pad, chunk, cells, sharding):
    """Return the sharded starts W, H and the rows' d, K and starting temperatures."""
    W0, H0, d, K = _starts(obj, config, K_pad, d_pad, chunk, cells)
    t0 = np.array([r.t0 for r in chunk], np.float64)
    W, dd, KK, t0 = (batching.shard(np.asarray(x), sharding) for x in (W0, d, K, t0))
    return W, None if H0 is None else batching.shard(H0, sharding), dd, KK, t0


def _first_gtol(chunk, sharding):
    """Return the rows' first-stage tolerances (relative to t0), sharded like the rows."""
    return batching.shard(np.array([r.gtol0 for r in chunk], np.float64), sharding)


def coarse_spec(obj, K_pad: int, d_pad: int) -> LocalSpec:
    """Return the LocalSpec of the trust-region arm's float32 phase for a bucket: from t0 to
    COARSE_T_END, a tight first stage capped at FIRST_STAGE_ITER, tCG steps growing with the
    tangent dimension (high-dimensional cells such as (8, 240) need nearer-Newton steps to
    converge in this phase at all)."""
    n_tangent = K_pad * (d_pad - 1) * (2 if obj.has_features else 1)
    inner = int(min(COARSE_INNER_MAX, max(COARSE_INNER, n_tangent // 16)))
    return LocalSpec(
        obj.name,
        K_pad,
        d_pad,
        t_end=COARSE_T_END,
        max_inner=inner,
        first_stage_iter=FIRST_STAGE_ITER,
    )


def _trust_chunk(obj, config, K_pad, d_pad, chunk, cells, sharding):
    """Solve a chunk of trust-region rows; return (code, features, value, smooth)."""
    # Two phases: the basin is chosen at the higher temperatures, where float32 and short inner
    # solves suffice (twice as fast each); the float64 phase continues to the final temperature.
    coarse = coarse_spec(obj, K_pad, d_pad)
    converge = converges(d_pad, K_pad)
    if converge:
        spec = LocalSpec(obj.name, K_pad, d_pad, max_iter=TRUST_ITER, t_end=HALVING_T_END)
    else:
        spec = LocalSpec(obj.name, K_pad, d_pad)
    W, H, dd, KK, t0 = _trust_inputs(obj, config, K_pad, d_pad, chunk, cells, sharding)
    tau, lam = np.float64(config.tau), np.float64(config.lam)
    if obj.minmax:
        f32 = jnp.float32
        H32 = None if H is None else H.astype(f32)
        gtol0 = _first_gtol(chunk, sharding)
        out = local_batch(coarse, W.astype(f32), H32, dd, KK, t0, tau, lam, gtol0)
        W, H = out.code, out.features
        t0 = np.minimum(t0, COARSE_T_END)
    # float64 from here on, rows renormalized in float64 (a row the float64 phase does not
    # move must still be a float64 unit vector)
    W = W.astype(jnp.float64)
    H = None if H is None else H.astype(jnp.float64)
    if obj.sphere:
        W, H = _unit(W), None if H is None else _unit(H)
    out = local_batch(spec, W, H, dd, KK, t0, tau, lam)
    if not obj.minmax:
        return out.code, out.features, out.value, out.smooth
    if converge:  # converged at HALVING_T_END, compared by exact values (see resolution)
        return out.code, out.features, out.value, out.value
    # larger cells: the float64 refinement every anneal ends with, so that results of both
    # arms in one basin agree in value as far as it converges
    ref = refine_batch(
        SearchSpec(obj.name, ANNEAL_STEPS, "float32", K_pad, d_pad),
        out.code,
        out.features,
        KK,
        tau,
        lam,
    )
    return ref.code, ref.features, ref.value, ref.value


def _halving_chunk(obj, config, K_pad, d_pad, chunk, cells, sharding):
    """Solve a chunk of halving-arm rows (min-max objectives, float64 throughout: the slow
    cooling loses its way in float32); return (code, features, value, smooth)."""
    spec = LocalSpec(
        obj.name,
        K_pad,
        d_pad,
        max_iter=HALVING_ITER,
        factor=HALVING_FACTOR,
        t_end=HALVING_T_END,
        gtol_rel=HALVING_GTOL_REL,
    )
    W, H, dd, KK, t0 = _trust_inputs(obj, config, K_pad, d_pad, chunk, cells, sharding)
    out = local_batch(spec, W, H, dd, KK, t0, np.float64(config.tau), np.float64(config.lam))
    # converged at HALVING_T_END: its exact value as it is (see resolution)
    return out.code, out.features, out.value, out.value


#: Min-max cells that the exact polish does not take (more than ``polish_max_variables``)
#: end with a float64 trust-region continuation of their best candidate (:func:`finish`) from
#: the search's final temperature down to FINISH_T_END (the local solver's default stages,
#: iterations and tCG steps otherwise).  A smoothed optimum lies within O(t) of its basin's
#: max-min optimum, and at it exactly where the code's symmetry makes it a critical point of
#: every smoothing (the Cohn-Kumar codes).  Measured (Softmax, 2 cores): the simplex (100, 101)
#: from a random start, rho_1vr 1.1e-9 short after the search, 1.4e-13 short after 2.0 s; E8
#: from a 1e-5 perturbation, 2e-5 short, then 1.2e-11 after 2.4 s.
FINISH_T_END = 1e-9


@precision.float64
def finish(objective: str, d: int, K: int, candidates, config, t0: float):
    """Return [(code, features, exact value)] of the `candidates` ((code, features) pairs of
    one (d, K) cell of a min-max objective) continued in float64 from temperature `t0` down
    to FINISH_T_END (see there).  A candidate solved at a lower temperature (the halving arm's
    1e-7, an anneal's refinement) is re-smoothed at `t0` first: the continuation then follows
    one path whichever arm found it.  Cells share the compiled program of their padded
    (batching.ladder) shape, as in the search."""
    obj = objectives.get(objective)
    if not obj.minmax:
        accepted = ", ".join(n for n in objectives.names() if objectives.get(n).minmax)
        raise ValueError(
            f"objective={objective!r} is out of range: finish takes a min-max objective "
            f"({accepted})"
        )
    if not candidates:
        raise ValueError("candidates is empty: give at least one (code, features) pair")
    K_pad, d_pad = batching.ladder(K), batching.ladder(d)
    spec = LocalSpec(obj.name, K_pad, d_pad, t_end=FINISH_T_END)
    n = len(candidates)
    W = np.zeros((n, K_pad, d_pad))
    H = np.zeros((n, K_pad, d_pad)) if obj.has_features else None
    for i, (code, feat) in enumerate(candidates):
        W[i, :K, :d] = code
        if H is not None:
            H[i, :K, :d] = feat
    rows = (jnp.full(n, d), jnp.full(n, K), jnp.full(n, float(t0)))
    out = local_batch(
        spec,
        jnp.asarray(W),
        None if H is None else jnp.asarray(H),
        *rows,
        np.float64(config.tau),
        np.float64(config.lam),
    )
    code, value = np.asarray(out.code)[:, :K, :d], np.asarray(out.value)
    feats = None if out.features is None else np.asarray(out.features)[:, :K, :d]
    return [(code[i], None if feats is None else feats[i], float(value[i])) for i in range(n)]


def _anneal_chunk(obj, config, K_pad, d_pad, chunk, cells, sharding):
    """Solve a chunk of anneal rows; return (code, features, value, smooth)."""
    W0, H0, d, K = _starts(obj, config, K_pad, d_pad, chunk, cells)
    which = np.array([search.T_STARTS.index(r.t0) for r in chunk], np.int32)
    W, KK, which = (batching.shard(np.asarray(x), sharding) for x in (W0, K, which))
    H = None if H0 is None else batching.shard(H0, sharding)
    spec = SearchSpec(obj.name, ANNEAL_STEPS, "float32", K_pad, d_pad)
    out = anneal_batch(spec, W, H, d, KK, which, np.float64(config.tau), np.float64(config.lam))
    return out.code, out.features, out.value, out.value


def _run_rows(
    obj, config, K_pad, d_pad, rows, cells, ends=None, lanes: int = 1
) -> tuple[dict[int, _Solved], dict[int, float]]:
    """Solve `rows` (one bucket) in chunks; return ({row index: _Solved} of the rows kept,
    {cell: seconds of its rows computed and dropped}).

    Two stages: the halving arm's rows, then the trust-region and anneal rows of the cells
    the first stage did not end.  ``ends(row, value)`` is told each solved row's exact value
    in row order; once it returns True, the cell's later rows are dropped (on CPU the
    second-order rows of large buckets are chunks of one row per device, so a halving start
    that reaches a proven floor spares the cell its trust-region starts).  A stage's chunks
    are fixed before it runs and go to `lanes` threads at once, in order: a chunk whose rows
    all belong to ended cells is skipped, and a row is kept only when no earlier row ended its
    cell, so the result does not depend on `lanes` or on timing.  A row's seconds are its share
    of the stage's wall time (rows computed and dropped: charged to their cells)."""
    n_dev = len(jax.devices())
    sharding = batching.batch_sharding()
    small = batching.min_batch()
    finished: set[int] = set()  # cells that `ends` ended
    solved: dict[int, _Solved] = {}
    dropped: dict[int, float] = {}  # cell -> seconds of its rows computed and dropped
    for stage in (("halving",), ("trust", "anneal")):
        chunks = []  # (chunk function, row indices); sized for rows of cells not ended
        for arm in stage:
            fn = {"halving": _halving_chunk, "trust": _trust_chunk, "anneal": _anneal_chunk}[arm]
            idx = [i for i, r in enumerate(rows) if r.arm == arm and r.cell not in finished]
            if arm == "anneal":  # fixed step counts: rows share a chunk at no waste
                batch = batching.batch_size(max(len(idx), 1), devices=n_dev, min_batch=small)
            else:  # rows that stop on their own (while loops)
                cost = K_pad**2 * d_pad
                batch = batching.loop_batch_size(max(len(idx), 1), cost, devices=n_dev)
            chunks += [(fn, idx[s : s + batch], batch) for s in range(0, len(idx), batch)]
        kept, lost = _run_chunks(
            obj, config, K_pad, d_pad, rows, cells, chunks, sharding, finished, ends, lanes
        )
        solved.update(kept)
        for cell, sec in lost.items():
            dropped[cell] = dropped.get(cell, 0.0) + sec
    return solved, dropped


def _run_chunks(obj, config, K_pad, d_pad, rows, cells, chunks, sharding, finished, ends, lanes):
    """Run `chunks` on `lanes` threads (see :func:`_run_rows`; one lane: in this thread);
    return ({row index: _Solved}, {cell: seconds of its rows that were dropped}), adding the
    cells that `ends` ends to `finished`."""
    x64 = precision.enabled()  # JAX's 64-bit mode is thread-local: the lanes take the caller's

    def run(fn, take, batch):
        chunk = [rows[i] for i in take]
        chunk = chunk + [chunk[0]] * (batch - len(chunk))  # spare rows: repeated, discarded
        t0 = time.perf_counter()
        with jax.enable_x64(x64):
            out = fn(obj, config, K_pad, d_pad, chunk, cells, sharding)
            out = tuple(None if a is None else np.asarray(a) for a in out)
        return out, time.perf_counter() - t0

    solved: dict[int, _Solved] = {}
    dropped: dict[int, float] = {}
    busy, t_start = 0.0, time.perf_counter()

    def live(take) -> bool:
        return any(rows[i].cell not in finished for i in take)

    def take_result(take, result) -> None:
        """Keep the rows of a finished chunk whose cells no earlier row ended, in order."""
        nonlocal busy
        (code, feats, value, smooth), sec = result
        busy += sec
        for k, i in enumerate(take):
            cell = rows[i].cell
            if cell in finished:  # an earlier row ended its cell: its time still counts
                dropped[cell] = dropped.get(cell, 0.0) + sec / len(take)
                continue
            f = None if feats is None else feats[k]
            solved[i] = _Solved(code[k], f, float(value[k]), float(smooth[k]), sec / len(take))
            if ends is not None and ends(rows[i], solved[i].value):
                finished.add(cell)

    if lanes == 1:
        for fn, take, batch in chunks:
            if live(take):
                take_result(take, run(fn, take, batch))
    else:
        with ThreadPoolExecutor(max_workers=lanes) as pool:
            try:
                _run_lanes(pool, run, chunks, live, take_result, lanes)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    # concurrent chunks: each row's share of the stage's wall time, not of its chunk's
    scale = (time.perf_counter() - t_start) / busy if busy > 0 else 1.0
    solved = {i: out._replace(seconds=out.seconds * scale) for i, out in solved.items()}
    return solved, {cell: sec * scale for cell, sec in dropped.items()}


def _run_lanes(pool, run, chunks, live, take_result, lanes) -> None:
    """Run `chunks` on `pool` in order, at most 2 lanes - 1 ahead of the results taken, and
    hand each result to `take_result` in chunk order (see :func:`_run_chunks`)."""
    state: dict[int, Future | None] = {}  # launched chunks (None: skipped)
    applied = 0
    while applied < len(chunks):
        # fill the free lanes with the next chunks, skipping those with no live row
        running = sum(1 for f in state.values() if f is not None and not f.done())
        ahead = sum(1 for i, f in state.items() if i >= applied and f is not None)
        while len(state) < len(chunks) and running < lanes and ahead < 2 * lanes - 1:
            fn, take, batch = chunks[len(state)]
            launched = pool.submit(run, fn, take, batch) if live(take) else None
            state[len(state)] = launched
            running += launched is not None
            ahead += launched is not None
        fut = state[applied]
        if fut is not None and not fut.done():
            pending = [f for f in state.values() if f is not None and not f.done()]
            wait(pending, return_when=FIRST_COMPLETED)
            continue
        applied += 1  # results are taken in chunk order, whatever order they finish in
        take = chunks[applied - 1][1]
        # a chunk whose cells all ended since it started would have been skipped on one
        # lane: its error, if any, is not raised either (its rows are dropped anyway)
        if fut is not None and (live(take) or fut.exception() is None):
            take_result(take, fut.result())


def _ends_round(cells, target, proven: set, hit: set, r: _Row, v: float) -> bool:
    """Return whether a row's exact value `v` ends its cell's round: it meets the cell's proven
    floor (recorded in `proven`) or `target` (recorded in `hit`)."""
    cs = cells[r.cell]
    if cs.floor is not None and v <= cs.floor + smoothing_bound(cs.K):
        proven.add(r.cell)
    if target is not None and v <= target:
        hit.add(r.cell)
    return r.cell in proven or r.cell in hit


def _update(cs: CellSearch, results) -> None:
    """Merge one round's local optima (smooth, value, W, H, kind, source, arm) into the cell's
    record."""
    cs.rounds += 1
    old_best = cs.best[0] if cs.best else math.inf
    pop = list(cs.population)
    for res in results:
        cs.starts += 1
        cs.values.append(res[1])
        if not math.isfinite(res[0]):
            continue
        cs.arm_best[res[6]] = min(cs.arm_best.get(res[6], math.inf), res[0])
        if res[6] == "halving":
            cs.halving.append(res[1])
        # Basin statistics count the trust-region arm's random starts: converged second-order
        # solves; an anneal that ends mid-descent would count as a basin seen once.
        if res[4] == "random":
            for b in cs.basins:
                if _same(res[0], b[0], cs.atol):
                    b[1] += 1
                    break
            else:
                cs.basins.append([res[0], 1])
        if any(_same(res[0], p[0]) for p in pop):
            continue
        pop.append(res)
    pop.sort(key=lambda p: p[0])
    cs.population = pop[:POPULATION]
    best = cs.population[0][0] if cs.population else math.inf
    cs.improved = best < old_best and not _same(best, old_best, cs.atol)
    if cs.improved:
        cs.found_by = cs.population[0][4]
        cs.hits = 0
        cs.improved_at = cs.starts
    # A perturbation of the best code that falls back into its basin confirms nothing.
    tol = cs.atol
    cs.hits += sum(
        1
        for res in results
        if math.isfinite(res[0]) and _same(res[0], best, tol) and not _same(res[5], best, tol)
    )


def _unanimous(cs: CellSearch) -> bool:
    """Return True when every random trust-region start so far ended in one basin, the cell's
    best, and every halving start in it too: the first round improves on nothing, so this is
    the evidence it may stop on.

    With it, an easy cell costs one round (measured, Tammes, warm, one core: (3, 24) 0.10 s
    instead of 0.27 s, (5, 16) 0.08, (6, 27) 0.14, (3, 48) 0.26 instead of 0.78, the same
    codes); any other first round is followed by rounds with perturbations of its best codes.
    A halving start is a converged smoothed optimum at HALVING_T_END, so its exact value lies
    within :func:`smoothing_bound` of its basin's: one further than that from the best ended
    in another basin.  Measured, Tammes (3, 26), seed 2: all 8 trust-region starts at 41.03474
    deg, the halving start at 41.03227 deg, and the cell stopped in that round 0.003 deg short
    of Sloane's 41.03766 (the halving start of (3, 24), (5, 16), (6, 27), (3, 48), seeds 0
    and 1, ends in the trust-region starts' basin).
    """
    if not (
        len(cs.basins) == 1 and cs.best is not None and _same(cs.basins[0][0], cs.best[0], cs.atol)
    ):
        return False
    return all(v <= cs.best[1] + smoothing_bound(cs.K) for v in cs.halving)


@precision.float64
def basin_search(
    cells: Sequence[tuple[int, int]],
    config,
    *,
    on_round: Callable[[int, int], None] | None = None,
    lanes: int | None = None,
) -> dict[tuple[int, int], CellSearch]:
    """Return the finished CellSearch of every (d, K) cell after the rounds (see module doc).

    ``config`` is a :class:`spherecodes.solvers.SolveConfig` (objective, restarts as the
    per-cell budget of starts, confirm, seed, tau, lam).  ``on_round(round, open_cells)`` is
    called before each round.  ``lanes`` chunks of a round run at once, on as many threads
    (None: :func:`spherecodes.solvers.batching.host_lanes`); the result does not depend on it.
    """
    lanes = batching.host_lanes() if lanes is None else batching.check_lanes(lanes)
    obj = objectives.get(config.objective)
    grid = {
        (d, K): CellSearch(d, K, atol=resolution(obj.minmax, d, K), floor=obj.floor(d, K))
        for d, K in cells
    }
    order = list(grid.values())
    groups: dict[tuple[int, int], list[int]] = {}
    for i, cs in enumerate(order):
        groups.setdefault((batching.ladder(cs.K), batching.ladder(cs.d)), []).append(i)
    rnd = 0
    while True:
        open_cells = [i for i, cs in enumerate(order) if not cs.done]
        if not open_cells:
            break
        if on_round is not None:
            on_round(rnd, len(open_cells))
        for (K_pad, d_pad), members in sorted(groups.items()):
            live = [i for i in members if not order[i].done]
            if not live:
                continue
            rows: list[_Row] = []
            for i in live:
                cs = order[i]
                rng = np.random.default_rng(
                    [config.seed, objectives.names().index(obj.name), cs.d, cs.K, rnd]
                )
                rows += _plan_round(cs, i, obj, config, grid, rng)
            per_cell: dict[int, list] = {i: [] for i in live}
            # The rows run halving first, then trust region, then anneals: a row that brings
            # its cell to its proven floor (or to SolveConfig.target) ends the cell's round,
            # its rows in later chunks skipped (a sharp code such as (6, 27)'s Schlafli code or
            # (8, 240)'s E8 roots then costs the second-order rows that reached it).
            proven: set[int] = set()  # cells a row of this round proved optimal
            hit: set[int] = set()  # cells a row of this round brought to the target
            ends = partial(_ends_round, order, config.target, proven, hit)
            solved, dropped = _run_rows(obj, config, K_pad, d_pad, rows, order, ends, lanes)
            for i, sec in dropped.items():
                order[i].seconds += sec
            for j, r in enumerate(rows):  # in row order, whatever the solving order
                if j not in solved:
                    continue
                cs, out = order[r.cell], solved[j]
                W = out.code[: cs.K, : cs.d]
                H = None if out.features is None else out.features[: cs.K, : cs.d]
                per_cell[r.cell].append((out.smooth, out.value, W, H, r.kind, r.source, r.arm))
                cs.seconds += out.seconds
            # a grid of many shapes keeps every shape's programs across rounds
            batching.release_if_crowded()
            for i in live:
                cs = order[i]
                _update(cs, per_cell[i])
                settled = (
                    cs.missing_mass() <= MISSING_MASS
                    and sum(b[1] for b in cs.basins) >= per_basin(cs.d, cs.K) * len(cs.basins)
                ) or cs.starts - cs.improved_at >= PATIENCE
                confirmed = (
                    cs.hits >= config.confirm
                    and (not cs.improved or (cs.rounds == 1 and _unanimous(cs)))
                    and settled
                )
                reached = config.target is not None and any(
                    p[1] <= config.target for p in cs.population
                )
                # the rows' exact values decided it (the population, ranked by them, holds
                # the proving code or a twin within BASIN_RTOL for the polish)
                for why, stop in (
                    ("bound", i in proven),
                    ("target", i in hit or reached),
                    ("confirmed", confirmed),
                    ("budget", cs.starts >= config.restarts),
                ):
                    if stop:
                        cs.done, cs.stopped_by = True, why
                        break
        rnd += 1
    return grid
