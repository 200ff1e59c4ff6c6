"""Write traces off the event loop: one writer thread, batching what piles up.

Each step is handed to the writer as soon as it ends and committed within milliseconds, in
one transaction with whatever else is pending, so a burst of parallel tool results costs one
commit instead of a hundred and the event loop never waits on the disk. A failing write is
kept in ``errors`` (and logged); it never breaks the run that produced it.

Queuing is what the event loop pays per record, so it is an append and nothing more: rows
are built by the writer. A step is queued as the object itself and written as it is when
the writer gets to it, so a step begun and ended between two writes is one row.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent.types import Step

log = logging.getLogger("agent.trace")

Op = tuple[str, tuple[Any, ...], dict[str, Any]]
_NO_KWARGS: dict[str, Any] = {}  # shared by the ops without keywords (never changed)


def as_op(entry: Any) -> Op:
    """A queued entry as the store op it stands for (steps are read by the store as they
    are: their fields, when it writes them)."""
    if type(entry) is tuple:
        return entry
    if isinstance(entry, Step):
        return ("record_step", (entry,), _NO_KWARGS)
    return ("record_tool_calls", (entry,), _NO_KWARGS)


class TraceRecorder:
    """``delay``: inside an event loop, how long writes may pile up before a commit (a burst
    of steps then costs one transaction, not one each)."""

    def __init__(self, store: Any, delay: float = 0.005) -> None:
        self.store = store
        self.delay = delay
        self.errors: list[str] = []
        # Appended to by the event loop's thread, swapped out by the writer's: both are
        # single bytecode operations on the list, so no lock is needed.
        self._pending: list[Any] = []  # ops, steps and tool-call rows
        self._queued: set[str] = set()  # ids of the steps in _pending
        self._closed = False
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-trace")
        # A program that ends without close() (asyncio.run(agent.run(...)) and exit) still
        # gets its last records: by then the worker thread takes no work, so write here.
        atexit.register(self._drain)

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
        produced meanwhile goes into the same transaction."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # A wake-up set on a loop that has since ended never fires: set a new one.
        if self._scheduled and loop is self._wake_loop:
            return
        self._scheduled, self._wake_loop = True, loop
        if loop is not None:
            loop.call_later(self.delay, self._submit)
        else:
            self._submit()

    def _submit(self) -> None:
        # The delayed wake-up may fire after close() (which already wrote everything) or
        # while the interpreter shuts down (the worker takes no more work: write here).
        if self._closed:
            return
        try:
            self._thread.submit(self._drain)
        except RuntimeError:
            self._drain()

    def _take(self) -> list[Op]:
        """Everything queued so far (steps as the objects: the store reads their fields)."""
        # The flag first: a record queued after this point sets a new wake-up.
        self._scheduled = False
        pending, self._pending = self._pending, []
        ops: list[Op] = []
        for entry in pending:
            if type(entry) is tuple:
                ops.append(entry)
                continue
            if isinstance(entry, Step):
                # Unmark before reading, so a change made from here on queues it again.
                self._queued.discard(entry.id)
            ops.append(as_op(entry))
        return ops

    def _drain(self) -> None:
        ops = self._take()
        if not ops:
            return
        try:
            self.store.apply(ops)
        except Exception as exc:  # disk full, locked past the timeout, ...
            message = f"trace write failed ({len(ops)} records): {exc}"
            self.errors.append(message)
            log.warning(message)

    def kick(self) -> None:
        """Start writing what is queued now, without waiting (a run just ended)."""
        if not self._closed:
            self._submit()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await asyncio.wrap_future(self._thread.submit(self._drain))

    def flush_sync(self) -> None:
        self._thread.submit(self._drain).result()

    def close(self) -> None:
        self.flush_sync()
        self._closed = True
        self._thread.shutdown(wait=True)
        atexit.unregister(self._drain)
