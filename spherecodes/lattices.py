"""Integer models of the E8 root system, the extended binary Golay code and the Leech lattice.

Everything here is exact integer arithmetic (``int8``/``uint8`` arrays);
`spherecodes.lattice_codes` scales the vectors onto the unit sphere.  Conventions:

* E8 roots are stored doubled, ``2 * r``, so that the half-integer roots are integers:
  240 vectors of squared norm 8.
* Leech lattice vectors are stored in the standard ``sqrt(8)``-scaled coordinates of Conway and
  Sloane (SPLAG, ch. 4, sec. 11): the minimal vectors have squared norm 32 and their pairwise
  inner products lie in {32, 16, 8, 0, -8, -16, -32}.
* The extended Golay code is the extended binary quadratic-residue code of length 24, built from
  the generator polynomial ``x^11 + x^10 + x^6 + x^5 + x^4 + x^2 + 1`` of the cyclic [23, 12, 7]
  code plus an overall parity bit.

The heavy arrays are cached; every public function returns a fresh copy.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

#: Coefficients (degree 0 first) of a generator polynomial of the cyclic binary [23, 12, 7] Golay
#: code: x^11 + x^10 + x^6 + x^5 + x^4 + x^2 + 1.
GOLAY_POLY = (1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1)

#: Weight enumerator of the extended Golay code: {weight: number of codewords}.
GOLAY_WEIGHTS = {0: 1, 8: 759, 12: 2576, 16: 759, 24: 1}

#: Squared norm of a Leech minimal vector in the sqrt(8)-scaled integer coordinates.
LEECH_MIN_NORM = 32


def golay_generator() -> np.ndarray:
    """Return a (12, 24) uint8 generator matrix of the extended binary Golay code.

    Rows are the 12 cyclic shifts of the generator polynomial in the first 23 coordinates, and
    the last column is the parity bit that makes every row weight even.
    """
    g = np.zeros((12, 24), dtype=np.uint8)
    for i in range(12):
        g[i, i : i + 12] = GOLAY_POLY
    g[:, 23] = g[:, :23].sum(axis=1) % 2
    return g


@lru_cache(maxsize=1)
def _golay_codewords() -> np.ndarray:
    g = golay_generator().astype(np.int64)
    msgs = (np.arange(4096)[:, None] >> np.arange(12)[None, :]) & 1
    words = ((msgs @ g) % 2).astype(np.uint8)
    words.setflags(write=False)
    return words


def golay_codewords() -> np.ndarray:
    """Return all 4096 codewords of the extended Golay code as a (4096, 24) uint8 0/1 array."""
    return _golay_codewords().copy()


def golay_octads() -> np.ndarray:
    """Return the 759 octads (weight-8 codewords) as a (759, 24) uint8 0/1 array.

    They are the blocks of the Steiner system S(5, 8, 24).
    """
    words = _golay_codewords()
    return words[words.sum(axis=1) == 8].copy()


def even_sign_patterns(n: int) -> np.ndarray:
    """Return the 2^(n-1) sign vectors in {+1, -1}^n with an even number of -1, as (., n) int8."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    bits = bits[bits.sum(axis=1) % 2 == 0]
    return (1 - 2 * bits).astype(np.int8)


@lru_cache(maxsize=1)
def _e8_roots_doubled() -> np.ndarray:
    # 112 roots +-e_i +- e_j, doubled to +-2e_i +- 2e_j.
    pairs = np.array(list(combinations(range(8), 2)))
    signs = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=np.int8)
    integral = np.zeros((len(pairs), 4, 8), dtype=np.int8)
    rows = np.arange(len(pairs))[:, None]
    integral[rows, :, pairs[:, 0:1]] = 2 * signs[None, :, 0]
    integral[rows, :, pairs[:, 1:2]] = 2 * signs[None, :, 1]
    # 128 roots (+-1/2)^8 with an even number of minus signs, doubled to (+-1)^8.
    half = even_sign_patterns(8)
    roots = np.concatenate([integral.reshape(-1, 8), half])
    roots.setflags(write=False)
    return roots


def e8_roots_doubled() -> np.ndarray:
    """Return the 240 roots of E8, doubled, as a (240, 8) int8 array of squared norm 8.

    The 112 roots ``+-e_i +- e_j`` become ``+-2e_i +- 2e_j`` and the 128 roots ``(+-1/2)^8``
    with an even number of minus signs become ``(+-1)^8``.
    """
    return _e8_roots_doubled().copy()


@lru_cache(maxsize=1)
def _leech_minimal_scaled() -> np.ndarray:
    words = _golay_codewords()
    eye = np.eye(24, dtype=np.int8)

    # Shape (+-2^8, 0^16): an octad's positions carry 2s with an even number of minus signs.
    octads = words[words.sum(axis=1) == 8]  # (759, 24)
    pos = np.nonzero(octads)[1].reshape(759, 8)  # positions of each octad, ascending
    signs = even_sign_patterns(8)  # (128, 8)
    shape2 = np.zeros((759, 128, 24), dtype=np.int8)
    shape2[np.arange(759)[:, None, None], np.arange(128)[None, :, None], pos[:, None, :]] = (
        2 * signs[None, :, :]
    )

    # Shape (-+3, +-1^23): s = (-1)^c for a codeword c, then the coordinate i moves by -4 s_i,
    # so s_i = +1 becomes -3 and s_i = -1 becomes +3 (coordinate sum = 4 mod 8).
    s = (1 - 2 * words.astype(np.int8)).astype(np.int8)  # (4096, 24)
    shape3 = s[:, None, :] - 4 * s[:, :, None] * eye[None, :, :]  # (4096, 24, 24)

    # Shape (+-4^2, 0^22).
    pairs = np.array(list(combinations(range(24), 2)))  # (276, 2)
    sign2 = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=np.int8)
    shape4 = np.zeros((276, 4, 24), dtype=np.int8)
    rows = np.arange(276)[:, None]
    shape4[rows, :, pairs[:, 0:1]] = 4 * sign2[None, :, 0]
    shape4[rows, :, pairs[:, 1:2]] = 4 * sign2[None, :, 1]

    vecs = np.concatenate(
        [shape2.reshape(-1, 24), shape3.reshape(-1, 24).astype(np.int8), shape4.reshape(-1, 24)]
    )
    vecs.setflags(write=False)
    return vecs


def leech_minimal_scaled() -> np.ndarray:
    """Return the 196560 minimal vectors of the Leech lattice, times sqrt(8), as (196560, 24) int8.

    Rows have squared norm 32 (`LEECH_MIN_NORM`): 97152 of shape (+-2^8, 0^16) on octads,
    98304 of shape (-+3, +-1^23) and 1104 of shape (+-4^2, 0^22).
    """
    return _leech_minimal_scaled().copy()


def leech_type3_scaled() -> np.ndarray:
    """Return the Leech vector (5, 1^23) (sqrt(8)-scaled, squared norm 48 = 8 * 6, type 3), int64.

    It is (-3, 1^23) + (8, 0^23), a sum of a minimal vector and a lattice vector.
    """
    u = np.ones(24, dtype=np.int64)
    u[0] = 5
    return u
