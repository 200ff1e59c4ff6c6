"""Helpers for the replay tests: record a run, read a transcript, replay once."""

from __future__ import annotations

from typing import Any

from agent.registry import Registry
from agent.replay import Replayer
from agent.runtime import Agent
from agent.store import TraceStore


async def record(agent: Agent, query: str, **kwargs: Any) -> str:
    """Run ``query`` and wait until its trace is committed; returns the run id."""
    run = await agent.run(query, **kwargs)
    await agent.aflush()
    return run.id


def transcript(store: TraceStore, run_id: str) -> list[dict[str, Any]]:
    """A run's stored messages, in order, in langchain-core's dict form."""
    return [m["data"] for m in store.get_run(run_id)["messages"]]


async def replay(store: TraceStore, registry: Registry, run_id: str, mode: str = "cached",
                 **kwargs: Any) -> Any:
    """One replay through a fresh ``Replayer``; everything is committed when it returns."""
    options = {k: kwargs.pop(k) for k in ("tools", "approve", "ask") if k in kwargs}
    async with Replayer(store, registry=registry, **options) as replayer:
        return await replayer.replay(run_id, mode, **kwargs)
