"""``spherecodes table NAME``: the published-table builders, registered by name, and the writer.

:data:`BUILDERS` maps each name to its default path and a function from a :class:`Request`
to the tables it writes; :func:`run_table` checks the request, connects a Ray cluster when
asked (once, for all of the builder's solves), runs the builder and writes each table with
its sidecar (:func:`spherecodes.tables.store.provenance`) under the directory's lock.  Every
builder solves through the sweep driver into ``<stem>_codes/`` beside its table.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from spherecodes import precision
from spherecodes.errors import ParameterError
from spherecodes.tables import schema, store

__all__ = ["BUILDERS", "TABLE_KINDS", "Builder", "Request", "Written", "run_table"]


class Request(NamedTuple):
    """What a builder is asked for (run_table's checked arguments)."""

    path: Path  # the table to write; its cells are solved into store_dir(path)
    d: int  # tammes: the dimension
    ds: tuple[int, ...] | None  # equivalence: the dimensions
    Ks: tuple[int, ...] | None  # tammes, equivalence: the sizes
    names: tuple[str, ...] | None  # cohn-kumar: the codes (None: all)
    max_points: int | None  # cohn-kumar: largest K
    budget: dict  # restarts and/or steps given by the caller
    seed: int
    reference_dir: str | os.PathLike | None  # best-known Tammes data (None: the package's)
    figure12: bool  # gnc-figures: also the Figure 12 table
    cluster: str | None  # a Ray address, already connected by run_table
    workers: int | None  # local processes without a cluster (None: every core, large grids)
    command: str  # the command line recorded in sidecars
    on_row: Callable[[dict], None]  # progress: called with each finished row


class Written(NamedTuple):
    """One table a builder produced: where, its rows and pinned columns, sidecar extras."""

    path: Path
    rows: list[dict]
    columns: tuple[str, ...]
    extra: dict


class Builder(NamedTuple):
    """A published table: its default path and the function that builds it."""

    path: str  # default output path (relative to the working directory)
    build: Callable[[Request], list[Written]]
    grid: bool  # whether it takes a (d, K) grid (--d, --K)


def store_dir(table: str | os.PathLike) -> Path:
    """Return the sweep directory a table's cells are solved into: ``<stem>_codes/`` beside it."""
    table = Path(table)
    return table.with_name(table.stem + "_codes")


def _cohn_kumar(q: Request) -> list[Written]:
    from spherecodes.tables.cohn_kumar import cohn_kumar_rows

    rows = cohn_kumar_rows(
        store_dir(q.path),
        q.names,
        max_points=q.max_points,
        seed=q.seed,
        on_row=q.on_row,
        cluster=q.cluster,
        workers=q.workers,
        command=q.command,
        **q.budget,
    )
    return [Written(q.path, rows, schema.COHN_KUMAR_COLUMNS, {})]


def _tammes(q: Request) -> list[Written]:
    from spherecodes.tables.tammes import tammes_rows

    rows = tammes_rows(
        q.d,
        q.Ks,
        store_dir(q.path),
        seed=q.seed,
        reference_dir=q.reference_dir,
        on_row=q.on_row,
        cluster=q.cluster,
        workers=q.workers,
        command=q.command,
        **q.budget,
    )
    return [Written(q.path, rows, schema.TAMMES_COLUMNS, {})]


def _equivalence(q: Request) -> list[Written]:
    from spherecodes.tables import equivalence

    rows = equivalence.equivalence_rows(
        equivalence.default_cells(q.ds, q.Ks),
        store_dir(q.path),
        seed=q.seed,
        reference_dir=q.reference_dir,
        on_row=q.on_row,
        cluster=q.cluster,
        workers=q.workers,
        command=q.command,
        **{k: v for k, v in q.budget.items() if k == "restarts"},
    )
    extra = {"verdicts": equivalence.summary(rows)}
    return [Written(q.path, rows, schema.EQUIVALENCE_COLUMNS, extra)]


def _gnc_figures(q: Request) -> list[Written]:
    from spherecodes.tables.gnc import figure12_rows, gnc_figures_rows

    common = {"seed": q.seed, "cluster": q.cluster, "command": q.command, **q.budget}
    rows = gnc_figures_rows(store_dir(q.path), workers=q.workers, **common)
    out = [Written(q.path, rows, schema.GNC_FIGURES_COLUMNS, {})]
    if q.figure12:
        fig = q.path.with_name("gnc_figure12.csv")
        out.append(
            Written(fig, figure12_rows(store_dir(fig), **common), schema.FIGURE12_COLUMNS, {})
        )
    return out


#: The published tables by name (`spherecodes table NAME`).
BUILDERS: dict[str, Builder] = {
    "cohn-kumar": Builder("tables/cohn_kumar.csv", _cohn_kumar, grid=False),
    "tammes": Builder("tables/tammes_d3.csv", _tammes, grid=True),
    "gnc-figures": Builder("tables/gnc_figures.csv", _gnc_figures, grid=False),
    "equivalence": Builder("tables/equivalence.csv", _equivalence, grid=True),
}

#: Tables whose searches take a step count (their large cells run the first-order engine);
#: the others search with the trust-region engine only.
STEPS_KINDS = ("tammes", "gnc-figures")

#: Default output path of each table name.
TABLE_KINDS: dict[str, str] = {name: b.path for name, b in BUILDERS.items()}


def _check(kind, restarts, steps, seed, path, d, ds, Ks, reference_dir) -> None:
    """Raise ParameterError on the first bad argument of :func:`run_table`."""
    if kind not in BUILDERS:
        raise ParameterError(
            "kind",
            "table {name} {v!r} is unknown: choose from {ok}",
            v=kind,
            ok=", ".join(BUILDERS),
        )
    for name, v in (("restarts", restarts), ("steps", steps)):
        low = 0 if name == "restarts" and kind == "cohn-kumar" else 1
        if v is not None and v < low:
            raise ParameterError(
                name, "{name}={v} is too small: need {name} >= {low}", v=v, low=low
            )
    if steps is not None and kind not in STEPS_KINDS:
        # these tables search with the trust-region engine, which takes no step count
        raise ParameterError(
            "steps",
            "{name}={v} does not apply to table {kind}: only to {ok} (first-order steps)",
            v=steps,
            kind=kind,
            ok=" and ".join(STEPS_KINDS),
        )
    if seed < 0:
        raise ParameterError("seed", "{name}={v} is out of range: need {name} >= 0", v=seed)
    if path.suffix != ".csv":
        raise ParameterError("out", "{name} {v!r} must name a .csv file", v=str(path))
    if kind == "equivalence":
        from spherecodes.tables.equivalence import default_cells

        if not ds or min(ds) < 2:
            low = min(ds) if ds else None
            raise ParameterError("ds", "{name}={v} is too small: need {name} >= 2", v=low)
        if not default_cells(ds, Ks):
            raise ParameterError(
                "Ks", "{name}={v} leaves no cell with K >= d + 2 for d in {ds}", v=Ks, ds=ds
            )
    if kind == "tammes":
        if d < 2:
            raise ParameterError("d", "{name}={v} is too small: need {name} >= 2", v=d)
        if not Ks or min(Ks) < 2:
            low = min(Ks) if Ks else None
            raise ParameterError("Ks", "{name}={v} is too small: need {name} >= 2", v=low)
    if BUILDERS[kind].grid and reference_dir is not None and not Path(reference_dir).is_dir():
        raise ParameterError("reference_dir", "{name} {v} is not a directory", v=reference_dir)


@precision.float64
def run_table(
    kind: str,
    *,
    out: str | os.PathLike | None = None,
    d: int = 3,
    Ks: Sequence[int] | None = None,
    ds: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    max_points: int | None = None,
    restarts: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    command: str = "",
    figure12: bool = True,
    progress: bool = False,
    reference_dir: str | os.PathLike | None = None,
    cluster: str | None = None,
    workers: int | None = 1,
) -> list[Path]:
    """Build the table `kind` (a key of :data:`BUILDERS`), write it (CSV + JSON sidecar,
    default path ``BUILDERS[kind].path``) and return the written table paths.

    tammes runs dimension `d` over `Ks` (default 4..130); equivalence runs every d of `ds`
    (default 3..8) with every K of `Ks` (default d + 2 .. 48) that has K >= d + 2.  Cells are
    solved into ``<stem>_codes/`` beside the table (resumable: a rerun solves only what is
    missing).  gnc-figures also writes the Figure 12 table beside it as ``gnc_figure12.csv``
    unless `figure12` is False.  With `progress`, one line per finished row goes to stderr.
    With `cluster` (an address for :func:`spherecodes.cluster.connect`) the cells are solved
    on Ray workers, the sidecar records the cluster, and this process alone writes the table;
    without one, `workers` local processes solve them (None: every usable core for a large
    grid, :func:`spherecodes.workers.auto_workers`).
    """
    path = Path(out if out is not None else TABLE_KINDS.get(kind, "table.csv"))
    if kind == "tammes" and Ks is None:
        Ks = tuple(range(4, 131))
    if kind == "equivalence":
        ds = tuple(range(3, 9)) if ds is None else tuple(ds)
    _check(kind, restarts, steps, seed, path, d, ds, Ks, reference_dir)
    with contextlib.ExitStack() as stack:
        extra = {}
        if cluster is not None:
            from spherecodes import cluster as ray_cluster  # imports Ray: only when asked to

            record = stack.enter_context(ray_cluster.connect(cluster))
            extra = {"cluster": {"address": cluster, **record}}
        started, t0 = store.now(), time.perf_counter()

        def report(row: dict) -> None:
            if progress:
                label = row.get("name") or f"d={row['d']} K={row['K']}"
                what = f" {row['objective']}" if "objective" in row else ""
                print(
                    f"{kind}:{what} {label} done ({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )

        request = Request(
            path=path,
            d=d,
            ds=None if ds is None else tuple(ds),
            Ks=None if Ks is None else tuple(Ks),
            names=None if names is None else tuple(names),
            max_points=max_points,
            budget={k: v for k, v in (("restarts", restarts), ("steps", steps)) if v is not None},
            seed=seed,
            reference_dir=reference_dir,
            figure12=figure12,
            cluster=cluster,
            workers=workers,
            command=command,
            on_row=report,
        )
        written = []
        for w in BUILDERS[kind].build(request):
            meta = store.provenance(
                command,
                started=started,
                wall_seconds=time.perf_counter() - t0,
                seed=seed,
                rows=len(w.rows),
                codes=store_dir(w.path).name,
                **extra,
                **w.extra,
            )
            written.append(store.write_table_and_sidecar(w.path, w.rows, w.columns, meta))
        return written
