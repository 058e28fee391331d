"""Figures drawn from toolkit tables: bounds against d or K, (d, K) heat maps, Figure 12, codes.

This module reads only what the toolkit wrote (a CSV table, its JSON sidecar, and for the
``code`` kind the ``.npy`` file a sweep row points to); it never runs a solver or the measures
(rattlers and the minimal angle come from the table's row; the contacts drawn are picked from
the code's pairwise angles with NumPy), and bound curves are closed forms from
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

Modules, one concept each: :mod:`~spherecodes.plots.common` (columns each kind reads, options,
canvas, caption), :mod:`~spherecodes.plots.bounds`, :mod:`~spherecodes.plots.grid`,
:mod:`~spherecodes.plots.tau`, :mod:`~spherecodes.plots.code` (one figure kind each) and
:mod:`~spherecodes.plots.dispatch` (:func:`render`, :func:`sweep_figures`).
"""

from spherecodes.plots.bounds import plot_bounds, plot_bounds_K
from spherecodes.plots.code import plot_code
from spherecodes.plots.common import KINDS, REQUIRED_COLUMNS
from spherecodes.plots.dispatch import render, sweep_figures
from spherecodes.plots.grid import plot_grid
from spherecodes.plots.tau import plot_tau

__all__ = [
    "KINDS",
    "REQUIRED_COLUMNS",
    "plot_bounds",
    "plot_bounds_K",
    "plot_code",
    "plot_grid",
    "plot_tau",
    "render",
    "sweep_figures",
]
