"""Drawing a table to a file: :func:`render` dispatches on the figure kind, reads the table
and its sidecar's command, and saves the image atomically; :func:`sweep_figures` renders the
kinds that suit a sweep table beside it."""

from __future__ import annotations

import inspect
import io
import json
from collections.abc import Callable
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from spherecodes import tables
from spherecodes.errors import ParameterError
from spherecodes.plots.bounds import plot_bounds, plot_bounds_K
from spherecodes.plots.code import plot_code
from spherecodes.plots.common import (
    CODE_MEASURE_COLUMNS,
    KINDS,
    REQUIRED_COLUMNS,
    WRITTEN_BY,
    is_empty,
    objective_order,
)
from spherecodes.plots.grid import plot_grid
from spherecodes.plots.tau import plot_tau

__all__ = ["render", "sweep_figures"]

_FORMATS = (".png", ".pdf", ".svg")

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
        raise ValueError(
            f"cannot draw a {kind!r} plot: {e} (the {kind!r} kind's columns are written by "
            f"{WRITTEN_BY[kind]})"
        ) from None
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
    d = 3 (else d = 2) of the first objective, when its row has the measured columns the
    ``code`` kind draws (:data:`~spherecodes.plots.common.CODE_MEASURE_COLUMNS`).  Kinds that do
    not fit the table are skipped.
    """
    table = Path(table_path)
    rows = tables.read_table(table, required=tables.SWEEP_REQUIRED)
    out: list[Path] = []
    for obj in objective_order(rows):
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
    first = objective_order(rows)[0] if rows else None
    for d in (3, 2):
        cells = [r for r in rows if r["objective"] == first and r["d"] == d]
        if cells:
            K = max(r["K"] for r in cells)
            row = next((r for r in cells if r["K"] == K and r["code_file"]), None)
            # A table from before the rattler-point columns cannot show its rattlers: no view.
            if row is not None and not any(is_empty(row.get(c)) for c in CODE_MEASURE_COLUMNS):
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
