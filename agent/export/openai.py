"""A recorded run as an OpenAI chat fine-tuning example: ``{"messages": [...], "tools": [...]}``.

The transcript is taken as recorded (langchain-core ``message_to_dict`` form): ``human`` ->
``user``, ``ai`` -> ``assistant`` (its tool calls in OpenAI function-call shape, arguments as
a JSON string), ``tool`` -> ``tool`` (content as recorded), ``system`` -> ``system``. The
``tools`` are the OpenAI function specs of the tools offered to the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant",
          "system": "system", "tool": "tool"}

#: The JSON Schema of one exported record (what ``--format openai`` writes per line).
OPENAI_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["messages", "tools"],
    "additionalProperties": False,
    "properties": {
        "messages": {"type": "array", "minItems": 1, "items": {"oneOf": [
            {"type": "object", "additionalProperties": False,
             "required": ["role", "content"],
             "properties": {"role": {"enum": ["system", "user"]},
                            "content": {"type": "string"}}},
            {"type": "object", "additionalProperties": False, "required": ["role"],
             "anyOf": [{"required": ["content"]}, {"required": ["tool_calls"]}],
             "properties": {
                 "role": {"const": "assistant"},
                 "content": {"type": "string"},
                 "tool_calls": {"type": "array", "minItems": 1, "items": {
                     "type": "object", "additionalProperties": False,
                     "required": ["id", "type", "function"],
                     "properties": {
                         "id": {"type": "string", "minLength": 1},
                         "type": {"const": "function"},
                         "function": {"type": "object", "additionalProperties": False,
                                      "required": ["name", "arguments"],
                                      "properties": {"name": {"type": "string"},
                                                     "arguments": {"type": "string"}}}}}}}},
            {"type": "object", "additionalProperties": False,
             "required": ["role", "tool_call_id", "content"],
             "properties": {"role": {"const": "tool"},
                            "tool_call_id": {"type": "string"},
                            "content": {"type": "string"}}},
        ]}},
        "tools": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["type", "function"],
            "properties": {
                "type": {"const": "function"},
                "function": {"type": "object", "required": ["name", "parameters"],
                             "additionalProperties": False,
                             "properties": {"name": {"type": "string"},
                                            "description": {"type": "string"},
                                            "parameters": {"type": "object"}}}}}},
    },
}


def text_of(content: Any) -> str:
    """A message's content as text: strings as they are, text blocks joined, else JSON."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            else:
                parts.append(json.dumps(block, ensure_ascii=False, default=str))
        return "".join(parts)
    return json.dumps(content, ensure_ascii=False, default=str)


def _arguments(args: Any) -> str:
    if isinstance(args, str):  # already encoded by the model
        return args
    return json.dumps(args if args is not None else {}, ensure_ascii=False, default=str)


def openai_messages(messages: Iterable[Mapping[str, Any]], *,
                    detail: bool = False) -> list[dict[str, Any]]:
    """The OpenAI chat messages of a recorded transcript.

    An assistant answer repeated verbatim right after itself (the model's final reply and
    the run's answer) is kept once. ``detail`` adds the tool's ``name`` and the result's
    ``status`` (success/error) to tool messages: chat templates of some open models want the
    name, ToolBench wants the error; the OpenAI format allows neither.
    """
    out: list[dict[str, Any]] = []
    calls_made = 0
    for message in messages:
        kind = message.get("type")
        data = message.get("data") or {}
        role = data.get("role") if kind == "chat" else _ROLES.get(str(kind))
        if role not in ("system", "user", "assistant", "tool"):
            continue
        content = text_of(data.get("content"))
        if role == "tool":
            item = {"role": "tool", "tool_call_id": str(data.get("tool_call_id") or ""),
                    "content": content}
            if detail:
                item["name"] = str(data.get("name") or "")
                item["status"] = "error" if data.get("status") == "error" else "success"
            out.append(item)
            continue
        if role != "assistant":
            out.append({"role": role, "content": content})
            continue
        calls: list[dict[str, Any]] = []
        for call in data.get("tool_calls") or ():
            calls_made += 1
            calls.append({"id": str(call.get("id") or f"call_{calls_made}"), "type": "function",
                          "function": {"name": str(call.get("name", "")),
                                       "arguments": _arguments(call.get("args"))}})
        if calls:
            if content:
                out.append({"role": "assistant", "content": content, "tool_calls": calls})
            else:
                out.append({"role": "assistant", "tool_calls": calls})
        elif not (out and out[-1] == {"role": "assistant", "content": content}):
            out.append({"role": "assistant", "content": content})
    return out


def openai_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function specs of stored tools (``name``, ``description``, ``parameters``)."""
    out = []
    for t in tools:
        parameters = t.get("parameters")
        if not isinstance(parameters, Mapping) or not parameters:
            parameters = {"type": "object", "properties": {}}
        out.append({"type": "function", "function": {
            "name": t["name"], "description": t.get("description") or "",
            "parameters": parameters}})
    return out


_TOOLS_CACHE: dict[tuple[str, ...], tuple[list[dict[str, Any]], str | None]] = {}
_TOOLS_CACHE_SIZE = 1024


def _cached_tools(run: Mapping[str, Any], encoded: bool) -> tuple[list[dict[str, Any]], str]:
    tools = run.get("tools") or ()
    key = tuple(str(t.get("hash") or t["name"]) for t in tools)
    hit = _TOOLS_CACHE.get(key)
    if hit is None:
        if len(_TOOLS_CACHE) >= _TOOLS_CACHE_SIZE:
            _TOOLS_CACHE.clear()
        hit = _TOOLS_CACHE[key] = (openai_tools(tools), None)
    specs, text = hit
    if encoded and text is None:
        text = json.dumps(specs, ensure_ascii=False)
        _TOOLS_CACHE[key] = (specs, text)
    return specs, text or ""


def offered_tools(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``openai_tools`` of a scanned run, shared between runs offered the same tools (runs
    offer the same few sets again and again); treat the list as read-only."""
    return _cached_tools(run, encoded=False)[0]


def offered_tools_json(run: Mapping[str, Any]) -> str:
    """``offered_tools`` as JSON text, encoded once per distinct set of tools."""
    return _cached_tools(run, encoded=True)[1]


def openai_record(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """One fine-tuning example; ``None`` for a run without a transcript."""
    messages = openai_messages(run.get("messages") or ())
    if not messages:
        return None
    return {"messages": messages, "tools": offered_tools(run)}


def called_tools(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The tool names a recorded transcript calls, in call order (repeats kept)."""
    names: list[str] = []
    for message in messages:
        if message.get("type") in ("ai", "AIMessageChunk"):
            names.extend(str(c.get("name", "")) for c in
                         (message.get("data") or {}).get("tool_calls") or ())
    return names
