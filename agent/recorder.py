"""Write traces off the event loop: one writer thread, batching what piles up.

Each step is handed to the writer as soon as it ends and committed within milliseconds, in
one transaction with whatever else is pending, so a burst of parallel tool results costs one
commit instead of a hundred and the event loop never waits on the disk. A failing write is
kept in ``errors`` (and logged); it never breaks the run that produced it.

Queuing is what the event loop pays per record, so it is an append and nothing more: rows
are built by the writer. A step is queued as the object itself and written as it is when
the writer gets to it, so a step begun and ended between two writes is one row.

The writer is a thread of this process, or a process of its own (``writer``, chosen as
``agent.writer_choice`` says); to a writer process the loop sends the records encoded
(``agent.store.wire``), and the child writes them beside it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from agent.contextrun import detached
from agent.types import Step
from agent.writer_choice import Pace, writer_choice

if TYPE_CHECKING:
    from agent.writer_process import WriterProcess

log = logging.getLogger("agent.trace")

Op = tuple[str, Sequence[Any], dict[str, Any]]
_NO_KWARGS: dict[str, Any] = {}  # shared by the ops without keywords (never changed)
#: Records queued at most before they are sent to a writer process (about 25 steps).
SEND_EVERY = 128
#: How long a flush waits for the writer process to confirm before writing here instead.
COMMIT_TIMEOUT = 120.0
#: How far the writer may fall behind before the end of a run waits for it (``keep_up``):
#: records the writer thread has not taken yet, or bytes of records the writer process has
#: not committed (~45k steps). A loop that makes records faster than they are written (a
#: scripted or replayed model, generation) held them all: ~1 MB more a second, unbounded.
MAX_BEHIND_RECORDS = 100_000
MAX_BEHIND_BYTES = 32 << 20


def as_op(entry: Any) -> Op:
    """A queued entry as the store op it stands for (steps are read by the store as they
    are: their fields, when it writes them)."""
    if type(entry) is tuple:
        return entry
    if isinstance(entry, Step):
        return ("record_step", (entry,), _NO_KWARGS)
    return ("record_tool_calls", (entry,), _NO_KWARGS)


def _file_of(store: Any) -> str | None:
    """The store's file as SQLite opened it: absolute, so a later ``chdir`` does not send the
    writer process to another file; None for an in-memory store."""
    try:
        databases = store.db.execute("PRAGMA database_list").fetchall()
    except Exception:  # not a TraceStore, or closed
        return None
    return next((str(file) for _, name, file in databases if name == "main" and file), None)


def _forget_process(ref: weakref.ReferenceType[TraceRecorder]) -> None:
    """In a forked copy of the program, the writer process is its parent's: never write
    into its pipe (frames of two processes would interleave)."""
    recorder = ref()
    if recorder is not None:
        recorder._process = recorder._starting = None
        recorder._send_lock = threading.Lock()
        if recorder.writer != "thread":
            recorder.writer = "thread"


class TraceRecorder:
    """``delay``: inside an event loop, how long writes may pile up before a commit (a burst
    of steps then costs one transaction, not one each). ``writer``: ``auto``, ``thread`` or
    ``process`` (see the module's docstring)."""

    def __init__(self, store: Any, delay: float = 0.005, writer: str | None = None) -> None:
        self.store = store
        self.delay = delay
        self.errors: list[str] = []
        self.writer = writer_choice(writer)
        self._process: WriterProcess | None = None  # set once it is ready to take records
        self._starting: WriterProcess | None = None
        self._pace = Pace()  # ``auto`` decides with it
        self._send_lock = threading.Lock()  # take and send in one go: records stay in order
        # Appended to by the event loop's thread, swapped out by the writer's: both are
        # single bytecode operations on the list, so no lock is needed.
        self._pending: list[Any] = []  # ops, steps and tool-call rows
        self._queued: set[str] = set()  # ids of the steps in _pending
        self._closed = False
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        self._wake_thread = 0  # the thread that set the wake-up
        self._scheduled = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-trace")
        # A program that ends without close() (asyncio.run(agent.run(...)) and exit) still
        # gets its last records: by then the worker thread takes no work, so write here.
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            me = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forget_process(me))
        if self.writer == "process":
            self._start_process()

    @property
    def active_writer(self) -> str:
        """Who writes the records queued now: ``"process"`` or ``"thread"``."""
        return "process" if self._process is not None else "thread"

    def put(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Queue one store write (a method name of ``TraceStore`` and its arguments)."""
        self._pending.append((op, args, kwargs or _NO_KWARGS))
        self._wake()

    def put_tool_calls(self, rows: Any) -> None:
        """``put("record_tool_calls", rows)`` without the op's tuples: what waits for the
        writer stays alive, and a long run's calls would otherwise give the garbage collector
        three objects each to walk, again and again, until the writer takes them."""
        self._pending.append(rows)
        self._wake()

    def put_step(self, step: Step) -> None:
        """Queue a step; it is written as it is when the writer takes it (so call this again
        whenever it changes: a step still waiting is not queued twice)."""
        if step.id in self._queued:
            return
        self._queued.add(step.id)
        self._pending.append(step)
        self._wake()

    def _wake(self) -> None:
        """Inside an event loop, wake the writer ``delay`` seconds from now, so every record
        produced meanwhile goes into the same transaction. A writer process is sent every
        ``SEND_EVERY`` records as well: a run that never waits (a scripted model, tools that
        return at once) gives the loop no chance to fire the wake-up until it ends, and the
        child would sit idle until then."""
        if self._process is not None and len(self._pending) >= SEND_EVERY:
            self._send()
        if self._scheduled:
            # Set on this thread's loop, which still runs: it will fire. Checked before
            # asking asyncio, whose get_running_loop() costs a getpid() system call (~0.2
            # us, and this runs for every record).
            scheduled = self._wake_loop
            if scheduled is not None and self._wake_thread == threading.get_ident() \
                    and scheduled.is_running():
                return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # A wake-up set on a loop that has since ended never fires: set a new one.
        if self._scheduled and loop is self._wake_loop:
            return
        self._scheduled, self._wake_loop = True, loop
        self._wake_thread = threading.get_ident()
        if loop is not None:
            loop.call_later(self.delay, self._submit, context=detached())
        else:
            self._submit()

    def _submit(self) -> None:
        # The delayed wake-up may fire after close() (which already wrote everything) or
        # while the interpreter shuts down (the worker takes no more work: write here).
        if self._closed:
            return
        if self._process is not None and self._send():
            return
        try:
            self._thread.submit(self._drain)
        except RuntimeError:
            self._drain()

    def _take(self) -> list[Op]:
        """Everything queued so far (steps as the objects: the store reads their fields)."""
        return [as_op(entry) for entry in self._take_entries()]

    def _take_entries(self) -> list[Any]:
        """Everything queued so far, as queued: ops, steps and tool-call rows."""
        # The flag first: a record queued after this point sets a new wake-up.
        self._scheduled = False
        pending, self._pending = self._pending, []
        queued = self._queued
        for entry in pending:
            if isinstance(entry, Step):
                # Unmark before reading, so a change made from here on queues it again.
                queued.discard(entry.id)
        return pending

    def _drain(self) -> None:
        if self._process is not None and self._send():
            return
        ops = self._take()
        if not ops:
            return
        self._apply(ops)
        self._pace.tick(records=len(ops))
        if self.writer == "auto" and self._starting is None and self._pace.busy():
            self._start_process()

    def _apply(self, ops: list[Op]) -> None:
        try:
            self.store.apply(ops)
        except Exception as exc:  # disk full, locked past the timeout, a bad record ...
            refused = self.store.apply_each(ops)  # keep what can be kept
            if refused:
                self._error(f"trace write failed ({len(refused)} of {len(ops)} records): "
                            f"{refused[0]}")
            else:  # it went through the second time (a lock that was let go)
                log.debug("trace write retried record by record: %s", exc)

    def _error(self, message: str) -> None:
        self.errors.append(message)
        log.warning(message)

    # -- the writer process ----------------------------------------------------------------
    def _start_process(self) -> None:
        """Start the child; it takes the records once it is ready (``_switch``)."""
        from agent.writer_process import SUPPORTED, WriterProcess

        path = _file_of(self.store)
        if not SUPPORTED or path is None:
            if self.writer == "process":
                log.warning("no trace writer process here (%s): writing in this process",
                            "an in-memory store" if path is None else "not POSIX")
            self.writer = "thread"
            return
        holder: list[WriterProcess] = []
        try:
            child = WriterProcess(
                path, busy_timeout=self.store.busy_timeout,
                max_content_bytes=self.store.max_content_bytes,
                on_ready=lambda: self._on_thread(self._switch, holder[0]),
                on_exit=lambda why: self._on_thread(self._lost, holder[0], why),
                on_error=lambda message: self._error(f"trace write failed: {message}"))
        except OSError as exc:
            log.warning("cannot start the trace writer process (%s): writing in this process",
                        exc)
            self.writer = "thread"
            return
        holder.append(child)
        self._starting = child

    def _on_thread(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` on the writer thread, after the writes already handed to it."""
        try:
            self._thread.submit(fn, *args)
        except RuntimeError:  # shut down: nobody else writes now
            fn(*args)

    def _switch(self, child: WriterProcess) -> None:
        """The child takes the records from now on (run on the writer thread, so every
        record the thread took before is committed: a child's steps never come before
        their run)."""
        if child is self._starting and child.ended is None and not self._closed:
            self._process = child

    def _send(self) -> bool:
        """Encode what is queued and send it to the child; False if there is none now."""
        from agent.store.wire import encode
        from agent.writer_process import WriterGone

        with self._send_lock:
            child = self._process
            if child is None:
                return False
            entries = self._take_entries()
            self._pace.tick(records=len(entries))
            if entries:
                with contextlib.suppress(WriterGone):  # kept by the child: _lost writes it
                    child.send(encode(entries))
            return True

    def _retire(self, child: WriterProcess) -> None:
        """Back to the writer thread for good (on it): the child commits what it has and
        exits. For good: a caller that waits for its commits now and then but also runs
        fast between would otherwise start a child (~0.4 s of CPU) and retire it again and
        again (it did, in the agent loop bench)."""
        with self._send_lock:
            if self._process is not child:
                return
            self._process = self._starting = None
            self.writer = "thread"
        child.close()
        self._lost(child, "retired")  # anything it did not confirm

    def _lost(self, child: WriterProcess, why: str) -> None:
        """The child ended: write what it never confirmed here, and keep writing here."""
        from agent.store.wire import decode

        with self._send_lock:
            if self._process is child:
                self._process = None
            if self._starting is child:
                self._starting = None
                if not self._closed:
                    self.writer = "thread"
                    log.warning("the trace writer process ended (%s): writing in this "
                                "process", why)
            for blob in child.unconfirmed():
                self._apply(decode(blob))

    def _at_exit(self) -> None:
        self._drain()
        child = self._process
        if child is not None and not child.commit(30.0):
            self._give_up(child)

    def kick(self) -> None:
        """Start writing what is queued now, without waiting (a run just ended)."""
        if not self._closed:
            self._submit()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        child = self._process
        self._pace.tick(flushes=1)
        if child is not None and self.writer == "auto" and self._pace.waits_for_commits():
            await asyncio.wrap_future(self._thread.submit(self._retire, child))
            child = None
        if child is not None and self._send():
            loop = asyncio.get_running_loop()
            try:
                if await asyncio.wait_for(child.commit_async(loop), COMMIT_TIMEOUT):
                    return
            except TimeoutError:
                pass
            await asyncio.wrap_future(self._thread.submit(self._give_up, child))
            return
        await asyncio.wrap_future(self._thread.submit(self._commit))

    async def keep_up(self) -> None:
        """Wait until everything queued is committed if the writer has fallen too far behind
        (``MAX_BEHIND_*``): the loop then goes at the writer's pace, with a bounded backlog,
        instead of at its own with an ever longer one."""
        child = self._process
        behind = child.unconfirmed_bytes > MAX_BEHIND_BYTES if child is not None \
            else len(self._pending) > MAX_BEHIND_RECORDS
        if behind:
            await self.flush()

    def flush_sync(self) -> None:
        self._thread.submit(self._commit).result()

    def _commit(self) -> None:
        """Write what is queued and wait for it (on the writer thread)."""
        self._drain()
        child = self._process
        if child is not None and not child.commit(COMMIT_TIMEOUT):
            self._give_up(child)

    def _give_up(self, child: WriterProcess) -> None:
        """The child did not confirm a commit: write here what it did not confirm."""
        if child.ended is None:  # wedged: stop it, so only this process writes now
            child.proc.kill()
        self._lost(child, child.ended or f"no commit in {COMMIT_TIMEOUT:g} s")

    def close(self) -> None:
        self.flush_sync()
        self._closed = True
        child = self._starting
        self._process = self._starting = None
        if child is not None:
            child.close()
            self._lost(child, "closed")  # anything it never confirmed: written here
        self._thread.shutdown(wait=True)
        atexit.unregister(self._at_exit)
