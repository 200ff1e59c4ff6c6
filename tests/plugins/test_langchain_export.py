"""to_langchain_tools: our tools as langchain-core tools, every call through our runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent import Agent, ToolError, to_langchain_tools, tool
from agent.plugins.langchain import from_langchain
from agent.registry import build_registry
from agent.store import TraceStore


@tool(output_schema={"type": "object", "properties": {"total": {"type": "number"}}})
def add(a: float, b: float, tags: list[str] | None = None) -> dict:
    """Add two numbers.

    Args:
        a: the first number
        b: the second number
        tags: labels passed back as they are
    """
    return {"total": a + b, "tags": tags}


@tool
async def divide(a: float, b: float) -> float:
    """Divide a by b.

    Args:
        a: the dividend
        b: the divisor
    """
    if b == 0:
        raise ToolError("cannot divide by zero")
    return a / b


sent: list[str] = []


@tool(side_effects=True)
def send(text: str) -> str:
    """Send a message.

    Args:
        text: the message
    """
    sent.append(text)
    return "sent"


def by_name(tools: list[BaseTool]) -> dict[str, BaseTool]:
    return {t.name: t for t in tools}


def test_schema_round_trips_through_langchain() -> None:
    ours = Agent([add, divide], store=False).tools
    exported = by_name(to_langchain_tools(list(ours.values())))
    for name, t in ours.items():
        spec = convert_to_openai_tool(exported[name])["function"]
        assert spec == {"name": name, "description": t.description, "parameters": t.parameters}
        back = from_langchain(exported[name])  # and back into one of ours
        assert (back.name, back.parameters) == (name, t.parameters)


def test_sync_and_async_invoke_return_the_tools_content() -> None:
    lc = by_name(to_langchain_tools([add, divide]))
    assert lc["add"].invoke({"a": 2, "b": 3}) == {"total": 5, "tags": None}
    assert asyncio.run(lc["divide"].ainvoke({"a": 1, "b": 4})) == 0.25
    # Lists and objects are values, never plan references.
    assert lc["add"].invoke({"a": 1, "b": 1, "tags": ["$ref"]})["tags"] == ["$ref"]


async def test_sync_invoke_works_inside_a_running_event_loop() -> None:
    [lc] = to_langchain_tools([add])
    assert lc.invoke({"a": 1, "b": 2})["total"] == 3  # sync API called from async code


def test_errors_follow_langchain_conventions() -> None:
    handled = by_name(to_langchain_tools([add, divide]))
    assert handled["divide"].invoke({"a": 1, "b": 0}) == "cannot divide by zero"
    message = handled["add"].invoke({"type": "tool_call", "name": "add", "id": "c1",
                                     "args": {"a": "two", "b": 1}})
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert message.content == "invalid argument 'a': 'two' is not of type 'number'"
    raising = by_name(to_langchain_tools([divide], handle_errors=False))
    with pytest.raises(ToolException, match="cannot divide by zero"):
        raising["divide"].invoke({"a": 1, "b": 0})


def test_side_effects_need_approval() -> None:
    sent.clear()
    [refused] = to_langchain_tools([send])
    assert "needs approval" in refused.invoke({"text": "hi"}) and sent == []
    [approved] = to_langchain_tools([send], approve=lambda call, t: call["args"]["text"] == "ok")
    assert approved.invoke({"text": "ok"}) == "sent" and sent == ["ok"]
    assert approved.metadata == {"plugin": None, "side_effects": True, "tags": []}


def test_with_an_agent_calls_are_traced_and_use_its_approval(tmp_path: Path) -> None:
    sent.clear()
    db = tmp_path / "traces.db"
    with Agent([add, send], store=str(db), approve=True) as agent:
        lc = by_name(to_langchain_tools(agent))
        assert lc["add"].invoke({"a": 1, "b": 2})["total"] == 3
        assert lc["send"].invoke({"text": "traced"}) == "sent"
    with TraceStore(db) as store:
        runs = store.list_runs()
        assert sorted(r["query"] for r in runs) == ["langchain: add", "langchain: send"]
        calls = [c for r in runs for c in store.get_run(r["id"])["tool_calls"]]
        assert {c["tool_name"]: c["status"] for c in calls} == {"add": "success",
                                                                 "send": "success"}
    assert sent == ["traced"]


def test_registry_export_and_foreign_tools() -> None:
    exported = by_name(to_langchain_tools(build_registry()))
    assert exported["calculate"].invoke({"expression": "6*7"})["result"] == 42
    agent = Agent([add], store=False)
    with pytest.raises(Exception, match="not tools of the given agent: divide"):
        to_langchain_tools([divide], agent=agent)
