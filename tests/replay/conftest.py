"""Replay fixtures: a real SQLite trace store per test, one plugin registry per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.registry import Registry, build_registry
from agent.runtime import Agent
from agent.store import TraceStore


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The installed plugins (built-in tools and planners), built once: it is read-only."""
    return build_registry()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    with TraceStore(tmp_path / "traces.db") as s:
        yield s


@pytest.fixture
def make_agent(store: TraceStore, registry: Registry):
    """``make_agent(**options)``: an Agent recording into the test's store."""
    made: list[Agent] = []

    def make(**options: Any) -> Agent:
        options.setdefault("registry", registry)
        agent = Agent(store=store, **options)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()
