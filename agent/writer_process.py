"""The trace writer process, seen from the caller: start it, send it records, know what it
has committed, and get back what it had not when it dies.

Sending never blocks the event loop: the pipe is non-blocking (and 1 MiB on Linux), and
what does not fit waits in a backlog that a small thread writes out. Every frame sent is
kept until the child says it is committed, so a child that is killed loses nothing: the
recorder writes the frames it never confirmed itself (``unconfirmed()``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing.spawn
import os
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from agent.store.child import HEADER

log = logging.getLogger("agent.trace")

#: Whether this platform can run it: non-blocking pipes (Windows gets the writer thread).
SUPPORTED = os.name == "posix"


class WriterGone(RuntimeError):
    """The writer process has ended (its unconfirmed frames are kept for the caller)."""


class WriterProcess:
    """``python -m agent.store.child PATH`` and the two threads that talk to it.

    ``on_ready()`` is called once the child has opened the store, ``on_exit(message)`` once
    it has ended, ``on_error(message)`` for each record the store refused (all three from the
    thread reading its replies).
    """

    def __init__(self, path: str, *, busy_timeout: float, max_content_bytes: int,
                 on_ready: Callable[[], None], on_exit: Callable[[str], None],
                 on_error: Callable[[str], None]) -> None:
        if not SUPPORTED:
            raise OSError("a trace writer process needs non-blocking pipes (POSIX)")
        self._on_ready, self._on_exit, self._on_error = on_ready, on_exit, on_error
        root = str(Path(__file__).resolve().parents[1])  # `agent` importable in the child
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # multiprocessing's interpreter: sys.executable unless set (an embedding server such
        # as uWSGI points sys.executable at itself; multiprocessing.set_executable fixes both).
        python = os.fsdecode(multiprocessing.spawn.get_executable() or sys.executable)
        self.proc = subprocess.Popen(
            [python, "-m", "agent.store.child", path,
             "--busy-timeout", str(busy_timeout), "--max-content-bytes", str(max_content_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, start_new_session=True,  # a Ctrl-C at the REPL must not stop a commit
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._fd = self.proc.stdin.fileno()
        os.set_blocking(self._fd, False)
        _widen(self._fd)
        self._lock = threading.Lock()  # the pipe, the backlog, the sequence numbers
        self._backlog: collections.deque[memoryview] = collections.deque()
        self._unconfirmed: dict[int, bytes] = {}
        self.unconfirmed_bytes = 0  # of the blobs in _unconfirmed: how far behind it is
        self._sent = 0
        self._confirmed = 0
        self._changed = threading.Condition(self._lock)
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []
        self.ended: str | None = None  # why, once it has
        self._pump_wake = threading.Event()
        threading.Thread(target=self._read, name="agent-trace-replies", daemon=True).start()
        threading.Thread(target=self._pump, name="agent-trace-pipe", daemon=True).start()

    # -- sending ---------------------------------------------------------------------------
    def send(self, blob: bytes) -> int:
        """Queue one ``agent.store.wire`` blob; never waits; returns its sequence number.
        Once the child has ended the blob is only kept (see ``unconfirmed``) and
        ``WriterGone`` is raised."""
        with self._lock:
            self._sent += 1
            seq = self._sent
            self._unconfirmed[seq] = blob
            self.unconfirmed_bytes += len(blob)
            if self.ended is not None:
                raise WriterGone(self.ended)
            frame = memoryview(HEADER.pack(seq, len(blob)) + blob)
            if not self._backlog:
                frame = frame[self._write(frame):]
                if not frame:
                    return seq
            self._backlog.append(frame)
        self._pump_wake.set()
        return seq

    def _write(self, data: memoryview) -> int:
        """Write what the pipe takes now (the lock is held)."""
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError as exc:  # the child is gone: its replies' end will say so
            self._backlog.clear()
            log.debug("trace writer pipe: %s", exc)
            return len(data)

    def _pump(self) -> None:
        """Write the backlog out as the child reads (a thread: this may wait)."""
        while True:
            self._pump_wake.wait()
            self._pump_wake.clear()
            while True:
                with self._lock:
                    if not self._backlog or self.ended is not None:
                        break
                    head = self._backlog[0]
                    written = self._write(head)
                    if written == len(head):
                        self._backlog.popleft()
                    else:
                        self._backlog[0] = head[written:]
                if written == 0:
                    select.select([], [self._fd], [], 0.5)
            if self.ended is not None:
                return

    # -- replies ---------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.proc.stdout is not None
        why = "it exited"
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            word, _, rest = line.partition(" ")
            if word == "ok":
                self._confirm(int(rest))
            elif word == "err":
                _, _, message = rest.partition(" ")
                self._on_error(message)
            elif word == "ready":
                self._on_ready()
            elif word == "fatal":
                why = rest
        code = self.proc.wait()
        self.proc.stdout.close()
        with self._lock:
            self.ended = f"{why} (exit code {code})"
            # Nothing is written to it from now on (``send`` and the pump see ``ended``).
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            self._changed.notify_all()
            self._wake_waiters()
        self._pump_wake.set()
        self._on_exit(self.ended)

    def _confirm(self, seq: int) -> None:
        with self._lock:
            for done in [s for s in self._unconfirmed if s <= seq]:
                self.unconfirmed_bytes -= len(self._unconfirmed.pop(done))
            self._confirmed = max(self._confirmed, seq)
            self._changed.notify_all()
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        """Resolve the ``commit_async`` futures whose frames are committed (or all, with
        False, once the child has ended); the lock is held."""
        keep = []
        for seq, loop, future in self._waiters:
            if self.ended is None and seq > self._confirmed:
                keep.append((seq, loop, future))
                continue
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, future, self.ended is None)
        self._waiters = keep

    def commit_async(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bool]:
        """``commit()`` for an event loop: a future, True once everything sent so far is
        committed, False if the child ended first (resolved from the replies' thread, so a
        flush costs the loop no trip through another thread)."""
        future: asyncio.Future[bool] = loop.create_future()
        try:
            seq = self.send(b"")
        except WriterGone:
            future.set_result(False)
            return future
        with self._lock:
            self._waiters.append((seq, loop, future))
            self._wake_waiters()
        return future

    def commit(self, timeout: float | None = None) -> bool:
        """Have everything sent so far committed now (the child otherwise waits a little for
        more) and wait for it; False if the child ended first or the time ran out."""
        try:
            self.send(b"")
        except WriterGone:
            return False
        with self._lock:
            goal = self._sent
            self._changed.wait_for(lambda: self._confirmed >= goal or self.ended is not None,
                                   timeout)
            return self._confirmed >= goal

    def unconfirmed(self) -> list[bytes]:
        """The blobs sent and not confirmed, oldest first (taken: asked again, none)."""
        with self._lock:
            blobs = [self._unconfirmed[s] for s in sorted(self._unconfirmed)
                     if self._unconfirmed[s]]
            self._unconfirmed.clear()
            self.unconfirmed_bytes = 0
            return blobs

    def close(self, timeout: float = 30.0) -> None:
        """Let the child commit what it has and exit (it is killed after ``timeout``)."""
        self.commit(timeout)
        with self._lock:
            self._backlog.clear()
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _widen(fd: int) -> None:
    """A 1 MiB pipe where Linux allows it: a burst of records fits without a backlog."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass
