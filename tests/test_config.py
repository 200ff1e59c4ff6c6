"""agent.toml: precedence, one-line errors with file and line, approval and HTTP settings wired
into the runtime and the CLI, and tool sources from [[openapi]] / [[mcp]] tables."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent import Agent, tool
from agent.approval import ApprovalPolicy
from agent.config import ConfigError, load_config
from agent.plugin_manager import load_plugins
from agent.registry import build_registry

MCP_SERVER = Path(__file__).parent / "support" / "mcp_echo_server.py"
NOTES = web.AppKey("notes", dict)


def write(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    target = path / "agent.toml"
    target.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory of its own (the cwd file is looked up there)."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AGENT_MODEL", "AGENT_PLANNER", "AGENT_HTTP_ALLOW", "AGENT_HTTP_ALLOW_PRIVATE"):
        monkeypatch.delenv(var, raising=False)


# Precedence ---------------------------------------------------------------------------------
def test_defaults_without_files(project: Path) -> None:
    config = load_config(project)
    assert config.model is None and config.planner == "dataflow"
    assert {s.source for s in config.settings.values()} == {"default"}
    assert [(scope, read) for scope, _, read in config.files] == [("home", False), ("cwd", False)]


def test_env_beats_cwd_file_beats_home_file_key_by_key(agent_home: Path, project: Path) -> None:
    home = write(agent_home, """
        model = "openai:gpt-4o-mini"
        planner = "react"

        [approval]
        policy = "deny"
        allow = ["http_post"]
    """)
    here = write(project, """
        planner = "compiler"
        [approval]
        policy = "ask"
    """)
    config = load_config(project, env={"AGENT_MODEL": "local:/m.gguf"})
    shown = {k: (s.value, s.source) for k, s in config.settings.items()}
    assert shown["model"] == ("local:/m.gguf", "$AGENT_MODEL")
    assert shown["planner"] == ("compiler", f"{here}:1")
    assert shown["approval.policy"] == ("ask", f"{here}:3")
    assert shown["approval.allow"] == (["http_post"], f"{home}:6")  # not in the cwd file
    assert shown["http.allow"] == ([], "default")
    env_planner = load_config(project, env={"AGENT_PLANNER": "dfsdt"}).settings["planner"]
    assert (env_planner.value, env_planner.source) == ("dfsdt", "$AGENT_PLANNER")


def test_http_variables_add_to_the_files_allow_list(agent_home: Path, project: Path) -> None:
    home = write(agent_home, '[http]\nallow = ["10.0.0.0/8"]\n')
    config = load_config(project, env={"AGENT_HTTP_ALLOW": "intranet.local",
                                       "AGENT_HTTP_ALLOW_PRIVATE": "0"})
    allow = config.settings["http.allow"]
    assert allow.value == ["10.0.0.0/8", "intranet.local"]
    assert allow.source == f"{home}:2 + $AGENT_HTTP_ALLOW"
    assert config.tool_settings() == {"http_allow_private": False,
                                      "http_allow": ["10.0.0.0/8", "intranet.local"]}


def test_tool_sources_come_from_both_files_and_cwd_replaces_same_name(
        agent_home: Path, project: Path) -> None:
    write(agent_home, """
        [[mcp]]
        name = "files"
        command = "home-files"

        [[mcp]]
        name = "git"
        command = "mcp-git"
    """)
    here = write(project, """
        [[openapi]]
        spec = "specs/petstore.yaml"
        prefix = "pet_"

        [[mcp]]
        name = "files"
        command = "./project-files"
    """)
    sources = load_config(project).sources
    assert [(s.label, s.entry.get("command")) for s in sources] == [
        ("mcp:git", "mcp-git"), ("openapi:pet", None), ("mcp:files", "./project-files")]
    pet, files = sources[1], sources[2]
    assert (pet.base_dir, pet.line, files.line) == (project, 1, 5)
    assert pet.where == f"{here}:1"


# Bad input: one line with the file, the line and what was expected ----------------------------
@pytest.mark.parametrize(("text", "line", "message"), [
    ('modle = "openai:x"\n', 1,
     "unknown key 'modle'; did you mean 'model'? expected one of: model, planner, approval"),
    ('model = "x"\n[approval]\npolicy = "always"\n', 3,
     "approval.policy: expected one of 'ask', 'auto', 'deny', got 'always'"),
    ('[approval]\npolcy = "ask"\n', 2,
     "unknown key 'polcy' in [approval]; did you mean 'policy'?"),
    ('[http]\nallow_private = "yes"\n', 2,
     "http.allow_private: expected true or false, got 'yes'"),
    ('[http]\nallow = ["ok.example", 3]\n', 2, "http.allow[1]: expected a string, got 3"),
    ('[http]\nallow = ["https://x.example/"]\n', 2,
     "http.allow[0]: expected a host name, IP address, CIDR network or host:port"),
    ('http = { allow_privat = true }\n', 1, "unknown key 'allow_privat' in [http]"),
    ('[openapi]\nspec = "a.yaml"\n', 1,
     "openapi: expected [[openapi]] tables (an array of tables), got a table"),
    ('mcp = ["files"]\n', 1, "mcp[0]: expected a table, got 'files'"),
    ('[[mcp]]\nname = "a"\n\n[[mcp]]\nname = "b"\n\n[[mcp]]\nname = "a"\n', 7,
     "mcp[2] has the same name 'a' as mcp[0]"),
    ('planner = \n', 1, "invalid TOML: Invalid value"),
    ('model = ""\n', 1, "model: must not be empty"),
    ('[approval]\npolicy = 1\nallow = "x"\n', 2, "(and 1 more problem)"),
])
def test_bad_files_are_one_line_with_file_and_line(project: Path, text: str, line: int,
                                                   message: str) -> None:
    path = project / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(project)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value) and err.value.exit_code == 2


def test_cli_refuses_a_bad_file_but_tools_still_lists(run_cli, tmp_path: Path) -> None:
    path = write(tmp_path, '[approval]\npolicy = "sometimes"\n')
    out = run_cli("run", "what is 2 + 2")
    assert out.returncode == 2
    assert out.stderr.strip() == (f"error: {path}:2: approval.policy: expected one of 'ask', "
                                  "'auto', 'deny', got 'sometimes'")
    out = run_cli("tools")
    assert out.returncode == 0 and "calculate" in out.stdout
    assert f"plugin agent.toml failed: ConfigError: {path}:2:" in " ".join(out.stdout.split())


def test_config_show_prints_values_and_sources(run_cli, agent_home: Path,
                                               tmp_path: Path) -> None:
    home = write(agent_home, """
        [[mcp]]
        name = "files"
        command = "mcp-files"
        env = { FILES_TOKEN = "s3cr3t-value" }
    """)
    here = write(tmp_path, 'planner = "react"\n[http]\nallow = ["127.0.0.1:8765"]\n')
    out = run_cli("config", "show", "--json", env={"AGENT_MODEL": "openai:gpt-4o-mini"})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["settings"]["model"] == {"value": "openai:gpt-4o-mini", "source": "$AGENT_MODEL"}
    assert doc["settings"]["planner"] == {"value": "react", "source": f"{here}:1"}
    assert doc["settings"]["http.allow"]["source"] == f"{here}:3"
    assert doc["settings"]["approval.policy"] == {"value": "ask", "source": "default"}
    [source] = doc["sources"]
    assert (source["name"], source["file"], source["line"]) == ("mcp:files", str(home), 1)
    assert source["entry"]["env"] == {"FILES_TOKEN": "[REDACTED]"}
    assert [(f["scope"], f["exists"]) for f in doc["files"]] == [("home", True), ("cwd", True)]
    text = run_cli("config", "show").stdout
    assert "s3cr3t" not in out.stdout + text
    row = next(line for line in text.splitlines() if line.startswith("planner"))
    assert row.split() == ["planner", "react", f"{here}:1"]


def test_config_schema_is_the_json_schema_used_for_validation(run_cli) -> None:
    from agent.config_schema import SCHEMA

    out = run_cli("config", "schema")
    assert out.returncode == 0 and json.loads(out.stdout) == SCHEMA


# Approval ----------------------------------------------------------------------------------
@tool(side_effects=True)
def send(text: str) -> str:
    """Send a message.

    Args:
        text: the message
    """
    return f"sent {text}"


async def _send(approve: object) -> str:
    [result] = await Agent([send], approve=approve, store=False).execute(  # type: ignore[arg-type]
        [{"name": "send", "args": {"text": "hi"}}])
    return result.content if result.ok else f"refused: {result.error}"


async def test_approval_policies() -> None:
    asked: list[str] = []

    def prompt(call: dict[str, object], t: object) -> bool:
        asked.append(call["name"])  # type: ignore[arg-type]
        return False

    assert await _send(ApprovalPolicy("auto").approver()) == "sent hi"
    assert await _send(ApprovalPolicy("ask").approver(prompt)) == \
        "refused: the user did not approve calling 'send'"
    assert await _send(ApprovalPolicy("ask", ("se*",)).approver(prompt)) == "sent hi"
    assert asked == ["send"]  # the allow-listed call was not asked about
    denied = await _send(ApprovalPolicy("deny", (), "agent.toml:3").approver(prompt, yes=False))
    assert denied == ("refused: tool 'send' has side effects and the approval policy is 'deny' "
                      "(agent.toml:3); add it to [approval] allow to permit it")
    assert await _send(ApprovalPolicy("deny").approver(prompt, yes=True)) == "sent hi"
    nobody = await _send(ApprovalPolicy("ask", ("other",)).approver(None))
    assert "needs approval; none was given" in nobody and "[approval] allow" in nobody


def test_allow_patterns_match_names_or_plugin_and_name() -> None:
    import dataclasses

    t = dataclasses.replace(Agent([send]).tools["send"], plugin="openapi:notes")
    assert ApprovalPolicy(allow=("send",)).allows(t)
    assert ApprovalPolicy(allow=("openapi:notes:*",)).allows(t)
    assert ApprovalPolicy(allow=("openapi:*:se?d",)).allows(t)
    assert not ApprovalPolicy(allow=("mcp:*:*", "sen", "openapi:notes")).allows(t)


# Agent.from_config --------------------------------------------------------------------------
async def test_agent_from_config_takes_the_files_settings(agent_home: Path) -> None:
    write(agent_home, """
        planner = "react"
        [approval]
        policy = "deny"
        allow = ["send"]
        [http]
        allow = ["127.0.0.1:8765"]
    """)
    agent = Agent.from_config(tools=[send], store=False)
    assert agent._planner == "react" and agent.settings["http_allow"] == ["127.0.0.1:8765"]
    assert (await agent.execute([{"name": "send", "args": {"text": "a"}}]))[0].content == "sent a"
    explicit = Agent.from_config(tools=[send], store=False, planner="dataflow",
                                 settings={"http_allow": []})
    assert explicit._planner == "dataflow" and explicit.settings["http_allow"] == []
    plain = Agent([send], store=False)  # no opt-in: the file is not read
    assert plain.settings == {} and plain._planner is None


# HTTP allow-list from the file reaches the HTTP tools ---------------------------------------
@pytest.fixture
async def notes_server() -> AsyncIterator[TestServer]:
    """A small JSON API on 127.0.0.1 with an OpenAPI spec of itself."""
    notes: dict[int, dict[str, object]] = {3: {"id": 3, "text": "buy milk"}}

    async def get_note(request: web.Request) -> web.Response:
        note = notes.get(int(request.match_info["id"]))
        return web.json_response(note) if note else web.json_response({}, status=404)

    async def add_note(request: web.Request) -> web.Response:
        body = await request.json()
        note = {"id": max(notes) + 1, "text": body["text"]}
        notes[note["id"]] = note  # type: ignore[index]
        return web.json_response(note, status=201)

    app = web.Application()
    app[NOTES] = notes
    app.router.add_get("/notes/{id}", get_note)
    app.router.add_post("/notes", add_note)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_http_allow_with_a_port_allows_only_that_port(agent_home: Path,
                                                            notes_server: TestServer) -> None:
    url = f"http://127.0.0.1:{notes_server.port}/notes/3"
    write(agent_home, f'[http]\nallow = ["127.0.0.1:{notes_server.port}"]\n')
    with Agent.from_config(tools=["http_get"], store=False) as agent:
        [ok] = await agent.execute([{"name": "http_get", "args": {"url": url}}])
    assert ok.ok and ok.content["json"] == {"id": 3, "text": "buy milk"}
    write(agent_home, f'[http]\nallow = ["127.0.0.1:{notes_server.port + 1}"]\n')
    with Agent.from_config(tools=["http_get"], store=False) as agent:
        [refused] = await agent.execute([{"name": "http_get", "args": {"url": url}}])
    assert not refused.ok and "a loopback address" in (refused.error or "")


# Tool sources: a newcomer's agent.toml, end to end -------------------------------------------
def _spec(port: int) -> dict[str, object]:
    note = {"type": "object", "properties": {"id": {"type": "integer"},
                                             "text": {"type": "string"}}}
    json_of = {"application/json": {"schema": note}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Notes", "version": "1.0"},
        "servers": [{"url": f"http://127.0.0.1:{port}"}],
        "paths": {
            "/notes/{id}": {"get": {
                "operationId": "get_note", "summary": "Get a note by its id",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "description": "the note's id", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the note", "content": json_of}}}},
            "/notes": {"post": {
                "operationId": "add_note", "summary": "Add a note",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]}}}},
                "responses": {"201": {"description": "the new note", "content": json_of}}}},
        },
    }


async def test_openapi_and_mcp_sources_are_listed_and_used_in_chat(run_cli, agent_home: Path,
                                                            notes_server: TestServer) -> None:
    (agent_home / "specs").mkdir()
    (agent_home / "specs" / "notes.json").write_text(json.dumps(_spec(notes_server.port)))
    path = write(agent_home, f"""
        [http]
        allow = ["127.0.0.1:{notes_server.port}"]

        [approval]
        allow = ["openapi:notes:*"]   # the notes API may change things without asking

        [[openapi]]
        spec = "specs/notes.json"     # relative to this file
        prefix = "notes_"

        [[openapi]]
        spec = "specs/missing.yaml"

        [[mcp]]
        name = "echo"
        command = {json.dumps(sys.executable)}
        args = [{json.dumps(str(MCP_SERVER))}]
    """)

    def cli(*args: str, **options: object) -> object:
        return asyncio.to_thread(run_cli, *args, timeout=120, **options)

    listed = await cli("tools")
    assert listed.returncode == 0, listed.stderr
    words = " ".join(listed.stdout.split())
    for name in ("notes_get_note", "notes_add_note", "echo_echo", "calculate"):
        assert name in listed.stdout, listed.stdout
    assert (f"plugin openapi:missing failed: PluginError: {path}:11: cannot read OpenAPI "
            "spec") in words
    # The MCP source is listed above; skipping it (per source, by name) keeps the rest fast.
    skip_mcp = {"AGENT_DISABLE_PLUGINS": "mcp:echo"}
    chat = await cli("chat", input="get the note with id 3\n", env=skip_mcp)
    assert chat.returncode == 0, chat.stderr + chat.stdout
    assert "notes_get_note(id=3) success" in chat.stdout and "buy milk" in chat.stdout
    # A side-effect tool, no --yes, no terminal: approved by the [approval] allow pattern.
    added = await cli("call", "notes_add_note", "text=call mum", "--json", env=skip_mcp)
    assert added.returncode == 0, added.stderr + added.stdout
    assert notes_server.app[NOTES][4] == {"id": 4, "text": "call mum"}


def test_a_failing_source_does_not_stop_the_others(agent_home: Path) -> None:
    write(agent_home, """
        [[openapi]]
        spec = "nowhere.json"

        [[mcp]]
        name = "broken"
        command = "./no-such-server"

        [[mcp]]
        name = "bad-keys"
        command = "x"
        colour = "red"
    """)
    reg = build_registry(load_plugins(("agent.tools.calculator",), entry_points=False,
                                      sources=True))
    infos = reg.plugins.infos
    assert "calculate" in reg.tools
    assert {n: i.source for n, i in infos.items() if i.source == "config"} == {
        "openapi:nowhere": "config", "mcp:broken": "config", "mcp:bad-keys": "config"}
    assert all(infos[n].error for n in ("openapi:nowhere", "mcp:broken", "mcp:bad-keys"))
    assert infos["mcp:bad-keys"].error.startswith(  # type: ignore[union-attr]
        f"PluginError: {agent_home / 'agent.toml'}:8: ")
    assert "colour" in (infos["mcp:bad-keys"].error or "")
