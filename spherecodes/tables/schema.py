"""Pinned schemas: the ordered columns of every table the toolkit writes, and their types.

One place for every column list (tests pin them): the sweep's results.csv, the published
tables (Cohn–Kumar, Tammes, GNC figures, Figure 12, the equivalence table) and the keys of
``spherecodes measure``.  :data:`COLUMN_TYPES` tells :func:`spherecodes.tables.store.read_table`
how to parse a cell.  Plain data only: importing this module imports nothing heavy.
"""

from __future__ import annotations

#: Keys of :func:`spherecodes.report.measure_code`'s dict, in order (pinned by
#: tests/test_cli_measure.py); the measure columns of the sweep table.
MEASURE_KEYS: tuple[str, ...] = (
    "d",
    "K",
    "max_inner",
    "min_angle_deg",
    "rho_1v1",
    "rho_1vr",
    "rho_1vr_gap",
    "coherence",
    "tammes_rattlers",
    "softmax_rattlers",
    "theorem39_lower",
    "theorem39_upper",
    "theorem39_valid",
    "levenshtein_min_angle_deg",
)

#: Which points are rattlers (0-based indices, a JSON list in the CSV): what a code figure
#: marks.  The ``tammes_rattlers``/``softmax_rattlers`` columns of a table hold their counts.
RATTLER_POINTS: tuple[str, ...] = ("tammes_rattler_points", "softmax_rattler_points")

#: How a cell was solved, beyond its settings (added to results.csv after it was first
#: written): ``engine`` the local solver ("trust" or "adam"), ``starts`` the starts it spent,
#: ``confirmations`` how many reached the reported basin, ``found_by`` how it was first reached,
#: ``search_path`` "dense", "streamed" or "neighbour lists", ``neighbors`` the pieces per point
#: of a neighbour-list search (0: all), ``converged`` whether the polish certified a KKT point.
SOLVE_PROVENANCE: tuple[str, ...] = (
    "engine",
    "starts",
    "confirmations",
    "found_by",
    "search_path",
    "neighbors",
    "converged",
)

#: Columns of `spherecodes sweep`'s results.csv, in order: the cell, the exact measures of
#: `spherecodes measure` (report.MEASURE_KEYS, rattlers as counts), then how it was solved.
SWEEP_COLUMNS: tuple[str, ...] = (
    "objective",
    *MEASURE_KEYS,
    "value",
    "kkt_residual",
    "success_rate",
    *SOLVE_PROVENANCE,
    *RATTLER_POINTS,
    "tau",
    "lam",
    "restarts",
    "steps",
    "seed",
    "seconds",
    "device",
    "code_file",
    "node",
)

#: Sweep columns added after results.csv was first written: an older table lacks them and is
#: still read, resumed and merged (its rows get an empty value there).  ``node`` is the host
#: that solved the cell (a Ray worker's node with ``--cluster``, else the sweeping machine).
SWEEP_ADDED_COLUMNS: tuple[str, ...] = ("node", *SOLVE_PROVENANCE, *RATTLER_POINTS)

#: Columns every results.csv has: :data:`SWEEP_COLUMNS` less :data:`SWEEP_ADDED_COLUMNS`.
SWEEP_REQUIRED: tuple[str, ...] = tuple(c for c in SWEEP_COLUMNS if c not in SWEEP_ADDED_COLUMNS)


#: Columns of ``tables/cohn_kumar.csv``, in order.
COHN_KUMAR_COLUMNS: tuple[str, ...] = (
    "name",
    "d",
    "K",
    "inner_products",
    "min_angle_deg",
    "rho_1v1",
    "rho_1vr",
    "rho_1vr_gap",
    "rho_1vr_method",
    "tammes_rattlers",
    "softmax_rattlers",
    "c11_lower_end",
    "theorem39_lower",
    "theorem39_upper",
    "theorem39_valid",
    "levenshtein_min_angle_deg",
    "local_method",
    "local_rho_1vr",
    "local_residual",
    "random_rho_1vr",
    "random_restarts",
    "random_steps",
    "random_engine",
    "random_confirmations",
    "random_reason",
    "random_equivalent",
    "verdict",
    "seconds",
)

#: Columns of ``tables/tammes_d3.csv``, in order.
TAMMES_COLUMNS: tuple[str, ...] = (
    "d",
    "K",
    "max_inner",
    "min_angle_deg",
    "best_known_min_angle_deg",
    "angle_deficit_deg",
    "proven_optimal",
    "sloane_config",
    "rho_1v1",
    "rho_1vr",
    "rho_1vr_gap",
    "c11_lower_end",
    "tammes_rattlers",
    "softmax_rattlers",
    "kkt_residual",
    "success_rate",
    "restarts",
    "steps",
    "seed",
    "seconds",
    "device",
    *SOLVE_PROVENANCE,
    "code_file",
)

#: Tammes-table columns added after the table was first written (an older table lacks them).
TAMMES_ADDED_COLUMNS: tuple[str, ...] = (*SOLVE_PROVENANCE, "code_file")

#: Columns of ``tables/gnc_figures.csv``, in order.
GNC_FIGURES_COLUMNS: tuple[str, ...] = (
    "figure",
    "d",
    "K",
    "rho_1vr",
    "rho_1vr_gap",
    "min_angle_deg",
    "rho_1v1",
    "softmax_rattlers",
    "theorem39_lower",
    "theorem39_upper",
    "success_rate",
    "restarts",
    "steps",
    "seed",
    "seconds",
    "device",
    "reason",
    *SOLVE_PROVENANCE,
    "code_file",
)

#: GNC-figures columns added after the table was first written (an older table lacks them).
GNC_FIGURES_ADDED_COLUMNS: tuple[str, ...] = (*SOLVE_PROVENANCE, "code_file")


#: Columns of ``tables/equivalence.csv``, in order.
EQUIVALENCE_COLUMNS: tuple[str, ...] = (
    "d",
    "K",
    "tammes_min_angle_deg",
    "tammes_rho_1v1",
    "tammes_rho_1vr",
    "tammes_rho_1vr_gap",
    "tammes_kkt_residual",
    "tammes_tammes_rattlers",
    "tammes_softmax_rattlers",
    "tammes_starts",
    "tammes_confirmations",
    "best_known_min_angle_deg",
    "softmax_rho_1vr",
    "softmax_min_angle_deg",
    "softmax_rho_1vr_gap",
    "softmax_kkt_residual",
    "softmax_tammes_rattlers",
    "softmax_softmax_rattlers",
    "softmax_starts",
    "softmax_confirmations",
    "theorem33_rho_1vr",
    "verdict",
    "reason",
    "tammes_code_file",
    "softmax_code_file",
    "seconds",
)


#: Columns of the GNC paper's Figure 12 table (cross-entropy at falling tau against HardMax).
FIGURE12_COLUMNS: tuple[str, ...] = (
    "d",
    "K",
    "tau",
    "ce_min_angle_deg",
    "ce_rho_1vr",
    "hardmax_min_angle_deg",
    "hardmax_rho_1vr",
    "restarts",
    "steps",
    "seed",
)

#: Columns read back as int, bool, str (empty: None) and JSON lists of ints; every other
#: column is a float (empty: NaN), or its text where it does not parse as one.
INT_COLUMNS: frozenset[str] = frozenset({
    "d",
    "K",
    "tammes_rattlers",
    "softmax_rattlers",
    "restarts",
    "steps",
    "seed",
    "starts",
    "confirmations",
    "neighbors",
    "random_restarts",
    "random_steps",
    "random_confirmations",
    *(f"{s}_{c}" for s in ("tammes", "softmax") for c in (
        "tammes_rattlers", "softmax_rattlers", "starts", "confirmations"
    )),
})  # fmt: skip
BOOL_COLUMNS: frozenset[str] = frozenset({"theorem39_valid", "converged", "c11_lower_end"})
STR_COLUMNS: frozenset[str] = frozenset({
    "objective",
    "device",
    "code_file",
    "node",
    "name",
    "verdict",
    "reason",
    "inner_products",
    "engine",
    "found_by",
    "search_path",
    "random_engine",
    "random_reason",
    "random_equivalent",
    "rho_1vr_method",
    "local_method",
    "proven_optimal",
    "sloane_config",
    "figure",
    "tammes_code_file",
    "softmax_code_file",
})  # fmt: skip
LIST_COLUMNS: frozenset[str] = frozenset(RATTLER_POINTS)
