"""The OpenAI chat-completions wire format: tool specs, tool calls, usage, error bodies.

Pure functions over the JSON a compatible server sends and expects, kept apart from the model
class in ``openai_chat`` (which does the HTTP, retries and streaming).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.ai import UsageMetadata
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.models import ModelError


def tool_spec(tool: Any) -> dict[str, Any]:
    if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool:
        return tool
    spec = getattr(tool, "spec", None)
    if callable(spec) and not isinstance(tool, type):  # an agent.types.Tool
        out: dict[str, Any] = spec()
        return out
    return convert_to_openai_tool(tool)


def parse_tool_call(raw: Any, ok: list[ToolCall], bad: list[InvalidToolCall]) -> None:
    fn = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(fn, dict):
        bad.append(InvalidToolCall(name=None, args=json.dumps(raw), id=None,
                                   error="a tool call without a function",
                                   type="invalid_tool_call"))
        return
    name, args, call_id = fn.get("name"), fn.get("arguments"), raw.get("id")
    if isinstance(args, dict):  # some servers send an object, not a JSON string
        parsed: Any = args
    else:
        try:
            parsed = json.loads(args) if args and args.strip() else {}
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            bad.append(InvalidToolCall(name=name, args=args if isinstance(args, str) else None,
                                       id=call_id, error=f"arguments are not JSON: {exc}",
                                       type="invalid_tool_call"))
            return
    if not isinstance(parsed, dict) or not name:
        bad.append(InvalidToolCall(name=name, args=args if isinstance(args, str) else None,
                                   id=call_id,
                                   error="no tool name" if not name
                                   else "arguments are not a JSON object",
                                   type="invalid_tool_call"))
        return
    ok.append(ToolCall(name=name, args=parsed, id=call_id, type="tool_call"))


def usage_of(raw: Any) -> UsageMetadata | None:
    if not isinstance(raw, dict):
        return None
    i = int(raw.get("prompt_tokens") or 0)
    o = int(raw.get("completion_tokens") or 0)
    return UsageMetadata(input_tokens=i, output_tokens=o,
                         total_tokens=int(raw.get("total_tokens") or i + o))


def json_reply(text: str, url: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ModelError(f"malformed reply from {url}: not JSON ({text_start(text)})") from None
    if not isinstance(data, dict):
        raise ModelError(f"malformed reply from {url}: not a JSON object ({text_start(text)})")
    if "error" in data and "choices" not in data:
        raise ModelError(f"{url} answered with an error: {error_detail(text)}")
    return data


async def sse_data(resp: aiohttp.ClientResponse, url: str) -> AsyncIterator[dict[str, Any]]:
    """The JSON ``data:`` payloads of a server-sent event stream, until ``[DONE]``."""
    ctype = resp.headers.get("Content-Type", "")
    if "text/event-stream" not in ctype:  # a server that ignored "stream": a plain reply
        data = json_reply(await resp.text(), url)
        yield as_stream_chunk(data)
        yield {"choices": [], "usage": data.get("usage")}
        return
    lines: list[str] = []
    async for raw in resp.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line:
            if line.startswith("data:"):
                lines.append(line[5:].removeprefix(" "))
            continue  # comments (": ping"), event:, id:, retry: fields are ignored
        if not lines:
            continue
        payload, lines = "\n".join(lines), []
        if payload.strip() == "[DONE]":
            return
        try:
            data = json.loads(payload)
        except json.JSONDecodeError:
            raise ModelError(f"malformed event from {url}: not JSON ({text_start(payload)})"
                             ) from None
        if isinstance(data, dict) and "error" in data and not data.get("choices"):
            raise ModelError(f"{url} answered with an error: {error_detail(payload)}")
        if isinstance(data, dict):
            yield data


def as_stream_chunk(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices") or [{}]
    msg = choices[0].get("message") or {}
    calls = [{**c, "index": i} for i, c in enumerate(msg.get("tool_calls") or [])]
    return {"id": data.get("id"), "model": data.get("model"),
            "choices": [{"delta": {"content": msg.get("content"), "tool_calls": calls},
                         "finish_reason": choices[0].get("finish_reason")}]}


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_detail(text: str) -> str:
    """The server's own error message, shortened, on one line."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        data = None
    if isinstance(data, dict):
        err = data.get("error", data.get("message", data.get("detail")))
        if isinstance(err, dict):
            err = err.get("message") or err
        text = err if isinstance(err, str) else json.dumps(err)
    text = " ".join(str(text).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def text_start(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:60] + ("..." if len(text) > 60 else "")) if text else "empty body"


def connect_reason(exc: aiohttp.ClientConnectorError) -> str:
    err = exc.os_error
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return (err.strerror if err is not None and err.strerror else str(err or exc)) or "failed"
