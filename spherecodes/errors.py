"""The library's argument error: it names the parameter, the command line names the flag.

A library function rejects a bad argument with :class:`ParameterError`, whose message speaks of
the Python parameter (``restarts=0 is too small: need restarts >= 1``).  The command line
catches it and re-words the same message with its flag (``--restarts=0 is too small: need
--restarts >= 1``) through :meth:`ParameterError.message`, so the library knows nothing of
flags or ``argv``.
"""

from __future__ import annotations

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A bad argument: ``parameter`` is its name; ``str()`` the message in that name."""

    def __init__(self, parameter: str, template: str, **values):
        """`template` is the message with ``{name}`` where the parameter's name goes and
        ``{key}`` for each of `values` (formatted with ``!r`` where the template says so)."""
        self.parameter = parameter
        self.template = template
        self.values = values
        super().__init__(self.message(parameter))

    def message(self, name: str) -> str:
        """Return the error message with the parameter called `name` (e.g. a flag)."""
        return self.template.format(name=name, **self.values)
