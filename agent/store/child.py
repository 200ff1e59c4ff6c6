"""The trace writer process: ``python -m agent.store.child PATH`` (started by
``agent.writer_process``, not by hand).

Why a process: in the caller's process every row the writer builds and every SQLite call it
makes waits for the event loop's GIL, so a busy loop and its trace writer take turns on one
core. Here they run side by side on two.

Protocol: frames on stdin, each ``!QI`` (sequence number, length) and a ``wire`` blob, or
no blob: "commit now"; lines on stdout: ``ready`` once the store is open, ``ok N`` once
every frame up to N is committed, ``err N message`` for a record of frame N the store
refused (the frame's others are kept), ``fatal message`` before exiting on an error that stops it.
Frames are committed together (``batches``). End of input: commit what is left, exit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sqlite3
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import TraceStore

HEADER = struct.Struct("!QI")
#: Bytes of frames per transaction at most, when frames pile up (~10k steps).
MAX_BYTES = 8 << 20
#: Bytes of waiting frames written with one ``apply()`` at most (~14 runs of 10 steps):
#: bigger groups saved less (the collector walks more decoded frames at once, and the secret
#: pre-check searches one longer text more slowly), 1 MiB half as much.
GROUP_BYTES = 112 << 10
#: Seconds a transaction stays open for more frames after its first.
COMMIT_EVERY = 0.05
#: Bytes of frames written between two WAL checkpoints (400-1,300 pages of the WAL, about
#: SQLite's own 1,000).
CHECKPOINT_BYTES = 2 << 20


class Frames:
    """Frames read off a file descriptor, with a look at whether more are waiting."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.closed = False

    def next(self, timeout: float | None) -> tuple[int, bytes] | None:
        """The next frame, waiting at most ``timeout`` seconds for it (None: as long as it
        takes); None at the end of input or when the time is up."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            if self.closed:
                if self.buffer:
                    raise EOFError("the input ended inside a frame")
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return None
            self._read()

    def waiting(self, limit: int) -> list[tuple[int, bytes]]:
        """The frames that have come already, without waiting: up to ``limit`` bytes of
        them (at least one, if any), and none after an empty one ("commit now")."""
        if not self.closed and select.select([self.fd], [], [], 0)[0]:
            self._read()
        frames: list[tuple[int, bytes]] = []
        while limit > 0 and (not frames or frames[-1][1]):
            frame = self._take()
            if frame is None:
                break
            frames.append(frame)
            limit -= len(frame[1])
        return frames

    def _take(self) -> tuple[int, bytes] | None:
        """The buffer's first frame, if it is all there."""
        if len(self.buffer) >= HEADER.size:
            seq, length = HEADER.unpack_from(self.buffer)
            size = HEADER.size + length
            if len(self.buffer) >= size:
                blob = bytes(self.buffer[HEADER.size:size])
                del self.buffer[:size]
                return seq, blob
        return None

    def _read(self) -> None:
        data = os.read(self.fd, 1 << 20)
        if data:
            self.buffer += data
        else:
            self.closed = True


class Checkpointer:
    """Copies the WAL into the database file on a thread of its own, with a connection of
    its own, when asked (``request``).

    Why: SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000
    pages, ~10 ms (the database file is synced) where a commit usually takes 0.2, and a
    caller waiting for that commit (``aflush()``) waited for it too. A PASSIVE checkpoint
    beside the writer never blocks it: the writer goes on appending to the WAL.
    """

    def __init__(self, path: str, busy_timeout: float) -> None:
        """Raises ``sqlite3.Error`` if ``path`` cannot be opened (here, not on the thread: the
        caller then leaves SQLite's own checkpoints on)."""
        self._conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                     check_same_thread=False)
        self._wanted = threading.Event()
        self._stopping = False
        self._frames = 0  # in the WAL when the last pass began
        self._stuck = False
        self._thread = threading.Thread(target=self._run, name="agent-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def restart(self, conn: sqlite3.Connection) -> None:
        """Let the WAL start over (the writer calls this between its transactions, on its
        own connection).

        SQLite starts the WAL over only when the writer opens a transaction with every
        frame copied, and a writer that never pauses commits new frames while the thread
        copies: its WAL grew without end (54 MB after 2,000 runs of ten steps, commits
        ~1.5x slower). Once a pass finds more frames than the last (most likely no new
        start in between; if there was one, the extra copy is all it costs), the writer
        copies the rest itself, here, before its next transaction (a few ms, once per two
        requests at most, and only under such a load)."""
        if self._stuck:
            self._stuck = False
            with contextlib.suppress(sqlite3.Error):  # a reader's snapshot: next time
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # busy: the next request tries again
                    _, frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self._stuck, self._frames = frames > self._frames > 0, frames
        finally:
            self._conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.store.child")
    parser.add_argument("path")
    parser.add_argument("--busy-timeout", type=float, default=10.0)
    parser.add_argument("--max-content-bytes", type=int, default=65536)
    args = parser.parse_args(argv)
    out = sys.stdout.buffer

    def say(line: str) -> None:
        try:
            out.write(line.encode("utf-8", "replace") + b"\n")
            out.flush()
        except OSError:  # the caller is gone: keep writing what it sent all the same
            pass

    try:
        from .core import TraceStore

        store = TraceStore(args.path, busy_timeout=args.busy_timeout,
                           max_content_bytes=args.max_content_bytes)
        # Each frame's savepoint keeps the pages it changes in a statement journal: a
        # temporary file by default, which cost ~40% of the child's SQL time (~12 us/step).
        store.db.conn.execute("PRAGMA temp_store = MEMORY")
    except Exception as exc:
        say(f"fatal cannot open the trace store: {_one_line(exc)}")
        return 1
    checkpoints: Checkpointer | None = None
    with contextlib.suppress(sqlite3.Error):  # else SQLite's own, inside commits
        checkpoints = Checkpointer(str(store.path), args.busy_timeout)
        store.db.conn.execute("PRAGMA wal_autocheckpoint = 0")  # the Checkpointer's job
    say("ready")
    try:
        write(store, Frames(sys.stdin.fileno()), say, checkpoints)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        say(f"fatal {_one_line(exc)}")
        return 1
    finally:
        if checkpoints is not None:
            checkpoints.close()  # before the store's: its close checkpoints the rest
        store.close()
    return 0


def write(store: TraceStore, frames: Frames, say: Callable[[str], None],
          checkpoints: Checkpointer | None = None) -> None:
    """Write each frame as it arrives, in a transaction committed ``COMMIT_EVERY`` seconds
    after its first frame (or at ``MAX_BYTES``, an empty frame, the end of input); after
    the commit that takes the frames written past ``CHECKPOINT_BYTES``, a checkpoint is
    requested (``checkpoints``; without, SQLite's own are left on).

    Why not a commit per frame: a transaction's cost is mostly the pages it writes, and a
    run's rows share pages with the next run's: a commit per frame of ten steps cost the
    child ~3x the CPU. The frames that are waiting when one comes (a child behind its loop)
    are written together (``write_frames``).
    """
    conn = store.db.conn
    opened = size = 0.0
    unchecked = 0  # bytes of frames committed since the last checkpoint request
    last: int | None = None
    while True:
        wait = None if last is None else max(0.0, opened + COMMIT_EVERY - time.monotonic())
        frame = frames.next(wait)
        group = [] if frame is None else [frame]
        if frame is not None and frame[1]:
            group += frames.waiting(GROUP_BYTES - len(frame[1]))
        if group:
            if last is None:
                if checkpoints is not None:
                    checkpoints.restart(conn)
                conn.execute("BEGIN IMMEDIATE")
                opened, size = time.monotonic(), 0
            last = group[-1][0]
            size += sum(len(blob) for _, blob in group)
            write_frames(store, [(seq, blob) for seq, blob in group if blob], say)
        if last is not None and (not group or not group[-1][1] or size >= MAX_BYTES
                                 or time.monotonic() - opened >= COMMIT_EVERY):
            conn.execute("COMMIT")
            say(f"ok {last}")
            last = None
            unchecked += int(size)
            if unchecked >= CHECKPOINT_BYTES and checkpoints is not None:
                checkpoints.request()
                unchecked = 0
        if not group and frames.closed:
            return


def write_frames(store: TraceStore, frames: list[tuple[int, bytes]],
                 say: Callable[[str], None]) -> None:
    """Write frames (inside the open transaction) with one ``apply()``; if the store refuses
    that, frame by frame, each under its own savepoint: a frame the store refuses is undone
    alone and stored again record by record, so only what is refused is lost (``err``).

    Why together: each ``apply()`` has its statements (~14 for a 10-step run's rows in three
    tables), its savepoint and its secret pre-check. Callgrind (session 13), recorded frames
    of 10-step runs: 428k instructions a step one by one, 411k in threes (the bench's child,
    a few frames behind, mostly finds two or three), 378k when it is far behind (a file of
    frames, ``GROUP_BYTES`` a group); 200-step runs: 7% fewer. The rows are the same:
    ``apply()`` keeps the order of the ops, and ops of one frame or of several give the
    same rows."""
    from .wire import decode

    conn = store.db.conn
    if len(frames) > 1:
        conn.execute("SAVEPOINT frames")
        try:
            store.apply([op for _, blob in frames for op in decode(blob)])
        except Exception:  # one of them is refused: find it below
            conn.execute("ROLLBACK TO frames")
        else:
            conn.execute("RELEASE frames")
            return
        conn.execute("RELEASE frames")
    for seq, blob in frames:
        conn.execute("SAVEPOINT frame")
        try:
            store.apply(decode(blob))
        except Exception:  # undo the frame, then store what it can of it
            conn.execute("ROLLBACK TO frame")
            for refused in store.apply_each(decode(blob)):
                say(f"err {seq} {' '.join(refused.split())}")
        conn.execute("RELEASE frame")


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


if __name__ == "__main__":
    sys.exit(main())
