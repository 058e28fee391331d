"""Tests for spherecodes.io: every format variant, exact round trips, and every bad input."""

import csv
import math
import zipfile

import errbounds as eb
import numpy as np
import pytest

from spherecodes import measures
from spherecodes.io import CodeFormatError, name_shape, read_code, write_code
from spherecodes.sphere import validate_code

# The regular octahedron and a random code used as fixtures throughout.
OCTA = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)


def _random_code(K=7, d=4, seed=0):
    x = np.random.default_rng(seed).normal(size=(K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _write(path, text):
    path.write_text(text)
    return path


# --- the reference files ------------------------------------------------------------------


def _best_known(ref_data):
    with open(ref_data / "tammes_d3_best_known.csv") as f:
        return {int(r["K"]): float(r["best_known_min_angle_deg"]) for r in csv.DictReader(f)}


def test_every_sloane_file_matches_best_known_angle(ref_data):
    best = _best_known(ref_data)
    files = sorted((ref_data / "sloane_d3").glob("pack.3.*.txt"))
    assert len(files) >= 20
    for f in files:
        d, K = name_shape(f)
        code = read_code(f)
        assert code.shape == (K, 3), f.name
        assert code.dtype == np.float64
        # rows are renormalized on reading: unit to float64 rounding
        np.testing.assert_allclose(np.linalg.norm(code, axis=1), 1.0, rtol=0, atol=eb.unit_norm(3))
        # The CSV gives 7 decimals, so agreement to 1e-6 degrees is the most it can show.
        assert abs(float(measures.min_angle_deg(code)) - best[K]) < 1e-6, f.name


def test_sloane_file_with_trailers_and_dim(ref_data):
    f = ref_data / "sloane_d3" / "pack.3.24.txt"
    assert "date:" in f.read_text()  # the file really has trailer lines
    assert read_code(f, dim=3).shape == (24, 3)
    with pytest.raises(CodeFormatError, match="conflicts"):
        read_code(f, dim=4)


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".txt", ".dat"])
def test_round_trip_is_exact(tmp_path, suffix):
    code = _random_code(K=9, d=5, seed=1)
    path = tmp_path / f"code{suffix}"
    write_code(path, code)
    back = read_code(path)
    # Text is written in shortest round-trip form, so the bits survive; reading only
    # renormalizes, exactly as validate_code does on the original.
    np.testing.assert_array_equal(back, validate_code(code))
    # renormalizing rows that are unit to rounding moves entries <= 1 by unit_norm(5) relative
    np.testing.assert_allclose(back, code, rtol=0, atol=eb.unit_norm(5))


def test_round_trip_text_extreme_values(tmp_path):
    # tiny, negative zero and values needing all 17 digits
    code = np.array([[1.0, -0.0, 1e-300], [0.1, math.sqrt(1 - 0.01), -0.0], [0.6, -0.8, 0.0]])
    path = tmp_path / "c.txt"
    write_code(path, code)
    np.testing.assert_array_equal(read_code(path), validate_code(code))


def test_write_code_names_and_validation(tmp_path):
    write_code(tmp_path / "pack.3.6.txt", OCTA)
    np.testing.assert_array_equal(read_code(tmp_path / "pack.3.6.txt"), OCTA)
    with pytest.raises(ValueError, match="file name pack.3.7.txt"):
        write_code(tmp_path / "pack.3.7.txt", OCTA)
    with pytest.raises(ValueError, match="norm"):
        write_code(tmp_path / "bad.txt", 2 * OCTA)
    assert not (tmp_path / "bad.txt").exists()
    assert not list(tmp_path.glob("*.tmp"))  # no temporary left behind


# --- format variants ----------------------------------------------------------------------


def _one_per_line(code):
    return "\n".join(repr(v) for v in code.ravel().tolist()) + "\n"


def test_one_per_line_with_dim(tmp_path):
    code = _random_code(K=6, d=4)
    p = _write(tmp_path / "code.txt", _one_per_line(code))
    np.testing.assert_array_equal(read_code(p, dim=4), validate_code(code))
    # with d=3 the 24 numbers make 8 rows of 3 that are not unit vectors
    with pytest.raises(CodeFormatError, match="norm"):
        read_code(p, dim=3)
    with pytest.raises(CodeFormatError, match="multiple of 5"):
        read_code(p, dim=5)


def test_one_per_line_with_pack_name(tmp_path):
    code = _random_code(K=5, d=4)
    p = _write(tmp_path / "pack.4.5.txt", _one_per_line(code))
    np.testing.assert_array_equal(read_code(p), validate_code(code))
    np.testing.assert_array_equal(read_code(p, dim=4), validate_code(code))


def test_one_per_line_without_dimension(tmp_path):
    p = _write(tmp_path / "code.txt", _one_per_line(OCTA))
    with pytest.raises(CodeFormatError, match="no dimension: give dim or"):
        read_code(p)


def test_rows_with_fortran_e_and_d_notation_and_trailers(tmp_path):
    text = (
        "# a comment line\n"
        "  0.100000000000E+01  0.0D+00  0.000000000000E+00\n"
        " -0.1D+01, 0.0, 0.0\n"
        "  0.0  1.0d0  0.0\n"
        "  0.0 -1.0e+00  0.0\n"
        "  0.0  0.0 .1E1\n"
        "\n"
        "  0.0  0.0 -1.\n"
        "  min norm = 1.4142135623730950488E+0 between 1,  3\n"
        "  min angle = 9.0000000000000000000E+1 between 1,  3\n"
        "  secant = 1.0\n"
        "date: Apr 3 1990\n"
    )
    p = _write(tmp_path / "pack.3.6.txt", text)
    np.testing.assert_array_equal(read_code(p), OCTA)
    q = _write(tmp_path / "octa.txt", text)
    np.testing.assert_array_equal(read_code(q, dim=3), OCTA)


def test_crlf_tabs_and_byte_order_mark(tmp_path):
    text = "\ufeff1.0\t0.0\t0.0\r\n0.0\t1.0\t0.0\r\n0 0 1\r\n\r\ndate: Apr 3 1990\r\n"
    p = tmp_path / "c.txt"
    p.write_bytes(text.encode("utf-8"))
    np.testing.assert_array_equal(read_code(p), np.eye(3))


def test_rows_renormalize_within_tolerance(tmp_path):
    code = OCTA * (1 + 5e-7)
    p = _write(tmp_path / "c.txt", "\n".join(" ".join(map(repr, r)) for r in code.tolist()))
    # one nonzero entry per row: a 1-term sum of squares, a sqrt and a division (unit_norm(1))
    np.testing.assert_allclose(read_code(p), OCTA, rtol=0, atol=eb.unit_norm(1))


def test_sloane_integer_form(tmp_path):
    # The cube's vertices (+-1, +-1, +-1) scaled by 7, in a ragged whitespace layout;
    # normalizing: 147 is exact, then a sqrt and a division; the reference 1/sqrt(3) the same
    # (formula(2) at magnitude 1/sqrt 3).
    tol = eb.formula(2, 1 / math.sqrt(3))
    cube = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    ints = (7 * cube).astype(int).ravel().tolist()
    body = " ".join(map(str, ints[:5])) + "\n" + "\n".join(map(str, ints[5:11])) + "\n"
    body += "  ".join(map(str, ints[11:])) + "\n"
    p = _write(tmp_path / "cube.txt", "3 8 0\n" + body)
    np.testing.assert_allclose(read_code(p), cube / math.sqrt(3), rtol=0, atol=tol)
    q = _write(tmp_path / "pack.3.8.txt", "3 8 1\n" + body)
    np.testing.assert_allclose(read_code(q, dim=3), cube / math.sqrt(3), rtol=0, atol=tol)
    # The angle of the cube: arccos(1/3).
    assert float(measures.min_angle_deg(read_code(p))) == pytest.approx(
        math.degrees(math.acos(1 / 3)), abs=eb.angle_deg(3, 1 / 3) + eb.formula(6, 180.0)
    )


def test_integer_rows_are_not_mistaken_for_a_header(tmp_path):
    # An integer octahedron written one row per line: its first row "1 0 0" is no header.
    text = "\n".join(" ".join(str(int(v)) for v in r) for r in OCTA) + "\n"
    np.testing.assert_array_equal(read_code(_write(tmp_path / "o.txt", text)), OCTA)


def test_npz_with_one_array_and_int_npy(tmp_path):
    np.savez(tmp_path / "a.npz", whatever=OCTA)
    np.testing.assert_array_equal(read_code(tmp_path / "a.npz"), OCTA)
    np.save(tmp_path / "i.npy", OCTA.astype(np.int64))
    np.testing.assert_array_equal(read_code(tmp_path / "i.npy"), OCTA)
    np.save(tmp_path / "flat.npy", OCTA.ravel())
    np.testing.assert_array_equal(read_code(tmp_path / "flat.npy", dim=3), OCTA)
    with pytest.raises(CodeFormatError, match="shape"):
        read_code(tmp_path / "flat.npy")


# --- bad input ----------------------------------------------------------------------------


def _rows(code):
    return "\n".join(" ".join(map(repr, r)) for r in np.asarray(code).tolist()) + "\n"


BAD_TEXT = {
    "norm": (_rows(OCTA * np.array([[1.0], [1], [1], [1 + 2e-6], [1], [1]])), "row 3 has norm"),
    "nan": (_rows(OCTA).replace("-1.0", "nan", 1), "NaN or infinite"),
    "inf": ("1.0 0.0\n0.0 inf\n", "NaN or infinite"),
    "overflow": ("1.0 0.0\n0.0 1e999\n", "NaN or infinite"),
    "zero_row": ("1.0 0.0\n0.0 0.0\n0.0 1.0\n", "zero row"),
    "ragged": ("1.0 0.0 0.0\n0.0 1.0\n", "different lengths"),
    "garbage_middle": ("1.0 0.0\n0.0 1.0\nhello\n-1.0 0.0\n", "numbers follow"),
    "garbage_symbols": ("1.0 0.0\n?? 1.0\n", "line 2 is not a row of numbers"),
    "number_then_letters": ("1.0 0.0\n0.0 1.0x\nmin angle = 90\n", "line 2 is not a row"),
    "empty": ("", "empty"),
    "only_text": ("date: Apr 3 1990\n", "no numbers"),
    "single_row": ("1.0 0.0 0.0\n", "K=1"),
    "header_count": ("3 4 0\n1 0 0\n0 1 0\n0 0 1\n", r"D\*K=12 integers.*there are 9"),
    "header_zero_row": ("2 3 0\n1 0\n0 0\n0 5\n", "zero row"),
}


@pytest.mark.parametrize("case", sorted(BAD_TEXT))
def test_bad_text_input(tmp_path, case):
    text, pattern = BAD_TEXT[case]
    p = _write(tmp_path / f"{case}.txt", text)
    with pytest.raises(CodeFormatError, match=pattern) as info:
        read_code(p)
    msg = str(info.value)
    assert str(p) in msg  # the message names the file
    assert "\n" not in msg  # one line


def test_count_must_fit_the_name_or_dim(tmp_path):
    # 15 numbers one per line: not a multiple of 4, and not D*K for pack.3.6
    p = _write(tmp_path / "code.txt", _one_per_line(OCTA)[: -len("-1.0\n")] + "")
    with pytest.raises(CodeFormatError, match="not a multiple of 4"):
        read_code(p, dim=4)
    q = _write(tmp_path / "pack.3.6.txt", _one_per_line(OCTA[:5]))
    with pytest.raises(CodeFormatError, match="file name says d=3, K=6"):
        read_code(q)
    r = _write(tmp_path / "pack.3.5.txt", _rows(OCTA))
    with pytest.raises(CodeFormatError, match="file name says d=3, K=5"):
        read_code(r)


def test_conflicting_dim(tmp_path):
    p = _write(tmp_path / "pack.3.6.txt", _one_per_line(OCTA))
    with pytest.raises(CodeFormatError, match="d=2 conflicts with the file name"):
        read_code(p, dim=2)
    q = _write(tmp_path / "o.txt", _rows(OCTA))
    with pytest.raises(CodeFormatError, match="d=4 conflicts with the data"):
        read_code(q, dim=4)
    r = _write(tmp_path / "h.txt", "3 6 0\n" + _rows(OCTA.astype(int)).replace(".0", ""))
    np.testing.assert_array_equal(read_code(r), OCTA)
    with pytest.raises(CodeFormatError, match="d=2 conflicts with the data"):
        read_code(r, dim=2)
    with pytest.raises(CodeFormatError, match="dim=1 is invalid"):
        read_code(q, dim=1)


def test_binary_junk_and_bad_numpy_files(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CodeFormatError, match="unknown format: binary"):
        read_code(junk)
    fake = tmp_path / "fake.npy"
    fake.write_text("1 0\n0 1\n")
    with pytest.raises(CodeFormatError, match="not a NumPy .npy file"):
        read_code(fake)
    truncated = tmp_path / "t.npy"
    np.save(truncated, OCTA)
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(CodeFormatError, match="not a readable .npy"):
        read_code(truncated)
    np.savez(tmp_path / "two.npz", a=OCTA, b=OCTA)
    with pytest.raises(CodeFormatError, match="holds 2 arrays"):
        read_code(tmp_path / "two.npz")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(CodeFormatError, match="dtype"):
        read_code(tmp_path / "s.npy")
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        z.writestr("code.npy", b"not numpy")
    with pytest.raises(CodeFormatError, match="not a readable .npz"):
        read_code(tmp_path / "z.npz")
    np.save(tmp_path / "nan.npy", np.array([[1.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(CodeFormatError, match="NaN"):
        read_code(tmp_path / "nan.npy")


def test_missing_file_and_directory_raise_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_code(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError):
        read_code(tmp_path)


def test_name_shape():
    assert name_shape("/x/pack.3.24.txt") == (3, 24)
    assert name_shape("pack.10.200") == (10, 200)
    assert name_shape("mypack.3.24.txt") is None
    assert name_shape("pack.3.24.npy") is None
