"""The trace writer process checkpoints the WAL beside its writes, never inside a commit."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from agent.store import TraceStore, child, new_id
from agent.store.child import HEADER, Checkpointer, Frames
from agent.store.wire import encode

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the writer process is POSIX-only")


def _frames(*blobs: bytes) -> Frames:
    """Frames on a real pipe, each blob (an empty one: "commit now"), then end of input."""
    read, write = os.pipe()
    for seq, blob in enumerate(blobs, 1):
        os.write(write, HEADER.pack(seq, len(blob)) + blob)
    os.close(write)
    return Frames(read)


def _run(query: str) -> bytes:
    return encode([("start_run", ({"id": new_id(), "query": query},), {})])


@pytest.mark.parametrize(("threshold", "asked"), [(1, 2), (1 << 40, 0)])
def test_a_checkpoint_is_asked_for_after_a_commit_past_the_threshold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, asked: int) -> None:
    monkeypatch.setattr(child, "CHECKPOINT_BYTES", threshold)
    requests: list[int] = []
    replies: list[str] = []
    frames = _frames(_run("a"), b"", _run("b"))
    with TraceStore(tmp_path / "t.db") as store:
        child.write(store, frames, replies.append, lambda: requests.append(len(replies)))
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    os.close(frames.fd)
    assert replies == ["ok 2", "ok 3"]
    assert len(requests) == asked
    if asked:
        assert requests == [1, 2]  # each after its commit was confirmed, not before


def test_the_checkpointer_copies_the_wal_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with TraceStore(path) as store:
        store.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
        store.apply([("start_run", ({"id": new_id(), "query": "x" * 2000},), {})
                     for _ in range(200)])
        before = path.stat().st_size
        assert (tmp_path / "t.db-wal").stat().st_size > 400_000  # all still in the WAL
        checkpoints = Checkpointer(str(path), busy_timeout=5.0)
        try:
            checkpoints.request()
            deadline = time.monotonic() + 20
            while path.stat().st_size <= before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert path.stat().st_size > before + 400_000
            # the writer goes on meanwhile
            store.apply([("start_run", ({"id": new_id(), "query": "y"},), {})])
        finally:
            checkpoints.close()
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 201


def test_a_checkpointer_that_cannot_open_the_file_says_so_at_once(tmp_path: Path) -> None:
    """The writer process then keeps SQLite's own checkpoints (it turns them off only once a
    checkpointer is running)."""
    with pytest.raises(sqlite3.Error):
        Checkpointer(str(tmp_path / "no-such-folder" / "t.db"), busy_timeout=1.0)
