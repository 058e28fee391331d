"""The points of one d = 2 or d = 3 code: the unit circle or three views of the sphere, with
contacts and rattlers marked.

Everything measured comes from the table row: the minimal angle (``min_angle_deg``) and the
rattlers (``tammes_rattler_points``, ``softmax_rattler_points``: 0-based point indices).  Only
drawing geometry is computed here, with NumPy: the pairwise angles that pick the contacts to
draw, and the arcs and views.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from spherecodes.plots.common import (
    CODE_MEASURE_COLUMNS,
    WRITTEN_BY,
    caption,
    check_rows,
    is_empty,
    new_figure,
    option_int,
)
from spherecodes.validation import validate_code

__all__ = ["CONTACT_TOL_DEG", "plot_code"]

#: Default tolerance (degrees) above the minimal angle for a pair to be drawn as a contact; the
#: same as the rattler tolerance of the measurements (spherecodes.measures.RATTLER_TOL_DEG).
CONTACT_TOL_DEG = 1e-6

# The row's minimal angle and the code file's must agree this well (degrees): both are float64
# evaluations of 2 atan2(|a - b|, |a + b|) on the same rows, off by ~1e-13 degrees for d <= 3,
# while a different code differs by far more.  A larger gap means the file is not the row's.
_SAME_CODE_TOL_DEG = 1e-6


def _pair_angles_deg(code: np.ndarray) -> np.ndarray:
    """Return the (K, K) matrix of pairwise angles in degrees (inf on the diagonal)."""
    diff = np.linalg.norm(code[:, None, :] - code[None, :, :], axis=-1)
    summ = np.linalg.norm(code[:, None, :] + code[None, :, :], axis=-1)
    ang = np.degrees(2.0 * np.arctan2(diff, summ))  # accurate at small and large angles
    np.fill_diagonal(ang, np.inf)
    return ang


def _arc(a: np.ndarray, b: np.ndarray, n: int = 24) -> np.ndarray:
    """Return n points along the great-circle arc from unit vector a to unit vector b."""
    omega = math.atan2(np.linalg.norm(a - b), np.linalg.norm(a + b)) * 2.0
    t = np.linspace(0.0, 1.0, n)[:, None]
    if omega < 1e-12:
        return np.repeat(a[None], n, axis=0)
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)


def _orthonormal_pair(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return two unit vectors orthogonal to each other and to the unit vector n (in R^3)."""
    helper = np.eye(3)[int(np.argmin(np.abs(n)))]
    a = np.cross(n, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(n, a)


def _measure(row: Mapping, column: str, where: str):
    """Return `row[column]`; ValueError naming the column and its writer when it is empty."""
    value = row.get(column)
    if is_empty(value):
        raise ValueError(
            f"cannot draw a 'code' plot: row (objective {row['objective']}, d={row['d']}, "
            f"K={row['K']}) of {where} has no {column} (the table predates the column); it is "
            f"written by {WRITTEN_BY['code']}"
        )
    return value


def _point_mask(value, column: str, K: int, where: str) -> np.ndarray:
    """Return a (K,) bool mask of the points listed in a rattler column's cell: a list of 0-based
    indices, or its JSON text such as "[0, 3]" ("[]": none)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in value
    ):
        raise ValueError(
            f"column {column} of {where} holds {value!r}: expected a list of 0-based point "
            f"indices such as [0, 3] (written by {WRITTEN_BY['code']})"
        )
    idx = np.asarray(value, dtype=np.int64).reshape(-1)
    bad = idx[(idx < 0) | (idx >= K)]
    if bad.size:
        raise ValueError(
            f"column {column} of {where} lists point {int(bad[0])}, outside 0..{K - 1} (the "
            f"code has K={K} points)"
        )
    mask = np.zeros(K, dtype=bool)
    mask[idx] = True
    return mask


def plot_code(
    rows: Sequence[Mapping],
    *,
    base_dir: str | Path = ".",
    objective: str | None = None,
    d: int | None = None,
    K: int | None = None,
    contact_tol_deg: float | None = None,
    source: str = "",
    command: str | None = None,
    figsize=None,
    dpi: float = 100,
) -> Figure:
    """Return a Figure of the points of one d = 2 or d = 3 code from a sweep table: the unit
    circle or three views of the sphere, contacts, Tammes rattlers and softmax rattlers marked.

    The row is the first one (in table order) matching `objective`, `d` and `K` with d in
    {2, 3}; its ``code_file`` is read relative to `base_dir` (the table's folder).  Nothing is
    measured here: the minimal angle and the rattlers are the row's ``min_angle_deg``,
    ``tammes_rattler_points`` and ``softmax_rattler_points`` (0-based indices; a list or its
    JSON text); a row without them raises ValueError.  `contact_tol_deg` (default
    :data:`CONTACT_TOL_DEG`) only chooses which pairs are drawn as contacts: those within it of
    the row's minimal angle; it does not change the rattlers, which the table fixed.
    """
    rows = check_rows(rows, "code", source)
    where = f"table {source}" if source else "the rows"
    d, K = option_int("d", d), option_int("K", K)
    if d is not None and d not in (2, 3):
        raise ValueError(f"option d={d} cannot be drawn: the 'code' kind draws d = 2 or d = 3")
    tol = CONTACT_TOL_DEG if contact_tol_deg is None else float(contact_tol_deg)
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"option contact_tol_deg={contact_tol_deg!r} must be a finite angle >= 0")
    cands = [
        r
        for r in rows
        if int(r["d"]) in (2, 3)
        and (objective is None or str(r["objective"]) == objective)
        and (d is None or int(r["d"]) == d)
        and (K is None or int(r["K"]) == K)
        and r["code_file"]
    ]
    if not cands:
        have = sorted({(str(r["objective"]), int(r["d"]), int(r["K"])) for r in rows})
        raise ValueError(
            f"no row of {source or 'the rows'} with a code file matches objective={objective!r}, "
            f"d={d}, K={K} with d in (2, 3); it has (objective, d, K) = {have}"
        )
    row = cands[0]
    cell = f"row (objective {row['objective']}, d={row['d']}, K={row['K']}) of {where}"
    theta, tammes_cell, softmax_cell = (_measure(row, c, where) for c in CODE_MEASURE_COLUMNS)
    theta = float(theta)
    if not 0.0 <= theta <= 180.0:
        raise ValueError(f"min_angle_deg={theta!r} of {cell} is not an angle in [0, 180] degrees")
    path = Path(base_dir) / str(row["code_file"])
    if not path.is_file():
        raise ValueError(
            f"code file {path} (row {row['objective']}, d={row['d']}, K={row['K']}) does not exist"
        )
    code = validate_code(np.load(path, allow_pickle=False), name=str(path))
    if code.shape != (int(row["K"]), int(row["d"])):
        raise ValueError(
            f"code file {path} has shape {code.shape}, but its {cell} says (K, d) = "
            f"({row['K']}, {row['d']})"
        )
    K, d = code.shape

    ang = _pair_angles_deg(code)
    if abs(float(ang.min()) - theta) > _SAME_CODE_TOL_DEG:
        raise ValueError(
            f"code file {path} has minimal angle {float(ang.min())!r} deg, but its {cell} says "
            f"min_angle_deg={theta!r} (they differ by more than {_SAME_CODE_TOL_DEG:g} deg): the "
            "file is not the code the row measured"
        )
    contacts = np.argwhere(np.triu(ang <= theta + tol, 1))
    tammes = _point_mask(tammes_cell, CODE_MEASURE_COLUMNS[1], K, cell)
    softmax = _point_mask(softmax_cell, CODE_MEASURE_COLUMNS[2], K, cell)
    plain = ~tammes & ~softmax

    contact_label = f"contact (angle <= min angle + {tol:g} deg)"
    kinds = (  # (mask, scatter style, legend label)
        (plain, dict(s=28, color="tab:blue"), "point of the code"),
        (
            tammes,
            dict(s=70, facecolors="none", edgecolors="tab:red", lw=1.6),
            "Tammes rattler (no contact)",
        ),
        (tammes & ~softmax, dict(s=28, color="tab:red"), None),
        (softmax, dict(s=60, marker="x", color="tab:orange", lw=2), "softmax rattler"),
    )
    title = (
        f"{row['objective']} code, d = {d}, K = {K}: min angle {theta:.6g} deg,\n"
        f"{len(contacts)} contacts, {int(tammes.sum())} Tammes and "
        f"{int(softmax.sum())} softmax rattlers"
    )
    if d == 2:
        fig = new_figure(figsize or (7.0, 7.6), dpi)
        ax = fig.add_subplot()
        t = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.75", lw=1, label="unit circle")
        for n, (i, j) in enumerate(contacts):
            a = _arc(code[i], code[j])
            ax.plot(
                a[:, 0],
                a[:, 1],
                color="tab:green",
                lw=2.5,
                alpha=0.8,
                label=contact_label if n == 0 else None,
            )
        for mask, style, label in kinds:
            if mask.any():
                ax.scatter(code[mask, 0], code[mask, 1], zorder=4, label=label, **style)
        if K <= 40:
            for k in range(K):
                ax.annotate(str(k), 1.1 * code[k], ha="center", va="center", fontsize=7)
        ax.set_aspect("equal")
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.3)
        ax.set_xlabel("$x_1$ (coordinate on the unit circle)")
        ax.set_ylabel("$x_2$ (coordinate on the unit circle)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(title, fontsize=10)
    else:
        fig = new_figure(figsize or (15.0, 6.0), dpi)
        views = ((25, 30), (25, 150), (90, -90))
        u, v = np.mgrid[0 : 2 * np.pi : 25j, 0 : np.pi : 13j]
        sphere = (np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v))
        for n_ax, (elev, azim) in enumerate(views):
            ax = fig.add_subplot(1, 3, n_ax + 1, projection="3d", proj_type="ortho")
            e, z = math.radians(elev), math.radians(azim)
            eye = np.array([math.cos(e) * math.cos(z), math.cos(e) * math.sin(z), math.sin(e)])
            # No depth sorting in mplot3d: draw what faces the viewer solid and the far side faint.
            ax.plot_wireframe(*sphere, color="0.85", lw=0.3)
            rim = _orthonormal_pair(eye)  # the silhouette is the great circle orthogonal to eye
            t = np.linspace(0, 2 * np.pi, 181)[:, None]
            circle = np.cos(t) * rim[0] + np.sin(t) * rim[1]
            ax.plot(
                *circle.T, color="0.5", lw=1.0, label="unit sphere (outline)" if n_ax == 0 else None
            )
            for n, (i, j) in enumerate(contacts):
                a = _arc(code[i], code[j])
                front = a @ eye >= 0
                for sel, alpha, ls in ((front, 0.9, "-"), (~front, 0.3, "--")):
                    seg = np.where(sel[:, None], a, np.nan)
                    ax.plot(
                        *seg.T,
                        color="tab:green",
                        lw=2.0 if alpha > 0.5 else 1.0,
                        alpha=alpha,
                        ls=ls,
                        label=contact_label if (n == 0 and n_ax == 0 and ls == "-") else None,
                    )
            facing = code @ eye >= 0
            for mask, style, label in kinds:
                for side, alpha in ((facing, 1.0), (~facing, 0.3)):
                    m = mask & side
                    if m.any():
                        lab = label if (n_ax == 0 and alpha == 1.0) else None
                        ax.scatter(*code[m].T, depthshade=False, alpha=alpha, label=lab, **style)
            ax.view_init(elev=elev, azim=azim)
            ax.set_box_aspect((1, 1, 1))
            for set_lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
                set_lim(-1, 1)
            ax.set_xticks([-1, 0, 1])
            ax.set_yticks([-1, 0, 1])
            ax.set_zticks([-1, 0, 1])
            ax.set_xlabel("$x_1$", fontsize=8, labelpad=-8)
            ax.set_ylabel("$x_2$", fontsize=8, labelpad=-8)
            ax.set_zlabel("$x_3$", fontsize=8, labelpad=-8)
            ax.tick_params(labelsize=6, pad=-3)
            ax.set_title(
                f"view from elevation {elev} deg, azimuth {azim} deg\n(far side faint)", fontsize=8
            )
            if n_ax == 0:
                ax.legend(fontsize=7, loc="upper left")
        fig.suptitle(title, fontsize=10)
    caption(
        fig,
        f"d = {d}, K = {K}, objective {row['objective']}, code {row['code_file']}; contacts: "
        f"pairs within {tol:g} deg of the minimal angle; minimal angle and rattlers from the "
        "table's min_angle_deg, tammes_rattler_points and softmax_rattler_points",
        command,
        source,
    )
    return fig
