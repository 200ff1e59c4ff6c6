"""``dfsdt``: ToolLLM's depth-first search decision tree.

Each node of the tree is a point in the conversation. Expanding a node asks the model for
the next step; up to ``width`` children are tried per node, the model seeing the steps
already tried there (``prompts/dfsdt_retry``) so that it picks a different one. A child is:
- an answer (a reply without tool calls): the search ends, this is the solution;
- a ``give_up`` call, or tool calls of which one fails: a dead end, try the next sibling;
- tool calls that all succeed: a new node, searched depth first.
When a node's children are exhausted the search backtracks to its parent. When tools fit the
query the root's children must be calls (``first_tool_choice``), as ``react``'s first step.
The search is bounded by ``max_nodes`` (model calls) and ``max_depth`` (tool steps on one
path), and by the agent's ``max_steps``.

The trace keeps the whole tree: a model step's parent is the tool step of the node it
expands (none at the root), a tool step's parent is the model step that asked for it. The
last step, kind ``solution``, lists the ids of the steps on the solution path
(``data["path"]``) and how many nodes were expanded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.environment import Environment
from agent.types import Answer, Task, Tool

from .llm import (
    FittingTools,
    call_message,
    in_order,
    last_step,
    model_calls,
    offered_tools,
    prompt,
    refuse_unoffered,
    tool_message,
    wrap_output,
)

GIVE_UP = "give_up"


def _give_up_tool() -> Tool:
    def give_up(reason: str = "") -> str:
        return reason

    return Tool.from_schema(
        GIVE_UP, prompt("dfsdt_give_up"),
        {"type": "object", "properties": {"reason": {
            "type": "string", "description": "why this path cannot succeed"}}},
        give_up)


@dataclass
class Node:
    messages: list[BaseMessage]
    step_id: str | None  # the tool step that made this node (None: the root)
    depth: int
    path: list[str]  # step ids from the root to here


class _Search:
    def __init__(self, planner: DfsdtPlanner, env: Environment, tools: dict[str, Tool],
                 shown: list[Tool], root_choice: str | None) -> None:
        self.planner = planner
        self.env = env
        self.tools = tools
        self.offered = [*shown, _give_up_tool()]
        self.root_choice = root_choice  # ``tool_choice`` of the root's expansions
        self.nodes = 0
        self.answer: str | None = None
        self.path: list[str] = []

    async def expand(self, node: Node) -> bool:
        """Search below ``node``; True when a solution was found."""
        env, planner = self.env, self.planner
        tried: list[str] = []
        for _ in range(planner.width):
            if self.nodes >= planner.max_nodes:
                return False
            self.nodes += 1
            messages = list(node.messages)
            if tried:
                messages.append(HumanMessage(prompt(
                    "dfsdt_retry", tried="\n".join(f"{i}. {t}" for i, t in enumerate(tried, 1)))))
            options = {"tool_choice": self.root_choice} \
                if node.step_id is None and self.root_choice else {}
            reply = await env.call_model(messages, self.offered, parent_id=node.step_id,
                                         **options)
            model_step = last_step(env, "model")
            if not reply.tool_calls:
                self.answer = reply.text
                self.path = [*node.path, model_step.id]
                return True
            calls = model_calls(reply)
            gave_up = [c for c in calls if c["name"] == GIVE_UP]
            if gave_up:
                reason = gave_up[0]["args"].get("reason") or "no reason given"
                tried.append(f"{_describe(calls)} -> the model gave up: {reason}")
                continue
            if node.depth >= planner.max_depth:
                tried.append(f"{_describe(calls)} -> not run: the search is at its depth limit")
                continue
            allowed, refused = refuse_unoffered(env, calls, self.tools, model_step.id)
            results = (await env.call_tools(allowed, parent_id=model_step.id)
                       if allowed else [])
            ordered = in_order(calls, results, refused)
            tool_step_id = last_step(env, "tool_calls").id if allowed else model_step.id
            failed = [r for r in ordered if not r.ok]
            if failed:
                tried.append(f"{_describe(calls)} -> failed:\n"
                             + "\n".join(wrap_output(r) for r in failed))
                continue
            child = Node(
                [*node.messages, call_message(reply, calls), *(tool_message(r) for r in ordered)],
                tool_step_id, node.depth + 1, [*node.path, model_step.id, tool_step_id])
            if await self.expand(child):
                return True
            tried.append(f"{_describe(calls)} -> succeeded, but every step after it failed:\n"
                         + "\n".join(wrap_output(r) for r in ordered))
        return False


def _describe(calls: list[dict[str, Any]]) -> str:
    return "; ".join(f"{c['name']}({json.dumps(c['args'], ensure_ascii=False, default=str)})"
                     for c in calls)


class DfsdtPlanner:
    """Depth-first search over the model's possible steps, backtracking on failure.

    width: children tried per node; max_nodes: model calls in all; max_depth: tool steps on
    one path; max_tools: offer at most this many tools (the retriever picks them).
    tools: what the model is shown at every node: ``"fitting"`` (default) the tools that fit
    the query (``FittingTools``; all when none fit), ``"all"`` every offered tool.
    first_tool_choice: ``tool_choice`` at the root, as ``react``'s: ``"fitting"`` (default)
        requires a call (a tool's or ``give_up``) when tools fit the query, so a small model
        does not end the search at once with an answer from memory ("12*7"); ``None`` (or
        ``"auto"``) lets the model choose; ``"required"`` always requires one.
    """

    name = "dfsdt"

    def __init__(self, *, width: int = 2, max_nodes: int = 12, max_depth: int = 6,
                 max_tools: int = 40, tools: str = "fitting",
                 first_tool_choice: str | None = "fitting") -> None:
        if width < 1 or max_nodes < 1 or max_depth < 0:
            raise ValueError("width and max_nodes must be at least 1, max_depth at least 0")
        if tools not in ("fitting", "all"):
            raise ValueError(f"tools must be 'fitting' or 'all', not {tools!r}")
        self.width = width
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.max_tools = max_tools
        self.tools = tools
        self.first_tool_choice = first_tool_choice
        self._fitting = FittingTools()

    async def run(self, task: Task, env: Environment) -> Answer:
        tools = offered_tools(env, task.query, self.max_tools)
        tools.pop(GIVE_UP, None)  # the search's own action; a tool of that name is hidden
        wants_fitting = "fitting" in (self.tools, self.first_tool_choice)
        fitting = self._fitting(env, task.query, tools) if wants_fitting and tools else []
        shown = fitting if self.tools == "fitting" else []
        choice = self.first_tool_choice
        if choice == "fitting":
            choice = "required" if fitting else None
        search = _Search(self, env, tools, shown or list(tools.values()), choice)
        root = Node([SystemMessage(prompt("dfsdt_system")), HumanMessage(task.query)],
                    None, 0, [])
        found = await search.expand(root)
        step = env.begin_step("solution", "found" if found else "not found")
        env.end_step(step, "ok" if found else "error", path=search.path, nodes=search.nodes)
        if found and search.answer is not None:
            return Answer(search.answer)
        return Answer(f"No solution found after trying {search.nodes} steps.", status="error")


__all__ = ["DfsdtPlanner"]
