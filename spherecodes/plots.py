"""Figures drawn from toolkit tables: bounds against d or K, (d, K) heat maps, Figure 12, codes.

This module reads only what the toolkit wrote (a CSV table, its JSON sidecar, and for the
``code`` kind the ``.npy`` file a sweep row points to); it never runs a solver.  Measuring a
saved code (rattlers, contacts) is allowed, and bound curves are closed forms from
:mod:`spherecodes.bounds` evaluated on a dense grid.

:func:`render` is the entry point (``spherecodes plot TABLE --kind KIND``); each kind also has
a function taking loaded rows and returning a :class:`matplotlib.figure.Figure`:

* ``bounds`` (:func:`plot_bounds`): rho_1vr, rho_1v1 against d at fixed K, with Theorem 3.9,
  Levenshtein and Rankin bounds (GNC paper, Figure 3);
* ``bounds-K`` (:func:`plot_bounds_K`): the same at fixed d against K;
* ``grid`` (:func:`plot_grid`): heat maps over (d, K) of rho_1vr, its Theorem C.11 position and
  its gap to the best upper bound;
* ``tau`` (:func:`plot_tau`): min angle and rho_1vr of cross-entropy codes against tau, with the
  HardMax value (GNC paper, Figure 12);
* ``code`` (:func:`plot_code`): the points of one d = 2 or d = 3 code, contacts and rattlers.

Figures are built as explicit :class:`~matplotlib.figure.Figure` objects (Agg canvas), never
through pyplot, so no global state survives a call.  A figure of ``figsize`` inches at ``dpi``
is saved at exactly ``figsize * dpi`` pixels (no tight bounding box).
"""

from __future__ import annotations

import inspect
import io
import json
import math
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from spherecodes import bounds, precision, tables
from spherecodes.errors import ParameterError

__all__ = [
    "KINDS",
    "REQUIRED_COLUMNS",
    "plot_bounds",
    "plot_bounds_K",
    "plot_code",
    "plot_grid",
    "plot_tau",
    "render",
]

#: The figure kinds :func:`render` draws.
KINDS: tuple[str, ...] = ("bounds", "bounds-K", "grid", "tau", "code")

_SWEEP_CORE = ("objective", "d", "K", "rho_1v1", "rho_1vr")

#: Columns each kind reads (a table lacking one of them cannot be drawn as that kind).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "bounds": _SWEEP_CORE,
    "bounds-K": _SWEEP_CORE,
    "grid": _SWEEP_CORE + ("theorem39_upper", "theorem39_valid", "levenshtein_min_angle_deg"),
    # The Figure 12 table's data columns (its run settings are not needed to draw it).
    "tau": tables.FIGURE12_COLUMNS[: tables.FIGURE12_COLUMNS.index("restarts")],
    "code": ("objective", "d", "K", "code_file"),
}

_FORMATS = (".png", ".pdf", ".svg")
_DENSE_POINTS = 400  # samples of a bound curve over a wide range

# One colour per objective, stable across figures (matplotlib's tab10 order).
_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


# ----------------------------------------------------------------------------- shared helpers


def _check_rows(rows: Sequence[Mapping], kind: str, source: str) -> list[Mapping]:
    """Return `rows` as a list after checking they carry `kind`'s columns; ValueError otherwise."""
    rows = list(rows)
    where = f"table {source}" if source else "the rows"
    if not rows:
        raise ValueError(f"cannot draw a {kind!r} plot: {where} has no rows")
    need = REQUIRED_COLUMNS[kind]
    missing = [c for c in need if any(c not in r for r in rows)]
    if missing:
        raise ValueError(
            f"cannot draw a {kind!r} plot: {where} lacks column(s) {missing} (the {kind!r} kind "
            f"needs {list(need)})"
        )
    return rows


def _as_int(name: str, value) -> int | None:
    """Return an option as an int (it may arrive as a string from a command line), or None."""
    if value is None:
        return None
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name}={value!r} is not an integer") from None
    if out != float(value):
        raise ValueError(f"option {name}={value!r} is not an integer")
    return out


def _as_bool(name: str, value) -> bool | None:
    """Return an option as a bool (strings true/false/yes/no/1/0 accepted), or None for 'auto'."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("auto", "none", ""):
        return None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"option {name}={value!r} is not a boolean: use true, false or auto")


def _new_figure(figsize, dpi) -> Figure:
    """Return an empty Figure on an Agg canvas, with constrained layout and room for a caption."""
    w, h = (float(x) for x in figsize)
    if not (w > 0 and h > 0 and float(dpi) > 0):
        raise ValueError(f"figsize={figsize!r} and dpi={dpi!r} must be positive")
    fig = Figure(figsize=(w, h), dpi=float(dpi))
    FigureCanvasAgg(fig)
    # The caption is fig.text, which constrained layout ignores, so reserve the bottom strip.
    fig.set_layout_engine("constrained", rect=(0.0, 0.07, 1.0, 0.93))
    return fig


def _caption(fig: Figure, what: str, command: str | None, source: str) -> None:
    """Write the caption line (what is drawn, which table, which command made it) at the bottom."""
    cmd = command if command else "(command not recorded in the sidecar)"
    text = f"{what}.  Table: {source or '(rows)'}; made by: {cmd}"
    # About 17 characters of 7-point text per inch of figure width.
    width = max(40, int(fig.get_figwidth() * 17))
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > 3:  # a very long command is cut rather than pushing into the axes
        lines = lines[:3]
        lines[-1] = lines[-1][: width - 3] + "..."
    fig.text(0.005, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="0.25")


def _objective_order(rows: Sequence[Mapping]) -> list[str]:
    """Return the objectives present in `rows`, in order of first appearance."""
    return list(dict.fromkeys(str(r["objective"]) for r in rows))


def _most_common(values, *, prefer_large: bool = True):
    """Return the value occurring most often (ties: the largest, or the smallest)."""
    counts = Counter(values)
    best = max(counts.values())
    tied = [v for v, c in counts.items() if c == best]
    return max(tied) if prefer_large else min(tied)


def _float(x) -> float:
    return float("nan") if x is None else float(x)


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
        objs = _objective_order(rows)
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

    fig = _new_figure(figsize, dpi)
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
    for i, obj in enumerate(_objective_order(sel)):
        pts = sorted(
            (int(r[axis]), _float(r["rho_1vr"]), _float(r["rho_1v1"]))
            for r in sel
            if r["objective"] == obj
        )
        x = np.array([p[0] for p in pts])
        r1r = np.array([p[1] for p in pts])
        r11 = np.array([p[2] for p in pts])
        # rho_1vr = 0 means a point lies in the hull of the others; it has no place on a log axis.
        r1r = np.where(r1r > 0, r1r, np.nan)
        c = _COLORS[i % len(_COLORS)]
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
    _caption(fig, what, command, source)
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
    rows = _check_rows(rows, "bounds", source)
    K = _as_int("K", K)
    if K is None:
        K = _most_common(int(r["K"]) for r in rows)
    return _bounds_figure(
        rows,
        axis="d",
        fixed=K,
        objective=objective,
        log=_as_bool("log", log),
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
    rows = _check_rows(rows, "bounds-K", source)
    d = _as_int("d", d)
    if d is None:
        d = _most_common(int(r["d"]) for r in rows)
    return _bounds_figure(
        rows,
        axis="K",
        fixed=d,
        objective=objective,
        log=_as_bool("log", log),
        source=source,
        command=command,
        figsize=figsize,
        dpi=dpi,
    )


# ----------------------------------------------------------------------------- grid


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
    rows = _check_rows(rows, "grid", source)
    relative = bool(_as_bool("relative", relative))
    objs = _objective_order(rows)
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
        r1r, r11 = _float(r["rho_1vr"]), _float(r["rho_1v1"])
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
            bounds.chord_from_angle_deg(_float(r["levenshtein_min_angle_deg"])),
            bounds.chord_from_angle_deg(bounds.rankin_min_angle_deg(d, K)),
        ]
        if bool(r["theorem39_valid"]):
            cands.append(_float(r["theorem39_upper"]))
        best = float(np.nanmin(cands))
        gap[i, j] = (best - r1r) / best if relative else best - r1r

    fig = _new_figure(figsize, dpi)
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
    _caption(
        fig,
        f"objective {objective}, d in {ds}, K in {Ks}; blank cells: not in the table "
        "(middle panel: also codes with a repeated point, rho_1v1 = 0)",
        command,
        source,
    )
    return fig


# ----------------------------------------------------------------------------- tau (Figure 12)


def plot_tau(
    rows: Sequence[Mapping],
    *,
    source: str = "",
    command: str | None = None,
    figsize=(11.0, 4.8),
    dpi: float = 100,
) -> Figure:
    """Return the GNC paper's Figure 12: min angle (degrees; cosine on the right axis) and
    rho_1vr (chordal distance) of cross-entropy codes against tau (log scale), with HardMax's
    values as horizontal lines.  Reads a table with ``tables.FIGURE12_COLUMNS``."""
    rows = _check_rows(rows, "tau", source)
    dks = sorted({(int(r["d"]), int(r["K"])) for r in rows})
    if len(dks) != 1:
        raise ValueError(f"a 'tau' plot needs one (d, K); {source or 'the rows'} has {dks}")
    d, K = dks[0]
    rows = sorted(rows, key=lambda r: _float(r["tau"]))
    tau = np.array([_float(r["tau"]) for r in rows])
    if not (np.isfinite(tau).all() and (tau > 0).all()):
        raise ValueError(
            f"tau must be positive for a log axis; {source or 'the rows'} has tau={tau.tolist()}"
        )
    fig = _new_figure(figsize, dpi)
    axes = fig.subplots(1, 2)
    panels = (
        ("min_angle_deg", "minimal angle (degrees)", "minimal angle"),
        ("rho_1vr", r"$\rho_{1vr}$ (chordal distance)", "one-vs-rest distance"),
    )
    for ax, (col, ylabel, name) in zip(axes, panels, strict=True):
        ce = np.array([_float(r[f"ce_{col}"]) for r in rows])
        hm = np.array([_float(r[f"hardmax_{col}"]) for r in rows])
        hm = hm[np.isfinite(hm)]
        ax.plot(tau, ce, color="tab:blue", marker="o", ms=5, label="cross-entropy (CE) solution")
        if hm.size:
            ax.axhline(float(np.median(hm)), color="black", lw=1.4, label="HardMax solution")
            # Keep the HardMax line inside the frame rather than on its edge.
            lo, hi = ax.get_ylim()
            span = max(hi - lo, 1e-12)
            ax.set_ylim(
                min(lo, float(np.median(hm)) - 0.05 * span),
                max(hi, float(np.median(hm)) + 0.05 * span),
            )
        ax.set_xscale("log")
        ax.set_xlabel(r"temperature $\tau$ (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name} against temperature")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    # The paper plots the cosine of the minimal angle; show it on the right of the angle panel.
    sec = axes[0].secondary_yaxis(
        "right",
        functions=(
            lambda a: np.cos(np.radians(a)),
            lambda c: np.degrees(np.arccos(np.clip(c, -1.0, 1.0))),
        ),
    )
    sec.set_ylabel("cosine of the minimal angle")
    fig.suptitle(
        rf"Cross-entropy codes approach the HardMax code as $\tau \to 0$ (Lemma 3.1; GNC paper, "
        rf"Figure 12), d = {d}, K = {K}"
    )
    _caption(fig, f"d = {d}, K = {K}, {len(rows)} values of tau", command, source)
    return fig


# ----------------------------------------------------------------------------- code


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


def _mask(indices_or_mask, K: int) -> np.ndarray:
    """Return a (K,) bool mask from either a bool mask or a list of indices."""
    arr = np.asarray(indices_or_mask)
    if arr.dtype == bool and arr.shape == (K,):
        return arr
    out = np.zeros(K, dtype=bool)
    out[arr.astype(np.int64)] = True
    return out


@precision.float64
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
    circle or three views of the sphere, contacts (pairs within `contact_tol_deg` degrees of the
    minimal angle), Tammes rattlers (no contact) and softmax rattlers marked.

    The row is the first one (in table order) matching `objective`, `d` and `K` with d in
    {2, 3}; its ``code_file`` is read relative to `base_dir` (the table's folder).
    """
    from spherecodes import hull, measures
    from spherecodes.sphere import validate_code

    rows = _check_rows(rows, "code", source)
    d, K = _as_int("d", d), _as_int("K", K)
    if d is not None and d not in (2, 3):
        raise ValueError(f"option d={d} cannot be drawn: the 'code' kind draws d = 2 or d = 3")
    tol = measures.RATTLER_TOL_DEG if contact_tol_deg is None else float(contact_tol_deg)
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
    path = Path(base_dir) / str(row["code_file"])
    if not path.is_file():
        raise ValueError(
            f"code file {path} (row {row['objective']}, d={row['d']}, K={row['K']}) does not exist"
        )
    code = validate_code(np.load(path, allow_pickle=False), name=str(path))
    K, d = code.shape

    ang = _pair_angles_deg(code)
    theta = float(measures.min_angle_deg(code))
    contacts = np.argwhere(np.triu(ang <= theta + tol, 1))
    tammes = _mask(measures.tammes_rattlers(code, tol_deg=tol), K)
    softmax = _mask(hull.softmax_rattlers(code), K)
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
        fig = _new_figure(figsize or (7.0, 7.6), dpi)
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
        fig = _new_figure(figsize or (15.0, 6.0), dpi)
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
    _caption(
        fig,
        f"d = {d}, K = {K}, objective {row['objective']}, code {row['code_file']}; contacts and "
        f"Tammes rattlers with tolerance {tol:g} deg",
        command,
        source,
    )
    return fig


# ----------------------------------------------------------------------------- render


_PLOTTERS: dict[str, Callable[..., Figure]] = {
    "bounds": plot_bounds,
    "bounds-K": plot_bounds_K,
    "grid": plot_grid,
    "tau": plot_tau,
    "code": plot_code,
}
_INTERNAL = {"source", "command", "base_dir"}


def _options(kind: str) -> list[str]:
    params = inspect.signature(_PLOTTERS[kind]).parameters
    return [p for p in params if p != "rows" and p not in _INTERNAL]


def _command(table: Path) -> str | None:
    """Return the command(s) recorded in the table's sidecar, or None when there is none."""
    side = tables.find_sidecar(table)
    if side is None:
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    # A sweep directory's run.json lists every writer's run: show each distinct command.
    runs = meta.get("runs") if isinstance(meta.get("runs"), list) else [meta]
    cmds = dict.fromkeys(
        str(r["command"]) for r in runs if isinstance(r, dict) and r.get("command")
    )
    return "; ".join(cmds) if cmds else None


def render(table_path: str | Path, kind: str, out_path: str | Path | None = None, **opts) -> Path:
    """Draw `kind` from the table at `table_path` and save it; return the image path.

    The format follows `out_path`'s extension (.png, .pdf or .svg); the default is
    ``<table stem>_<kind>.png`` beside the table.  `opts` are the keyword options of the
    kind's function (e.g. ``K=`` for "bounds"); unknown options raise ValueError.

    >>> render("runs/a/results.csv", "bounds", K=1000)  # doctest: +SKIP
    PosixPath('runs/a/results_bounds.png')
    """
    if kind not in KINDS:
        raise ParameterError(
            "kind", "{name} {v!r} is unknown: choose from {ok}", v=kind, ok=", ".join(KINDS)
        )
    table = Path(table_path)
    out = table.with_name(f"{table.stem}_{kind}.png") if out_path is None else Path(out_path)
    fmt = out.suffix.lower()
    if fmt not in _FORMATS:
        raise ParameterError(
            "out_path",
            "{name} {v!r} has extension {ext!r}: use one of {ok}",
            v=str(out),
            ext=fmt or "(none)",
            ok=", ".join(_FORMATS),
        )
    allowed = _options(kind)
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ValueError(f"kind {kind!r} takes options {allowed}; got unknown option(s) {unknown}")
    try:
        rows = tables.read_table(table, required=REQUIRED_COLUMNS[kind])
    except ValueError as e:
        raise ValueError(f"cannot draw a {kind!r} plot: {e}") from None
    extra = {"source": str(table), "command": _command(table)}
    if kind == "code":
        extra["base_dir"] = table.parent
    fig = _PLOTTERS[kind](rows, **extra, **opts)
    buf = io.BytesIO()
    # SVG keeps its text as text (searchable, editable) rather than glyph outlines.
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt[1:], dpi=fig.dpi)
    tables.atomic_write_bytes(out, buf.getvalue())
    return out


def sweep_figures(table_path: str | Path) -> list[Path]:
    """Render the figures that suit a sweep table beside it; return their paths.

    For every objective: the (d, K) ``grid`` heat maps when the table has at least two d and two
    K, and the ``bounds-K`` view at its largest d; plus the ``code`` view of the largest-K cell in
    d = 3 (else d = 2) of the first objective.  Kinds that do not fit the table are skipped.
    """
    table = Path(table_path)
    rows = tables.read_table(table, required=tables.SWEEP_REQUIRED)
    out: list[Path] = []
    for obj in _objective_order(rows):
        mine = [r for r in rows if r["objective"] == obj]
        ds = sorted({r["d"] for r in mine})
        Ks = sorted({r["K"] for r in mine})
        if len(ds) >= 2 and len(Ks) >= 2:
            out.append(
                render(
                    table, "grid", table.with_name(f"{table.stem}_grid_{obj}.png"), objective=obj
                )
            )
        if len(Ks) >= 2:
            out.append(
                render(
                    table,
                    "bounds-K",
                    table.with_name(f"{table.stem}_bounds-K_{obj}_d{ds[-1]}.png"),
                    objective=obj,
                    d=ds[-1],
                )
            )
    first = _objective_order(rows)[0] if rows else None
    for d in (3, 2):
        cells = [r for r in rows if r["objective"] == first and r["d"] == d]
        if cells:
            K = max(r["K"] for r in cells)
            out.append(
                render(
                    table,
                    "code",
                    table.with_name(f"{table.stem}_code_{first}_d{d}_K{K}.png"),
                    objective=first,
                    d=d,
                    K=K,
                )
            )
            break
    return out
