"""The catalogue of known codes: every configuration of Table 1 of Cohn & Kumar, "Universally
optimal distribution of points on spheres" (J. AMS 20, 2007), in dimension at most 100, with
its exact inner products.

:func:`cohn_kumar_codes` lists the codes as :class:`KnownCode` records (name, d, K, exact
distinct inner products, builder); whole families are represented by the members in
:data:`KGON_KS`, :data:`SIMPLEX_DK`, :data:`CROSS_POLYTOPE_DS` and :data:`ISOTROPIC_QS`.

The builders live with their constructions and are re-exported here, so ``known.xxx`` reaches
every known code and the exact-value types:

* :mod:`spherecodes.constructions`: sections, polygons, simplices, cross-polytopes, the
  Theorem 3.3 Softmax Codes, the hemicube, the icosahedron and the 600-cell;
* :mod:`spherecodes.lattice_codes`: the codes derived from the E8 and Leech lattices;
* :mod:`spherecodes.isotropic`: the isotropic-subspace family;
* :mod:`spherecodes.inner_products`: exact values (:class:`Surd`, :class:`CosPi`,
  :data:`ExactValue`) and measured inner-product spectra.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import partial
from typing import NamedTuple

import numpy as np

from spherecodes.constructions import (
    cell600,
    cross_polytope,
    hemicube,
    icosahedron,
    kgon,
    kissing_configuration,
    section,
    simplex,
    theorem33_code,
)
from spherecodes.inner_products import (
    CosPi,
    ExactValue,
    Surd,
    cos_2pi_exact,
    distance_distribution,
    distinct_inner_products,
    sorted_exact_values,
)
from spherecodes.isotropic import isotropic_subspaces
from spherecodes.lattice_codes import (
    code162,
    code891,
    e7_kissing,
    e8_roots,
    equiangular_276,
    higman_sims,
    leech_kissing,
    leech_minimal_vectors,
    mclaughlin,
    schlafli,
)

__all__ = [
    # the catalogue (defined here)
    "COHN_KUMAR",
    "CROSS_POLYTOPE_DS",
    "ISOTROPIC_QS",
    "KGON_KS",
    "SIMPLEX_DK",
    "KnownCode",
    "cohn_kumar_codes",
    # re-exported: exact values and spectra (spherecodes.inner_products)
    "CosPi",
    "ExactValue",
    "Surd",
    "distance_distribution",
    "distinct_inner_products",
    # re-exported: builders (spherecodes.constructions, lattice_codes, isotropic)
    "cell600",
    "code162",
    "code891",
    "cross_polytope",
    "e7_kissing",
    "e8_roots",
    "equiangular_276",
    "hemicube",
    "higman_sims",
    "icosahedron",
    "isotropic_subspaces",
    "kgon",
    "kissing_configuration",
    "leech_kissing",
    "leech_minimal_vectors",
    "mclaughlin",
    "schlafli",
    "section",
    "simplex",
    "theorem33_code",
]


class KnownCode(NamedTuple):
    """One configuration of Cohn–Kumar's Table 1 (or a representative member of a family)."""

    name: str  # unique, e.g. "600-cell", "simplex d=8 K=9", "isotropic q=3"
    d: int  # dimension of the ambient space R^d
    K: int  # number of points
    inner_products: tuple[ExactValue, ...]  # distinct <x, y> over x != y, ascending
    builder: Callable[[], np.ndarray]  # returns a fresh (K, d) float64 array of unit rows
    construction: str  # one line: how the builder obtains the code

    def build(self) -> np.ndarray:
        """Return the code: a fresh (K, d) float64 array of unit rows."""
        return self.builder()

    def inner_product_values(self) -> np.ndarray:
        """Return the expected distinct inner products as a float64 array, ascending."""
        return np.array([float(v) for v in self.inner_products], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------

#: Family members listed by `cohn_kumar_codes` (Cohn–Kumar Table 1 lists whole families).
KGON_KS = (3, 4, 5, 6, 7, 8, 12)
SIMPLEX_DK = ((2, 3), (3, 4), (4, 5), (8, 9), (10, 5), (24, 25), (100, 101))
CROSS_POLYTOPE_DS = (3, 4, 8, 24, 100)
ISOTROPIC_QS = (2, 3, 4)

_F = Fraction


def _sporadic() -> list[KnownCode]:
    s5 = Surd(0, 1, 5, 5)
    return [
        KnownCode(
            "icosahedron",
            3,
            12,
            (_F(-1), Surd(0, -1, 5, 5), s5),
            icosahedron,
            "cyclic permutations of (0, +-1, +-phi), normalized",
        ),
        KnownCode(
            "600-cell",
            4,
            120,
            sorted_exact_values(
                [
                    _F(-1),
                    _F(-1, 2),
                    _F(0),
                    _F(1, 2),
                    Surd(1, 1, 4, 5),
                    Surd(-1, 1, 4, 5),
                    Surd(1, -1, 4, 5),
                    Surd(-1, -1, 4, 5),
                ]
            ),
            cell600,
            "unit icosians: +-e_i, (+-1/2)^4, even perms of (phi,1,1/phi,0)/2",
        ),
        KnownCode(
            "hemicube",
            5,
            16,
            (_F(-3, 5), _F(1, 5)),
            hemicube,
            "(+-1)^5 with an even number of minus signs, normalized",
        ),
        KnownCode(
            "Schlafli",
            6,
            27,
            (_F(-1, 2), _F(1, 4)),
            schlafli,
            "E8 roots at inner product 1/2 with two roots at 1/2",
        ),
        KnownCode(
            "28 equiangular lines",
            7,
            56,
            (_F(-1), _F(-1, 3), _F(1, 3)),
            e7_kissing,
            "kissing configuration of the E8 roots",
        ),
        KnownCode(
            "E8 roots",
            8,
            240,
            (_F(-1), _F(-1, 2), _F(0), _F(1, 2)),
            e8_roots,
            "roots of E8: +-e_i +- e_j and (+-1/2)^8 with an even number of minus signs",
        ),
        KnownCode(
            "(21,162)",
            21,
            162,
            (_F(-2, 7), _F(1, 7)),
            code162,
            "kissing configuration of the McLaughlin code",
        ),
        KnownCode(
            "Higman-Sims",
            22,
            100,
            (_F(-4, 11), _F(1, 11)),
            higman_sims,
            "Leech minimal vectors with <x,u> = <x,c> = 3, u, c type 3, u - c type 2",
        ),
        KnownCode(
            "McLaughlin",
            22,
            275,
            (_F(-1, 4), _F(1, 6)),
            mclaughlin,
            "kissing configuration (at 1/5) of the 276 equiangular lines",
        ),
        KnownCode(
            "(22,891)",
            22,
            891,
            (_F(-1, 2), _F(-1, 8), _F(1, 4)),
            code891,
            "kissing configuration of the (23,4600) code",
        ),
        KnownCode(
            "276 equiangular lines",
            23,
            552,
            (_F(-1), _F(-1, 5), _F(1, 5)),
            equiangular_276,
            "Leech minimal vectors with <x,u> = 3, u of type 3",
        ),
        KnownCode(
            "Leech kissing",
            23,
            4600,
            (_F(-1), _F(-1, 3), _F(0), _F(1, 3)),
            leech_kissing,
            "kissing configuration of the Leech lattice",
        ),
        KnownCode(
            "Leech minimal vectors",
            24,
            196560,
            (_F(-1), _F(-1, 2), _F(-1, 4), _F(0), _F(1, 4), _F(1, 2)),
            leech_minimal_vectors,
            "minimal vectors of the Leech lattice from the extended Golay code",
        ),
    ]


def _families() -> list[KnownCode]:
    out = []
    for K in KGON_KS:
        ips = sorted_exact_values(cos_2pi_exact(j, K) for j in range(1, K // 2 + 1))
        out.append(KnownCode(f"{K}-gon", 2, K, ips, partial(kgon, K), "regular polygon"))
    for d, K in SIMPLEX_DK:
        out.append(
            KnownCode(
                f"simplex d={d} K={K}",
                d,
                K,
                (_F(-1, K - 1),),
                partial(simplex, K, d),
                "regular simplex (Helmert basis)",
            )
        )
    for d in CROSS_POLYTOPE_DS:
        out.append(
            KnownCode(
                f"cross-polytope d={d}",
                d,
                2 * d,
                (_F(-1), _F(0)),
                partial(cross_polytope, d),
                "+-e_i",
            )
        )
    for q in ISOTROPIC_QS:
        d, K = q * (q**3 + 1) // (q + 1), (q + 1) * (q**3 + 1)
        out.append(
            KnownCode(
                f"isotropic q={q}",
                d,
                K,
                (_F(-1, q), _F(1, q * q)),
                partial(isotropic_subspaces, q),
                f"spectral embedding of the elliptic quadric Q^-(5,{q})",
            )
        )
    return out


def cohn_kumar_codes(max_dim: int = 100, *, max_points: int | None = None) -> tuple[KnownCode, ...]:
    """Return the Cohn–Kumar Table 1 codes with d <= max_dim (and K <= max_points if given),
    families by the representatives in KGON_KS, SIMPLEX_DK, CROSS_POLYTOPE_DS, ISOTROPIC_QS."""
    codes = _families() + _sporadic()
    return tuple(c for c in codes if c.d <= max_dim and (max_points is None or c.K <= max_points))


#: Every code of `cohn_kumar_codes()` by name.
COHN_KUMAR: dict[str, KnownCode] = {c.name: c for c in cohn_kumar_codes()}
