"""A real trace store made by real Agent runs (react with a scripted model, dataflow), plus
runs written through the store API the way a generator would (another source, labels)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planners"))

from scripted import call, calls, say, scripted

from agent import Agent
from agent.planners.react import ReactPlanner
from agent.plugin_manager import load_plugins
from agent.registry import build_registry
from agent.store import TraceStore, new_id


@dataclass
class Recorded:
    """The store file and the ids of what went into it."""

    path: Path
    runs: dict[str, str] = field(default_factory=dict)  # name -> run id
    ok: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)


GENERATED_QUERIES = ["add 1 and 2", "add 3 and 4", "what is 9 squared"]


def _generated_run(store: TraceStore, query: str, n: int) -> str:
    """A run as `agent generate` records it: labelled source=synthetic, one call."""
    run_id = new_id()
    spec = {"name": "calculate", "description": "Evaluate an arithmetic expression.",
            "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                           "required": ["expression"]}}
    store.start_run({"id": run_id, "query": query, "planner": "template", "source": "agent"},
                    tools=[spec])
    store.set_label(run_id, "source", "synthetic")  # as `agent generate` labels its runs
    args = {"expression": f"{n}+{n}"}
    store.record_messages(run_id, [
        {"type": "human", "data": {"content": query, "type": "human"}},
        {"type": "ai", "data": {"content": "", "type": "ai", "tool_calls": [
            {"name": "calculate", "args": args, "id": "g1", "type": "tool_call"}]}},
        {"type": "tool", "data": {"content": json.dumps({"result": 2 * n}),
                                  "tool_call_id": "g1", "name": "calculate",
                                  "status": "success", "type": "tool"}},
        {"type": "ai", "data": {"content": f"It is {2 * n}.", "type": "ai"}},
    ])
    store.finish_run(run_id, answer=f"It is {2 * n}.")
    return run_id


async def _record(path: Path) -> Recorded:
    rec = Recorded(path)
    registry = build_registry(load_plugins(entry_points=False))
    store = TraceStore(path)
    react_runs = {
        "single": ("what is 2+3?", [call("calculate", {"expression": "2+3"}, "c1"),
                                    say("It is 5.")]),
        "parallel": ("what are 6*7 and 2**10?", [
            calls([("calculate", {"expression": "6*7"}, "p1"),
                   ("calculate", {"expression": "2**10"}, "p2")], text="Two sums."),
            say("42 and 1024.")]),
        "failing": ("what is 2+?", [call("calculate", {"expression": "2+"}, "e1"),
                                    say("The expression is incomplete.")]),
    }
    for name, (query, script) in react_runs.items():
        agent = Agent(["calculate"], planner=ReactPlanner(), model=scripted(*script),
                      store=store, registry=registry)
        run = await agent.run(query)
        await agent.aflush()
        assert run.status == "ok", (name, run.error)
        rec.runs[name] = run.id
        rec.ok.append(run.id)
    agent = Agent(["calculate", "convert_units"], store=store, registry=registry)
    run = await agent.run("how many miles is 42.195 km")
    assert run.status == "ok", run.error
    rec.runs["dataflow"] = run.id
    rec.ok.append(run.id)
    run = await agent.run("convert 5 km")  # no target unit: ends needs_input
    assert run.status == "needs_input"
    rec.runs["needs_input"] = run.id
    await agent.aflush()
    agent.close()
    for n, query in enumerate(GENERATED_QUERIES):
        run_id = _generated_run(store, query, n)
        rec.generated.append(run_id)
        rec.ok.append(run_id)
    store.set_label(rec.runs["single"], "quality", "good")
    store.set_label(rec.generated[0], "quality", "good")
    store.set_label(rec.generated[1], "quality", "bad")
    store.close()
    return rec


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    base = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:  # no user config or data dir is read
        mp.setenv("AGENT_HOME", str(base))
        return asyncio.run(_record(base / "traces.db"))


@pytest.fixture
def store(recorded: Recorded) -> Iterator[TraceStore]:
    with TraceStore(recorded.path) as s:
        yield s


@pytest.fixture
def hf_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`datasets` with its cache in tmp_path and no network."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
