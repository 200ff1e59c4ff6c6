"""Tool calls through an OpenAI-compatible server that ignores ``tools``.

llama.cpp's server drops the request's ``tools`` when the model's chat template has none (as
SmolLM2's has none): a small model then answers from memory, and nothing says why. Such a
server is found out once per endpoint and model, by a request that requires a call getting
none (the caller's own, or a probe asking for a call of ``ping``), and is then asked the
prompted way (``prompted_tools``): the tools described in the system message, the reply
constrained to one JSON call or answer by ``response_format``, the JSON parsed into
``tool_calls``. What the model class does over HTTP is in ``openai_chat``; this is the
request and reply shaping, kept apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, InvalidToolCall, ToolCall
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.plugins.prompted_tools import (
    TOOL_BUDGET,
    parse_reply,
    reply_schema,
    response_format,
    to_chat_messages,
    tools_prompt,
)

#: What a server did with ``tools``, by (endpoint, model): True it calls them, False it
#: ignores them. Learned once per process; ``tool_calling="native"`` or ``"prompted"`` on the
#: model skips the question.
KNOWN: dict[tuple[str, str], bool] = {}

_PING = {"type": "function", "function": {
    "name": "ping", "description": "Replies pong.",
    "parameters": {"type": "object", "properties": {}}}}


def probe_body(model_name: str) -> dict[str, Any]:
    """A request any server that takes tools must answer with a call (a short one)."""
    return {"model": model_name,
            "messages": [{"role": "user", "content": "Call the tool ping."}],
            "tools": [_PING], "tool_choice": "required", "max_tokens": 64, "temperature": 0}


def made_call(result: ChatResult, *, probe: bool = False) -> bool | None:
    """Did the reply to a request that required a call make one? None for a probe cut short
    (64 tokens fit any server's call of ``ping``: it tells nothing). A caller's reply cut short
    without a call counts as none: the prompted way works with any server."""
    reply = result.generations[0].message
    if getattr(reply, "tool_calls", None) or getattr(reply, "invalid_tool_calls", None):
        return True
    if probe and reply.response_metadata.get("finish_reason") == "length":
        return None
    return False


def prompted_body(body: dict[str, Any], messages: Sequence[BaseMessage],
                  tools: Sequence[dict[str, Any]], tool_choice: Any) -> dict[str, Any]:
    """``body`` (a request without tools) asking for the tools the prompted way."""
    schema = reply_schema(tools, tool_choice)
    body = {**body, "messages": to_chat_messages(messages, tools_prompt(tools, tool_choice))}
    if schema is not None:
        body["response_format"] = response_format(schema)
        if body.get("max_tokens") is not None:
            body["max_tokens"] = max(int(body["max_tokens"]), TOOL_BUDGET)
    return body


def prompted_result(result: ChatResult) -> ChatResult:
    """A reply to ``prompted_body``: its JSON call as ``tool_calls`` (a call that is not a
    name and an object lands in ``invalid_tool_calls``), its JSON answer as content."""
    reply = result.generations[0].message
    content, calls = parse_reply(str(reply.content))
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls:
        if isinstance(call["name"], str) and isinstance(call["args"], dict):
            valid.append(ToolCall(name=call["name"], args=call["args"], id=call["id"],
                                  type="tool_call"))
        else:
            invalid.append(InvalidToolCall(
                name=str(call["name"]), args=json.dumps(call["args"]), id=call["id"],
                error="the reply's tool or arguments are not a name and an object",
                type="invalid_tool_call"))
    message = AIMessage(content=content, tool_calls=valid, invalid_tool_calls=invalid,
                        usage_metadata=getattr(reply, "usage_metadata", None),
                        response_metadata={**reply.response_metadata,
                                           "tool_calling": "prompted"}, id=reply.id)
    return ChatResult(generations=[ChatGeneration(message=message)],
                      llm_output=result.llm_output)


def with_usage(result: ChatResult, spent: UsageMetadata | None) -> ChatResult:
    """``result`` counting the tokens of earlier requests made for it too (a probe, a reply
    without the call it had to make)."""
    reply = result.generations[0].message
    if spent is not None and isinstance(reply, AIMessage):
        reply.usage_metadata = add_usage(spent, reply.usage_metadata)
    return result
