"""MCP both ways, against real servers in real subprocesses (stdio and HTTP on 127.0.0.1).

Client: a small SDK-built server (tests/support/mcp_echo_server.py) gives tools that run
through a real Agent run: results, error results, elicitation reaching ``ask``, a hang cut by
the call timeout, a crash, and servers that are missing or do not speak MCP.
Server: ``agent mcp serve`` in a subprocess, driven by the official SDK client.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.plugins.mcp_client import (
    MCPConfigError,
    MCPConnectionError,
    tools_from_config,
    tools_from_mcp,
)
from agent.store import TraceStore
from agent.types import Answer, Tool

ECHO = str(Path(__file__).parents[1] / "support" / "mcp_echo_server.py")
AGENT = str(Path(sys.executable).with_name("agent"))


class Script:
    """A planner that makes the given calls, one step each; answers with the last result."""

    name = "script"

    def __init__(self, *calls: tuple[str, dict[str, Any]]) -> None:
        self.calls = calls

    async def run(self, task: Any, env: Any) -> Answer:
        results = []
        for name, args in self.calls:
            results += await env.call_tools([{"name": name, "args": args}])
        last = results[-1]
        return Answer(last.text(), data=last.content, status="ok" if last.ok else "error")


def run(tools: list[Tool], *calls: tuple[str, dict[str, Any]], **options: Any) -> Any:
    agent = Agent(tools, planner=Script(*calls), store=options.pop("store", False), **options)
    try:
        return asyncio.run(agent.run("test"))
    finally:
        agent.close()


@pytest.fixture(scope="module")
def echo() -> list[Tool]:
    """The echo server's tools over stdio: one server for the module's tests."""
    return tools_from_mcp("echo", command=sys.executable, args=[ECHO], call_timeout=1.0,
                          connect_timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[Any], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def http_echo() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, ECHO, "--http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# Client: tools from a server ---------------------------------------------------------------
def test_tools_are_listed_with_schemas_and_side_effects(echo: list[Tool]) -> None:
    tools = {t.name: t for t in echo}
    assert {"echo_echo", "echo_add", "echo_confirm", "echo_delete_item"} <= set(tools)
    assert tools["echo_echo"].parameters["required"] == ["text"]
    assert tools["echo_add"].output_schema is not None
    assert tools["echo_echo"].plugin == "mcp:echo"
    assert not tools["echo_echo"].side_effects  # readOnlyHint
    assert tools["echo_delete_item"].side_effects
    assert "destructive" in tools["echo_delete_item"].tags
    assert tools["echo_touch"].side_effects  # no annotations: approvals apply


def test_calls_run_through_an_agent_and_are_traced(echo: list[Tool], tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    result = run(echo, ("echo_echo", {"text": "hi"}), ("echo_add", {"a": 2, "b": 40}),
                 store=str(db))
    assert result.status == "ok"
    assert [r.content for r in result.results] == [{"result": "hi"}, {"sum": 42}]
    with TraceStore(str(db)) as store:
        calls = list(store.iter_tool_calls(result.id))
    assert [c["tool_name"] for c in calls] == ["echo_echo", "echo_add"]


def test_invalid_arguments_never_reach_the_server(echo: list[Tool]) -> None:
    result = run(echo, ("echo_add", {"a": "two", "b": 1}))
    assert result.results[0].status == "error"
    assert "'a'" in (result.results[0].error or "")


def test_an_error_result_is_an_error(echo: list[Tool]) -> None:
    result = run(echo, ("echo_fail", {"reason": "disk on fire"}))
    assert result.results[0].status == "error"
    assert "disk on fire" in (result.results[0].error or "")


def test_side_effect_tools_need_approval(echo: list[Tool]) -> None:
    refused = run(echo, ("echo_delete_item", {"item": "x"}))
    assert "needs approval" in (refused.results[0].error or "")
    approved = run(echo, ("echo_delete_item", {"item": "x"}), approve=True)
    assert approved.results[0].content == {"result": "deleted x"}


def test_elicitation_reaches_the_runs_ask(echo: list[Tool]) -> None:
    asked: list[tuple[str, Any]] = []

    async def ask(question: str, schema: dict[str, Any] | None) -> Any:
        asked.append((question, schema))
        await asyncio.sleep(1.2)  # longer than call_timeout: the user's time is not counted
        return {"ok": True, "note": "fine"}

    result = run(echo, ("echo_confirm", {"action": "launch"}), approve=True, ask=ask)
    assert result.results[0].content == {"result": "launch: done (fine)"}
    question, schema = asked[0]
    assert question == "Really launch?"
    assert set(schema["properties"]) == {"ok", "note"}
    assert [s.kind for s in result.steps] == ["tool_calls", "ask"]


def test_elicitation_without_anyone_to_ask_is_cancelled(echo: list[Tool]) -> None:
    result = run(echo, ("echo_confirm", {"action": "launch"}), approve=True)
    assert result.results[0].content == {"result": "launch: cancel"}


def test_a_hang_is_cut_by_the_call_timeout(echo: list[Tool]) -> None:
    result = run(echo, ("echo_wait", {}), ("echo_echo", {"text": "still here"}))
    hang, after = result.results
    assert hang.status == "error"
    assert "did not answer 'wait' within 1 s" in (hang.error or "")
    assert after.content == {"result": "still here"}  # the session survives


def test_a_crash_is_a_clear_error_and_later_calls_do_not_hang() -> None:
    tools = tools_from_mcp("crashy", command=sys.executable, args=[ECHO], connect_timeout=30)
    result = run(tools, ("crashy_crash", {}), ("crashy_echo", {"text": "anyone?"}))
    for r in result.results:
        assert r.status == "error"
        assert r.error == ("MCP server 'crashy' closed the connection (the server exited or "
                           "crashed)")  # no command line: errors are traced


def test_over_streamable_http(http_echo: str) -> None:
    tools = tools_from_mcp("web", url=http_echo, connect_timeout=30)
    answers = iter([{"ok": False}])
    result = run(tools, ("web_echo", {"text": "over http"}),
                 ("web_confirm", {"action": "deploy"}), approve=True,
                 ask=lambda q, s: next(answers))
    assert [r.content for r in result.results] == [
        {"result": "over http"}, {"result": "deploy: skipped"}]


# Client: bad servers -----------------------------------------------------------------------
def test_missing_command() -> None:
    with pytest.raises(MCPConnectionError, match="command '/nonexistent/mcp' not found"):
        tools_from_mcp("gone", command="/nonexistent/mcp")


def test_cat_is_not_an_mcp_server() -> None:
    with pytest.raises(MCPConnectionError, match=r"'cat' \(cat\) does not speak MCP"):
        tools_from_mcp("cat", command="cat", connect_timeout=5)


def test_a_silent_server_times_out_at_the_handshake() -> None:
    started = time.monotonic()
    with pytest.raises(MCPConnectionError, match="did not complete the MCP handshake within 1 s"):
        tools_from_mcp("mute", command=sys.executable,
                       args=["-c", "import time; time.sleep(60)"], connect_timeout=1)
    assert time.monotonic() - started < 5  # bounded, not a hang


def test_a_server_printing_junk_is_named() -> None:
    junk = "print('Welcome to my server!', flush=True); import sys; sys.stdin.read()"
    with pytest.raises(MCPConnectionError,
                       match="does not speak MCP: it sent 'Welcome to my server!' instead"):
        tools_from_mcp("junk", command=sys.executable, args=["-c", junk], connect_timeout=2)


def test_a_server_dying_at_start_up_quotes_its_stderr() -> None:
    with pytest.raises(MCPConnectionError, match="its last words: missing API key"):
        tools_from_mcp("dies", command=sys.executable,
                       args=["-c", "raise SystemExit('missing API key')"], connect_timeout=30)


def test_an_unreachable_url() -> None:
    with pytest.raises(MCPConnectionError, match=r"MCP server 'web' \(http://127.0.0.1:"):
        tools_from_mcp("web", url=f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=5)


# Client: configuration ---------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "message"), [
    ({"command": "x"}, "`name` is required"),
    ({"name": "a b", "command": "x"}, "use 1-40 letters"),
    ({"name": "s"}, "exactly one of `command`"),
    ({"name": "s", "command": "x", "url": "http://h/mcp"}, "exactly one of `command`"),
    ({"name": "s", "command": "x", "colour": "red"}, "unknown key"),
    ({"name": "s", "command": "x", "args": "-v"}, "`args` must be a list"),
    ({"name": "s", "command": "x", "env": {"A": 1}}, "`env` must be a table of strings"),
    ({"name": "s", "command": "x", "call_timeout": "soon"}, "`call_timeout` must be a number"),
    ({"name": "s", "command": "x", "call_timeout": -1}, "must be a positive number"),
    ({"name": "s", "command": "x", "side_effects": "no"}, "`side_effects` must be true or"),
    ({"name": "s", "url": "ftp://h"}, "url must start with http"),
    ({"name": "s", "url": "http://h/mcp", "headers": {"Authorization": "Bearer ${NO_SUCH_VAR}"}},
     "NO_SUCH_VAR, which is not set"),
    ({"name": "s", "command": "x", "cwd": "no/such/dir"}, "is not a directory"),
])
def test_config_errors(entry: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(MCPConfigError, match=message):
        tools_from_config(entry, tmp_path)


def test_config_entry_connects(http_echo: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_TOKEN", "s3cret")
    tools = tools_from_config({"name": "cfg", "url": http_echo, "side_effects": False,
                               "headers": {"Authorization": "Bearer ${ECHO_TOKEN}"},
                               "connect_timeout": 30}, tmp_path)
    assert all(not t.side_effects for t in tools)  # the config overrides the annotations
    assert run(tools, ("cfg_touch", {"item": "y"})).results[0].content == {"result": "touched y"}


# Server: agent mcp serve -------------------------------------------------------------------
def serve_params(*flags: str, db: Path | None = None) -> Any:
    from mcp import StdioServerParameters

    extra = ["--db", str(db)] if db else []
    return StdioServerParameters(command=AGENT, args=[*extra, "mcp", "serve", *flags],
                                 env={"AGENT_HOME": os.environ["AGENT_HOME"]})


def test_agent_mcp_serve_over_stdio(tmp_path: Path) -> None:
    from mcp import Client

    db = tmp_path / "served.db"

    async def main() -> None:
        async with Client(serve_params(db=db)) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert {"calculate", "convert_units", "http_post"} <= set(listed)
            assert listed["calculate"].annotations.read_only_hint is True
            assert listed["http_post"].annotations.destructive_hint is True
            assert listed["calculate"].input_schema["required"] == ["expression"]

            ok = await client.call_tool("calculate", {"expression": "2 * 21"})
            assert not ok.is_error and ok.structured_content["result"] == 42

            bad = await client.call_tool("calculate", {"expr": "1"})
            assert bad.is_error and "expression" in bad.content[0].text

            refused = await client.call_tool("http_post", {"url": "http://127.0.0.1:9/"})
            assert refused.is_error
            assert "--yes" in refused.content[0].text and "--allow" in refused.content[0].text

    asyncio.run(main())
    with TraceStore(str(db)) as store:
        runs = store.list_runs(limit=10)
    assert {r["query"] for r in runs} == {"mcp call calculate"}  # refusals never ran


async def approvals(client: Any, questions: list[str]) -> None:
    """The first side-effect call is approved through elicitation, the second declined."""
    names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"calculate", "convert_units", "http_get", "http_post"}
    approved = await client.call_tool("http_post", {"url": "http://127.0.0.1:9/"})
    # approved, so the tool itself ran (and refused the private address)
    assert approved.is_error and "approve" not in approved.content[0].text
    declined = await client.call_tool("http_post", {"url": "http://127.0.0.1:9/"})
    assert declined.is_error and "did not approve" in declined.content[0].text
    assert len(questions) == 2 and questions[0].startswith("Run http_post (side effects) with")
    units = await client.call_tool("convert_units", {"value": 1, "from_unit": "km",
                                                     "to_unit": "m"})
    assert not units.is_error and units.structured_content["result"] == 1000


def elicitor(questions: list[str]) -> Any:
    from mcp import types

    async def elicit(context: Any, params: Any) -> Any:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": len(questions) == 1})

    return elicit


def test_tool_server_asks_approval_through_elicitation() -> None:
    """The same server in-process (the SDK's direct transport): the 2026 input_required flow."""
    from mcp import Client

    from agent.mcp_server import ToolServer, select_tools
    from agent.registry import build_registry

    questions: list[str] = []
    tools = select_tools(build_registry().tools, ["http_*", "calc*", "convert_units"])
    server = ToolServer(tools, store=False)

    async def main() -> None:
        async with Client(server.server, elicitation_callback=elicitor(questions)) as client:
            assert client.protocol_version == "2026-07-28"
            await approvals(client, questions)

    try:
        asyncio.run(main())
    finally:
        server.close()


def test_tool_server_follows_the_approval_policy() -> None:
    from mcp import Client

    from agent.approval import ApprovalPolicy
    from agent.mcp_server import ToolServer, select_tools
    from agent.registry import build_registry

    tools = select_tools(build_registry().tools, ["http_post"])
    url = {"url": "http://127.0.0.1:9/"}

    async def call(server: ToolServer) -> str:
        async with Client(server.server) as client:  # no elicitation: nobody to ask
            result = await client.call_tool("http_post", url)
            return str(result.content[0].text)

    cases = [(ApprovalPolicy("deny", source="agent.toml:3"), "policy is 'deny' (agent.toml:3)"),
             (ApprovalPolicy("ask", ("mcp:*", "http_*")), "private"),  # allowed: it ran
             (ApprovalPolicy("auto"), "private")]
    for policy, expected in cases:
        server = ToolServer(tools, store=False, policy=policy)
        try:
            assert expected in asyncio.run(call(server))
        finally:
            server.close()


def test_agent_mcp_serve_over_http_with_a_handshake_era_client() -> None:
    from mcp import Client

    port = free_port()
    questions: list[str] = []
    proc = subprocess.Popen([AGENT, "mcp", "serve", "--http", "--port", str(port), "--no-trace",
                             "--tools", "http_*,calc*,convert_units"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)

        async def main() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy",
                              elicitation_callback=elicitor(questions)) as client:
                assert client.protocol_version == "2025-11-25"  # elicitation/create requests
                await approvals(client, questions)

        asyncio.run(main())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_patterns_must_match_a_tool() -> None:
    from agent.errors import UsageError
    from agent.mcp_server import select_tools
    from agent.registry import build_registry

    tools = build_registry().tools
    assert [t.name for t in select_tools(tools, ["calc*", "read_file"])] == [
        "calculate", "read_file"]
    with pytest.raises(UsageError, match="--tools 'nope\\*' matches no tool"):
        select_tools(tools, ["calc*", "nope*"])
