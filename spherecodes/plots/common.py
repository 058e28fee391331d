"""What every figure kind shares: the columns each kind reads, option parsing, the figure
canvas, the caption line and small row helpers (no drawing of data here)."""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spherecodes import tables

__all__ = [
    "CODE_MEASURE_COLUMNS",
    "COLORS",
    "KINDS",
    "REQUIRED_COLUMNS",
    "WRITTEN_BY",
    "caption",
    "check_rows",
    "is_empty",
    "most_common",
    "new_figure",
    "objective_order",
    "option_bool",
    "option_int",
    "to_float",
]


#: The figure kinds :func:`render` draws.
KINDS: tuple[str, ...] = ("bounds", "bounds-K", "grid", "tau", "code")

_SWEEP_CORE = ("objective", "d", "K", "rho_1v1", "rho_1vr")

#: What the ``code`` kind draws as measured (never recomputed): the minimal angle in degrees and
#: the Tammes and softmax rattlers as lists of 0-based point indices.
CODE_MEASURE_COLUMNS: tuple[str, ...] = (
    "min_angle_deg",
    "tammes_rattler_points",
    "softmax_rattler_points",
)

#: Columns each kind reads (a table lacking one of them cannot be drawn as that kind).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "bounds": _SWEEP_CORE,
    "bounds-K": _SWEEP_CORE,
    "grid": _SWEEP_CORE + ("theorem39_upper", "theorem39_valid", "levenshtein_min_angle_deg"),
    # The Figure 12 table's data columns (its run settings are not needed to draw it).
    "tau": tables.FIGURE12_COLUMNS[: tables.FIGURE12_COLUMNS.index("restarts")],
    "code": ("objective", "d", "K", "code_file") + CODE_MEASURE_COLUMNS,
}

#: The command that writes each kind's columns (named in the error for a table lacking them).
WRITTEN_BY: dict[str, str] = {
    "bounds": "`spherecodes sweep`",
    "bounds-K": "`spherecodes sweep`",
    "grid": "`spherecodes sweep`",
    "tau": "`spherecodes table gnc-figures` (its gnc_figure12.csv)",
    "code": "`spherecodes sweep` (an older table: `spherecodes.tables.sweep.remeasure`)",
}

#: One colour per objective, stable across figures (matplotlib's tab10 order).
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def check_rows(rows: Sequence[Mapping], kind: str, source: str) -> list[Mapping]:
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
            f"needs {list(need)}, written by {WRITTEN_BY[kind]})"
        )
    return rows


def option_int(name: str, value) -> int | None:
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


def option_bool(name: str, value) -> bool | None:
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


def new_figure(figsize, dpi) -> Figure:
    """Return an empty Figure on an Agg canvas, with constrained layout and room for a caption."""
    w, h = (float(x) for x in figsize)
    if not (w > 0 and h > 0 and float(dpi) > 0):
        raise ValueError(f"figsize={figsize!r} and dpi={dpi!r} must be positive")
    fig = Figure(figsize=(w, h), dpi=float(dpi))
    FigureCanvasAgg(fig)
    # The caption is fig.text, which constrained layout ignores, so reserve the bottom strip.
    fig.set_layout_engine("constrained", rect=(0.0, 0.07, 1.0, 0.93))
    return fig


def caption(fig: Figure, what: str, command: str | None, source: str) -> None:
    """Write the caption (what, which table, which command made it) under `fig`; return None."""
    cmd = command if command else "(command not recorded in the sidecar)"
    text = f"{what}.  Table: {source or '(rows)'}; made by: {cmd}"
    # About 17 characters of 7-point text per inch of figure width.
    width = max(40, int(fig.get_figwidth() * 17))
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > 3:  # a very long command is cut rather than pushing into the axes
        lines = lines[:3]
        lines[-1] = lines[-1][: width - 3] + "..."
    fig.text(0.005, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="0.25")


def objective_order(rows: Sequence[Mapping]) -> list[str]:
    """Return the objectives present in `rows`, in order of first appearance."""
    return list(dict.fromkeys(str(r["objective"]) for r in rows))


def most_common(values, *, prefer_large: bool = True):
    """Return the value occurring most often (ties: the largest, or the smallest)."""
    counts = Counter(values)
    best = max(counts.values())
    tied = [v for v, c in counts.items() if c == best]
    return max(tied) if prefer_large else min(tied)


def is_empty(value) -> bool:
    """Return whether a table cell is empty: None, or NaN (read_table's empty number)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def to_float(x) -> float:
    """Return `x` as a float, NaN for a missing value (None)."""
    return float("nan") if x is None else float(x)
