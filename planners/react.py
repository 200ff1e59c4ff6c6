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

import json
from collections.abc import Hashable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.environment import Environment
from agent.types import Answer, Run, Task, Tool, ToolResult

from .llm import (
    FittingTools,
    ReplyError,
    call_message,
    describe_tools,
    in_order,
    model_calls,
    observation,
    offered_tools,
    parse_json_reply,
    prompt,
    refuse_unoffered,
    supports_tools,
    tool_message,
    wrap_output,
)


class ReactPlanner:
    """ReAct: model step, tool step, model step, ... until the model answers.

    max_tools: offer at most this many tools; with more, the retriever picks them per query.
    native_tools: ``True``/``False`` forces native tool calling or the JSON format; ``None``
        uses native tool calling when the model implements ``bind_tools``.
    first_tool_choice: ``tool_choice`` for the first request (native tool calling only); later
        requests leave the choice to the model. The default, ``"fitting"``: when offered
        tools fit the query (the LLM-free ``dataflow`` planner would call them, or the
        retriever finds them), the first request offers just those and requires a call;
        otherwise the model chooses among all. Small models answer from memory ("12 * 7 =
        88") or pick a random tool among many; a greeting still gets a plain reply. ``None`` (or
        ``"auto"``) always lets the model choose; ``"required"`` always requires a call.
    later_tools: what later requests offer when the first offered the fitting tools:
        ``"fitting"`` (default) the same tools, so the prompt stays short and its start stays
        the same (a local model re-reads 16 tool signatures, ~2,200 tokens, in ~20 s on two
        cores; an unchanged start is served from its cache); ``"all"`` every offered tool.
        A call to a tool the run does not offer is refused.
    """

    name = "react"

    def __init__(self, *, max_tools: int = 40, native_tools: bool | None = None,
                 first_tool_choice: str | None = "fitting",
                 later_tools: str = "fitting") -> None:
        if later_tools not in ("fitting", "all"):
            raise ValueError(f"later_tools must be 'fitting' or 'all', not {later_tools!r}")
        self.max_tools = max_tools
        self.native_tools = native_tools
        self.first_tool_choice = first_tool_choice
        self.later_tools = later_tools
        self._fitting = FittingTools()

    async def run(self, task: Task, env: Environment) -> Answer:
        tools = offered_tools(env, task.query, self.max_tools)
        native = self.native_tools
        if native is None:
            native = supports_tools(env.agent.model)
        if native:
            return await self._native(task, env, tools)
        return await self._json(task, env, tools)

    async def _native(self, task: Task, env: Environment, tools: dict[str, Tool]) -> Answer:
        messages: list[BaseMessage] = [SystemMessage(prompt("react_system")),
                                       HumanMessage(task.query)]
        seen = SeenCalls()
        choice, first = self._first_request(task, env, tools)
        offered: Sequence[Tool] = first
        if self.later_tools == "fitting" and offered:
            tools = {t.name: t for t in offered}
        every = tuple(tools.values())
        while True:
            options = {"tool_choice": choice} if choice else {}
            reply = await env.call_model(messages, offered or None, **options)
            offered = every
            if not reply.tool_calls:
                return Answer(reply.text)
            calls = model_calls(reply)
            keys = seen.keys(calls)
            if seen.repeated(keys):
                if choice == "none":  # a server that ignores tool_choice: stop, don't loop
                    return Answer("Stopped: the model keeps repeating calls it already made.",
                                  status="error")
                shown = "\n".join(wrap_output(r) for r in seen.results(env.run, keys))
                messages.append(HumanMessage(prompt("react_repeated", query=task.query,
                                                    results=shown)))
                choice = "none"  # the results are in: answer now
                continue
            choice = None
            seen.note(keys)
            messages.append(call_message(reply, calls))
            allowed, refused = refuse_unoffered(env, calls, tools)
            results = await env.call_tools(allowed) if allowed else []
            messages.extend(tool_message(r) for r in in_order(calls, results, refused))

    def _first_request(self, task: Task, env: Environment,
                       tools: dict[str, Tool]) -> tuple[str | None, list[Tool]]:
        """``tool_choice`` and the tools for the first request (later ones: ``later_tools``)."""
        offered = list(tools.values())
        if self.first_tool_choice != "fitting":
            return self.first_tool_choice, offered
        if not tools:
            return None, offered
        fitting = self._fitting(env, task.query, tools)
        if not fitting:
            return None, offered
        return "required", fitting

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


class SeenCalls:
    """Calls already made, so a model that repeats one is told to answer instead of looping.

    Small models often call the same tool with the same arguments again and again after
    getting the result; the repeat would give the same result (or the same error) and only
    burn steps until ``max_steps``.
    """

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    @staticmethod
    def key(call: dict[str, Any]) -> Hashable:
        """Equal for equal calls, whatever the order of the arguments."""
        args = call.get("args") or {}
        key = (call.get("name"), tuple(sorted(args.items())))
        try:
            hash(key)  # flat arguments (the usual case): no encoding needed
        except TypeError:  # a list or object value
            return json.dumps([call.get("name"), args], sort_keys=True, default=str)
        return key

    def keys(self, calls: list[dict[str, Any]]) -> list[Hashable]:
        return [self.key(c) for c in calls]

    def note(self, keys: list[Hashable]) -> None:
        self._seen.update(keys)

    def results(self, run: Run, keys: list[Hashable]) -> list[ToolResult]:
        """The newest result of each of these calls (what the model is shown again)."""
        out: list[ToolResult] = []
        for key in dict.fromkeys(keys):
            for r in reversed(run.results):
                if self.key({"name": r.name, "args": r.args}) == key:
                    out.append(r)
                    break
        return out

    def repeated(self, keys: list[Hashable]) -> bool:
        """True when every call was made before (a reply with something new goes ahead)."""
        return bool(keys) and all(k in self._seen for k in keys)


__all__ = ["ReactPlanner", "SeenCalls"]
