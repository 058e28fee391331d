"""The ``spherecodes`` command line: a thin layer over the library's functions.

Each subcommand is one ``cmd_<name>(args) -> int`` function plus one ``_add_<name>(sub)``
function that declares its arguments; :func:`build_parser` lists them.  Bad input gives one
line ``spherecodes <cmd>: error: <message>`` on stderr and exit status 2 (as argparse does
for usage errors); a traceback means a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from spherecodes import precision
from spherecodes.errors import ParameterError

PROG = "spherecodes"
EXIT_OK = 0
EXIT_USAGE = 2  # bad input or bad usage, like argparse


#: Library parameters whose flag is not "--" + the name with dashes, per subcommand.
FLAGS = {
    "sweep": {"objectives": "--objective", "out_dir": "--out"},
    "table": {"kind": "KIND", "Ks": "--K"},
    "plot": {"out_path": "--out"},
}


def _error_text(error: Exception, command: str) -> str:
    """Return the message of a library error, with its parameter named by the command's flag."""
    if isinstance(error, ParameterError):
        flag = FLAGS.get(command, {}).get(error.parameter)
        return error.message(flag or "--" + error.parameter.replace("_", "-"))
    return str(error)


def _fail(command: str, message: str) -> int:
    """Print one error line for `command` on stderr and return the usage exit status."""
    one_line = " ".join(str(message).split())
    print(f"{' '.join([PROG, command]).strip()}: error: {one_line}", file=sys.stderr)
    return EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line ``spherecodes <cmd>: error: ...`` (exit 2),
    like every other bad input (``--help`` still prints the full usage)."""

    def error(self, message):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        sys.exit(_fail(command, f"{message} (see {self.prog} --help)"))


def _os_message(path: str, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(err, IsADirectoryError):
        return f"{path}: is a directory, not a code file"
    if isinstance(err, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read the file ({err.strerror or err})"


def _add_cluster(p) -> None:
    """Declare ``--cluster [ADDRESS]`` on the subcommand parser `p`."""
    p.add_argument(
        "--cluster",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="solve on Ray (pip install 'spherecodes[cluster]'): with no ADDRESS a local Ray "
        "runtime on this machine's cores; 'auto' the cluster started here with `ray start`; "
        "'ray://host:port' a remote one. This process alone writes the table.",
    )
    p.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="without --cluster: solve in N local processes (default auto: one per usable "
        "CPU core for a grid large enough to repay the processes' start-up, else 1)",
    )


def _workers(text: str) -> int | None:
    """Return --workers as run_sweep/run_table take it (None for auto), or raise ValueError."""
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"--workers {text!r} is not an integer or 'auto'") from None
    if n < 1:
        raise ValueError(f"--workers={n} is too small: need workers >= 1 (or auto)")
    return n


def _check_cluster(address: str | None) -> None:
    """Raise ValueError when --cluster is asked for and cannot be honoured (Ray missing or a
    bad address); imports Ray only when --cluster is given."""
    if address is None:
        return
    if address not in ("local", "auto") and ":" not in address:
        raise ValueError(
            f"--cluster {address!r} is not a cluster address: give none (a local runtime), "
            "'auto', 'ray://host:port' or host:port"
        )
    from spherecodes.cluster import NEEDS_EXTRA

    try:
        import ray  # noqa: F401 - only to say now, before any solving, that it is missing
    except ImportError:
        raise ValueError(NEEDS_EXTRA) from None


def _os_write_message(path: str, err: OSError) -> str:
    where = err.filename or path
    return f"cannot write {where}: {err.strerror or err} (check --out {path})"


# --- measure --------------------------------------------------------------------------------


def _add_measure(sub) -> None:
    p = sub.add_parser(
        "measure",
        help="print the exact measures, rattlers and bounds of a code file",
        description="Read a code file (.npy, .npz, Sloane text formats) and print its report: "
        "largest inner product, minimal angle, rho_1v1, rho_1vr with certificate gap, "
        "coherence, Tammes and Softmax rattlers, Theorem 3.9 and Levenshtein bounds.",
    )
    p.add_argument("file", metavar="FILE", help="code file: K points in R^d, one per row")
    p.add_argument(
        "--dim",
        type=int,
        metavar="D",
        help="dimension d, needed for files with one number per line not named pack.D.K.txt",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_measure)


def cmd_measure(args: argparse.Namespace) -> int:
    """Read args.file, print its report (text or JSON); return the exit status."""
    import numpy as np

    from spherecodes.io import read_code

    try:
        # Overflow in a file of huge numbers is reported as bad input, not as a numpy warning.
        with np.errstate(all="ignore"):
            code = read_code(args.file, dim=args.dim)
    except OSError as e:
        return _fail("measure", _os_message(args.file, e))
    except ValueError as e:  # CodeFormatError included
        return _fail("measure", _error_text(e, "measure"))
    # Imported only now: the report pulls in the hull solver, which bad input never needs.
    from spherecodes.report import format_report, measure_code, report_json

    try:
        report = measure_code(code)
    except ValueError as e:
        return _fail("measure", f"{args.file}: {e}")
    print(report_json(report) if args.json else format_report(report))
    return EXIT_OK


# --- compare --------------------------------------------------------------------------------

EXIT_DIFFERENT = 1  # compare: the codes are not (shown to be) equivalent


def _add_compare(sub) -> None:
    from spherecodes.congruence import TOL

    p = sub.add_parser(
        "compare",
        help="say whether two code files hold the same code up to rotation, reflection and "
        "relabeling",
        description="Read two code files (any format `measure` reads) and decide whether "
        "A = P B Q for an orthogonal Q (det +-1) and a permutation P, within --tol. Prints "
        "the verdict with the residual max_i |A_i - (P B Q)_i| (Euclidean) or the first "
        "invariant that differs. Exit status: 0 equivalent (also up to rattlers), 1 not "
        "equivalent (or undecided), 2 bad input.",
    )
    p.add_argument("a", metavar="A", help="first code file")
    p.add_argument("b", metavar="B", help="second code file")
    p.add_argument(
        "--tol",
        type=float,
        default=TOL,
        metavar="T",
        help=f"largest distance between matched points (default {TOL:g}; 0 < T <= 0.1)",
    )
    p.add_argument(
        "--dim",
        type=int,
        metavar="D",
        help="dimension d, needed for files with one number per line not named pack.D.K.txt",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two code files, print the verdict (text or JSON); return the exit status."""
    import numpy as np

    from spherecodes.congruence import compare_json, equivalent, format_compare
    from spherecodes.io import read_code

    codes = []
    for path in (args.a, args.b):
        try:
            with np.errstate(all="ignore"):
                codes.append(read_code(path, dim=args.dim))
        except OSError as e:
            return _fail("compare", _os_message(path, e))
        except ValueError as e:  # CodeFormatError included
            return _fail("compare", _error_text(e, "compare"))
    try:
        result = equivalent(*codes, tol=args.tol)
    except ValueError as e:
        return _fail("compare", _error_text(e, "compare"))
    print(compare_json(result) if args.json else format_compare(result))
    return EXIT_OK if result.equivalent else EXIT_DIFFERENT


# --- sweep ----------------------------------------------------------------------------------

#: The embedded default of `spherecodes sweep` with no grid arguments (the README's main job).
DEFAULT_SWEEP = {"objective": ["tammes", "softmax"], "d": "2:3", "K": "4:8"}


def _add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="optimize codes over a (d, K) grid; write results.csv, codes/, run.json and plots",
        description="Solve every (objective, d, K) cell with one batched, jit-compiled program "
        "per bucket of padded shapes, polish in float64, measure exactly and write "
        "DIR/results.csv, DIR/codes/*.npy, DIR/run.json and figures. Re-running skips finished "
        "cells. With no grid arguments it runs a small default sweep: "
        f"objectives {', '.join(DEFAULT_SWEEP['objective'])}, d={DEFAULT_SWEEP['d']}, "
        f"K={DEFAULT_SWEEP['K']}.",
    )
    p.add_argument(
        "--objective",
        action="append",
        metavar="NAME",
        help="tammes, softmax, hardmax, ce, wd or grassmannian (repeat or comma-separate)",
    )
    p.add_argument("--d", metavar="RANGE", help="dimensions: a:b inclusive and/or comma lists")
    p.add_argument("--K", metavar="RANGE", help="numbers of points: a:b and/or comma lists")
    p.add_argument(
        "--restarts",
        type=int,
        metavar="R",
        help="starts per cell at most (random, perturbed and seeded)",
    )
    p.add_argument(
        "--steps",
        type=int,
        metavar="S",
        help="first-order steps per restart (engine adam: cells above 8192 variables and "
        "--neighbors; the trust-region engine takes none)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--tau", type=float, metavar="T", help="temperature for ce and wd")
    p.add_argument("--lam", type=float, metavar="L", help="weight decay for wd")
    p.add_argument(
        "--neighbors",
        type=int,
        default=0,
        metavar="M",
        help="search with each point's M largest pieces only, lists refreshed every 10 steps "
        "(for K in the thousands; tammes, grassmannian, softmax, hardmax)",
    )
    p.add_argument("--out", default="spherecodes-out", metavar="DIR", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true", help="write the table only")
    _add_cluster(p)
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep from the command line; print where the files went; return the exit status."""
    from spherecodes.tables.sweep import parse_range

    default = args.objective is None and args.d is None and args.K is None
    objectives = args.objective or DEFAULT_SWEEP["objective"]
    objectives = [o.strip() for item in objectives for o in item.split(",") if o.strip()]
    try:
        ds = parse_range(DEFAULT_SWEEP["d"] if args.d is None else args.d, name="d", minimum=2)
        Ks = parse_range(DEFAULT_SWEEP["K"] if args.K is None else args.K, name="K", minimum=2)
        if not args.out.strip():
            raise ValueError("--out '' names no folder")
        for name in ("restarts", "steps"):
            v = getattr(args, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name}={v} is too small: need {name} >= 1")
        if args.neighbors < 0:
            raise ValueError(f"--neighbors={args.neighbors} is too small: need neighbors >= 0")
        from spherecodes.solvers import OBJECTIVES

        bad = [o for o in objectives if o not in OBJECTIVES]
        if bad or not objectives:
            raise ValueError(
                f"--objective {bad[0] if bad else ''!r} is unknown: choose from "
                f"{', '.join(OBJECTIVES)}"
            )
        for name, users in (("tau", ("ce", "wd")), ("lam", ("wd",))):
            if getattr(args, name) is not None and not set(users) & set(objectives):
                raise ValueError(
                    f"--{name} applies to objective {' and '.join(users)} only; "
                    f"the sweep has {', '.join(objectives)}"
                )
        _check_cluster(args.cluster)
        workers = _workers(args.workers)
    except ValueError as e:
        return _fail("sweep", _error_text(e, "sweep"))
    from spherecodes.tables.sweep import run_sweep

    command = " ".join([PROG, *args.argv])
    try:
        rows = run_sweep(
            objectives,
            ds,
            Ks,
            args.out,
            restarts=args.restarts,
            steps=args.steps,
            seed=args.seed,
            tau=args.tau,
            lam=args.lam,
            neighbors=args.neighbors,
            quiet=args.quiet,
            command=command,
            cluster=args.cluster,
            workers=workers,
        )
    except (ValueError, MemoryError) as e:
        return _fail("sweep", _error_text(e, "sweep"))
    except OSError as e:
        return _fail("sweep", _os_write_message(args.out, e))
    from pathlib import Path

    out = Path(args.out)
    print(
        f"{len(rows)} cells in {out / 'results.csv'} (codes in {out / 'codes'}, "
        f"provenance in {out / 'run.json'})"
    )
    if not args.no_plot:
        from spherecodes.plots import sweep_figures

        for path in sweep_figures(out / "results.csv"):
            print(f"figure: {path}")
    if default:
        print("default sweep done; see the README for the published tables and figures")
    return EXIT_OK


# --- plot -----------------------------------------------------------------------------------


def _add_plot(sub) -> None:
    from spherecodes.plots import KINDS

    p = sub.add_parser(
        "plot",
        help="render a figure from a table written by sweep or table",
        description="Render a figure from a toolkit table (never runs a solver). Kinds: "
        + ", ".join(KINDS),
    )
    p.add_argument("table", metavar="TABLE", help="a CSV written by `sweep` or `table`")
    p.add_argument("--kind", required=True, choices=KINDS, help="which figure")
    p.add_argument(
        "--out", metavar="FILE", help="output .png, .pdf or .svg (default: beside TABLE)"
    )
    p.add_argument("--K", type=int, help="fixed K (bounds; code)")
    p.add_argument("--d", type=int, help="fixed d (bounds-K; code)")
    p.add_argument("--objective", help="which objective's rows to draw")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    """Render one figure from a table; print its path; return the exit status."""
    from spherecodes.plots import render

    opts = {k: getattr(args, k) for k in ("K", "d", "objective") if getattr(args, k) is not None}
    try:
        path = render(args.table, args.kind, args.out, **opts)
    except ValueError as e:
        return _fail("plot", _error_text(e, "plot"))
    except OSError as e:
        return _fail("plot", _os_write_message(str(args.out or args.table), e))
    print(path)
    return EXIT_OK


# --- table ----------------------------------------------------------------------------------


def _add_table(sub) -> None:
    p = sub.add_parser(
        "table",
        help="regenerate a published table: cohn-kumar, tammes, gnc-figures or equivalence",
        description="Build a published table and write it as CSV with a JSON sidecar. "
        "cohn-kumar: every Cohn-Kumar Table 1 code (d <= 100) as a Softmax Code "
        "(GNC footnote 6); tammes: best Tammes codes for --d over --K beside the best-known "
        "angles, with the codes in <stem>_codes/codes/tammes_dD_KK.npy; gnc-figures: the best "
        "rho_1vr found (certified lower bounds) for the GNC paper's Figures 2 and 8, and the "
        "Figure 12 table (gnc_figure12.csv beside --out); equivalence: the best Tammes code "
        "and the best Softmax Code of every cell (--d 3:8, K from d+2 to 48 or --K), both "
        "from random starts, with a verdict on the Tammes = Softmax-Code conjecture.",
    )
    # Plain strings, parsed in cmd_table, so that every bad value gives one error line.
    p.add_argument("kind", metavar="KIND", help="cohn-kumar, tammes, gnc-figures or equivalence")
    p.add_argument("--out", metavar="FILE", help="output CSV (default: tables/<kind>.csv)")
    p.add_argument(
        "--d", metavar="D", help="tammes: dimension (default 3); equivalence: a range (3:8)"
    )
    p.add_argument(
        "--K",
        metavar="RANGE",
        help="tammes, equivalence: a:b and/or lists (default 4:130; equivalence d+2:48)",
    )
    p.add_argument(
        "--name", action="append", metavar="NAME", help="cohn-kumar: only this code (repeat)"
    )
    p.add_argument("--max-points", metavar="K", help="cohn-kumar: only codes with K <= this")
    p.add_argument(
        "--restarts",
        metavar="R",
        help="starts per cell at most (cohn-kumar: 0 = no random starts; tammes default: 512 up to "
        "K=64, then about 512*(64/K)^2, at least 64)",
    )
    p.add_argument(
        "--steps",
        metavar="S",
        help="tammes, gnc-figures: first-order steps per restart of the cells searched by "
        "the adam engine",
    )
    p.add_argument("--seed", metavar="N", default="0", help="random seed (default 0)")
    p.add_argument(
        "--reference-dir",
        metavar="DIR",
        help="tammes, equivalence: folder with the best-known table tammes_dD_best_known.csv "
        "and the best-known codes pack.D.K.txt (or a sloane_dD subfolder) for the best_known and "
        "sloane_config columns (default: the copies of Sloane's d = 3 data in the package)",
    )
    _add_cluster(p)
    p.set_defaults(func=cmd_table)


def cmd_table(args: argparse.Namespace) -> int:
    """Build and write one published table; print the written paths; return the exit status."""
    from spherecodes.tables.build import TABLE_KINDS, run_table
    from spherecodes.tables.sweep import parse_range

    def integer(name, text):
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--{name} {text!r} is not an integer") from None

    try:
        if args.kind not in TABLE_KINDS:
            raise ValueError(
                f"table kind {args.kind!r} is unknown: choose from {', '.join(TABLE_KINDS)}"
            )
        grids = ("tammes", "equivalence")
        only = {
            "d": (grids, args.d),
            "K": (grids, args.K),
            "name": (("cohn-kumar",), args.name),
            "max-points": (("cohn-kumar",), args.max_points),
            "reference-dir": (grids, args.reference_dir),
        }
        for name, (kinds, value) in only.items():
            if value is not None and args.kind not in kinds:
                raise ValueError(
                    f"--{name} applies to table {' and '.join(kinds)} only, not {args.kind}"
                )
        max_points = integer("max-points", args.max_points)
        if max_points is not None and max_points < 1:
            raise ValueError(f"--max-points={max_points} is too small: need max-points >= 1")
        if args.kind == "equivalence":
            ds = parse_range("3:8" if args.d is None else args.d, name="d", minimum=2)
            grid = {
                "ds": ds,
                "Ks": None if args.K is None else parse_range(args.K, name="K", minimum=2),
            }
        else:
            grid = {
                "d": integer("d", "3" if args.d is None else args.d),
                "Ks": parse_range("4:130" if args.K is None else args.K, name="K", minimum=2),
            }
        opts = {
            **grid,
            "max_points": max_points,
            "restarts": integer("restarts", args.restarts),
            "steps": integer("steps", args.steps),
            "seed": integer("seed", args.seed),
        }
        command = " ".join([PROG, *args.argv])
        if args.out is not None:
            # Fail on an unusable output path before any solving, not after it.
            from pathlib import Path

            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            if Path(args.out).is_dir():
                raise ValueError(f"--out {args.out} is a directory: give a .csv file path")
        if args.reference_dir is not None:
            opts["reference_dir"] = args.reference_dir
        _check_cluster(args.cluster)
        workers = _workers(args.workers)
        paths = run_table(
            args.kind,
            out=args.out,
            names=args.name,
            command=command,
            progress=True,
            cluster=args.cluster,
            workers=workers,
            **opts,
        )
    except (ValueError, MemoryError) as e:
        return _fail("table", _error_text(e, "table"))
    except OSError as e:
        return _fail("table", _os_write_message(str(args.out), e))
    for path in paths:
        print(path)
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------------

#: Subcommand declarers, in the order `spherecodes --help` lists them.
SUBCOMMANDS = (_add_measure, _add_compare, _add_sweep, _add_plot, _add_table)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    from spherecodes import __version__

    parser = _Parser(prog=PROG, description="A JAX toolkit for spherical codes.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


@precision.float64
def main(argv: list[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]); return the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as e:  # argparse exits on --help (0) and usage errors (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded as the run's command
    if extra:
        return _fail(
            args.command,
            f"unrecognized arguments: {' '.join(extra)} (see {PROG} {args.command} --help)",
        )
    with _sigterm_unwinds():
        return args.func(args)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _sigterm_unwinds():
    """While the command runs, SIGTERM raises SystemExit(143) in the main thread, so a killed
    run unwinds as Ctrl-C does: its files are left whole and its worker processes stopped
    (by default SIGTERM ends this process at once and the workers solve on, orphaned)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
