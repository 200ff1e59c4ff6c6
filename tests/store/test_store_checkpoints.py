"""The trace writer process checkpoints the WAL beside its writes, never inside a commit."""

from __future__ import annotations

import os
import sqlite3
import threading
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


class Requests(Checkpointer):
    """A checkpointer that notes how many replies were out at each request."""

    def __init__(self, path: Path, replies: list[str]) -> None:
        super().__init__(str(path), busy_timeout=5.0)
        self.replies = replies
        self.at: list[int] = []

    def request(self) -> None:
        self.at.append(len(self.replies))
        super().request()


@pytest.mark.parametrize(("threshold", "asked"), [(1, 2), (1 << 40, 0)])
def test_a_checkpoint_is_asked_for_after_a_commit_past_the_threshold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, asked: int) -> None:
    monkeypatch.setattr(child, "CHECKPOINT_BYTES", threshold)
    replies: list[str] = []
    frames = _frames(_run("a"), b"", _run("b"))
    with TraceStore(tmp_path / "t.db") as store:
        checkpoints = Requests(tmp_path / "t.db", replies)
        try:
            child.write(store, frames, replies.append, checkpoints)
        finally:
            checkpoints.close()
        requests = checkpoints.at
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


def test_a_writer_that_never_pauses_keeps_its_wal_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames back to back (a commit every 64 KiB): SQLite starts the WAL over only when the
    writer opens a transaction with every frame copied, so without ``restart`` the WAL kept
    every page written (40 MB here, and the writing took twice as long)."""
    monkeypatch.setattr(child, "MAX_BYTES", 64 << 10)
    monkeypatch.setattr(child, "CHECKPOINT_BYTES", 256 << 10)
    text = "x" * 1000
    blobs = [encode([("start_run", ({"id": new_id(), "query": f"{i} {text}"},), {})
                     for _ in range(20)]) for i in range(1000)]
    read, write = os.pipe()
    done = threading.Thread(target=_feed, args=(write, blobs))
    done.start()
    path = tmp_path / "t.db"
    with TraceStore(path) as store:
        store.db.conn.execute("PRAGMA wal_autocheckpoint = 0")  # as the writer process does
        checkpoints = Checkpointer(str(path), busy_timeout=5.0)
        try:
            child.write(store, Frames(read), lambda _: None, checkpoints)
        finally:
            checkpoints.close()
            done.join()
            os.close(read)
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 20_000
        wal = (tmp_path / "t.db-wal").stat().st_size
    assert path.stat().st_size > 20_000_000  # the runs reached the database file
    assert wal < 8_000_000


def _feed(fd: int, blobs: list[bytes]) -> None:
    with os.fdopen(fd, "wb") as pipe:
        for seq, blob in enumerate(blobs, 1):
            pipe.write(HEADER.pack(seq, len(blob)) + blob)
