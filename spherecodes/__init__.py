"""spherecodes: K unit vectors in R^d, optimized, measured exactly, tabulated and plotted.

Convention: a *code* is an array of shape (K, d) whose rows are unit vectors (points as
rows, as in coordinate files).  The papers' W (d x K, unit columns) is its transpose.
All reported measures are computed in float64 whatever the input dtype, so importing
this package turns on JAX's 64-bit mode (``jax_enable_x64``).
"""

import jax

jax.config.update("jax_enable_x64", True)

# Code equivalence needs only NumPy and spherecodes.sphere (SciPy is imported on first use).
from spherecodes.congruence import Congruence, equivalent  # noqa: E402

__all__ = ["Congruence", "equivalent"]

__version__ = "0.1.0"
