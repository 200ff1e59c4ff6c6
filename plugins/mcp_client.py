"""Tools from MCP servers, over stdio or streamable HTTP, through the official ``mcp`` SDK.

``tools_from_mcp`` connects to one server, lists its tools and returns them as our ``Tool``s
(named ``<server>_<tool>``, schemas as the server gives them). Calling one sends
``tools/call`` over the live session (see ``mcp_session``); a server's elicitation request
during the call is put to the run's ``ask`` (the REPL prompts, an embedding app's callback
answers; with nobody to ask the server hears "cancel"). ``tools_from_config`` does the same
for one ``[[mcp]]`` table of ``agent.toml``, checking it first.

Side effects: a tool is treated as having side effects (so approvals apply) unless the
server annotates it ``readOnlyHint``; ``side_effects = true/false`` in the config overrides.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.errors import ToolError, UsageError
from agent.plugins.mcp_session import Connection, MCPConnectionError, Target
from agent.types import Tool

__all__ = ["MCPConfigError", "MCPConnectionError", "tools_from_config", "tools_from_mcp"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_KEYS = {"name", "command", "args", "env", "cwd", "url", "headers", "connect_timeout",
         "call_timeout", "side_effects"}


class MCPConfigError(UsageError):
    """An ``[[mcp]]`` entry (or a ``tools_from_mcp`` argument) is malformed."""


def tools_from_mcp(
    name: str,
    *,
    command: str | None = None,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    url: str | None = None,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 10.0,
    call_timeout: float = 60.0,
    side_effects: bool | None = None,
) -> list[Tool]:
    """Connect to one MCP server and return its tools; the session stays open until exit.

    Give ``command`` (and ``args``, ``env``, ``cwd``) for a server on stdio, or ``url`` (and
    ``headers``) for streamable HTTP. Raises ``MCPConfigError`` for bad arguments and
    ``MCPConnectionError`` (one line) when the server is missing, crashes, hangs or does not
    speak MCP.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise MCPConfigError(f"MCP server name {name!r}: use 1-40 letters, digits, '_' or '-'")
    if (command is None) == (url is None):
        raise MCPConfigError(f"MCP server {name!r}: give exactly one of command= or url=")
    if url is not None and not re.match(r"^https?://", url):
        raise MCPConfigError(f"MCP server {name!r}: url must start with http:// or https://")
    for label, value in (("connect_timeout", connect_timeout), ("call_timeout", call_timeout)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise MCPConfigError(f"MCP server {name!r}: {label} must be a positive number")
    target = Target(command=command, args=list(args), env=env, cwd=cwd, url=url,
                    headers=headers)
    conn = Connection(name, target, connect_timeout=float(connect_timeout),
                      call_timeout=float(call_timeout))
    listed = conn.start()
    tools = [_tool(conn, t, side_effects) for t in listed]
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        conn.close()
        raise MCPConnectionError(f"MCP server {name!r}: two of its tools map to one name")
    return tools


def tools_from_config(entry: Mapping[str, Any], base_dir: Path) -> list[Tool]:
    """Tools for one ``[[mcp]]`` table; relative ``cwd`` and ``./`` commands are resolved
    against ``base_dir`` (the directory of ``agent.toml``); ``${VAR}`` in ``env`` and
    ``headers`` values is read from the environment, so secrets stay out of the file."""
    if not isinstance(entry, Mapping):
        raise MCPConfigError("an [[mcp]] entry must be a table")
    name = entry.get("name")
    label = f"[[mcp]] {name!r}" if isinstance(name, str) else "[[mcp]] entry"
    if not isinstance(name, str):
        raise MCPConfigError(f"{label}: `name` is required (a short name, e.g. \"files\")")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise MCPConfigError(f"{label}: unknown key(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(_KEYS))})")
    if ("command" in entry) == ("url" in entry):
        raise MCPConfigError(f"{label}: give exactly one of `command` (stdio) or `url` (HTTP)")
    command = _opt(entry, "command", str, label)
    url = _opt(entry, "url", str, label)
    args = _opt(entry, "args", list, label) or []
    if not all(isinstance(a, str) for a in args):
        raise MCPConfigError(f"{label}: `args` must be a list of strings")
    env = _expand(_string_table(entry, "env", label), f"{label} env")
    headers = _expand(_string_table(entry, "headers", label), f"{label} headers")
    cwd = _opt(entry, "cwd", str, label)
    if cwd is not None:
        cwd = str((base_dir / cwd).resolve())
        if not Path(cwd).is_dir():
            raise MCPConfigError(f"{label}: cwd {cwd!r} is not a directory")
    if command is not None and (command.startswith("./") or command.startswith("../")):
        command = str((base_dir / command).resolve())
    side_effects = _opt(entry, "side_effects", bool, label)
    timeouts = {k: _opt(entry, k, (int, float), label) for k in
                ("connect_timeout", "call_timeout") if k in entry}
    return tools_from_mcp(name, command=command, args=args, env=env, cwd=cwd, url=url,
                          headers=headers, side_effects=side_effects, **timeouts)


def _opt(entry: Mapping[str, Any], key: str, kind: Any, label: str) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = {str: "a string", list: "a list", bool: "true or false"}
        want = names.get(kind, "a number")
        raise MCPConfigError(f"{label}: `{key}` must be {want}, got {value!r}")
    return value


def _string_table(entry: Mapping[str, Any], key: str, label: str) -> dict[str, str] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise MCPConfigError(f"{label}: `{key}` must be a table of strings")
    return dict(value)


def _expand(table: dict[str, str] | None, label: str) -> dict[str, str] | None:
    if table is None:
        return None
    out = {}
    for key, value in table.items():
        missing = [v for v in re.findall(r"\$\{(\w+)\}", value) if v not in os.environ]
        if missing:
            raise MCPConfigError(f"{label}: {key} needs the environment variable "
                                 f"{missing[0]}, which is not set")
        out[key] = re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], value)
    return out


def _tool(conn: Connection, mcp_tool: Any, side_effects: bool | None) -> Tool:
    """Our ``Tool`` for one listed MCP tool."""
    remote = mcp_tool.name
    hints = mcp_tool.annotations
    read_only = bool(hints and hints.read_only_hint)
    destructive = bool(hints and hints.destructive_hint)
    effects = (not read_only) if side_effects is None else side_effects

    async def call(**args: Any) -> Any:
        from agent.environment import current_environment

        env = current_environment()
        asker = conn.run_on_caller(env.ask, asyncio.get_running_loop()) if env else None
        result = await conn.call(remote, args, asker, owner=env)
        return _content(conn.name, remote, result)

    call.__name__ = remote
    output = mcp_tool.output_schema
    tags = ("mcp", f"mcp:{conn.name}", *(("destructive",) if destructive and effects else ()))
    return Tool.from_schema(
        f"{conn.name}_{_UNSAFE.sub('_', remote)}",
        mcp_tool.description or (hints.title if hints and hints.title else None)
        or mcp_tool.title or remote,
        dict(mcp_tool.input_schema or {"type": "object", "properties": {}}),
        call,
        plugin=f"mcp:{conn.name}",
        side_effects=effects,
        output_schema=dict(output) if output else None,
        tags=tags,
        # The connection enforces call_timeout itself, pausing it while the user is asked;
        # the executor's own per-call timeout would count the user's thinking time.
        timeout=math.inf,
    )


def _content(server: str, tool: str, result: Any) -> Any:
    """``structuredContent`` if given, else the text blocks joined; ``isError`` raises."""
    parts = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and getattr(block.resource, "text", None) is not None:
            parts.append(block.resource.text)
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
    text = "\n".join(parts)
    if result.is_error:
        raise ToolError(text or f"MCP tool {tool!r} on {server!r} reported an error")
    if result.structured_content is not None:
        return result.structured_content
    return text
