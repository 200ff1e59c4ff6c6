"""Model-driven examples (ToolLLM style): sample a tool set, have a model write a request
that needs it, solve the request with a planner (``dfsdt`` by default), keep it only when
the run ends ``ok`` with at least one successful tool call.

Tool sets come in ToolLLM's three kinds: one tool, several tools of one category (a tool's
first tag, else its plugin), and several tools across categories.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from typing import Any

from agent.types import Tool

from .worker import capture, registry_for, sandbox_for

KINDS = ("single", "category", "cross")


def category(tool: Tool) -> str:
    return tool.tags[0] if tool.tags else (tool.plugin or "other")


def sample_toolset(names: list[str], tools: Mapping[str, Tool],
                   rng: random.Random) -> tuple[str, list[str]]:
    """(kind, tool names): the first tool is drawn uniformly, so every tool gets its turn."""
    first = rng.choice(names)
    kind = rng.choice(KINDS)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(category(tools[n]), []).append(n)
    mine = [n for n in groups[category(tools[first])] if n != first]
    others = [g for g in sorted(groups) if g != category(tools[first])]
    if kind == "category" and mine:
        return kind, [first, *rng.sample(mine, min(len(mine), rng.randint(1, 2)))]
    if kind == "cross" and others:
        chosen = rng.sample(others, min(len(others), rng.randint(1, 2)))
        return kind, [first, *(rng.choice(groups[g]) for g in chosen)]
    return "single", [first]


def parse_query(text: str) -> str:
    """The request in a model's reply: first non-empty line, labels and quotes removed."""
    for line in text.strip().splitlines():
        line = re.sub(r"^\s*(?:\d+[.)]|[-*]|(?:request|query)\s*:)\s*", "", line.strip(),
                      flags=re.IGNORECASE)
        line = line.strip().strip('"“”\'').strip()
        if line:
            return line
    return ""


async def write_query(model: Any, tools: list[Tool], kind: str, variation: int) -> str:
    """Ask ``model`` for one request needing ``tools`` (not traced: it is not the run)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from agent.planners.llm import describe_tools, prompt

    need = ("needs the tool " + tools[0].name if kind == "single"
            else "needs all of these tools together")
    text = prompt("generate_queries", tools=describe_tools(tools), need=need,
                  variation=str(variation))
    reply = await model.ainvoke([SystemMessage(text), HumanMessage("Write the request.")])
    return parse_query(str(reply.content if hasattr(reply, "content") else reply))


def solve_one(item: dict[str, Any]) -> dict[str, Any]:
    """One model-driven example; every outcome is returned as data.

    ``item``: ``index``, ``tools`` (names), ``kind``, ``model`` (id), ``planner`` (name),
    ``setup``, ``side_effects``.
    """
    from agent.runtime import Agent

    registry = registry_for(item["setup"])
    names = item["tools"]
    record: dict[str, Any] = {"index": item["index"], "tool": names[0], "tools": names,
                              "kind": item["kind"], "calls": []}
    tools = [registry.tools[n] for n in names if n in registry.tools]
    if len(tools) != len(names):
        return {**record, "status": "failed", "reason": "a tool is no longer registered"}
    model = registry.model(item["model"])
    agent = Agent(tools, planner=registry.planner(item["planner"]), model=model, store=False,
                  registry=registry, settings=sandbox_for(item["setup"]),
                  approve=True if item.get("side_effects") else None)
    recorder = capture(agent)

    async def go() -> Any:
        query = await write_query(model, tools, item["kind"], item["index"])
        if not query:
            return None
        return await agent.run(query)

    try:
        run = asyncio.run(go())
    except Exception as exc:  # a model that fails to answer drops this example only
        return {**record, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    if run is None:
        return {**record, "status": "failed", "reason": "the model wrote no request"}
    record["query"] = run.query
    record["calls"] = [r.name for r in run.results if r.ok]
    if run.status != "ok" or not record["calls"]:
        reason = run.error or ("answered without a tool" if run.status == "ok" else run.status)
        return {**record, "status": "failed", "reason": f"run ended {run.status}: {reason}"}
    return {**record, "status": "ok", "ops": recorder.ops()}
