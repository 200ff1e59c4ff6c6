"""A tiny real MCP server for the MCP tests and benchmark, built on the official SDK.

Run as ``python mcp_echo_server.py`` (stdio) or ``python mcp_echo_server.py --http PORT``
(streamable HTTP on 127.0.0.1). Its tools: ``echo`` (trivial), ``add`` (structured
output), ``fail`` (an error result), ``crash`` (the process exits mid-call), ``confirm``
(asks the user through elicitation), ``wait`` (never answers: a hang), ``delete_item``
(annotated destructive) and ``peek`` (annotated read-only).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import anyio
from mcp.server.mcpserver import ElicitationResult, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

server = MCPServer("echo", version="1.0")


class Proceed(BaseModel):
    """What ``confirm`` asks for."""

    ok: bool = Field(description="go ahead?")
    note: str = Field(default="", description="a note to pass on")


def ask_proceed(action: str) -> Elicit[Proceed]:
    return Elicit(f"Really {action}?", Proceed)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail(reason: str = "broken on purpose") -> str:
    """Always fails with the given reason."""
    raise ToolError(reason)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """Kill the server process in the middle of the call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
def confirm(
    action: str,
    answer: Annotated[ElicitationResult[Proceed], Resolve(ask_proceed)],
) -> str:
    """Ask the user before doing an action."""
    if answer.action != "accept":
        return f"{action}: {answer.action}"
    verdict = "done" if answer.data.ok else "skipped"
    return f"{action}: {verdict}" + (f" ({answer.data.note})" if answer.data.note else "")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def wait(seconds: float = 3600) -> str:
    """Sleep (a hang, for timeout tests)."""
    await anyio.sleep(seconds)
    return "woke up"


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def delete_item(item: str) -> str:
    """Delete an item (annotated destructive)."""
    return f"deleted {item}"


@server.tool()
def touch(item: str) -> str:
    """Touch an item (no annotations)."""
    return f"touched {item}"


def main(argv: list[str]) -> None:
    if argv[:1] == ["--http"]:
        anyio.run(lambda: server.run_streamable_http_async(host="127.0.0.1", port=int(argv[1])))
    else:
        anyio.run(server.run_stdio_async)


if __name__ == "__main__":
    main(sys.argv[1:])
