"""Bad files, locks and unknown ids raise typed, one-line errors and destroy nothing."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.store import (
    AmbiguousRunIdError,
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    TraceStore,
    new_id,
)

RecordRun = Callable[..., str]


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message and message
    return message


def test_error_classes() -> None:
    for cls in (StoreCorruptError, StoreLockedError, RunNotFoundError, AmbiguousRunIdError):
        assert issubclass(cls, StoreError)
        assert cls.exit_code == 1
    assert issubclass(StoreError, Exception)


def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    path = folder / "traces.db"
    garbage = os.urandom(3000) + b"this is not sqlite" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreCorruptError) as info:
        TraceStore(path)
    message = _one_line(info.value)
    assert str(path) in message and "not a SQLite database" in message
    assert "AGENT_HOME" in message
    assert path.read_bytes() == garbage
    assert not Path(f"{path}-wal").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["traces.db"]  # no -wal, no -shm


def test_a_damaged_database_raises_corrupt_and_is_not_rewritten(
    db_path: Path, record_run: RecordRun
) -> None:
    with TraceStore(db_path) as store:
        for _ in range(50):
            record_run(store)
    data = bytearray(db_path.read_bytes())
    data[4096 * 2: 4096 * 6] = b"\xff" * (4096 * 4)  # smash some b-tree pages
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError) as info, TraceStore(db_path) as store:
        store.list_runs(limit=1000)
        for run in store.list_runs(limit=1000):
            store.get_run(run["id"])
    _one_line(info.value)
    assert db_path.read_bytes() == bytes(data)


def test_write_lock_held_past_the_timeout(db_path: Path) -> None:
    TraceStore(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO runs (id, status) VALUES ('held', 'running')")
    try:
        with TraceStore(db_path, busy_timeout=0.2) as store:  # WAL: opening only reads
            assert store.list_runs() == []  # readers are not blocked by the writer
            run_id = new_id()
            with pytest.raises(StoreLockedError) as info:
                store.start_run({"id": run_id})
            message = _one_line(info.value)
            assert "locked" in message and str(db_path) in message
            assert "0.2 s" in message
    finally:
        other.execute("COMMIT")
        other.close()
    with TraceStore(db_path) as store:  # the other writer's row survived, ours was not half-done
        assert [r["id"] for r in store.list_runs()] == ["held"]
        store.start_run({"id": run_id})  # and the store is usable again
        assert len(store.list_runs()) == 2


def test_locked_rollback_journal_database_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE keep (x)")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO keep VALUES (1)")
    try:
        with pytest.raises(StoreLockedError) as info:
            TraceStore(path, busy_timeout=0.2)
        _one_line(info.value)
    finally:
        other.execute("COMMIT")
        other.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT x FROM keep").fetchall() == [(1,)]
    conn.close()


def test_unknown_id(store: TraceStore, db_path: Path, record_run: RecordRun) -> None:
    record_run(store)
    with pytest.raises(RunNotFoundError) as info:
        store.get_run("abcdef")
    assert _one_line(info.value) == (
        f"no run 'abcdef' in {db_path}: see `agent traces list`"
    )
    with pytest.raises(RunNotFoundError, match="at least 4 characters"):
        store.get_run(store.list_runs()[0]["id"][:3])
    with pytest.raises(RunNotFoundError):
        store.delete_run("ffffffff")
    with pytest.raises(RunNotFoundError):
        store.finish_run("nope", answer="x")
    with pytest.raises(RunNotFoundError):
        store.set_label("nope", "k", "v")


def test_ambiguous_prefix_lists_candidates(store: TraceStore, record_run: RecordRun) -> None:
    a = record_run(store, run_id="abcd1111")
    b = record_run(store, run_id="abcd2222")
    with pytest.raises(AmbiguousRunIdError) as info:
        store.get_run("abcd")
    message = _one_line(info.value)
    assert a in message and b in message
    assert info.value.candidates == [a, b]
    assert store.get_run("abcd1")["id"] == a
    assert store.resolve_run_id("abcd2222") == b


def test_exact_id_wins_over_prefix(store: TraceStore, record_run: RecordRun) -> None:
    record_run(store, run_id="abcd")
    record_run(store, run_id="abcdef")
    assert store.get_run("abcd")["id"] == "abcd"


def test_a_step_for_an_unknown_run_is_refused(store: TraceStore) -> None:
    with pytest.raises(StoreError) as info:
        store.record_step({"id": "s", "run_id": "missing", "seq": 0, "kind": "model"})
    assert "FOREIGN KEY" in _one_line(info.value)


def test_bad_rows_are_refused_before_writing(store: TraceStore) -> None:
    with pytest.raises(ValueError, match="unknown runs column"):
        store.start_run({"id": "r", "colour": "blue"})
    with pytest.raises(ValueError, match="needs an 'id'"):
        store.start_run({"query": "q"})
    with pytest.raises(ValueError, match="unknown run status"):
        store.start_run({"id": "r", "status": "done"})
    with pytest.raises(ValueError, match="unknown tool call status"):
        store.record_tool_calls([{"id": "c", "run_id": "r", "status": "ok"}])
    assert store.list_runs() == []


def test_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        TraceStore(blocker / "sub" / "traces.db")
    assert "AGENT_HOME" in _one_line(info.value)
