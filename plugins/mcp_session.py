"""One MCP server connection, owned by a background thread with its own event loop.

An MCP session is bound to the task that opened it (anyio cancel scopes), while our
registration hooks are synchronous and tool calls arrive on whatever loop runs the agent.
So each server gets a daemon thread running an event loop; one task there opens the
``mcp.Client`` and keeps it open; tool calls are submitted to that loop
(``run_coroutine_threadsafe``) and awaited from the agent's loop (``wrap_future``).

Every wait is bounded: connecting by ``connect_timeout``, a call by ``call_timeout`` (the
server is told to cancel it), closing by a few seconds. A server that is missing, crashes,
hangs or speaks something else than MCP gives one line saying so, never a hang.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import math
import tempfile
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from agent.errors import PluginError, ToolError

# The SDK logs transport problems with tracebacks; we report them as one line instead.
logging.getLogger("mcp").addHandler(logging.NullHandler())
logging.getLogger("httpx2").addHandler(logging.NullHandler())

Asker = Callable[[str, dict[str, Any] | None], Awaitable[Any]]
AskFn = Callable[[str, dict[str, Any] | None], Coroutine[Any, Any, Any]]
CLOSE_GRACE = 6.0  # the SDK's stdio shutdown: stdin close, 2 s, SIGTERM, 2 s, SIGKILL


class MCPConnectionError(PluginError):
    """An MCP server could not be started, reached, or understood."""


@dataclass
class Target:
    """Where the server is: a command (stdio) or a URL (streamable HTTP)."""

    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None

    def describe(self) -> str:
        """For start-up errors: the command line, or the URL without any user:password@."""
        if self.url:
            import re

            return re.sub(r"//[^/@]*@", "//", self.url)
        text = " ".join([self.command or "", *self.args]).strip()
        return text if len(text) <= 120 else text[:117] + "..."


class _Call:
    """A tool call in flight: who to ask on its behalf (``owner``: the run's environment),
    and its deadline, paused while the user is being asked."""

    def __init__(self, asker: Asker | None, owner: object | None) -> None:
        self.asker = asker
        self.owner = owner
        self.scope: Any = None
        self.asking = 0


class Connection:
    """A live session with one MCP server; ``start`` connects, ``call`` runs a tool."""

    def __init__(self, name: str, target: Target, *, connect_timeout: float,
                 call_timeout: float) -> None:
        self.name = name
        self.target = target
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, daemon=True,
                                        name=f"mcp-{name}")
        self._closing = False
        self._client: Any = None
        self._scope: Any = None
        self._done = concurrent.futures.Future[None]()
        self._calls: dict[int, _Call] = {}
        self._problem: str | None = None  # what the server sent that was not MCP
        self._lost: str | None = None
        # The server's stderr: kept (not shown) so a failure can quote its last line.
        self._errlog = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
            "w+", encoding="utf-8", errors="replace")

    # Life cycle ---------------------------------------------------------------------------
    def start(self) -> list[Any]:
        """Connect and list the server's tools (``mcp.types.Tool``); raise on any failure."""
        import mcp.client.stdio
        import mcp.client.streamable_http  # noqa: F401 - imported here, not on the loop thread

        self._thread.start()
        _OPEN.add(self)
        ready = concurrent.futures.Future[list[Any]]()
        asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        try:
            return ready.result(timeout=self.connect_timeout)
        except concurrent.futures.TimeoutError:
            message = self._timeout_message()
            self.close(wait=False)  # the server is stopped in the background
            raise MCPConnectionError(message) from None
        except MCPConnectionError:
            self.close(wait=False)
            raise

    def _run_loop(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _cancel(self) -> None:
        """On the loop: end the session (now, or as soon as it starts)."""
        self._closing = True
        if self._scope is not None:
            self._scope.cancel()

    async def _serve(self, ready: concurrent.futures.Future[list[Any]]) -> None:
        import anyio

        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._closing:
                    scope.cancel()
                scope.deadline = anyio.current_time() + self.connect_timeout + 1.0  # backstop
                async with AsyncExitStack() as stack:
                    client = await stack.enter_async_context(await self._open(stack))
                    tools = await _list_tools(client)
                    scope.deadline = math.inf
                    self._client = client
                    ready.set_result(tools)
                    await anyio.sleep_forever()
            if not ready.done():
                ready.set_exception(MCPConnectionError(self._timeout_message()))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(MCPConnectionError(self._failure(exc, "start")))
            else:
                self._lost = self._failure(exc, "run")
        finally:
            self._client = None
            self._done.set_result(None)

    async def _open(self, stack: AsyncExitStack) -> Any:
        from mcp import Client, StdioServerParameters

        t = self.target
        common: dict[str, Any] = {"elicitation_callback": self._elicit,
                                  "message_handler": self._on_message, "cache": None}
        if t.url is not None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = await stack.enter_async_context(create_mcp_http_client(headers=t.headers))
            return Client(streamable_http_client(t.url, http_client=http), **common)
        assert t.command is not None
        params = StdioServerParameters(command=t.command, args=list(t.args), env=t.env,
                                       cwd=t.cwd)
        from mcp.client.stdio import stdio_client

        return Client(stdio_client(params, errlog=self._errlog), **common)

    def close(self, wait: bool = True) -> None:
        """End the session and the server process; bounded, safe to call twice."""
        _OPEN.discard(self)
        if not self._thread.is_alive():
            self._errlog.close()
            return
        with suppress(RuntimeError):  # the loop already stopped
            self._loop.call_soon_threadsafe(self._cancel)
        if wait:
            with suppress(concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                self._done.result(timeout=CLOSE_GRACE)
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=1.0)
            self._errlog.close()
        else:
            def stop(_: object) -> None:
                _STOPPING.discard(self)
                with suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._loop.stop)
                self._errlog.close()

            self._done.add_done_callback(stop)
            _STOPPING.add(self)  # exit waits for it, so its server is not left behind

    # Calls --------------------------------------------------------------------------------
    async def call(self, tool: str, args: dict[str, Any], asker: Asker | None = None,
                   owner: object | None = None) -> Any:
        """Call ``tool`` on the server from any event loop; returns the ``CallToolResult``.

        The deadline is enforced on the connection's loop (so the server hears the
        cancellation); the guard here only catches a connection thread that stopped answering.
        """
        if self._client is None:
            raise ToolError(self._lost or f"MCP server {self.name!r} is not connected")
        call = _Call(asker, owner)
        future = asyncio.run_coroutine_threadsafe(self._call(tool, args, call), self._loop)
        waiting = asyncio.wrap_future(future)
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(waiting),
                                              self.call_timeout + CLOSE_GRACE)
            except TimeoutError:
                if not call.asking:
                    future.cancel()
                    raise ToolError(self._call_timeout_message(tool)) from None
            except asyncio.CancelledError:
                future.cancel()  # the run was cancelled: so is the server's call
                raise

    async def _call(self, tool: str, args: dict[str, Any], call: _Call) -> Any:
        import anyio
        from mcp import MCPError

        since = self._stderr_end()
        token = _CALL.set(call)
        self._calls[id(call)] = call
        try:
            with anyio.CancelScope() as scope:
                call.scope = scope
                scope.deadline = anyio.current_time() + self.call_timeout
                return await self._client.call_tool(tool, args)
            raise ToolError(self._call_timeout_message(tool))
        except MCPError as exc:
            if self._client is None or "closed" in exc.message.lower():
                self._lost = self._failure(exc, "run", since)
                raise ToolError(self._lost) from None
            raise ToolError(f"MCP server {self.name!r}: {exc.message}") from None
        finally:
            del self._calls[id(call)]
            _CALL.reset(token)

    # Elicitation --------------------------------------------------------------------------
    async def _elicit(self, context: Any, params: Any) -> Any:
        """A server's question: ask it through the environment of the call that caused it."""
        import anyio
        from mcp.types import ElicitResult

        call = _CALL.get()
        if call is None:  # handshake-era servers ask outside the call's task: if all the
            # calls in flight belong to one run, that run is who to ask
            owners = {id(c.owner): c for c in self._calls.values() if c.asker is not None}
            call = next(iter(owners.values())) if len(owners) == 1 else None
        if call is None or call.asker is None:
            return ElicitResult(action="cancel")
        url = getattr(params, "url", None)
        question = f"{params.message} (open {url})" if url else params.message
        schema = None if url else dict(params.requested_schema)
        left = None
        call.asking += 1
        if call.scope is not None:  # the user's thinking time is not the server's
            left = call.scope.deadline - anyio.current_time()
            call.scope.deadline = math.inf
        try:
            answer = await call.asker(question, schema)
        except Exception:  # nobody to ask (a non-interactive run) or the user gave up
            return ElicitResult(action="cancel")
        finally:
            call.asking -= 1
            if left is not None and not call.asking:
                call.scope.deadline = anyio.current_time() + max(left, 0.0)
        if url:
            return ElicitResult(action="accept" if _yes(answer) else "decline")
        if not isinstance(answer, dict):
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content=answer)

    def run_on_caller(self, coro_fn: AskFn, loop: asyncio.AbstractEventLoop) -> Asker:
        """An asker that runs ``coro_fn`` on the caller's loop, awaited from this one."""

        async def ask(question: str, schema: dict[str, Any] | None) -> Any:
            fut = asyncio.run_coroutine_threadsafe(coro_fn(question, schema), loop)
            return await asyncio.wrap_future(fut)

        return ask

    # Messages -----------------------------------------------------------------------------
    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception) and self._problem is None:
            errors = getattr(message, "errors", None)
            line = errors()[0].get("input") if callable(errors) and errors() else None
            self._problem = repr(line[:80]) if isinstance(line, str) else _first_line(message)

    def _stderr_end(self) -> int:
        try:
            self._errlog.flush()
            return self._errlog.seek(0, 2)
        except (OSError, ValueError):
            return 0

    def _stderr_tail(self, since: int = 0) -> str:
        """The server's last line on stderr (written after ``since``): often the reason."""
        try:
            end = self._stderr_end()
            self._errlog.seek(max(since, end - 4000))
            lines = [ln.strip() for ln in self._errlog.read().splitlines() if ln.strip()]
            self._errlog.seek(end)
        except (OSError, ValueError):
            return ""
        return lines[-1][:200] if lines else ""

    def _failure(self, exc: BaseException, when: str, since: int = 0) -> str:
        leaf = _leaf(exc)
        # Call-time messages reach the trace store: they name the server, not its command
        # line or URL (which may carry a token).
        where = f"MCP server {self.name!r}" + (f" ({self.target.describe()})"
                                               if when == "start" else "")
        if isinstance(leaf, FileNotFoundError) and self.target.command:
            return (f"{where}: command {self.target.command!r} not found; check `command` "
                    "in the [[mcp]] entry (and that it is on PATH)")
        if isinstance(leaf, PermissionError) and self.target.command:
            return f"{where}: command {self.target.command!r} is not executable"
        if self._problem:
            return f"{where} does not speak MCP: it sent {self._problem} instead of JSON-RPC"
        stderr = self._stderr_tail(since)
        said = f" (its last words: {stderr})" if stderr else ""
        if when == "start":
            detail = _first_line(leaf) if not isinstance(leaf, asyncio.CancelledError) else ""
            if "closed" in detail.lower():
                return f"{where} closed the connection during start-up{said}"
            if type(leaf).__name__ == "MCPError":  # it answered, but not as an MCP server
                return (f"{where} does not speak MCP: the handshake failed ({detail}); check "
                        "that it is an MCP server for this transport")
            return f"{where} failed to start: {detail or type(leaf).__name__}{said}"
        return f"{where} closed the connection (the server exited or crashed){said}"

    def _timeout_message(self) -> str:
        where = f"MCP server {self.name!r} ({self.target.describe()})"
        within = f"within {self.connect_timeout:g} s"
        if self._problem:
            return (f"{where} does not speak MCP: it sent {self._problem} instead of JSON-RPC "
                    f"and no handshake {within}")
        stderr = self._stderr_tail()
        said = f" (its last words: {stderr})" if stderr else ""
        return (f"{where} did not complete the MCP handshake {within}{said}: is it an MCP "
                "server? (raise connect_timeout if it is just slow to start)")

    def _call_timeout_message(self, tool: str) -> str:
        return (f"MCP server {self.name!r} did not answer {tool!r} within "
                f"{self.call_timeout:g} s (call_timeout); the call was cancelled")


async def _list_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    for _ in range(100):  # a server that pages forever cannot hang us
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _yes(answer: Any) -> bool:
    if isinstance(answer, dict):
        return any(_yes(v) for v in answer.values())
    if isinstance(answer, str):
        return answer.strip().lower() in ("y", "yes", "ok", "true", "1", "done")
    return bool(answer)


_CALL: ContextVar[_Call | None] = ContextVar("mcp_call", default=None)
_OPEN: weakref.WeakSet[Connection] = weakref.WeakSet()
_STOPPING: set[Connection] = set()


@atexit.register
def _close_all() -> None:
    """Stop every server this process started, so none outlives it and nothing warns."""
    for conn in list(_OPEN):
        conn.close()
    for conn in list(_STOPPING):
        with suppress(concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            conn._done.result(timeout=CLOSE_GRACE)
