"""What every peer run records: the best code seen and a (time, best angle) trace.

A peer is timed from its first line of work to the moment it returns; the trace holds the
wall time (seconds since the start) of every improvement of the best minimal angle seen at an
evaluated point (a point the peer actually computed, so a user could have kept it).  Reading
the first time a target angle is reached off the trace gives the time to target.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np


class Trace(NamedTuple):
    """Improvements of the best minimal angle seen during a run."""

    seconds: np.ndarray  # (n,) float64: wall time since the start of the run, increasing
    angle_deg: np.ndarray  # (n,) float64: best minimal angle seen so far, increasing


class PeerRun(NamedTuple):
    """The outcome of one run of a peer on one (d, K) cell."""

    code: np.ndarray  # (K, d) float64 unit rows: best code seen (largest minimal angle)
    angle_deg: float  # minimal angle of `code`, degrees
    seconds: float  # wall time of the whole run
    iterations: int  # iterations (subgradient steps, or optimizer iterations over all stages)
    trace: Trace  # improvements of the best angle over time


def angle_deg_from_inner(s: float) -> float:
    """Return the angle in degrees whose cosine is `s` (clipped to [-1, 1])."""
    return math.degrees(math.acos(min(1.0, max(-1.0, float(s)))))


def max_inner(code: np.ndarray) -> float:
    """Return max_{i != j} <w_i, w_j> of a (K, d) code (float64 NumPy)."""
    G = code @ code.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def random_start(d: int, K: int, seed: int) -> np.ndarray:
    """Return a (K, d) float64 code of i.i.d. uniform points (NumPy Generator `seed`)."""
    x = np.random.default_rng(seed).standard_normal((K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def check_cell(d: int, K: int) -> None:
    """Raise ValueError unless (d, K) is a valid cell (d >= 2, K >= 2)."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"d={d!r} is out of range: need an integer d >= 2")
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"K={K!r} is too small: a code needs an integer K >= 2")


class Tracker:
    """Keeps the best code seen and the trace of its angle; ``stop`` once `target` is met.

    ``target_deg`` (optional) ends a run early once the best angle reaches it: nothing later
    changes the time to any target at or below it.
    """

    def __init__(self, target_deg: float | None = None):
        self.t0 = time.perf_counter()
        self.best_s = math.inf
        self.best_code: np.ndarray | None = None
        self.times: list[float] = []
        self.angles: list[float] = []
        self.target_deg = target_deg

    def elapsed(self) -> float:
        """Return the wall time since the tracker was made, in seconds."""
        return time.perf_counter() - self.t0

    def see(self, code: np.ndarray, s: float) -> None:
        """Record an evaluated `code` (K, d) whose max inner product is `s`."""
        if s < self.best_s:
            self.best_s = float(s)
            self.best_code = np.array(code, np.float64, copy=True)
            angle = angle_deg_from_inner(s)
            # a decrease of s by an ulp or so can leave its angle in degrees unchanged (near
            # 109.47 deg an ulp of s moves it 3e-15, a quarter of the angle's own ulp): the
            # trace keeps strict improvements of the angle only
            if not self.angles or angle > self.angles[-1]:
                self.times.append(self.elapsed())
                self.angles.append(angle)

    @property
    def stop(self) -> bool:
        """Whether the best angle has reached the target (False without a target)."""
        return (
            self.target_deg is not None and bool(self.angles) and self.angles[-1] >= self.target_deg
        )

    def result(self, iterations: int) -> PeerRun:
        """Return the PeerRun of everything seen so far."""
        code = self.best_code
        code = code / np.linalg.norm(code, axis=1, keepdims=True)
        return PeerRun(
            code=code,
            angle_deg=angle_deg_from_inner(max_inner(code)),
            seconds=self.elapsed(),
            iterations=int(iterations),
            trace=Trace(np.asarray(self.times, np.float64), np.asarray(self.angles, np.float64)),
        )


def time_to_target(trace: Trace, target_deg: float) -> float:
    """Return the first time (s) the trace reaches `target_deg`, or NaN if it never does."""
    hit = np.flatnonzero(np.asarray(trace.angle_deg) >= target_deg)
    return float(trace.seconds[hit[0]]) if hit.size else math.nan


def best_at(trace: Trace, budget_s: float) -> float:
    """Return the best angle (deg) reached within `budget_s` seconds, or NaN if none was."""
    ok = np.flatnonzero(np.asarray(trace.seconds) <= budget_s)
    return float(trace.angle_deg[ok[-1]]) if ok.size else math.nan
