"""Fixtures for the trace store tests: real SQLite files under tmp_path, no mocks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.store import TraceStore, new_id

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "traces.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[TraceStore]:
    with TraceStore(db_path) as s:
        yield s


def _record_run(
    store: TraceStore,
    *,
    query: str = "what is the weather in Paris?",
    calls: int = 2,
    run_id: str | None = None,
    **run: Any,
) -> str:
    """Write one complete run (a step with `calls` tool calls, messages, finish)."""
    run_id = run_id or new_id()
    store.start_run(
        {"id": run_id, "query": query, "planner": "dataflow", **run},
        tools=[{"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "plugin": "weather"}],
    )
    step_id = new_id()
    store.record_step({"id": step_id, "run_id": run_id, "seq": 0, "kind": "tool_calls",
                       "name": "get_weather", "status": "running", "started_at": 1.0})
    store.record_tool_calls([
        {"id": new_id(), "run_id": run_id, "step_id": step_id, "call_id": f"c{i}", "seq": i,
         "tool_name": "get_weather", "args": {"city": "Paris", "day": i}, "status": "success",
         "content": {"temp_c": 20 + i}, "started_at": 1.0, "duration_ms": 3.0, "attempts": 1}
        for i in range(calls)
    ])
    store.record_step({"id": step_id, "run_id": run_id, "status": "ok", "ended_at": 2.0})
    store.record_messages(run_id, [
        {"type": "human", "data": {"content": query, "type": "human"}},
        {"type": "ai", "data": {"content": "It is sunny in Paris", "type": "ai"}},
    ])
    store.finish_run(run_id, answer="It is sunny in Paris")
    return run_id


RecordRun = Callable[..., str]


@pytest.fixture
def record_run() -> RecordRun:
    """`record_run(store, calls=2, query=..., **run_columns) -> run id`."""
    return _record_run


@pytest.fixture
def child_env() -> dict[str, str]:
    """Environment for child processes that import `agent.store` from this worktree."""
    path = os.pathsep.join(p for p in (str(WORKTREE), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}
