"""spherecodes: K unit vectors in R^d, optimized, measured exactly, tabulated and plotted.

Convention: a *code* is an array of shape (K, d) whose rows are unit vectors (points as
rows, as in coordinate files).  The papers' W (d x K, unit columns) is its transpose.
Importing the package changes no global JAX setting: its reporting entry points (solve,
polish, sweep, tables, measure_code, the command line) turn JAX's 64-bit mode on for their
own duration (:mod:`spherecodes.precision`), and its jit-able building blocks (measures,
losses) compute in the dtype of their inputs; the GNC metrics are NumPy float64.
"""

__all__ = ["Congruence", "equivalent"]


def __getattr__(name: str):
    """Return :mod:`spherecodes.congruence`'s `name` on first use (so that importing the package,
    or only its tables and plots, imports no JAX)."""
    if name in __all__:
        from spherecodes import congruence

        return getattr(congruence, name)
    raise AttributeError(f"module 'spherecodes' has no attribute {name!r}")


__version__ = "0.1.0"
