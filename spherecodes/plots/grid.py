"""Heat maps over (d, K): rho_1vr, its position in Theorem C.11's interval and its gap to the
best upper bound."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from spherecodes import bounds
from spherecodes.plots.common import (
    caption,
    check_rows,
    new_figure,
    objective_order,
    option_bool,
    to_float,
)

__all__ = ["plot_grid"]


def _heatmap(fig, ax, values, ds, Ks, *, cmap, label, vmin=None, vmax=None, fmt="{:.3g}"):
    """Draw one (d, K) heat map on categorical axes; NaN cells stay blank."""
    cm = _cmap(cmap)
    data = np.ma.masked_invalid(values)
    mesh = ax.pcolormesh(
        np.arange(len(Ks) + 1) - 0.5,
        np.arange(len(ds) + 1) - 0.5,
        data,
        cmap=cm,
        vmin=vmin,
        vmax=vmax,
        shading="flat",
    )
    ax.set_xticks(
        range(len(Ks)), [str(k) for k in Ks], rotation=90 if len(Ks) > 12 else 0, fontsize=7
    )
    ax.set_yticks(range(len(ds)), [str(d) for d in ds], fontsize=7)
    ax.set_xlabel("number of points K")
    ax.set_ylabel("dimension d")
    cb = fig.colorbar(mesh, ax=ax, shrink=0.9)
    cb.set_label(label, fontsize=8)
    if values.size <= 100:  # small grids: print each value in its cell
        norm = mesh.norm
        for i in range(len(ds)):
            for j in range(len(Ks)):
                v = values[i, j]
                if np.isfinite(v):
                    r, g, b, _ = cm(norm(v))
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                    text = fmt.format(v)
                    if float(text) == 0.0:  # no "-0.00" for a value that rounds to zero
                        text = fmt.format(0.0)
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if dark else "black",
                    )
    return mesh


def _cmap(name):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=to_rgba("white", 0.0))


def plot_grid(
    rows: Sequence[Mapping],
    *,
    objective: str | None = None,
    relative: bool = False,
    source: str = "",
    command: str | None = None,
    figsize=(16.0, 5.5),
    dpi: float = 100,
) -> Figure:
    """Return a Figure of three (d, K) heat maps for one objective: rho_1vr (chordal distance),
    where rho_1vr sits in Theorem C.11's interval [rho_1v1^2/2, rho_1v1] (0 = lower end, 1 =
    upper end), and the gap from rho_1vr to the best upper bound on max rho_1vr (the least of
    Theorem 3.9's upper bound where its hypothesis holds, Levenshtein's and Rankin's bounds as
    chords); `relative` divides that gap by the bound.  `objective` defaults to the objective
    with the most rows.
    """
    rows = check_rows(rows, "grid", source)
    relative = bool(option_bool("relative", relative))
    objs = objective_order(rows)
    if objective is None:
        counts = Counter(str(r["objective"]) for r in rows)
        objective = max(objs, key=lambda o: counts[o])  # ties: first in table order
    sel = [r for r in rows if str(r["objective"]) == objective]
    if not sel:
        raise ValueError(
            f"objective={objective!r} has no rows in {source or 'the rows'}: it has {objs}"
        )
    ds = sorted({int(r["d"]) for r in sel})
    Ks = sorted({int(r["K"]) for r in sel})
    shape = (len(ds), len(Ks))
    rho, pos, gap = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for r in sel:
        i, j = ds.index(int(r["d"])), Ks.index(int(r["K"]))
        r1r, r11 = to_float(r["rho_1vr"]), to_float(r["rho_1v1"])
        if not (math.isfinite(r1r) and math.isfinite(r11)):
            continue
        rho[i, j] = r1r
        # A repeated point (rho_1v1 = 0) has no interval to sit in: leave its cell blank.
        if r11 > 1e-9:
            pos[i, j] = bounds.theorem_c11(
                min(max(r11, 0.0), 2.0), min(max(r1r, 0.0), 2.0)
            ).position
        d, K = int(r["d"]), int(r["K"])
        cands = [
            bounds.chord_from_angle_deg(to_float(r["levenshtein_min_angle_deg"])),
            bounds.chord_from_angle_deg(bounds.rankin_min_angle_deg(d, K)),
        ]
        if bool(r["theorem39_valid"]):
            cands.append(to_float(r["theorem39_upper"]))
        best = float(np.nanmin(cands))
        gap[i, j] = (best - r1r) / best if relative else best - r1r

    fig = new_figure(figsize, dpi)
    axes = fig.subplots(1, 3)
    _heatmap(fig, axes[0], rho, ds, Ks, cmap="viridis", label=r"$\rho_{1vr}$ (chordal distance)")
    axes[0].set_title(r"one-vs-rest distance $\rho_{1vr}$")
    _heatmap(
        fig,
        axes[1],
        pos,
        ds,
        Ks,
        cmap="coolwarm",
        vmin=0.0,
        vmax=1.0,
        fmt="{:.2f}",
        label=r"position of $\rho_{1vr}$ in $[\rho_{1v1}^2/2,\ \rho_{1v1}]$ (0 = lower end)",
    )
    axes[1].set_title(r"Theorem C.11: $\rho_{1v1}^2/2 \leq \rho_{1vr} \leq \rho_{1v1}$")
    gap_label = (
        r"(best upper bound $-\ \rho_{1vr}$) / best upper bound"
        if relative
        else r"best upper bound $-\ \rho_{1vr}$ (chordal distance)"
    )
    _heatmap(fig, axes[2], gap, ds, Ks, cmap="magma_r", vmin=0.0, label=gap_label)
    axes[2].set_title("gap to min(Thm 3.9 upper, Levenshtein, Rankin)", fontsize=10)
    fig.suptitle(f"{objective} codes over (d, K)")
    caption(
        fig,
        f"objective {objective}, d in {ds}, K in {Ks}; blank cells: not in the table "
        "(middle panel: also codes with a repeated point, rho_1v1 = 0)",
        command,
        source,
    )
    return fig
