"""Write traces off the event loop: one writer thread, batching what piles up.

Each step is handed to the writer as soon as it ends and committed within milliseconds, in
one transaction with whatever else is pending, so a burst of parallel tool results costs one
commit instead of a hundred and the event loop never waits on the disk. A failing write is
kept in ``errors`` (and logged); it never breaks the run that produced it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("agent.trace")


class TraceRecorder:
    """``delay``: inside an event loop, how long writes may pile up before a commit (a burst
    of steps then costs one transaction, not one each)."""

    def __init__(self, store: Any, delay: float = 0.005) -> None:
        self.store = store
        self.delay = delay
        self.errors: list[str] = []
        self._pending: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._steps: dict[str, int] = {}  # step id -> its record's place in _pending
        self._closed = False
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._scheduled = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-trace")
        # A program that ends without close() (asyncio.run(agent.run(...)) and exit) still
        # gets its last records: by then the worker thread takes no work, so write here.
        atexit.register(self._drain)

    def put(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Queue one store write (a method name of ``TraceStore`` and its arguments).

        Inside an event loop the writer is woken ``delay`` seconds later, so every record
        produced meanwhile goes into the same transaction.
        """
        with self._lock:
            if not self._enqueue(op, args, kwargs):
                return
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

    def _enqueue(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Queue one write; False when it replaced a pending one (a step begun and ended in
        one batch is written once)."""
        if op == "record_step":
            where = self._steps.get(args[0]["id"])
            if where is not None:
                self._pending[where] = (op, args, kwargs)
                return False
            self._steps[args[0]["id"]] = len(self._pending)
        self._pending.append((op, args, kwargs))
        return True

    def _submit(self) -> None:
        # The delayed wake-up may fire after close() (which already wrote everything) or
        # while the interpreter shuts down (the worker takes no more work: write here).
        if self._closed:
            return
        try:
            self._thread.submit(self._drain)
        except RuntimeError:
            self._drain()

    def _drain(self) -> None:
        with self._lock:
            ops, self._pending = self._pending, []
            self._steps.clear()
            self._scheduled = False
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
