"""The trace recorder's wake-ups (agent.recorder): records put in any thread's event loop
reach a real SQLite file without a flush, whichever loop set the pending wake-up."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from agent.recorder import TraceRecorder
from agent.store import TraceStore


def _queries(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {q for (q,) in db.execute("SELECT query FROM runs")}


async def _until_stored(path: Path, query: str, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if query in _queries(path):
            return True
        await asyncio.sleep(0.01)
    return False


def test_a_record_put_in_a_second_threads_loop_is_written_while_the_first_loop_is_stuck(
        tmp_path: Path) -> None:
    """The first loop set the wake-up and then blocks (its timer cannot fire): a record put
    in another thread's loop sets a wake-up of its own there instead of waiting on it."""
    path = tmp_path / "t.db"
    recorder = TraceRecorder(TraceStore(path), writer="thread")
    put, release = threading.Event(), threading.Event()

    async def stuck() -> None:
        recorder.put("start_run", {"id": "r1", "query": "first"})
        put.set()
        release.wait(10)  # the loop runs on, but nothing it schedules fires

    first = threading.Thread(target=asyncio.run, args=(stuck(),))
    first.start()
    try:
        assert put.wait(10)

        async def here() -> bool:
            recorder.put("start_run", {"id": "r2", "query": "second"})
            return await _until_stored(path, "second")

        assert asyncio.run(here())
    finally:
        release.set()
        first.join()
    recorder.close()
    assert _queries(path) == {"first", "second"}


def test_records_of_one_loop_share_its_wake_up_and_a_later_loop_sets_its_own(
        tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    recorder = TraceRecorder(TraceStore(path), writer="thread")

    async def burst(prefix: str) -> bool:
        for i in range(50):
            recorder.put("start_run", {"id": f"{prefix}{i}", "query": f"{prefix}{i}"})
        return await _until_stored(path, f"{prefix}49")

    assert asyncio.run(burst("a"))
    assert asyncio.run(burst("b"))  # the first loop has ended: its wake-up is gone
    recorder.close()
    assert len(_queries(path)) == 100
