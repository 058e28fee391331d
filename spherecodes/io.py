"""Reading and writing code files: Sloane's text formats, ``.npy`` and ``.npz``.

Formats understood by :func:`read_code` (decided from the content, not only the suffix):

* ``.npy``, or ``.npz`` holding exactly one array, of shape (K, d);
* text with d numbers per row (Fortran ``E`` or ``D`` exponents allowed, commas allowed as
  separators), optionally followed by trailer lines that start with a letter, as in Sloane's
  files (``min angle = ... between 15, 21``, ``date: Apr 3 1990``);
* text with one number per line, where d comes from ``dim=`` or from a file name
  ``pack.D.K.txt``;
* Sloane's integer form: a header line ``D K FLAG`` and then D*K integers in any layout,
  the coordinates scaled by a common factor (each row is normalized).

Lines starting with ``#`` and blank lines are ignored anywhere.  Rows whose norm differs
from 1 by at most :data:`spherecodes.sphere.UNIT_TOL` are renormalized; anything else that
is not a valid code raises :class:`CodeFormatError` with one sentence naming the file.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np

from spherecodes.errors import ParameterError
from spherecodes.validation import validate_code

__all__ = ["CodeFormatError", "read_code", "write_code", "name_shape"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.I)
_INT = re.compile(r"[+-]?\d+")
_SEP = re.compile(r"[\s,;]+")
_PACK_NAME = re.compile(r"pack\.(\d+)\.(\d+)(?:\.txt)?")
# Whitespace control characters are fine in text; any other one means binary data.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


class CodeFormatError(ValueError):
    """A code file that cannot be read as a valid code; the message names the file."""


class MissingDimensionError(CodeFormatError, ParameterError):
    """A file of one number per line, read without the dimension (parameter ``dim``)."""

    def __init__(self, name: str):
        """`name` is the file's name, as the message shows it."""
        template = (
            "{file}: the file has one number per line but no dimension: give {name} or "
            "name the file pack.D.K.txt"
        )
        ParameterError.__init__(self, "dim", template, file=name)


def name_shape(path) -> tuple[int, int] | None:
    """Return (d, K) from a file name of the form ``pack.D.K.txt``, else None."""
    m = _PACK_NAME.fullmatch(Path(path).name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def read_code(path, *, dim: int | None = None) -> np.ndarray:
    """Return the code stored in `path` as a float64 array of unit rows, shape (K, d).

    `dim` gives d for files with one number per line; where the file name
    (``pack.D.K.txt``) or the data also fix d, they must agree with it.  Raises
    :class:`CodeFormatError` (a ValueError) for anything that is not a valid code, and
    OSError (FileNotFoundError, IsADirectoryError, ...) when the file cannot be opened.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "pack.2.4.txt")
    >>> _ = open(p, "w").write("1\\n0\\n0\\n1\\n-1\\n0\\n0\\n-1\\n")
    >>> read_code(p).shape
    (4, 2)
    """
    path = Path(path)
    name = str(path)
    if dim is not None:
        if isinstance(dim, bool) or int(dim) != dim or dim < 2:
            raise CodeFormatError(f"{name}: dimension dim={dim!r} is invalid: need an integer >= 2")
        dim = int(dim)
    from_name = name_shape(path)
    if dim is not None and from_name is not None and from_name[0] != dim:
        raise CodeFormatError(
            f"{name}: the given dimension d={dim} conflicts with the file name, "
            f"which says d={from_name[0]}"
        )
    data = path.read_bytes()
    if not data:
        raise CodeFormatError(f"{name}: the file is empty")
    if data.startswith(_NPY_MAGIC):
        arr = _load_npy(name, data)
    elif data.startswith(_ZIP_MAGIC):
        arr = _load_npz(name, path)
    elif path.suffix.lower() in (".npy", ".npz"):
        raise CodeFormatError(
            f"{name}: the file has suffix {path.suffix} but is not a NumPy {path.suffix} file"
        )
    else:
        return _read_text(name, _decode(name, data), dim, from_name)
    return _finish_array(name, arr, dim, from_name)


def write_code(path, code) -> None:
    """Write `code` (K, d) to `path`: ``.npy``, ``.npz`` (one array ``code``), else text.

    Text has d numbers per row in Python's shortest round-trip form (``repr``), so
    :func:`read_code` gets back exactly the same float64 values.  The code is checked with
    :func:`spherecodes.sphere.validate_code` but written as given (not renormalized).  The
    file is replaced atomically.
    """
    path = Path(path)
    arr = np.asarray(code, dtype=np.float64)
    validate_code(arr, name="code")
    shape = name_shape(path)
    if shape is not None and shape != (arr.shape[1], arr.shape[0]):
        raise ValueError(
            f"file name {path.name} says d={shape[0]}, K={shape[1]} but the code has "
            f"shape (K, d)={arr.shape}"
        )
    suffix = path.suffix.lower()
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if suffix == ".npy":
                np.save(f, arr, allow_pickle=False)
            elif suffix == ".npz":
                np.savez(f, code=arr)
            else:
                text = "\n".join(" ".join(map(repr, row)) for row in arr.tolist()) + "\n"
                f.write(text.encode("ascii"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- binary formats -------------------------------------------------------------------------


def _load_npy(name: str, data: bytes) -> np.ndarray:
    try:
        return np.load(BytesIO(data), allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, EOFError, OSError... for bad files
        raise CodeFormatError(f"{name}: not a readable .npy file ({e})") from None


def _load_npz(name: str, path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            if len(keys) != 1:
                raise CodeFormatError(
                    f"{name}: the .npz file holds {len(keys)} arrays {keys}; expected exactly one"
                )
            arr = z[keys[0]]
    except CodeFormatError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CodeFormatError(f"{name}: not a readable .npz file ({e})") from None
    if not isinstance(arr, np.ndarray):  # a member that is not itself a .npy file
        raise CodeFormatError(f"{name}: not a readable .npz file (member {keys[0]!r} is not .npy)")
    return arr


def _finish_array(name: str, arr: np.ndarray, dim, from_name) -> np.ndarray:
    if arr.dtype.kind not in "iuf":
        raise CodeFormatError(
            f"{name}: the array has dtype {arr.dtype}; expected real numbers (float or int)"
        )
    if arr.ndim == 1 and dim is not None:
        arr = _reshape(name, arr, dim, from_name, "numbers")
    if arr.ndim != 2:
        raise CodeFormatError(
            f"{name}: the array has shape {arr.shape}; expected a 2-D array of shape (K, d)"
        )
    _check_shape(name, arr.shape, dim, from_name)
    return _validate(name, arr)


# --- text formats ---------------------------------------------------------------------------


def _decode(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is not part of the data
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if _CONTROL.search(text):
        raise CodeFormatError(
            f"{name}: unknown format: binary data that is neither a .npy nor a .npz file"
        )
    return text


def _read_text(name: str, text: str, dim, from_name) -> np.ndarray:
    rows: list[list[str]] = []  # tokens of each numeric line
    linenos: list[int] = []
    trailer_at = None  # line number of the first trailer line
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = [t for t in _SEP.split(line) if t]
        if tokens and all(_FLOAT.fullmatch(t) for t in tokens):
            if trailer_at is not None:
                raise CodeFormatError(
                    f"{name}: line {trailer_at} is text but numbers follow it on line {lineno}; "
                    "text is allowed only after the coordinates"
                )
            rows.append(tokens)
            linenos.append(lineno)
        elif line[0].isalpha():
            # Sloane's trailers ("min angle = ...", "date: ...") start with a word.
            if trailer_at is None:
                trailer_at = lineno
        else:
            shown = line if len(line) <= 40 else line[:37] + "..."
            raise CodeFormatError(f"{name}: line {lineno} is not a row of numbers: {shown!r}")
    if not rows:
        raise CodeFormatError(f"{name}: unknown format: the file contains no numbers")

    header = rows[0]
    rest = [t for r in rows[1:] for t in r]
    if (
        len(header) == 3
        and all(_INT.fullmatch(t) for t in header)
        and int(header[0]) >= 2
        and int(header[1]) >= 2
        and rest
        and all(_INT.fullmatch(t) for t in rest)
    ):
        return _read_integer_form(name, header, rest, dim, from_name)

    widths = {len(r) for r in rows}
    if len(widths) > 1:
        w0 = len(rows[0])
        i = next(i for i, r in enumerate(rows) if len(r) != w0)
        raise CodeFormatError(
            f"{name}: rows have different lengths: line {linenos[0]} has {w0} numbers "
            f"but line {linenos[i]} has {len(rows[i])}"
        )
    values = _to_float(name, [t for r in rows for t in r])
    if widths == {1}:
        d = dim if dim is not None else (from_name[0] if from_name else None)
        if d is None:
            raise MissingDimensionError(name)
        arr = _reshape(name, values, d, from_name, "numbers (one per line)")
    else:
        arr = values.reshape(len(rows), -1)
    _check_shape(name, arr.shape, dim, from_name)
    return _validate(name, arr)


def _read_integer_form(name, header, rest, dim, from_name) -> np.ndarray:
    D, K = int(header[0]), int(header[1])
    if len(rest) != D * K:
        raise CodeFormatError(
            f"{name}: the header 'D K FLAG' says D={D}, K={K}, so D*K={D * K} integers must "
            f"follow, but there are {len(rest)}"
        )
    arr = np.array([int(t) for t in rest], dtype=np.float64).reshape(K, D)
    _check_shape(name, arr.shape, dim, from_name)
    norms = np.linalg.norm(arr, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise CodeFormatError(f"{name} has zero row(s) {zero[:5].tolist()}")
    # Integer coordinates carry a common scale by design: normalize each row.
    return _validate(name, arr / norms[:, None])


def _to_float(name: str, tokens: list[str]) -> np.ndarray:
    # Fortran writes double-precision exponents with D (0.5D+00).
    return np.array([float(t.replace("D", "e").replace("d", "e")) for t in tokens])


def _reshape(name, values, d, from_name, what) -> np.ndarray:
    n = values.size
    if n % d:
        raise CodeFormatError(
            f"{name}: {n} {what} cannot form rows of d={d}: {n} is not a multiple of {d}"
        )
    return values.reshape(n // d, d)


def _check_shape(name, shape, dim, from_name) -> None:
    K, d = shape
    if dim is not None and d != dim:
        raise CodeFormatError(
            f"{name}: the given dimension d={dim} conflicts with the data, which has d={d}"
        )
    if from_name is not None and (d, K) != from_name:
        raise CodeFormatError(
            f"{name}: the file name says d={from_name[0]}, K={from_name[1]} (D*K="
            f"{from_name[0] * from_name[1]} numbers) but the data has d={d}, K={K}"
        )


def _validate(name: str, arr: np.ndarray) -> np.ndarray:
    try:
        return validate_code(arr, name=name)
    except ValueError as e:
        raise CodeFormatError(str(e)) from None
