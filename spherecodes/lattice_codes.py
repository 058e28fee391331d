"""Codes derived from the E8 and Leech lattices (Cohn & Kumar's sporadic codes, d = 7..24).

Each builder returns a fresh (K, d) float64 NumPy array of unit rows, exact up to float64
rounding; the lattices themselves are the integer models of :mod:`spherecodes.lattices`.

* E8 roots (8, 240) -> kissing configuration (7, 56) -> (6, 27) Schläfli.
* Leech minimal vectors (24, 196560) -> kissing configuration (23, 4600) -> (22, 891).
* With a type-3 Leech vector u (squared norm 6): the 552 minimal vectors x with <x, u> = 3
  give 276 equiangular lines (23, 552); fixing one of them as well gives McLaughlin (22, 275)
  and one more point gives (21, 162).  A second type-3 vector B with u - B of type 2 gives
  Higman–Sims (22, 100) as the minimal vectors x with <x, u> = <x, B> = 3.

Each derivation is a :func:`~spherecodes.constructions.section` done in integer arithmetic, so
the selection of points is exact.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from spherecodes import lattices
from spherecodes.constructions import read_only, section

__all__ = [
    "code162",
    "code891",
    "e7_kissing",
    "e8_roots",
    "equiangular_276",
    "higman_sims",
    "leech_kissing",
    "leech_minimal_vectors",
    "mclaughlin",
    "schlafli",
]

# ---------------------------------------------------------------------------------------------
# E8 and its derived codes
# ---------------------------------------------------------------------------------------------


def e8_roots() -> np.ndarray:
    """Return the 240 roots of E8 normalized (inner products -1, +-1/2, 0), shape (240, 8)."""
    return lattices.e8_roots_doubled().astype(np.float64) / np.sqrt(8)


def _e8_anchors(m: int) -> np.ndarray:
    """m E8 roots (doubled) with pairwise inner product 1/2: rows 0, then greedy."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    chosen = [0]
    while len(chosen) < m:
        ok = np.all(roots @ roots[chosen].T == 4, axis=1)
        chosen.append(int(np.flatnonzero(ok)[0]))
    return roots[chosen]


def e7_kissing() -> np.ndarray:
    """Return the 56 E8 roots at inner product 1/2 with one root, in its complement: 28
    equiangular lines in R^7 (inner products -1, +-1/3), shape (56, 7)."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    a = _e8_anchors(1)
    return section(roots, a, [4] * len(a))


def schlafli() -> np.ndarray:
    """Return the Schläfli code (E6 minuscule): the 27 E8 roots at inner product 1/2 with two
    roots at 1/2, in their complement (inner products -1/2, 1/4), shape (27, 6)."""
    roots = lattices.e8_roots_doubled().astype(np.int64)
    a = _e8_anchors(2)
    return section(roots, a, [4] * len(a))


# ---------------------------------------------------------------------------------------------
# The Leech lattice and its derived codes
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _leech() -> np.ndarray:
    v = lattices.leech_minimal_scaled().astype(np.float64) / np.sqrt(lattices.LEECH_MIN_NORM)
    return read_only(v)


def leech_minimal_vectors() -> np.ndarray:
    """Return the 196560 minimal vectors of the Leech lattice normalized (inner products -1,
    +-1/2, +-1/4, 0), built from the extended Golay code, shape (196560, 24)."""
    return _leech().copy()


class _LeechAnchors(NamedTuple):
    """Integer Leech vectors (sqrt(8)-scaled) fixing each derived code; see the module doc."""

    v: np.ndarray  # (24,) int64 minimal vector (row 0)
    p: np.ndarray  # (24,) int64 minimal vector with <v, p> = 16 (cosine 1/2)
    u: np.ndarray  # (24,) int64 type-3 vector (5, 1^23), squared norm 48
    a: np.ndarray  # (24,) int64 minimal vector with <a, u> = 24
    b: np.ndarray  # (24,) int64 minimal vector with <b, u> = 24, <b, a> = 16
    c: np.ndarray  # (24,) int64 type-3 vector u - w, w minimal with <w, u> = 16


@lru_cache(maxsize=1)
def _leech_int() -> np.ndarray:
    return read_only(lattices.leech_minimal_scaled().astype(np.int64))


@lru_cache(maxsize=1)
def _leech_anchors() -> _LeechAnchors:
    L = _leech_int()
    u = lattices.leech_type3_scaled()
    v = L[0]
    p = L[np.flatnonzero(L @ v == 16)[0]]
    a = L[np.flatnonzero(L @ u == 24)[0]]
    b = L[np.flatnonzero((L @ u == 24) & (L @ a == 16))[0]]
    w = L[np.flatnonzero(L @ u == 16)[0]]
    return _LeechAnchors(v, p, u, a, b, u - w)


def _leech_section(names: str, values: tuple[int, ...]) -> np.ndarray:
    anchors = _leech_anchors()
    anc = np.stack([getattr(anchors, n) for n in names])
    return read_only(section(_leech_int(), anc, np.array(values, dtype=np.int64)))


@lru_cache(maxsize=1)
def _leech_kissing() -> np.ndarray:
    return _leech_section("v", (16,))


def leech_kissing() -> np.ndarray:
    """Return the kissing configuration of the Leech lattice: the 4600 minimal vectors at
    inner product 1/2 with one, in its complement (inner products -1, +-1/3, 0), (4600, 23)."""
    return _leech_kissing().copy()


@lru_cache(maxsize=1)
def _code891() -> np.ndarray:
    return _leech_section("vp", (16, 16))


def code891() -> np.ndarray:
    """Return the (22, 891) code: the kissing configuration of the (23, 4600) code (inner
    products -1/2, -1/8, 1/4), shape (891, 22)."""
    return _code891().copy()


@lru_cache(maxsize=1)
def _lines276() -> np.ndarray:
    return _leech_section("u", (24,))


def equiangular_276() -> np.ndarray:
    """Return 276 equiangular lines in R^23 as 552 unit vectors (inner products -1, +-1/5):
    the Leech minimal vectors x with <x, u> = 3 for a type-3 u (norm 6), shape (552, 23)."""
    return _lines276().copy()


@lru_cache(maxsize=1)
def _mclaughlin() -> np.ndarray:
    return _leech_section("ua", (24, 16))


def mclaughlin() -> np.ndarray:
    """Return the McLaughlin code: the (23, 552) vectors at inner product 1/5 with one of
    them, in its complement (inner products -1/4, 1/6), shape (275, 22)."""
    return _mclaughlin().copy()


@lru_cache(maxsize=1)
def _code162() -> np.ndarray:
    return _leech_section("uab", (24, 16, 16))


def code162() -> np.ndarray:
    """Return the (21, 162) code: the kissing configuration of the McLaughlin code (inner
    products -2/7, 1/7), shape (162, 21)."""
    return _code162().copy()


@lru_cache(maxsize=1)
def _higman_sims() -> np.ndarray:
    return _leech_section("uc", (24, 24))


def higman_sims() -> np.ndarray:
    """Return the Higman–Sims code: the Leech minimal vectors x with <x, u> = <x, c> = 3 for
    type-3 vectors u, c with u - c of type 2 (inner products -4/11, 1/11), shape (100, 22)."""
    return _higman_sims().copy()
