"""``react``: the model decides each step (ReAct with native tool calling).

Loop: ask the model with the offered tools; run the tool calls it makes (through the
environment: validated, parallel, traced); show it the results, errors included, as
delimited data; repeat until it answers in plain text. The agent's ``max_steps`` bounds the
loop (the environment ends the run ``max_steps``).

Models without native tool calling get a JSON reply format instead (``prompts/react_json``):
one JSON object per reply, parsed strictly; a reply that does not fit goes back to the model
with the reason.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.environment import Environment
from agent.types import Answer, Task, Tool

from .llm import (
    ReplyError,
    call_message,
    describe_tools,
    in_order,
    model_calls,
    observation,
    parse_json_reply,
    prompt,
    refuse_unoffered,
    supports_tools,
    tool_message,
)


class ReactPlanner:
    """ReAct: model step, tool step, model step, ... until the model answers.

    max_tools: offer at most this many tools; with more, the retriever picks them per query.
    native_tools: ``True``/``False`` forces native tool calling or the JSON format; ``None``
        uses native tool calling when the model implements ``bind_tools``.
    first_tool_choice: passed as ``tool_choice`` with the first request (native tool calling
        only), e.g. ``"required"`` so that a small model starts with a tool call; later
        requests leave the choice to the model.
    """

    name = "react"

    def __init__(self, *, max_tools: int = 40, native_tools: bool | None = None,
                 first_tool_choice: str | None = None) -> None:
        self.max_tools = max_tools
        self.native_tools = native_tools
        self.first_tool_choice = first_tool_choice

    def offered(self, task: Task, env: Environment) -> dict[str, Tool]:
        tools = env.tools
        if len(tools) <= self.max_tools:
            return dict(tools)
        return {t.name: t for t in env.retrieve(task.query, self.max_tools)}

    async def run(self, task: Task, env: Environment) -> Answer:
        tools = self.offered(task, env)
        native = self.native_tools
        if native is None:
            native = supports_tools(env.agent.model)
        if native:
            return await self._native(task, env, tools)
        return await self._json(task, env, tools)

    async def _native(self, task: Task, env: Environment, tools: dict[str, Tool]) -> Answer:
        messages: list[BaseMessage] = [SystemMessage(prompt("react_system")),
                                       HumanMessage(task.query)]
        offered = list(tools.values())
        first = {"tool_choice": self.first_tool_choice} if self.first_tool_choice else {}
        while True:
            reply = await env.call_model(messages, offered or None, **first)
            first = {}
            if not reply.tool_calls:
                return Answer(reply.text)
            calls = model_calls(reply)
            messages.append(call_message(reply, calls))
            allowed, refused = refuse_unoffered(env, calls, tools)
            results = await env.call_tools(allowed) if allowed else []
            messages.extend(tool_message(r) for r in in_order(calls, results, refused))

    async def _json(self, task: Task, env: Environment, tools: dict[str, Tool]) -> Answer:
        system = prompt("react_json", tools=describe_tools(tools.values()))
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(task.query)]
        n = 0
        while True:
            reply = await env.call_model(messages)
            messages.append(AIMessage(content=reply.content))
            try:
                action = parse_json_reply(reply.text, tools)
            except ReplyError as exc:
                messages.append(HumanMessage(
                    f"Your reply was not valid: {exc}. Reply with one JSON object only."))
                continue
            if "answer" in action:
                return Answer(action["answer"])
            n += 1
            call: dict[str, Any] = {"name": action["tool"], "args": action["args"],
                                    "id": f"call_{n}"}
            results = await env.call_tools([call])
            messages.append(observation(results))


__all__ = ["ReactPlanner"]
