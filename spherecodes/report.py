"""The measurement report of one code: every exact measure, rattlers and bounds in one dict.

:func:`measure_code` is what ``spherecodes measure`` prints; :data:`MEASURE_KEYS` pins its
keys and their order.  Values are plain Python objects (int, float64 as ``float``, bool,
sorted lists of 0-based indices) so the dict goes straight to JSON or a table row.
"""

from __future__ import annotations

import json
import math

import jax.numpy as jnp
import numpy as np

from spherecodes import bounds, hull, measures, precision
from spherecodes.sphere import validate_code
from spherecodes.tables.schema import MEASURE_KEYS

__all__ = ["MEASURE_KEYS", "measure_code", "format_report", "report_json"]


@precision.float64
def measure_code(
    code,
    *,
    tammes_tol_deg: float = measures.RATTLER_TOL_DEG,
    softmax_tol: float = hull.RATTLER_TOL,
) -> dict:
    """Return the report of `code` (K, d): a dict with exactly :data:`MEASURE_KEYS`, in order.

    * ``max_inner``, ``coherence``: largest inner product and largest |inner product|;
    * ``min_angle_deg``: minimal angle between two points, degrees;
    * ``rho_1v1``, ``rho_1vr``: one-vs-one and one-vs-rest Euclidean distances; ``rho_1vr`` is
      0.0 whenever some point lies in the convex hull of the others (a repeated point);
    * ``rho_1vr_gap``: the largest duality gap of the one-vs-rest certificates over points;
    * ``tammes_rattlers`` (nearest-neighbour angle above the minimum by more than
      `tammes_tol_deg` degrees), ``softmax_rattlers`` (one-vs-rest distance above rho_1vr by
      more than `softmax_tol`, as :func:`spherecodes.hull.softmax_rattlers`): sorted 0-based
      indices;
    * ``theorem39_lower/upper/valid``: the GNC paper's Theorem 3.9 bounds on the best
      rho_1vr for (d, K) and whether its hypothesis on K holds;
    * ``levenshtein_min_angle_deg``: Levenshtein's upper bound on the minimal angle, degrees.

    >>> r = measure_code([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> r["min_angle_deg"], r["tammes_rattlers"]
    (90.0, [])
    """
    code = validate_code(code)
    K, d = code.shape
    x = jnp.asarray(code)
    # One hull solve serves rho_1vr, the gap and the rattlers; hull.rho_1vr and
    # hull.softmax_rattlers would each solve again (same definitions, triple the cost).
    ovr = hull.one_vs_rest(x)
    dist = np.asarray(ovr.distance, dtype=np.float64)
    inside = np.asarray(ovr.inside, dtype=bool)
    # A point in the hull of the others (a repeated point) makes rho_1vr exactly 0.
    rho_1vr = 0.0 if inside.any() else float(dist.min())
    soft = dist > dist.min() + softmax_tol
    t39 = bounds.theorem39(d, K)
    report = {
        "d": int(d),
        "K": int(K),
        "max_inner": float(measures.max_inner(x)),
        "min_angle_deg": float(measures.min_angle_deg(x)),
        "rho_1v1": float(measures.rho_1v1(x)),
        "rho_1vr": rho_1vr,
        "rho_1vr_gap": float(np.max(np.asarray(ovr.gap))),
        "coherence": float(measures.coherence(x)),
        "tammes_rattlers": _indices(measures.tammes_rattlers(x, tol_deg=tammes_tol_deg)),
        "softmax_rattlers": _indices(soft),
        "theorem39_lower": float(t39.lower),
        "theorem39_upper": float(t39.upper),
        "theorem39_valid": bool(t39.valid),
        "levenshtein_min_angle_deg": float(bounds.levenshtein_min_angle_deg(d, K)),
    }
    assert tuple(report) == MEASURE_KEYS
    return report


def _indices(mask) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


#: Index lists longer than this are cut short in the text report (JSON lists all).
_MAX_LISTED = 20


def format_report(report: dict) -> str:
    """Return `report` as aligned ``key: value`` lines (floats in full repr precision,
    index lists cut after 20 entries)."""
    width = max(len(k) for k in report)
    lines = []
    for key, value in report.items():
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = repr(value)
        elif isinstance(value, list) and len(value) > _MAX_LISTED:
            head = ", ".join(map(str, value[:_MAX_LISTED]))
            text = f"[{head}, ...] ({len(value)} points; --json lists all)"
        else:
            text = str(value)
        lines.append(f"{key + ':':<{width + 1}} {text}")
    return "\n".join(lines)


def report_json(report: dict) -> str:
    """Return `report` as one strict JSON object (a NaN or infinite float becomes null)."""
    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in report.items()
    }
    return json.dumps(clean, allow_nan=False)
