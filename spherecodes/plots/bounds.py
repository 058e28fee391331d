"""Bound figures: solved rho_1vr and rho_1v1 against d at fixed K (GNC paper, Figure 3) or
against K at fixed d, with Theorem 3.9's, Levenshtein's and Rankin's bounds as chord distances.
The bound curves are closed forms from :mod:`spherecodes.bounds` on a dense grid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from spherecodes import bounds
from spherecodes.plots.common import (
    COLORS,
    caption,
    check_rows,
    most_common,
    new_figure,
    objective_order,
    option_bool,
    option_int,
    to_float,
)

__all__ = ["plot_bounds", "plot_bounds_K"]

_DENSE_POINTS = 400  # samples of a bound curve over a wide range


def _dense_ints(lo: int, hi: int) -> np.ndarray:
    """Return integers covering [lo, hi]: all of them, or ~400 log-spaced ones on a wide range."""
    if hi - lo + 1 <= _DENSE_POINTS:
        return np.arange(lo, hi + 1)
    return np.unique(np.round(np.geomspace(lo, hi, _DENSE_POINTS)).astype(np.int64))


# ----------------------------------------------------------------------------- bounds, bounds-K


def _bounds_figure(
    rows: list[Mapping],
    *,
    axis: str,
    fixed: int,
    objective: str | None,
    log: bool | None,
    source: str,
    command: str | None,
    figsize,
    dpi,
) -> Figure:
    """Draw data and bounds against `axis` ('d' or 'K') at the other parameter fixed to `fixed`."""
    other = "K" if axis == "d" else "d"
    sel = [r for r in rows if int(r[other]) == fixed]
    if objective is not None:
        sel = [r for r in sel if str(r["objective"]) == objective]
    if not sel:
        have = sorted({int(r[other]) for r in rows})
        objs = objective_order(rows)
        raise ValueError(
            f"no row has {other}={fixed}"
            + (f" and objective={objective!r}" if objective is not None else "")
            + f" in {source or 'the rows'}: it has {other} in {have} and objectives {objs}"
        )
    xs_data = sorted({int(r[axis]) for r in sel})
    lo, hi = xs_data[0], xs_data[-1]
    if lo == hi:  # one data point: show the bounds around it rather than at a single x
        lo, hi = max(2, lo // 2), max(lo * 2, lo + 2)
    if axis == "K":
        lo = max(lo, 2)
    xs = _dense_ints(lo, hi)
    d_arr, K_arr = (xs, np.full_like(xs, fixed)) if axis == "d" else (np.full_like(xs, fixed), xs)

    t39 = bounds.theorem39(d_arr, K_arr)
    lev = np.asarray(bounds.chord_from_angle_deg(bounds.levenshtein_min_angle_deg(d_arr, K_arr)))
    simplex = np.asarray(
        bounds.chord_from_angle_deg(bounds.rankin_simplex_min_angle_deg(d_arr, K_arr))
    )
    ortho_applies = K_arr >= d_arr + 2  # Rankin's orthoplex bound says nothing below d + 2 points
    ortho = np.where(
        ortho_applies,
        np.asarray(
            bounds.chord_from_angle_deg(bounds.rankin_orthoplex_min_angle_deg(d_arr, K_arr))
        ),
        np.nan,
    )

    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    # Theorem 3.9 holds for K >= sqrt(2 pi sqrt(e d)): K above a threshold at fixed d, and
    # d <= K^4 / (4 pi^2 e) at fixed K.  Shade the exact interval, not just sampled points.
    if axis == "K":
        span = (max(float(xs[0]), float(bounds.theorem39_validity_threshold(fixed))), float(xs[-1]))
    else:
        span = (float(xs[0]), min(float(xs[-1]), fixed**4 / (4 * math.pi**2 * math.e)))
    if span[0] < span[1]:
        ax.axvspan(
            *span,
            color="tab:green",
            alpha=0.09,
            lw=0,
            label=r"Thm 3.9 hypothesis holds: $K \geq \sqrt{2\pi\sqrt{e\,d}}$",
        )
    ax.plot(xs, t39.upper, color="black", lw=1.4, label=r"Thm 3.9 upper bound on max $\rho_{1vr}$")
    ax.plot(
        xs,
        t39.lower,
        color="black",
        lw=1.4,
        ls="--",
        label=r"Thm 3.9 lower bound on max $\rho_{1vr}$",
    )
    ax.plot(
        xs,
        lev,
        color="tab:red",
        lw=1.2,
        ls=":",
        label=r"Levenshtein: upper bound on max $\rho_{1v1}$ = 2 sin($\theta$/2)",
    )
    ax.plot(
        xs,
        simplex,
        color="tab:purple",
        lw=1.0,
        ls="-.",
        label=r"Rankin simplex: upper bound on max $\rho_{1v1}$",
    )
    if np.isfinite(ortho).any():
        ax.plot(
            xs,
            ortho,
            color="tab:gray",
            lw=1.0,
            ls=(0, (5, 2, 1, 2, 1, 2)),
            label=r"Rankin orthoplex ($K \geq d+2$): upper bound on max $\rho_{1v1}$",
        )

    plotted = [np.asarray(t39.lower), np.asarray(t39.upper), lev]
    for i, obj in enumerate(objective_order(sel)):
        pts = sorted(
            (int(r[axis]), to_float(r["rho_1vr"]), to_float(r["rho_1v1"]))
            for r in sel
            if r["objective"] == obj
        )
        x = np.array([p[0] for p in pts])
        r1r = np.array([p[1] for p in pts])
        r11 = np.array([p[2] for p in pts])
        # rho_1vr = 0 means a point lies in the hull of the others; it has no place on a log axis.
        r1r = np.where(r1r > 0, r1r, np.nan)
        c = COLORS[i % len(COLORS)]
        # Objectives often agree; shrinking later markers keeps the earlier ones visible.
        ms = max(3.0, 7.0 - 1.5 * i)
        ax.plot(
            x,
            r1r,
            color=c,
            marker="os^Dv"[i % 5],
            ms=ms,
            lw=1.6,
            label=rf"$\rho_{{1vr}}$ of solved {obj} codes",
        )
        ax.plot(
            x,
            r11,
            color=c,
            marker="os^Dv"[i % 5],
            ms=ms,
            mfc="none",
            lw=1.0,
            ls="--",
            label=rf"$\rho_{{1v1}}$ of solved {obj} codes",
        )
        plotted += [r1r, r11]

    vals = np.concatenate([np.ravel(v) for v in plotted])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if log is None:
        log = vals.size > 0 and vals.max() / vals.min() > 10.0
    if log:
        ax.set_yscale("log")
    if hi / lo >= 10:
        ax.set_xscale("log")
        # Plain integers (2, 4, 8, ...) read better than 2 x 10^0 for dimensions and counts.
        if len(xs_data) <= 15:
            ax.set_xticks(xs_data, [str(x) for x in xs_data])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(xs[0], xs[-1])
    if not log and vals.size:
        ax.set_ylim(0, 1.05 * vals.max())
    ax.set_xlabel("feature dimension d" if axis == "d" else "number of points (classes) K")
    ax.set_ylabel("distance between unit vectors (chordal, Euclidean)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    if axis == "d":
        ax.set_title(rf"One-vs-rest distance against d at K = {fixed} (GNC paper, Figure 3)")
        what = f"K = {fixed}, d in {xs_data[0]}..{xs_data[-1]} ({len(sel)} rows)"
    else:
        ax.set_title(rf"One-vs-rest distance against K at d = {fixed}")
        what = f"d = {fixed}, K in {xs_data[0]}..{xs_data[-1]} ({len(sel)} rows)"
    caption(fig, what, command, source)
    return fig


def plot_bounds(
    rows: Sequence[Mapping],
    *,
    K: int | None = None,
    objective: str | None = None,
    log: bool | None = None,
    source: str = "",
    command: str | None = None,
    figsize=(9.0, 6.0),
    dpi: float = 100,
) -> Figure:
    """Return a Figure of solved rho_1vr and rho_1v1 (chordal distances) against d at fixed K,
    with Theorem 3.9's bounds, Levenshtein's and Rankin's bounds (as chord distances).

    `K` defaults to the K with the most rows; `objective` to all objectives in the table;
    `log` (y axis) to log scale when the plotted values span more than a factor 10.
    """
    rows = check_rows(rows, "bounds", source)
    K = option_int("K", K)
    if K is None:
        K = most_common(int(r["K"]) for r in rows)
    return _bounds_figure(
        rows,
        axis="d",
        fixed=K,
        objective=objective,
        log=option_bool("log", log),
        source=source,
        command=command,
        figsize=figsize,
        dpi=dpi,
    )


def plot_bounds_K(
    rows: Sequence[Mapping],
    *,
    d: int | None = None,
    objective: str | None = None,
    log: bool | None = None,
    source: str = "",
    command: str | None = None,
    figsize=(9.0, 6.0),
    dpi: float = 100,
) -> Figure:
    """Return a Figure of solved rho_1vr and rho_1v1 (chordal distances) against K at fixed d,
    with Theorem 3.9's, Levenshtein's and Rankin's bounds; `d` defaults to the d with most rows."""
    rows = check_rows(rows, "bounds-K", source)
    d = option_int("d", d)
    if d is None:
        d = most_common(int(r["d"]) for r in rows)
    return _bounds_figure(
        rows,
        axis="K",
        fixed=d,
        objective=objective,
        log=option_bool("log", log),
        source=source,
        command=command,
        figsize=figsize,
        dpi=dpi,
    )
