"""The GNC paper's Figure 12: cross-entropy codes against the temperature tau, with HardMax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from spherecodes.plots.common import caption, check_rows, new_figure, to_float

__all__ = ["plot_tau"]


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
    rows = check_rows(rows, "tau", source)
    dks = sorted({(int(r["d"]), int(r["K"])) for r in rows})
    if len(dks) != 1:
        raise ValueError(f"a 'tau' plot needs one (d, K); {source or 'the rows'} has {dks}")
    d, K = dks[0]
    rows = sorted(rows, key=lambda r: to_float(r["tau"]))
    tau = np.array([to_float(r["tau"]) for r in rows])
    if not (np.isfinite(tau).all() and (tau > 0).all()):
        raise ValueError(
            f"tau must be positive for a log axis; {source or 'the rows'} has tau={tau.tolist()}"
        )
    fig = new_figure(figsize, dpi)
    axes = fig.subplots(1, 2)
    panels = (
        ("min_angle_deg", "minimal angle (degrees)", "minimal angle"),
        ("rho_1vr", r"$\rho_{1vr}$ (chordal distance)", "one-vs-rest distance"),
    )
    for ax, (col, ylabel, name) in zip(axes, panels, strict=True):
        ce = np.array([to_float(r[f"ce_{col}"]) for r in rows])
        hm = np.array([to_float(r[f"hardmax_{col}"]) for r in rows])
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
    caption(fig, f"d = {d}, K = {K}, {len(rows)} values of tau", command, source)
    return fig
