"""Tests for spherecodes.congruence (is it the same code?) and `spherecodes compare`."""

import json
import math
import time

import numpy as np
import pytest

import spherecodes
from spherecodes import congruence, known
from spherecodes.cli import main
from spherecodes.congruence import (
    NOT_EQUIVALENT,
    UNDECIDED,
    UP_TO_RATTLERS,
    equivalent,
)
from spherecodes.io import write_code

EPS = np.finfo(np.float64).eps

#: Known codes below this K * d take well under a second each; above it they are slow-marked.
FAST_KD = 20_000


def _random_orthogonal(rng, d: int, det: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))  # Haar-distributed
    if round(np.linalg.det(q)) != det:
        q[:, 0] = -q[:, 0]
    return q


def _transformed(X, rng, det):
    """Return (Y, R, p) with Y = (X @ R)[p], R orthogonal of determinant det."""
    R = _random_orthogonal(rng, X.shape[1], det)
    p = rng.permutation(X.shape[0])
    return (X @ R)[p], R, p


def _rounding_bound(d: int) -> float:
    # Y = X R is rounded entrywise by at most gamma_d ~ d u (u = eps/2), i.e. by d^1.5 u per
    # row; Y Q adds as much again, and Q fitted to rounded data is off by the same order.  With
    # headroom for the SVD and the renormalization: residual <= 4 (d^1.5 + d) eps.
    return 4 * (d**1.5 + d) * EPS


def _check_alignment(X, Y, r):
    """The result's Q is orthogonal and X[i] = Y[perm[i]] Q within the reported residual."""
    d = X.shape[1]
    assert np.allclose(r.Q @ r.Q.T, np.eye(d), atol=8 * d * EPS)
    assert sorted(r.perm.tolist()) == list(range(X.shape[0]))
    err = np.max(np.linalg.norm(X - Y[r.perm] @ r.Q, axis=1))
    assert err == pytest.approx(r.residual, abs=4 * d * EPS)


_CODES = known.cohn_kumar_codes()


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.K * c.d > FAST_KD else [])
        for c in _CODES
        if c.name != "Leech minimal vectors"
    ],
)
@pytest.mark.parametrize("det", [1, -1])
def test_known_code_against_rotated_relabeled_copy(code, det):
    rng = np.random.default_rng(code.K * 1000 + code.d + det)
    X = code.build()
    Y, _, _ = _transformed(X, rng, det)
    r = equivalent(X, Y)
    assert r.verdict == "equivalent", r.detail
    assert r.equivalent and r.invariant == ""
    assert r.residual <= _rounding_bound(code.d)
    _check_alignment(X, Y, r)


@pytest.mark.slow
def test_leech_against_rotated_relabeled_copy():
    rng = np.random.default_rng(24)
    X = known.leech_minimal_vectors()
    Y, _, _ = _transformed(X, rng, -1)
    t0 = time.perf_counter()
    r = equivalent(X, Y)
    seconds = time.perf_counter() - t0
    print(f"Leech (196560 x 24) equivalence: {seconds:.1f} s")
    assert r.verdict == "equivalent", r.detail
    assert r.residual <= _rounding_bound(24)
    _check_alignment(X, Y, r)
    assert seconds < 60  # the budget on the 2-core CPU machine


def test_mirror_of_a_chiral_code_needs_det_minus_one():
    # A generic random code has no symmetry, so its mirror image is reached only by the
    # reflection used, with the relabeling used.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((20, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y, R, p = _transformed(X, rng, -1)
    r = equivalent(X, Y)
    assert r.verdict == "equivalent"
    assert np.linalg.det(r.Q) == pytest.approx(-1.0, abs=1e-12)
    # Y[j] = X[p[j]] R, so X[i] = Y[perm[i]] R^T with perm = p^-1.
    assert np.array_equal(p[r.perm], np.arange(20))
    assert np.allclose(r.Q, R.T, atol=1e-13)


def test_square_pyramid_is_not_the_triangular_bipyramid():
    pyramid = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]], float)
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    bipyramid = np.array([[0, 0, 1], [0, 0, -1], [1, 0, 0], [c, s, 0], [c, -s, 0]])
    for code in (pyramid, bipyramid):  # both have minimal angle 90 degrees
        g = code @ code.T
        np.fill_diagonal(g, -2)
        assert g.max() == pytest.approx(0.0, abs=1e-15)
    r = equivalent(pyramid, bipyramid)
    assert r.verdict == NOT_EQUIVALENT and not r.equivalent
    assert r.Q is None and r.perm is None and math.isnan(r.residual)
    # X^T X is diag(2, 2, 1) for the pyramid and diag(3/2, 3/2, 2) for the bipyramid.
    assert r.invariant == "frame_spectrum"
    assert "X: 1, Y: 1.5" in r.detail


def _icosahedron_with_moved_point(rng, shift):
    X = known.icosahedron()
    Y = X.copy()
    t = np.cross(Y[0], [0.3, 0.5, 0.7])
    Y[0] += shift * t / np.linalg.norm(t)  # tangent move by `shift`, then back to the sphere
    Y[0] /= np.linalg.norm(Y[0])
    return X, Y


def test_one_point_moved_by_1e6():
    rng = np.random.default_rng(7)
    X, moved = _icosahedron_with_moved_point(rng, 1e-6)
    # The largest change of an inner product bounds every alignment's residual r from below:
    # |<x_i,x_j> - <y_i,y_j>| <= 2 r + r^2.
    delta = np.max(np.abs(X @ X.T - moved @ moved.T))
    Y, _, _ = _transformed(moved, rng, 1)
    r = equivalent(X, Y)
    assert r.verdict == NOT_EQUIVALENT
    assert r.invariant in ("frame_spectrum", "point_sums", "inner_products", "point_profile")
    r = equivalent(X, Y, tol=1e-5)
    assert r.verdict == "equivalent", r.detail
    assert math.sqrt(1 + delta) - 1 - 1e-15 <= r.residual <= 1e-5
    _check_alignment(X, Y, r)


def _hexagon_with_poles():
    """Six points on the equator (minimal angle 60 degrees) and both poles, whose nearest
    neighbours are 90 degrees away: the poles are rattlers."""
    ring = [[math.cos(math.pi * k / 3), math.sin(math.pi * k / 3), 0.0] for k in range(6)]
    return np.array(ring + [[0, 0, 1.0], [0, 0, -1.0]])


def _tilt_north(X, degrees):
    Y = X.copy()
    a = math.radians(degrees)
    Y[6] = [0.6 * math.sin(a), 0.8 * math.sin(a), math.cos(a)]
    return Y


def test_rattler_moved_inside_its_cage():
    rng = np.random.default_rng(11)
    X = _hexagon_with_poles()
    # Tilting the north pole by 5 degrees keeps it 85 > 60 degrees from the ring.
    Y, _, _ = _transformed(_tilt_north(X, 5.0), rng, 1)
    r = equivalent(X, Y)
    assert r.verdict == UP_TO_RATTLERS and r.equivalent
    assert r.rattlers.tolist() == [6, 7]
    assert r.invariant != ""  # the whole codes differ
    assert r.residual <= _rounding_bound(3)  # over the non-rattlers
    # The moved pole is a chord 2 sin(2.5 deg) from where it was; the other pole stays.
    assert r.rattler_shift == pytest.approx(2 * math.sin(math.radians(2.5)), abs=1e-12)
    ring = np.arange(6)
    assert np.max(np.linalg.norm(X[ring] - Y[r.perm[ring]] @ r.Q, axis=1)) == pytest.approx(
        r.residual, abs=1e-15
    )


def test_rattler_leaving_its_cage_or_a_moved_contact_is_not_equivalent():
    rng = np.random.default_rng(12)
    X = _hexagon_with_poles()
    # Tilted by 45 degrees the pole comes within 45 < 60 degrees of the ring.
    Y, _, _ = _transformed(_tilt_north(X, 45.0), rng, 1)
    assert equivalent(X, Y).verdict == NOT_EQUIVALENT
    # A ring point moved by 1e-3 rad is a change of the rigid part, whatever the rattlers do.
    Z = _tilt_north(X, 5.0)
    Z[0] = [math.cos(1e-3), math.sin(1e-3), 0.0]
    assert equivalent(X, Z).verdict == NOT_EQUIVALENT


def _dodecahedron():
    phi = (1 + math.sqrt(5)) / 2
    pts = [(a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
    for s1 in (-1, 1):
        for s2 in (-1, 1):
            pts += [(0, s1 / phi, s2 * phi), (s1 / phi, s2 * phi, 0), (s2 * phi, 0, s1 / phi)]
    pts = np.array(pts, dtype=np.float64)
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def test_same_invariants_but_no_alignment():
    # Two 8-point subsets of the dodecahedron's vertices with the same multiset of inner
    # products, per-point profiles and frame spectrum, which are not congruent: only the
    # alignment search can tell.
    D = _dodecahedron()
    X, Y = D[[0, 1, 2, 4, 8, 12, 15, 17]], D[[0, 1, 2, 4, 8, 13, 16, 17]]
    iu = np.triu_indices(8, 1)
    assert np.allclose(np.sort((X @ X.T)[iu]), np.sort((Y @ Y.T)[iu]), atol=1e-14)
    r = equivalent(X, Y)
    assert r.verdict == NOT_EQUIVALENT
    assert r.invariant == "alignment", r.detail


def test_search_budget_gives_undecided():
    rng = np.random.default_rng(8)
    X = known.e8_roots()
    Y, _, _ = _transformed(X, rng, 1)
    r = equivalent(X, Y, max_tries=3)  # a basis of E8 needs 8 images
    assert r.verdict == UNDECIDED and not r.equivalent
    assert r.invariant == "alignment" and "budget" in r.detail


def test_different_sizes_are_not_equivalent():
    r = equivalent(known.kgon(5), known.kgon(6))
    assert (r.verdict, r.invariant) == (NOT_EQUIVALENT, "K")
    assert "K=5" in r.detail and "K=6" in r.detail
    r = equivalent(known.simplex(4, 3), known.simplex(4, 4))
    assert (r.verdict, r.invariant) == (NOT_EQUIVALENT, "d")
    assert "d=3" in r.detail and "d=4" in r.detail


@pytest.mark.parametrize(
    "X, Y, kw, pattern",
    [
        (np.array([[1.0, 0.0], [np.nan, 1.0]]), np.eye(2), {}, "X has NaN"),
        (np.eye(2), np.array([[1.1, 0.0], [0.0, 1.0]]), {}, "Y row 0 has norm 1.1"),
        (np.eye(2)[:1], np.eye(2), {}, "X has K=1 rows"),
        (np.eye(2), np.eye(2), {"tol": 0.0}, "tol=0.0 is out of range"),
        (np.eye(2), np.eye(2), {"tol": float("nan")}, "tol=nan is out of range"),
        (np.eye(2), np.eye(2), {"max_tries": 0}, "max_tries=0 is out of range"),
    ],
)
def test_bad_input_raises_naming_the_argument(X, Y, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        equivalent(X, Y, **kw)


def test_exported_from_the_package():
    assert spherecodes.equivalent is congruence.equivalent
    assert spherecodes.Congruence is congruence.Congruence


# --- spherecodes compare --------------------------------------------------------------------


def _files(tmp_path):
    rng = np.random.default_rng(3)
    X = known.icosahedron()
    Y, _, _ = _transformed(X, rng, -1)
    paths = {
        "ico": tmp_path / "ico.txt",
        "ico_moved": tmp_path / "ico_moved.npy",
        "pyramid": tmp_path / "pack.3.5.txt",
        "bipyramid": tmp_path / "bipyramid.npy",
        "square": tmp_path / "square.txt",
    }
    write_code(paths["ico"], X)
    np.save(paths["ico_moved"], Y)
    write_code(paths["pyramid"], np.vstack([[0, 0, 1.0], np.eye(3)[:2], -np.eye(3)[:2]]))
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    np.save(paths["bipyramid"], np.array([[0, 0, 1], [0, 0, -1], [1, 0, 0], [c, s, 0], [c, -s, 0]]))
    write_code(paths["square"], known.kgon(4))
    return paths


def test_compare_equivalent_exits_0(tmp_path, capsys):
    f = _files(tmp_path)
    assert main(["compare", str(f["ico"]), str(f["ico_moved"])]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("equivalent: residual ")
    assert "det Q = " in lines[0]  # +1 or -1: -I is a symmetry of the icosahedron


def test_compare_not_equivalent_exits_1(tmp_path, capsys):
    f = _files(tmp_path)
    assert main(["compare", str(f["pyramid"]), str(f["bipyramid"])]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert out.strip().splitlines() == [out.strip()]
    assert out.startswith("not equivalent: frame_spectrum differs")
    # Codes of different sizes are a verdict, not bad input.
    assert main(["compare", str(f["ico"]), str(f["square"])]) == 1
    assert "not equivalent: K differs" in capsys.readouterr().out


def test_compare_json(tmp_path, capsys):
    f = _files(tmp_path)
    assert main(["compare", str(f["ico"]), str(f["ico_moved"]), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["verdict"] == "equivalent" and r["equivalent"] is True
    assert r["residual"] <= _rounding_bound(3)
    assert r["det_Q"] in (1, -1) and np.array(r["Q"]).shape == (3, 3)
    assert sorted(r["perm"]) == list(range(12))
    assert main(["compare", str(f["pyramid"]), str(f["bipyramid"]), "--json", "--tol", "1e-6"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["verdict"] == "not equivalent" and r["residual"] is None
    assert r["invariant"] == "frame_spectrum" and r["Q"] is None and r["tol"] == 1e-6


@pytest.mark.parametrize(
    "argv_tail, pattern",
    [
        (["missing.txt", "ico.txt"], "missing.txt: no such file"),
        (["ico.txt", "nan.txt"], "NaN"),
        (["ico.txt", "ico.txt", "--tol", "0"], "--tol=0.0 is out of range"),
        (["ico.txt", "ico.txt", "--tol", "abc"], "--tol"),
        (["ico.txt"], "B"),
    ],
)
def test_compare_bad_input_exits_2_with_one_line(tmp_path, capsys, argv_tail, pattern):
    _files(tmp_path)
    (tmp_path / "nan.txt").write_text("nan 0 0\n0 1 0\n0 0 1\n")
    rc = main(["compare", *[str(tmp_path / a) if a.endswith(".txt") else a for a in argv_tail]])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("spherecodes compare: error: ")
    assert pattern in lines[0]
