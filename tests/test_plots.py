"""Tests of spherecodes.plots and tables.gnc.figure12_rows: every figure kind renders from a table
written by the real pipeline (run_sweep, figure12_rows with tiny budgets), images have the
promised pixel size, bound curves sit where the mathematics puts them, the code view draws the
measures its row holds (never recomputing them), bad input is refused, and nothing on the
plotting path imports JAX or a solver."""

from __future__ import annotations

import ast
import math
import pathlib

import errbounds as eb
import numpy as np
import pytest
from matplotlib.image import imread

from spherecodes import bounds, measures, plots, report, tables
from spherecodes.plots.code import CONTACT_TOL_DEG
from spherecodes.tables import gnc
from spherecodes.tables.sweep import run_sweep
from spherecodes.validation import validate_code

SWEEP_COMMAND = "spherecodes sweep --objective tammes --d 2,3 --K 5,7 --restarts 4 --steps 200"
FIG12_COMMAND = "figure12_rows(taus=(0.5, 0.1), restarts=4, steps=200)"
# Best known (proven optimal) minimal angle of 7 points on S^2 (Sloane's table, tests/data).
TAMMES_3_7_DEG = 77.8695421


@pytest.fixture(scope="session")
def sweep_table(tmp_path_factory):
    """A real sweep table: tammes codes for d in {2, 3}, K in {5, 7}, solved with a tiny budget."""
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(
        ["tammes"], [2, 3], [5, 7], out, restarts=4, steps=200, quiet=True, command=SWEEP_COMMAND
    )
    return out / "results.csv"


POINT_COLUMNS = ("tammes_rattler_points", "softmax_rattler_points")


@pytest.fixture(scope="session")
def code_table(sweep_table):
    """The sweep table: its rows carry the rattler points `spherecodes sweep` measured."""
    return sweep_table


def test_sweep_rows_carry_the_rattler_points_of_their_codes(sweep_table):
    """The columns plot_code draws are report.measure_code's indices of the row's code file."""
    for r in tables.read_table(sweep_table):
        m = report.measure_code(np.load(sweep_table.parent / r["code_file"]))
        assert r["tammes_rattler_points"] == m["tammes_rattlers"]
        assert r["softmax_rattler_points"] == m["softmax_rattlers"]
        assert r["tammes_rattlers"] == len(m["tammes_rattlers"])


@pytest.fixture(scope="session")
def fig12_table(tmp_path_factory):
    """A real Figure 12 table (d = 3, K = 7) at two temperatures, written as the
    `spherecodes table gnc-figures` command writes it."""
    path = tmp_path_factory.mktemp("fig12") / "figure12.csv"
    rows = gnc.figure12_rows(path.parent / "codes", (0.5, 0.1), restarts=4, steps=200)
    meta = tables.provenance(FIG12_COMMAND, started=tables.now(), wall_seconds=0.0)
    return tables.write_table_and_sidecar(path, rows, tables.FIGURE12_COLUMNS, meta)


def _size(fig):
    """Return the (height, width) in pixels that a figure saves at."""
    w, h = fig.get_size_inches()
    return round(h * fig.dpi), round(w * fig.dpi)


CASES = [
    ("bounds", {"K": 7}, (9.0, 6.0)),
    ("bounds-K", {"d": 3}, (9.0, 6.0)),
    ("grid", {}, (16.0, 5.5)),
    ("code", {"d": 2, "K": 5}, (7.0, 7.6)),
    ("code", {"d": 3, "K": 7}, (15.0, 6.0)),
]


@pytest.mark.parametrize(("kind", "opts", "figsize"), CASES, ids=[f"{k}-{o}" for k, o, _ in CASES])
def test_sweep_kinds_render_png_of_expected_size(request, tmp_path, kind, opts, figsize):
    table = request.getfixturevalue("code_table" if kind == "code" else "sweep_table")
    out = plots.render(table, kind, tmp_path / f"{kind}.png", dpi=50, **opts)
    img = imread(out)
    assert img.shape[:2] == (round(figsize[1] * 50), round(figsize[0] * 50))
    assert float(np.std(img[..., :3])) > 0.01  # something was drawn, not a blank canvas


def test_tau_renders_png_of_expected_size(fig12_table, tmp_path):
    out = plots.render(fig12_table, "tau", tmp_path / "tau.png", dpi=40, figsize=(10, 4))
    img = imread(out)
    assert img.shape[:2] == (160, 400)
    assert float(np.std(img[..., :3])) > 0.01


def test_default_output_path_is_beside_the_table(sweep_table):
    out = plots.render(sweep_table, "bounds", dpi=30)
    assert out == sweep_table.with_name("results_bounds.png")
    assert out.stat().st_size > 0


@pytest.mark.parametrize(
    ("kind", "ext", "magic"), [("bounds-K", ".svg", b"<svg"), ("grid", ".pdf", b"%PDF")]
)
def test_vector_formats(sweep_table, tmp_path, kind, ext, magic):
    out = plots.render(sweep_table, kind, tmp_path / f"fig{ext}")
    head = out.read_bytes()[:2000]
    assert magic in head


def test_table_lacking_columns_names_table_kind_and_columns(sweep_table, tmp_path):
    rows = tables.read_table(sweep_table)
    cols = [c for c in tables.SWEEP_COLUMNS if c not in ("rho_1vr", "code_file")]
    bad = tables.write_table(tmp_path / "thin.csv", rows, cols)
    for kind, missing in (("bounds", "rho_1vr"), ("grid", "rho_1vr"), ("code", "code_file")):
        with pytest.raises(ValueError, match=kind) as e:
            plots.render(bad, kind, tmp_path / "x.png")
        assert str(bad) in str(e.value) and missing in str(e.value)
    with pytest.raises(ValueError, match="'tau'.*ce_min_angle_deg"):
        plots.render(sweep_table, "tau", tmp_path / "x.png")


def test_bad_kind_extension_and_option_are_refused(sweep_table, tmp_path):
    with pytest.raises(ValueError, match="unknown: choose from bounds, bounds-K, grid, tau, code"):
        plots.render(sweep_table, "histogram")
    with pytest.raises(ValueError, match=r"\.jpg"):
        plots.render(sweep_table, "bounds", tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="unknown option.*colour"):
        plots.render(sweep_table, "bounds", tmp_path / "x.png", colour="red")
    with pytest.raises(ValueError, match="K=11"):
        plots.render(sweep_table, "bounds", tmp_path / "x.png", K=11)
    with pytest.raises(ValueError, match="does not exist"):
        plots.render(tmp_path / "nowhere.csv", "bounds")


def _line(ax, label_part):
    lines = [ln for ln in ax.get_lines() if label_part in ln.get_label()]
    assert len(lines) == 1, [ln.get_label() for ln in ax.get_lines()]
    return lines[0]


@pytest.mark.parametrize("axis", ["d", "K"])
def test_bound_curves_sit_where_the_theorems_put_them(sweep_table, axis):
    rows = tables.read_table(sweep_table)
    fig = plots.plot_bounds(rows, K=7) if axis == "d" else plots.plot_bounds_K(rows, d=3)
    ax = fig.axes[0]
    x_up, y_up = _line(ax, "Thm 3.9 upper").get_data()
    x_lo, y_lo = _line(ax, "Thm 3.9 lower").get_data()
    x_lev, y_lev = _line(ax, "Levenshtein").get_data()
    x_1vr, y_1vr = _line(ax, r"\rho_{1vr}$ of solved").get_data()
    x_1v1, y_1v1 = _line(ax, r"\rho_{1v1}$ of solved").get_data()
    assert np.all(y_lo < y_up)
    for x, r1r, r11 in zip(x_1vr, y_1vr, y_1v1, strict=True):
        up = np.interp(x, x_up, y_up)
        lev = np.interp(x, x_lev, y_lev)
        d, K = (int(x), 7) if axis == "d" else (3, int(x))
        # Theorem 3.9's upper bound: exp of a sum of logs and lgammas (eb.exp_of_sum, relative)
        scale = abs(math.lgamma((d + 1) / 2)) + abs(math.lgamma(d / 2)) + math.log(K) + 2
        up_rel = eb.exp_of_sum(6, scale, 1 / (d - 1))
        # Upper bounds hold for every code: the measured rho_1vr is within its reported gap of
        # the truth (eb.reported_gap); Theorem C.11 puts rho_1vr below rho_1v1 (eb.c11_slack).
        assert r1r <= up + eb.reported_gap(K, d) + up_rel * up
        assert r11 <= lev + 1e-9
        assert r1r <= r11 + eb.c11_slack(K, d)
        # The curves are the bounds module's values, as chord distances (two evaluations of
        # each: the plot's and this one).
        assert up == pytest.approx(bounds.theorem39(d, K).upper, rel=2 * up_rel)
        assert lev == pytest.approx(
            2 * math.sin(math.radians(bounds.levenshtein_min_angle_deg(d, K)) / 2),
            rel=0,
            abs=2 * eb.formula(8, 2.0),  # 2 sin(radians / 2): 4 roundings and sin, <= 2
        )
    caption = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "K = 7" in caption if axis == "d" else "d = 3" in caption


def test_caption_carries_the_sidecar_command(sweep_table, tmp_path):
    svg = plots.render(sweep_table, "bounds", tmp_path / "b.svg").read_text()
    assert "--restarts 4" in svg and "results.csv" in svg and "K = 7" in svg


def test_code_plot_shows_the_pentagon_contacts(code_table):
    # The optimal 5 points on a circle are the regular pentagon: 5 contacts, no rattler.
    rows = tables.read_table(code_table)
    fig = plots.plot_code(rows, base_dir=code_table.parent, d=2, K=5)
    ax = fig.axes[0]
    contacts = [ln for ln in ax.get_lines() if ln.get_color() == "tab:green"]
    assert len(contacts) == 5
    assert "5 contacts, 0 Tammes and 0 softmax rattlers" in ax.get_title()
    labels = [c.get_label() for c in ax.collections]
    assert "Tammes rattler (no contact)" not in labels


def _marked(ax, label):
    """Return the points of the scatter collection labelled `label` (empty when absent)."""
    found = [c.get_offsets() for c in ax.collections if c.get_label() == label]
    return np.asarray(found[0]) if found else np.zeros((0, 2))


# Five points on the circle at 0, 60, 120, 180 and 270 degrees: gaps 60, 60, 60, 90, 90, so the
# minimal angle is 60 degrees and the point at 270 degrees (index 4), whose nearest neighbours
# are 90 degrees away, touches no other point: the one Tammes rattler.
RATTLER_ANGLES_DEG = (0.0, 60.0, 120.0, 180.0, 270.0)


@pytest.fixture
def rattler_row(tmp_path):
    """A hand-written sweep row for the code above, its measures from report.measure_code."""
    t = np.radians(RATTLER_ANGLES_DEG)
    np.save(tmp_path / "c.npy", np.stack([np.cos(t), np.sin(t)], axis=1))
    m = report.measure_code(np.load(tmp_path / "c.npy"))
    row = {
        "objective": "tammes",
        "d": 2,
        "K": 5,
        "rho_1v1": m["rho_1v1"],
        "rho_1vr": m["rho_1vr"],
        "min_angle_deg": m["min_angle_deg"],
        "tammes_rattler_points": m["tammes_rattlers"],
        "softmax_rattler_points": m["softmax_rattlers"],
        "code_file": "c.npy",
    }
    return row, tmp_path


def test_code_plot_marks_the_rattlers_its_row_lists(rattler_row):
    row, base = rattler_row
    code = validate_code(np.load(base / "c.npy"))  # the rows plot_code draws, renormalized
    assert row["tammes_rattler_points"] == [4]  # the measurement agrees with the geometry
    # The same cell as a list (read_table of a table with typed columns) or as the JSON text
    # "[4]" (a CSV read back as text) draws the same figure.
    for form in (list, lambda v: str(list(v))):
        r = {**row, **{c: form(row[c]) for c in POINT_COLUMNS}}
        ax = plots.plot_code([r], base_dir=base).axes[0]
        np.testing.assert_array_equal(_marked(ax, "Tammes rattler (no contact)"), code[[4]])
        soft = _marked(ax, "softmax rattler")
        np.testing.assert_array_equal(soft, code[row["softmax_rattler_points"]])
        # Contacts: the 3 pairs 60 degrees apart (within CONTACT_TOL_DEG of the minimum).
        assert "60 deg,\n3 contacts, 1 Tammes and" in ax.get_title()
    # The markers are the row's, not a measurement: a row naming other points marks those.
    r = {**row, "tammes_rattler_points": [0, 2], "softmax_rattler_points": "[1]"}
    ax = plots.plot_code([r], base_dir=base).axes[0]
    np.testing.assert_array_equal(_marked(ax, "Tammes rattler (no contact)"), code[[0, 2]])
    np.testing.assert_array_equal(_marked(ax, "softmax rattler"), code[[1]])
    assert "2 Tammes and 1 softmax rattlers" in ax.get_title()


def test_contact_tolerance_changes_contacts_not_rattlers(rattler_row):
    row, base = rattler_row
    code = validate_code(np.load(base / "c.npy"))  # the rows plot_code draws, renormalized
    # Within 30 + 1 degrees of the 60-degree minimum the two 90-degree pairs touch as well.
    ax = plots.plot_code([row], base_dir=base, contact_tol_deg=31.0).axes[0]
    assert "5 contacts, 1 Tammes and" in ax.get_title()
    np.testing.assert_array_equal(_marked(ax, "Tammes rattler (no contact)"), code[[4]])


def test_default_contact_tolerance_is_the_measured_rattler_tolerance():
    assert CONTACT_TOL_DEG == measures.RATTLER_TOL_DEG


def test_code_plot_refuses_rows_without_rattler_points(sweep_table, rattler_row, tmp_path):
    # A sweep table without the rattler-point columns: the error names them and their writer.
    rows = tables.read_table(sweep_table)
    old = [c for c in rows[0] if c not in POINT_COLUMNS]
    older = tables.write_table(sweep_table.with_name("older_points.csv"), rows, old)
    with pytest.raises(ValueError, match="tammes_rattler_points") as e:
        plots.render(older, "code", tmp_path / "x.png", d=2, K=5)
    assert "`spherecodes sweep`" in str(e.value) and str(older) in str(e.value)
    rows = tables.read_table(older)
    with pytest.raises(ValueError, match="softmax_rattler_points.*spherecodes sweep"):
        plots.plot_code(rows, base_dir=older.parent, d=2, K=5)
    # The columns present but the cell empty (a row from before the columns existed).
    row, base = rattler_row
    for column, empty in (("softmax_rattler_points", None), ("min_angle_deg", float("nan"))):
        with pytest.raises(ValueError, match=f"has no {column}.*`spherecodes sweep`"):
            plots.plot_code([{**row, column: empty}], base_dir=base)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("tammes_rattler_points", [5], r"point 5, outside 0\.\.4"),
        ("softmax_rattler_points", "[-1]", r"point -1, outside 0\.\.4"),
        ("tammes_rattler_points", 1, "expected a list of 0-based point indices"),
        ("softmax_rattler_points", "two", "expected a list of 0-based point indices"),
        ("tammes_rattler_points", [1.0], "expected a list of 0-based point indices"),
        ("min_angle_deg", 200.0, r"not an angle in \[0, 180\]"),
        ("min_angle_deg", 50.0, "not the code the row measured"),
        ("K", 6, r"shape \(5, 2\)"),
    ],
)
def test_code_plot_refuses_bad_measures(rattler_row, column, value, match):
    row, base = rattler_row
    with pytest.raises(ValueError, match=match) as e:
        plots.plot_code([{**row, column: value}], base_dir=base)
    if column.endswith("_points"):
        assert column in str(e.value)


def test_sweep_figures_draw_the_code_view_only_from_rows_with_rattler_points(sweep_table):
    names = [p.name for p in plots.sweep_figures(sweep_table)]
    assert "results_code_tammes_d3_K7.png" in names
    assert "results_grid_tammes.png" in names
    # a table written before the rattler-point columns: every figure but the code view
    rows = tables.read_table(sweep_table)
    old = [c for c in rows[0] if c not in POINT_COLUMNS]
    path = tables.write_table(sweep_table.with_name("older.csv"), rows, old)
    names = [p.name for p in plots.sweep_figures(path)]
    assert "older_grid_tammes.png" in names
    assert not [n for n in names if "_code_" in n]


# Modules that import JAX or run a solver: a plot only draws what its table holds.
MEASURING = {"jax", "jaxlib", "optax", "cvxpy"} | {
    f"spherecodes.{m}"
    for m in ("hull", "measures", "report", "precision", "solvers", "sphere", "losses", "gnc")
}


def test_nothing_under_plots_imports_jax_or_measures():
    pkg = pathlib.Path(plots.__file__).parent
    for path in sorted(pkg.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                hit = [m for m in MEASURING if name == m or name.startswith(m + ".")]
                assert not hit, f"{path.name} imports {name}"


def test_grid_leaves_missing_cells_blank(sweep_table):
    rows = [r for r in tables.read_table(sweep_table) if not (r["d"] == 3 and r["K"] == 5)]
    fig = plots.plot_grid(rows)
    for ax in fig.axes[:3]:
        mesh = ax.collections[0]
        arr = np.ma.asarray(mesh.get_array()).reshape(2, 2)  # rows d = 2, 3; columns K = 5, 7
        assert arr.mask[1, 0] and not arr.mask[0, 0] and not arr.mask[1, 1]
    # Theorem C.11 position of every measured cell lies in [0, 1].
    pos = np.ma.asarray(fig.axes[1].collections[0].get_array()).compressed()
    assert np.all((pos >= -1e-9) & (pos <= 1 + 1e-9))


def test_figure12_rows_and_tau_plot(fig12_table):
    rows = tables.read_table(fig12_table, required=tables.FIGURE12_COLUMNS)
    assert [r["tau"] for r in rows] == [0.5, 0.1]
    assert sorted(rows[0]) == sorted(tables.FIGURE12_COLUMNS)
    # HardMax codes are softmax codes; for d = 3, K = 7 that is the Tammes optimum.
    assert rows[0]["hardmax_min_angle_deg"] == pytest.approx(TAMMES_3_7_DEG, abs=1e-4)
    for r in rows:
        for prefix in ("ce_", "hardmax_"):
            rho_1v1 = 2 * math.sin(math.radians(r[prefix + "min_angle_deg"]) / 2)
            assert rho_1v1**2 / 2 - 1e-9 <= r[prefix + "rho_1vr"] <= rho_1v1 + 1e-9  # Thm C.11
    fig = plots.plot_tau(rows, source=str(fig12_table), command=FIG12_COMMAND)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    hard = _line(ax, "HardMax").get_ydata()
    assert hard[0] == pytest.approx(rows[0]["hardmax_min_angle_deg"])
    assert FIG12_COMMAND in " ".join(t.get_text() for t in fig.texts).replace("\n", " ")


def test_figure12_rows_rejects_bad_tau():
    with pytest.raises(ValueError, match="tau=-1.0"):
        gnc.figure12_rows("unused", (-1.0,))
    with pytest.raises(ValueError, match="no temperature"):
        gnc.figure12_rows("unused", ())
