"""Write traces off the event loop: one writer thread, batching what piles up.

Each step is handed to the writer as soon as it ends and committed within milliseconds, in
one transaction with whatever else is pending, so a burst of parallel tool results costs one
commit instead of a hundred and the event loop never waits on the disk. A failing write is
kept in ``errors`` (and logged); it never breaks the run that produced it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("agent.trace")


class TraceRecorder:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.errors: list[str] = []
        self._pending: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._scheduled = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-trace")

    def put(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Queue one store write (a method name of ``TraceStore`` and its arguments).

        Inside an event loop the writer is woken at the end of the loop's current pass, so
        every record produced in that pass goes into the same transaction.
        """
        with self._lock:
            self._pending.append((op, args, kwargs))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._submit)
        except RuntimeError:
            self._submit()

    def _submit(self) -> None:
        self._thread.submit(self._drain)

    def _drain(self) -> None:
        with self._lock:
            ops, self._pending = self._pending, []
            self._scheduled = False
        if not ops:
            return
        try:
            self.store.apply(ops)
        except Exception as exc:  # disk full, locked past the timeout, ...
            message = f"trace write failed ({len(ops)} records): {exc}"
            self.errors.append(message)
            log.warning(message)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await asyncio.wrap_future(self._thread.submit(self._drain))

    def flush_sync(self) -> None:
        self._thread.submit(self._drain).result()

    def close(self) -> None:
        self.flush_sync()
        self._thread.shutdown(wait=True)
