"""The result store: locking, merging rows by key, provenance records."""

import json
import multiprocessing
import time

import pytest

from spherecodes import tables
from spherecodes.tables import store

COLUMNS = ("objective", "d", "K", "value", "device")
KEY = ("objective", "d", "K")


def _row(K, value, objective="tammes", d=3):
    return {"objective": objective, "d": d, "K": K, "value": value, "device": "cpu:0"}


def test_merge_rows_keeps_one_row_per_key_last_wins_in_first_seen_order():
    old = [_row(5, 0.1), _row(4, 0.2)]
    new = [_row(6, 0.3), _row(5, 0.4), _row(6, 0.5), _row(4, 0.6, objective="softmax")]
    got = store.merge_rows(old, new, KEY)
    assert [(r["objective"], r["K"], r["value"]) for r in got] == [
        ("tammes", 5, 0.4),  # replaced in place
        ("tammes", 4, 0.2),  # untouched
        ("tammes", 6, 0.5),  # a duplicate key inside `new`: its last row wins
        ("softmax", 4, 0.6),  # another objective is another cell
    ]
    # An input that already holds duplicates is collapsed as well.
    assert len(store.merge_rows([_row(4, 1.0), _row(4, 2.0)], [], KEY)) == 1


def test_merge_rows_rejects_rows_without_the_key():
    with pytest.raises(ValueError, match=r"lacks key column\(s\) \['K'\]"):
        store.merge_rows([], [{"objective": "tammes", "d": 3}], KEY)
    with pytest.raises(ValueError, match="key names no column"):
        store.merge_rows([], [_row(4, 1.0)], ())


def test_merge_table_preserves_pinned_column_order_and_round_trips(tmp_path):
    path = tmp_path / "t.csv"
    store.merge_table(path, [_row(7, 0.25), _row(4, float("nan"))], COLUMNS, KEY)
    rows = store.merge_table(
        path, [_row(5, 1 / 3), _row(7, 0.5)], COLUMNS, KEY, sort_key=lambda r: r["K"]
    )
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    back = tables.read_table(path, required=COLUMNS)
    assert [r["K"] for r in back] == [4, 5, 7] == [r["K"] for r in rows]
    assert back[1]["value"] == 1 / 3 and back[2]["value"] == 0.5  # exact float repr
    assert back[0]["value"] != back[0]["value"]  # NaN stays NaN
    # Merging nothing rewrites the same bytes.
    before = path.read_text()
    store.merge_table(path, [], COLUMNS, KEY, sort_key=lambda r: r["K"])
    assert path.read_text() == before


def test_record_run_replaces_by_id_and_reads_the_older_form(tmp_path):
    path = tmp_path / "run.json"
    legacy = {"command": "c2", "start": "t2", "previous_runs": [{"command": "c1"}]}
    path.write_text(json.dumps(legacy))
    assert [r["command"] for r in store.read_runs(path)] == ["c1", "c2"]
    store.record_run(path, {"id": "a", "command": "c3", "end": None})
    store.record_run(path, {"id": "b", "command": "c4", "end": None})
    runs = store.record_run(path, {"id": "a", "command": "c3", "end": "t9"})
    assert [(r.get("id"), r["command"]) for r in runs] == [
        (None, "c1"),
        (None, "c2"),
        ("a", "c3"),
        ("b", "c4"),
    ]
    assert runs[2]["end"] == "t9"
    assert json.loads(path.read_text())["runs"] == runs
    with pytest.raises(ValueError, match="run has no 'id'"):
        store.record_run(path, {"command": "x"})


def _hold(directory, started, seconds):
    with store.locked(directory):
        started.set()
        time.sleep(seconds)


def test_locked_excludes_another_process(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    p = ctx.Process(target=_hold, args=(tmp_path, started, 1.0))
    p.start()
    try:
        assert started.wait(60)
        t0 = time.monotonic()
        with store.locked(tmp_path):
            waited = time.monotonic() - t0
        assert waited > 0.3  # blocked until the other process let go
    finally:
        p.join(60)
    assert p.exitcode == 0
    assert (tmp_path / store.LOCK_NAME).exists()
