"""Turn caller dicts into redacted, encoded rows ready for SQL.

Pure functions with no database access, so the costly per-row work (JSON encoding,
redaction, hashing, truncation) is easy to test and to profile on its own.
"""

from __future__ import annotations

import operator
import os
import socket
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from .encode import canonical_json, sha256_hex, tool_hash, truncate_text
from .redact import dumps, dumps_redacted, might_hold_secret, redact, redact_text

RUN_STATUSES = frozenset(
    {"running", "ok", "error", "needs_input", "cancelled", "max_steps", "interrupted"}
)
TOOL_CALL_STATUSES = frozenset({"success", "error", "cancelled"})

RUN_COLUMNS = (
    "id", "parent_id", "session_id", "query", "status", "planner", "model", "source",
    "answer", "error", "started_at", "ended_at", "duration_ms", "tokens_in", "tokens_out",
    "pid", "host", "metadata",
)
STEP_COLUMNS = (
    "id", "run_id", "parent_id", "seq", "kind", "name", "status", "started_at", "ended_at",
    "duration_ms", "tokens_in", "tokens_out", "data",
)
TOOL_CALL_COLUMNS = (
    "id", "run_id", "step_id", "call_id", "seq", "tool_name", "tool_hash", "args",
    "args_hash", "status", "content", "error", "truncated", "started_at", "duration_ms",
    "attempts",
)
_RUN_SET = frozenset(RUN_COLUMNS)
_STEP_SET = frozenset(STEP_COLUMNS)
_TOOL_CALL_SET = frozenset(TOOL_CALL_COLUMNS)
MESSAGE_COLUMNS = ("run_id", "seq", "type", "data", "content")
TOOL_COLUMNS = ("hash", "name", "description", "parameters", "plugin")

# Columns holding JSON text (encoded on write, decoded on read).
JSON_COLUMNS = frozenset({"metadata", "data", "args", "content", "parameters"})
# Free-text columns that may carry a secret pasted by a user or echoed by a tool.
_TEXT_COLUMNS = frozenset({"query", "answer", "error", "source", "name"})


@cache
def _host() -> str:
    return socket.gethostname()


def _check_columns(table: str, row: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if row.keys() <= allowed:
        return
    unknown = set(row).difference(allowed)
    if unknown:
        raise ValueError(f"unknown {table} column(s): {', '.join(sorted(unknown))}")


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    """Encode JSON columns and redact text columns of a row (keys are not checked)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            out[key] = None
        elif key in JSON_COLUMNS:
            out[key] = dumps_redacted(value)
        elif key in _TEXT_COLUMNS and isinstance(value, str):
            out[key] = redact_text(value)
        else:
            out[key] = value
    return out


def run_row(run: Mapping[str, Any]) -> dict[str, Any]:
    """A `runs` row; fills status, pid, host and started_at when missing."""
    _check_columns("runs", run, _RUN_SET)
    if not run.get("id"):
        raise ValueError("a run needs an 'id' (see agent.store.new_id)")
    row = _clean(run)
    row.setdefault("status", "running")
    row.setdefault("pid", os.getpid())
    row.setdefault("host", _host())
    row.setdefault("started_at", time.time())
    check_run_status(row["status"])
    return row


def check_run_status(status: object) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}: use one of {sorted(RUN_STATUSES)}")


def finish_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Columns `finish_run` may set; status defaults from whether an error is given."""
    _check_columns("runs", fields, _RUN_SET)
    if "id" in fields:
        raise ValueError("finish_run cannot change a run's id")
    row = _clean(fields)
    row.setdefault("status", "error" if row.get("error") else "ok")
    row.setdefault("ended_at", time.time())
    check_run_status(row["status"])
    return row


def step_row(step: Mapping[str, Any]) -> dict[str, Any]:
    _check_columns("steps", step, _STEP_SET)
    if not step.get("id") or not step.get("run_id"):
        raise ValueError("a step needs an 'id' and a 'run_id'")
    return _clean(step)


#: A step object's column values, in ``STEP_COLUMNS`` order.
STEP_FIELDS = operator.attrgetter(*STEP_COLUMNS)


def step_values(step: Any) -> tuple[Any, ...] | None:
    """A whole step as the values of its row, in `STEP_COLUMNS` order: from an object with
    every column as an attribute (`agent.types.Step`), or a dict of every column in that
    order (`Step.record()`); None for any other mapping (`step_row` handles those).

    The row-by-row way (`agent.store.bulk` builds a batch's steps together and comes here
    for the ones whose text may hold a secret): only `name` and `data` can hold text.
    """
    if type(step) is dict:
        if len(step) != len(STEP_COLUMNS) or tuple(step) != STEP_COLUMNS:
            return None
        values = tuple(step.values())
    elif isinstance(step, Mapping):
        return None
    else:
        try:
            values = STEP_FIELDS(step)
        except AttributeError as exc:
            raise TypeError(f"a step must be a mapping or have every step column as an "
                            f"attribute: {exc}") from None
    (id_, run_id, parent_id, seq, kind, name, status, started_at, ended_at, duration_ms,
     tokens_in, tokens_out, data) = values
    if not id_ or not run_id:
        raise ValueError("a step needs an 'id' and a 'run_id'")
    if type(name) is str:
        name = redact_text(name)
    return (id_, run_id, parent_id, seq, kind, name, status, started_at, ended_at,
            duration_ms, tokens_in, tokens_out, None if data is None else dumps_redacted(data))


def tool_call_row(call: Mapping[str, Any], max_content_bytes: int) -> dict[str, Any]:
    """A `tool_calls` row: redacted, args hashed, oversized content cut with a marker.

    `args` is stored as canonical JSON (sorted keys, no spaces): equal arguments are equal
    text, and the hash is of exactly what is stored. The model's own key order stays in
    the transcript (`messages`). This is the hot path of bulk writes, hence one secret
    pre-check over args and content together.
    """
    _check_columns("tool_calls", call, _TOOL_CALL_SET)
    if not call.get("id") or not call.get("run_id"):
        raise ValueError("a tool call needs an 'id' and a 'run_id'")
    row = dict(call)
    status = row.get("status")
    if status is not None and status not in TOOL_CALL_STATUSES:
        raise ValueError(
            f"unknown tool call status {status!r}: use one of {sorted(TOOL_CALL_STATUSES)}"
        )
    error = row.get("error")
    if isinstance(error, str):
        row["error"] = redact_text(error)
    has_args = "args" in row
    args_text = canonical_json(row["args"]) if has_args else ""
    content = row.get("content")
    content_text = "" if content is None else dumps(content)
    if might_hold_secret(args_text + content_text):
        if might_hold_secret(args_text):
            args_text = canonical_json(redact(row["args"]))
        if might_hold_secret(content_text):
            content_text = dumps(redact(content))
    if has_args:
        row["args"] = args_text
        if row.get("args_hash") is None:
            row["args_hash"] = sha256_hex(args_text)
    if "content" in row:
        cut = False
        if content is not None:
            content_text, cut = truncate_text(content_text, max_content_bytes)
            row["content"] = content_text
        row["truncated"] = 1 if cut else int(bool(row.get("truncated")))
    elif "truncated" in row:
        row["truncated"] = int(bool(row["truncated"]))
    return row


def tool_row(tool: Any) -> dict[str, Any]:
    """A `tools` row from a dict or any object with name/description/parameters/plugin."""
    if isinstance(tool, Mapping):
        get = tool.get
    else:
        def get(key: str, default: Any = None) -> Any:
            return getattr(tool, key, default)
    name = get("name")
    if not name:
        raise ValueError("a tool needs a 'name'")
    description = get("description") or ""
    parameters = get("parameters") or {}
    plugin = get("plugin")
    return {
        "hash": get("hash") or tool_hash(name, description, parameters),
        "name": name,
        "description": redact_text(description),
        "parameters": dumps_redacted(parameters),
        "plugin": None if plugin is None else str(plugin),
    }


class ToolRows:
    """``tool_row`` with memory: every run offers the same tools again, and hashing and
    encoding 16 schemas cost ~0.5 ms a run.

    A tool is known by its name, description, plugin and *its parameters object*; the cache
    holds that object, so no other can take its id while it is cached. A schema changed in
    place after it was stored keeps its old row.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._rows: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}

    def __call__(self, tool: Any) -> dict[str, Any]:
        get = tool.get if isinstance(tool, Mapping) else (
            lambda key, default=None: getattr(tool, key, default))
        parameters = get("parameters")
        key = (get("name"), get("description"), get("plugin"), get("hash"), id(parameters))
        hit = self._rows.get(key)
        if hit is not None and hit[0] is parameters:
            return hit[1]
        row = tool_row(tool)
        if len(self._rows) >= self.limit:
            self._rows.clear()
        self._rows[key] = (parameters, row)
        return row


def message_dict(message: Any) -> dict[str, Any]:
    """langchain-core's `message_to_dict` form of one message (a new dict, the caller's
    own to change).

    Accepts a BaseMessage, an already-converted `{"type", "data"}` dict, or anything
    `convert_to_messages` understands (`{"role", "content"}`, `("human", "hi")`, a str).
    """
    if isinstance(message, Mapping) and "type" in message and "data" in message:
        return {"type": message["type"], "data": dict(message["data"])}
    from .wire import EncodedMessage  # wire imports this module

    if isinstance(message, EncodedMessage):  # what the writer process was sent
        return message.as_dict()
    return _as_message_dict(message)


def _as_message_dict(message: Any) -> dict[str, Any]:
    base, convert = langchain_messages()
    if not isinstance(message, base):
        message = convert([message])[0]
    return {"type": message.type, "data": message.model_dump()}  # = message_to_dict


@cache
def langchain_messages() -> tuple[type, Callable[..., Any]]:
    """Imported on first use: langchain-core is slow to import, and a trace of plain dicts
    never needs it."""
    from langchain_core.messages import BaseMessage, convert_to_messages

    return BaseMessage, convert_to_messages


def message_row(
    run_id: str, seq: int, message: Any, max_content_bytes: int
) -> dict[str, Any]:
    """A `messages` row: redacted dict form plus plain text for full-text search."""
    if type(message) is dict and "type" in message and "data" in message:
        msg = message  # read only, unless it must be cut (then copied first)
    else:
        msg = message_dict(message)
    data = msg["data"]
    content = data.get("content")
    if isinstance(content, str):
        cut, was_cut = truncate_text(content, max_content_bytes)
        if was_cut:
            data = {**data, "content": cut}
            msg = {**msg, "data": data}
    text = dumps(msg)
    if might_hold_secret(text):
        msg = redact(msg)
        data = msg["data"]
        text = dumps(msg)
    search_text, _ = truncate_text(plain_text(data), max_content_bytes)
    return {
        "run_id": run_id,
        "seq": seq,
        "type": msg.get("type"),
        "data": text,
        "content": search_text,
    }


def plain_text(data: Mapping[str, Any]) -> str:
    """The searchable text of a message: its content plus any tool calls it makes."""
    content = data.get("content")
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
    for call in data.get("tool_calls") or ():
        if isinstance(call, Mapping):
            parts.append(f"{call.get('name', '')} {dumps(call.get('args'))}")
    return "\n".join(p for p in parts if p)
