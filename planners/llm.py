"""What the model-driven planners (react, dfsdt, compiler) share.

- prompts: loaded from ``prompts/*.txt`` (package data), filled by ``{{name}}`` placeholders;
- tool output as data: a result reaches a model only inside
  ``<tool_output name=... id=...>...</tool_output>`` in a tool or user message, never in a
  system prompt, and the text inside cannot close the wrapper early;
- model arguments as data: an argument the model writes that looks like one of our plan
  references (``{"$ref": ...}``) is escaped, so a model cannot make the executor read
  another call's output;
- calls to tools that were not offered are refused before anything runs;
- the strict JSON reply format for models without native tool calling;
- streaming a model reply through the environment's step bookkeeping (the compiler).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from functools import cache
from importlib import resources
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.environment import Environment
from agent.messages import made
from agent.refs import LITERAL, REF, Calls, has_nested
from agent.types import Step, Tool, ToolResult

OUTPUT_TAG = "tool_output"


# Prompts ---------------------------------------------------------------------------------
@cache
def prompt_text(name: str) -> str:
    """The text of ``prompts/<name>.txt`` (shipped as package data)."""
    return (resources.files("agent.planners") / "prompts" / f"{name}.txt").read_text("utf-8")


def prompt(name: str, **values: str) -> str:
    """A prompt file with its ``{{key}}`` placeholders filled (other braces are literal)."""
    text = prompt_text(name)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text.strip()


def describe_tools(tools: Iterable[Tool]) -> str:
    """One line per tool: ``name(params): description`` with the JSON Schema of the args."""
    lines = []
    for t in tools:
        params = json.dumps(t.parameters, ensure_ascii=False, separators=(",", ":"))
        lines.append(f"- {t.name}: {t.description.strip() or '(no description)'}\n"
                     f"  arguments (JSON Schema): {params}")
    return "\n".join(lines)


# Tool output is data ---------------------------------------------------------------------
#: ``html.escape(text, quote=True)`` in one pass (names and ids are escaped on every result).
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                            "'": "&#x27;"})


def wrap_output(result: ToolResult) -> str:
    """``result`` as delimited, untrusted data.

    The attributes are escaped, and any ``<tool_output``/``</tool_output`` inside the text is
    defused, so the tool cannot end the wrapper and speak outside it.
    """
    body = result.text()
    body = body.replace(f"</{OUTPUT_TAG}", f"&lt;/{OUTPUT_TAG}").replace(
        f"<{OUTPUT_TAG}", f"&lt;{OUTPUT_TAG}")
    status = "" if result.ok else ' status="error"'
    return (f'<{OUTPUT_TAG} name="{result.name.translate(_ATTRIBUTE)}" '
            f'id="{result.call_id.translate(_ATTRIBUTE)}"{status}>\n{body}\n</{OUTPUT_TAG}>')


def tool_message(result: ToolResult) -> ToolMessage:
    """A tool result for a model with native tool calling (made without validating: its
    fields are strings wrap_output and the executor made; ``agent.messages``)."""
    return made(ToolMessage, content=wrap_output(result), tool_call_id=result.call_id,
                name=result.name, status="success" if result.ok else "error")


def literal_args(value: Any) -> Any:
    """Escape what a model wrote that our executor would read as a reference or escape."""
    if type(value) is dict:
        if len(value) == 1 and (REF in value or LITERAL in value):
            return {LITERAL: value}
        return {k: literal_args(v) for k, v in value.items()}
    if type(value) is list:
        return [literal_args(v) for v in value]
    return value


def model_calls(reply: AIMessage, prefix: str = "call") -> Calls:
    """The reply's tool calls as plan calls: unique ids, model arguments escaped (already
    in the executor's normal form, so they are not copied again)."""
    out = Calls()
    seen: set[str] = set()
    for i, tc in enumerate(reply.tool_calls, 1):
        call_id = str(tc.get("id") or f"{prefix}_{i}").replace("#", "_")
        while call_id in seen:
            call_id += "_"
        seen.add(call_id)
        args = tc.get("args")
        if not isinstance(args, dict):
            args = dict(args or {})
        if has_nested(args):
            args = literal_args(args)
        out.append({"name": str(tc["name"]), "args": args, "id": call_id})
    return out


def call_message(reply: AIMessage, calls: list[dict[str, Any]]) -> AIMessage:
    """The reply as the model's turn in the history, with the calls as they were run.

    The reply itself when nothing changed (the usual case: no new message is built)."""
    if len(calls) == len(reply.tool_calls) and all(
            c["id"] == tc.get("id") and c["args"] is tc.get("args")
            for c, tc in zip(calls, reply.tool_calls, strict=True)):
        return reply
    return AIMessage(content=reply.content, tool_calls=[
        {"name": c["name"], "args": c["args"], "id": c["id"]} for c in calls])


def refuse_unoffered(env: Environment, calls: list[dict[str, Any]], offered: Mapping[str, Any],
                     parent_id: str | None = None,
                     ) -> tuple[list[dict[str, Any]], list[ToolResult]]:
    """Split ``calls`` into those to run and error results for tools that were not offered.

    A refusal is recorded as a step of its own (kind ``refused``), so it is traced.
    """
    allowed = [c for c in calls if c["name"] in offered]
    if len(allowed) == len(calls):
        return calls, []
    refused = [
        ToolResult(c["id"], c["name"], "error", args=c["args"], started_at=time.time(),
                   error=f"tool {c['name']!r} was not offered; the tools are: "
                         f"{', '.join(offered) or 'none'}")
        for c in calls if c["name"] not in offered]
    step = env.begin_step("refused", ", ".join(r.name for r in refused), parent_id)
    env.end_step(step, "error", calls=[{"name": r.name, "id": r.call_id} for r in refused])
    return allowed, refused


def in_order(calls: Sequence[dict[str, Any]], results: list[ToolResult],
             refused: list[ToolResult]) -> list[ToolResult]:
    """Results of the calls that ran and of those refused, back in the order of ``calls``."""
    if not refused:
        return results
    by_id = {r.call_id: r for g in (results, refused) for r in g}
    return [by_id[c["id"]] for c in calls]


def last_step(env: Environment, kind: str) -> Step:
    """The newest step of ``kind`` (planners that run sequentially use it for parent ids)."""
    for step in reversed(env.run.steps):
        if step.kind == kind:
            return step
    raise LookupError(f"no {kind} step yet")


# Models without native tool calling --------------------------------------------------------
def supports_tools(model: Any) -> bool:
    """Does the model implement ``bind_tools`` (native tool calling)?"""
    from langchain_core.language_models import BaseChatModel

    bind = getattr(type(model), "bind_tools", None)
    return bind is not None and bind is not BaseChatModel.bind_tools


class ReplyError(ValueError):
    """A reply that does not follow the JSON format; the message goes back to the model."""


def parse_json_reply(text: str, offered: Mapping[str, Tool]) -> dict[str, Any]:
    """Strictly parse ``{"tool": name, "args": {...}}`` or ``{"answer": text}``.

    The whole reply must be one JSON object with exactly those keys; the tool must be one
    that was offered and the arguments must validate against its schema.
    """
    try:
        obj = json.loads(text.strip())
    except json.JSONDecodeError as exc:
        raise ReplyError(f"the reply is not one JSON object ({exc.msg} at {exc.pos})") from None
    if not isinstance(obj, dict):
        raise ReplyError("the reply must be a JSON object")
    keys = set(obj)
    if keys == {"answer"}:
        if not isinstance(obj["answer"], str):
            raise ReplyError('"answer" must be a string')
        return obj
    if keys not in ({"tool", "args"}, {"tool"}):
        raise ReplyError('the object must be {"tool": ..., "args": {...}} or {"answer": ...}, '
                         f"got the keys {sorted(keys)}")
    name, args = obj["tool"], obj.get("args", {})
    if not isinstance(name, str) or name not in offered:
        raise ReplyError(f"unknown tool {name!r}; the tools are: {', '.join(offered)}")
    if not isinstance(args, dict):
        raise ReplyError('"args" must be a JSON object')
    if not offered[name].is_valid(args):
        from agent.schema import explain

        field, message = explain(offered[name].validator, args)
        raise ReplyError(f"invalid arguments for {name}: "
                         f"{f'{field}: ' if field else ''}{message}")
    return {"tool": name, "args": literal_args(args)}


def observation(results: Iterable[ToolResult]) -> HumanMessage:
    """Tool results for a model without tool messages: delimited data in a user turn."""
    return HumanMessage("\n".join(wrap_output(r) for r in results))


def offered_tools(env: Environment, query: str, max_tools: int) -> dict[str, Tool]:
    """The tools a model is shown: all of them, or the retriever's best ``max_tools``."""
    tools = env.tools
    if len(tools) <= max_tools:
        return dict(tools)
    return {t.name: t for t in env.retrieve(query, max_tools)}


class FittingTools:
    """The offered tools that fit a query, found without a model: those the LLM-free
    ``dataflow`` planner would call ("what is 12 * 7" is an expression for the calculator),
    then the retriever's best five. None fit: an empty list.

    Why: a small model shown just these reads a short prompt (the 16 built-in tools are
    ~2,200 tokens, ~20 s on two cores) and picks among few instead of a random one.
    """

    def __init__(self) -> None:
        self._dataflow: Any = None

    def __call__(self, env: Environment, query: str, tools: dict[str, Tool]) -> list[Tool]:
        planned = self._planned(query, tools)
        try:
            found = [t.name for t in env.retrieve(query, 5) if t.name in tools]
        except Exception:  # a hint only: a broken retriever is no reason to fail the run
            found = []
        return [tools[name] for name in dict.fromkeys(planned + found)]

    def _planned(self, query: str, tools: dict[str, Tool]) -> list[str]:
        from .dataflow import DataflowPlanner

        if self._dataflow is None:
            self._dataflow = DataflowPlanner()
        try:
            return [c.name for c in self._dataflow.plan(query, tools).calls]
        except Exception:  # a hint only: a planner error must not stop the run
            return []


# Streaming through the environment --------------------------------------------------------
async def stream_model(env: Environment, messages: list[BaseMessage],
                       on_text: Callable[[str, Step], bool | None], *,
                       parent_id: str | None = None,
                       **options: Any) -> tuple[AIMessage, Step]:
    """Stream a reply, passing each text delta (and the model step) to ``on_text``; traced
    like ``call_model``. ``options`` go to the model's request (a ``grammar``, ...).
    ``on_text`` returning True stops the reply there (the stream is closed, so the model
    stops writing): the reply is the text so far.

    The step records tokens (from the chunks' ``usage_metadata``) and time, and the reply
    joins the run's transcript. The environment's model-step bookkeeping is shared
    (``begin_model_step`` / ``end_model_step``): one ``model`` step, token totals, transcript.
    """
    model, step = env.begin_model_step(parent_id)
    merged: Any = None
    first_at: float | None = None
    try:
        async with aclosing(model.astream(messages, **options)) as chunks:
            async for chunk in chunks:
                merged = chunk if merged is None else merged + chunk
                text = chunk.content if isinstance(chunk.content, str) else chunk.text
                if text:
                    if first_at is None:
                        first_at = time.time()
                    if on_text(text, step):
                        break
    except BaseException as exc:
        env.end_step(step, "error", error=f"{type(exc).__name__}: {exc}")
        raise
    reply = AIMessage(content=merged.content if merged is not None else "",
                      usage_metadata=getattr(merged, "usage_metadata", None),
                      response_metadata=getattr(merged, "response_metadata", {}) or {})
    data = {"first_token_ms": (first_at - step.started_at) * 1000} if first_at else {}
    env.end_model_step(step, reply, streamed=True, **data)
    return reply, step
