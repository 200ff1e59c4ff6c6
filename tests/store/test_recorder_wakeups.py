"""The trace recorder's wake-ups (agent.recorder): records put in any thread's event loop
reach a real SQLite file without a flush, whichever loop set the pending wake-up; and no
timer the framework sets keeps a finished run alive."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.recorder import TraceRecorder
from agent.store import TraceStore
from agent.testing.scripted import call, say
from agent.types import Run


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


async def echo(text: str) -> str:
    """Echo the text.

    Args:
        text: any text
    """
    return text


class InstantModel:
    """A chat model that answers without awaiting anything, so a run never gives the event
    loop a turn (as a replayed or scripted model and instant tools do)."""

    model_name = "instant"

    def __init__(self, replies: list[Any]) -> None:
        self.replies = iter(replies)

    def bind_tools(self, tools: Any, **kwargs: Any) -> InstantModel:
        return self

    async def ainvoke(self, messages: Any, **kwargs: Any) -> Any:
        return next(self.replies)


def _live_runs() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Run)


@pytest.mark.parametrize("writer", ["thread", "process"])
async def test_finished_runs_are_not_kept_alive_by_timers_while_the_loop_never_yields(
        tmp_path: Path, writer: str) -> None:
    """An instant model and tool never give the event loop a turn, so no timer fires until
    the caller awaits something real. The timers the framework sets meanwhile (the trace's
    wake-ups, the tool calls' deadline timer) must not hold the runs that set them, as a copy
    of the caller's context would (it holds the agent's environment and the run in it): they
    did, and a long burst of runs was kept in memory, walked by the garbage collector again
    and again. A writer process is sent the records every 128 and as a run ends, so every
    run sets wake-ups of its own, some of them while a tool call's context is current."""
    runs, steps = 5, 200
    model = InstantModel([item for i in range(runs) for item in (
        *(call("echo", {"text": f"t{i}.{j}"}) for j in range(steps)), say(f"done {i}"))])
    agent = Agent(tools=[echo], planner="react", model=model, store=tmp_path / "t.db",
                  trace_writer=writer, max_steps=10 * steps)
    recorder = agent._recorder()
    deadline = time.monotonic() + 20
    while recorder.active_writer != writer:
        assert time.monotonic() < deadline, "the writer process did not start"
        await asyncio.sleep(0.02)
    before = _live_runs()
    for i in range(runs):
        run = await agent.run(f"q{i}")
        assert run.status == "ok" and run.answer == f"done {i}", run.error
        assert len(run.results) == steps
    del run
    gc.collect()
    assert _live_runs() - before <= 1  # the agent's latest run
    await agent.aflush()
    agent.close()
    with sqlite3.connect(tmp_path / "t.db") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == runs
