"""The OpenAI-compatible model against real HTTP servers.

Error and retry cases use a loopback aiohttp app whose behaviour is picked by the request's
model name; the rest runs against xllamacpp's server with SmolLM2 (``smollm2_server``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel
from support.loopback import loopback

from agent import Agent, tool
from agent.models import ModelError
from agent.plugins.openai_chat import OpenAICompatChatModel
from agent.plugins.openai_wire import retry_after
from agent.schema import as_tool

SECRET = "sk-test-secret-0123456789"
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


@dataclass
class Fake:
    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)

    def count(self, model: str) -> int:
        return sum(c["model"] == model for c in self.calls)


def _reply(content: str | None = "hello", tool_calls: list[Any] | None = None,
           usage: dict[str, int] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "fake-1",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": usage or USAGE}


def _call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments}}


async def _stream(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)

    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {"id": "chatcmpl-s", "model": "fake-1",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    tc = [  # two tool calls, their names and argument text split across deltas
        {"index": 0, "id": "call_a", "type": "function",
         "function": {"name": "calculate", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"expres'}},
        {"index": 1, "id": "call_b", "type": "function",
         "function": {"name": "convert_units", "arguments": '{"value": 4'}},
        {"index": 0, "function": {"arguments": 'sion": "2 * 21"}'}},
        {"index": 1, "function": {"arguments": '2, "unit": "km"}'}},
    ]
    await resp.write(b": ping\n\n")
    await resp.write(event({"role": "assistant", "content": "Let me "}))
    await resp.write(event({"content": "check."}))
    for delta in tc:
        data = event({"tool_calls": [delta]})
        await resp.write(data[:9])  # one event split across two writes
        await asyncio.sleep(0.01)
        await resp.write(data[9:])
    await resp.write(event({}, finish="tool_calls"))
    usage = {"id": "chatcmpl-s", "model": "fake-1", "choices": [], "usage": USAGE}
    await resp.write(f"data: {json.dumps(usage)}\n\n".encode())
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    """A loopback OpenAI-compatible app; the model name picks the behaviour."""
    state = Fake("")

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body["model"]
        state.calls.append({"model": model, "t": time.monotonic(), "body": body,
                            "auth": request.headers.get("Authorization")})
        n = state.count(model)
        if model == "unauthorized":
            key = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
            return web.json_response({"error": {"message": f"Incorrect API key: {key}"}},
                                     status=401)
        if model == "missing":
            return web.json_response({"error": {"message": "model 'missing' not found"}},
                                     status=404)
        if model == "ratelimit" and n == 1:
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": "1"})
        if model == "flaky" and n <= 2:
            return web.Response(text="internal error", status=500)
        if model == "down":
            return web.json_response({"error": "overloaded"}, status=503)
        if model == "bad-request":
            return web.json_response({"error": {"message": "max_tokens is too large"}},
                                     status=400)
        if model == "garbage":
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        if model == "no-choices":
            return web.json_response({"object": "chat.completion", "usage": USAGE})
        if model == "bad-stream":
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n')
            await resp.write(b"data: {oops\n\n")
            return resp
        if model == "slow":
            await asyncio.sleep(1)
        if model == "bad-args":
            return web.json_response(_reply(None, [_call("calculate", '{"expression": '),
                                                   _call("calculate", "[1, 2]", "call_2"),
                                                   _call("calculate", '{"expression": "1"}',
                                                         "call_3")]))
        if body.get("stream"):
            return await _stream(request)
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            return web.json_response(_reply("", [_call(name, '{"expression": "2 + 2"}')]))
        return web.json_response(_reply("hello"))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    async with loopback(app, "/v1") as url:
        state.url = url
        yield state


def model(fake: Fake, name: str, **options: Any) -> OpenAICompatChatModel:
    options.setdefault("backoff", 0.05)
    return OpenAICompatChatModel(model=name, base_url=fake.url, api_key=SECRET, **options)


# Replies ----------------------------------------------------------------------------------
async def test_plain_reply_with_usage_and_key_sent(fake: Fake) -> None:
    reply = await model(fake, "ok").ainvoke([SystemMessage("be brief"), HumanMessage("hi")])
    assert isinstance(reply, AIMessage)
    assert reply.content == "hello"
    assert reply.usage_metadata == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
    assert reply.response_metadata["finish_reason"] == "stop"
    sent = fake.calls[0]
    assert sent["auth"] == f"Bearer {SECRET}"
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hi"}]


async def test_bind_tools_accepts_our_specs_functions_and_pydantic(fake: Fake) -> None:
    @tool
    def calculate(expression: str) -> float:
        """Evaluate arithmetic."""
        return 0.0

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    class Weather(BaseModel):
        """Weather for a city."""

        city: str

    bound = model(fake, "ok", tool_calling="native").bind_tools(  # no probe first
        [as_tool(calculate).spec(), add, Weather], tool_choice="auto")
    reply = await bound.ainvoke("what is 2 + 2?")
    tools = fake.calls[0]["body"]["tools"]
    assert [t["function"]["name"] for t in tools] == ["calculate", "add", "Weather"]
    assert tools[1]["function"]["parameters"]["required"] == ["a", "b"]
    assert fake.calls[0]["body"]["tool_choice"] == "auto"
    assert reply.tool_calls == [{"name": "calculate", "args": {"expression": "2 + 2"},
                                 "id": "call_1", "type": "tool_call"}]


async def test_tool_choice_by_name_and_history_with_tool_results(fake: Fake) -> None:
    bound = model(fake, "ok").bind_tools([{"type": "function", "function": {
        "name": "calculate", "parameters": {"type": "object", "properties": {}}}}],
        tool_choice="calculate")
    history = [HumanMessage("2+2?"),
               AIMessage("", tool_calls=[{"name": "calculate", "args": {"e": "2+2"},
                                          "id": "c1"}]),
               ToolMessage("4", tool_call_id="c1")]
    await bound.ainvoke(history)
    body = fake.calls[0]["body"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "calculate"}}
    assert body["messages"][1]["tool_calls"][0]["function"] == {"name": "calculate",
                                                                "arguments": '{"e": "2+2"}'}
    assert body["messages"][2] == {"role": "tool", "tool_call_id": "c1", "content": "4"}


async def test_malformed_tool_arguments_become_invalid_tool_calls(fake: Fake) -> None:
    reply = await model(fake, "bad-args").ainvoke("x")
    assert reply.tool_calls == [{"name": "calculate", "args": {"expression": "1"},
                                 "id": "call_3", "type": "tool_call"}]
    assert [(c["id"], c["args"]) for c in reply.invalid_tool_calls] == [
        ("call_1", '{"expression": '), ("call_2", "[1, 2]")]
    assert all(c["error"] for c in reply.invalid_tool_calls)


async def test_stream_accumulates_split_tool_call_deltas_and_usage(fake: Fake) -> None:
    m = model(fake, "ok", tool_calling="native")
    chunks = [c async for c in m.bind_tools([{"type": "function", "function": {
        "name": "calculate", "parameters": {}}}]).astream("go")]
    assert fake.calls[0]["body"]["stream"] is True
    assert len(chunks) > 5
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.content == "Let me check."
    assert total.tool_calls == [
        {"name": "calculate", "args": {"expression": "2 * 21"}, "id": "call_a",
         "type": "tool_call"},
        {"name": "convert_units", "args": {"value": 42, "unit": "km"}, "id": "call_b",
         "type": "tool_call"},
    ]
    assert total.usage_metadata == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


async def test_streaming_flag_makes_ainvoke_read_events(fake: Fake) -> None:
    reply = await model(fake, "ok", streaming=True, tool_calling="native").bind_tools(
        [{"type": "function", "function": {"name": "calculate", "parameters": {}}}]
    ).ainvoke("go")
    assert fake.calls[0]["body"]["stream"] is True
    assert [c["id"] for c in reply.tool_calls] == ["call_a", "call_b"]
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] == 10


async def test_sync_invoke_and_stream_from_a_thread_without_a_loop(fake: Fake) -> None:
    m = model(fake, "ok")
    reply = await asyncio.to_thread(m.invoke, "hi")  # the fake server keeps running here
    assert reply.content == "hello"
    chunks = await asyncio.to_thread(lambda: list(m.stream("hi")))
    assert "".join(str(c.content) for c in chunks) == "Let me check."
    with pytest.raises(ModelError, match="HTTP 404"):
        await asyncio.to_thread(lambda: list(model(fake, "missing").stream("hi")))


# Retries ----------------------------------------------------------------------------------
async def test_429_waits_for_retry_after_then_succeeds(fake: Fake) -> None:
    started = time.monotonic()
    reply = await model(fake, "ratelimit").ainvoke("hi")
    elapsed = time.monotonic() - started
    assert reply.content == "hello"
    assert fake.count("ratelimit") == 2
    gap = fake.calls[1]["t"] - fake.calls[0]["t"]
    assert 0.9 <= gap < 2.5, gap
    assert elapsed < 3


async def test_500_twice_then_success_with_backoff(fake: Fake) -> None:
    reply = await model(fake, "flaky", backoff=0.1).ainvoke("hi")
    assert reply.content == "hello"
    assert fake.count("flaky") == 3
    gaps = [b["t"] - a["t"] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # 0.1 s, then doubled


async def test_5xx_gives_up_after_max_retries(fake: Fake) -> None:
    with pytest.raises(ModelError, match=r"HTTP 503 after 3 attempts: overloaded") as err:
        await model(fake, "down", max_retries=2).ainvoke("hi")
    assert err.value.status == 503
    assert fake.count("down") == 3


def test_retry_after_parses_seconds_and_http_dates() -> None:
    from email.utils import formatdate

    assert retry_after("2") == 2.0
    assert retry_after(None) is None and retry_after("soon") is None
    in_3s = retry_after(formatdate(time.time() + 3, usegmt=True))
    assert in_3s is not None and 1.5 < in_3s <= 3.0


# Errors -----------------------------------------------------------------------------------
async def test_401_names_the_env_var_and_never_shows_the_key(
    fake: Fake, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelError) as err:
        await model(fake, "unauthorized").ainvoke("hi")
    assert err.value.status == 401 and fake.count("unauthorized") == 1  # not retried
    assert "HTTP 401" in str(err.value) and "API key" in str(err.value)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    from_env = OpenAICompatChatModel(model="unauthorized", base_url=fake.url)
    with pytest.raises(ModelError, match=r"\$OPENAI_API_KEY") as err2:
        await from_env.ainvoke("hi")
    for text in (str(err.value), str(err2.value), repr(from_env), caplog.text,
                 from_env.model_dump_json()):
        assert SECRET not in text
    assert "\n" not in str(err.value)


async def test_openai_without_a_key_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    m = OpenAICompatChatModel(model="gpt-4o-mini", connect_timeout=0.001)
    with pytest.raises(ModelError, match=r"^no API key for https://api\.openai\.com/v1/chat/"
                       r"completions: set \$OPENAI_API_KEY"):
        await m.ainvoke("hi")


async def test_404_for_an_unknown_model_or_a_wrong_url(fake: Fake) -> None:
    with pytest.raises(ModelError, match=r"model 'missing' or URL .* not found \(HTTP 404\)"):
        await model(fake, "missing").ainvoke("hi")
    wrong = OpenAICompatChatModel(model="ok", base_url=fake.url.replace("/v1", "/nope"))
    with pytest.raises(ModelError, match=r"/nope/chat/completions not found"):
        await wrong.ainvoke("hi")


async def test_other_4xx_is_not_retried(fake: Fake) -> None:
    with pytest.raises(ModelError, match=r"HTTP 400: max_tokens is too large"):
        await model(fake, "bad-request").ainvoke("hi")
    assert fake.count("bad-request") == 1


async def test_refused_connection_names_the_url() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = OpenAICompatChatModel(model="x", base_url=f"http://127.0.0.1:{port}/v1", api_key=SECRET)
    with pytest.raises(ModelError) as err:
        await m.ainvoke("hi")
    msg = str(err.value)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in msg
    assert "connection refused" in msg and "is the server running?" in msg
    assert SECRET not in msg


@pytest.mark.parametrize("name, expected", [
    ("garbage", r"malformed reply from .*: not JSON \('<html>proxy error</html>'\)"),
    ("no-choices", r"malformed reply from .*: no choices"),
])
async def test_malformed_body(fake: Fake, name: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected):
        await model(fake, name).ainvoke("hi")


async def test_malformed_stream_event(fake: Fake) -> None:
    with pytest.raises(ModelError, match=r"malformed event from .*: not JSON \('\{oops'\)"):
        [c async for c in model(fake, "bad-stream").astream("hi")]


async def test_read_timeout(fake: Fake) -> None:
    with pytest.raises(ModelError, match=r"no reply from .* within 0.3 s \(read timeout\)"):
        await model(fake, "slow", read_timeout=0.3).ainvoke("hi")


# Model ids --------------------------------------------------------------------------------
def test_model_ids_pick_url_name_and_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.plugins.openai_compat import openai_model, url_model

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    m = openai_model("openai:gpt-4o-mini")
    assert (m.model_name, m.url) == ("gpt-4o-mini", "https://api.openai.com/v1/chat/completions")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")
    assert openai_model("openai:llama3").url == "http://127.0.0.1:11434/v1/chat/completions"
    u = url_model("http://127.0.0.1:8080/v1#qwen")
    assert (u.model_name, u.url, u.api_key_env) == (
        "qwen", "http://127.0.0.1:8080/v1/chat/completions", "OPENAI_COMPAT_API_KEY")
    assert url_model("https://example.org/v1").model_name == "default"


# A real server: xllamacpp with SmolLM2 ----------------------------------------------------
async def test_real_server_plain_chat(smollm2_server: str) -> None:
    m = OpenAICompatChatModel(model="smollm2", base_url=smollm2_server, max_tokens=16,
                              temperature=0)
    reply = await m.ainvoke([HumanMessage("Say hello.")])
    assert isinstance(reply.content, str) and reply.content.strip()
    usage = reply.usage_metadata
    assert usage is not None and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_real_server_with_tools_plain_and_streamed(smollm2_server: str) -> None:
    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return "sunny"

    m = OpenAICompatChatModel(model="smollm2", base_url=smollm2_server, max_tokens=48,
                              temperature=0)
    weather = as_tool(get_weather)  # a Tool object
    bound = m.bind_tools([weather], tool_choice="required")
    question = [HumanMessage("What is the weather in Paris? Use a tool.")]
    reply = await bound.ainvoke(question)
    assert isinstance(reply, AIMessage)
    # SmolLM2's chat template has no tools, so the server ignores them: the model asks
    # again with the tools in the prompt and the reply constrained to a call
    assert [c["name"] for c in reply.tool_calls] == ["get_weather"]
    assert weather.is_valid(reply.tool_calls[0]["args"])
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0
    chunks = [c async for c in bound.astream(question)]
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert [c["name"] for c in total.tool_calls] == ["get_weather"]
    assert all(weather.is_valid(c["args"]) for c in total.tool_calls)
    assert total.usage_metadata is not None and total.usage_metadata["input_tokens"] > 0
    free = await m.bind_tools([weather]).ainvoke([HumanMessage("Say hello.")])
    assert isinstance(free.content, str)
    assert all(weather.is_valid(c["args"]) for c in free.tool_calls)


async def test_react_over_the_real_server_makes_a_valid_call(smollm2_server: str,
                                                             tmp_path: Any) -> None:
    """The issue's check: a react run against an OpenAI-compatible URL calls a tool."""
    from agent.planners.react import ReactPlanner
    from agent.tools.calculator import calculate

    m = OpenAICompatChatModel(model="smollm2", base_url=smollm2_server, max_tokens=48,
                              temperature=0)
    agent = Agent(tools=[calculate], model=m, planner=ReactPlanner(), max_steps=4,
                  store=tmp_path / "trace.db")
    run = await agent.run("What is 12 * 7?")
    assert run.status in ("ok", "max_steps"), run.error
    assert run.results, "the first request requires a call of the fitting tool"
    assert all(agent.tools[r.name].is_valid(r.args) for r in run.results)
    await agent.aflush()
    stored = agent.store.get_run(run.id)
    assert [c["tool_name"] for c in stored["tool_calls"]] == [r.name for r in run.results]
    assert stored["tokens_in"] > 0
    agent.close()


class OneModelCall:
    """A test planner: ask the model once, with the tools, and answer with what it says."""

    name = "one-model-call"

    async def run(self, task: Any, env: Any) -> str:
        reply = await env.call_model([HumanMessage(task.query)], tools=env.tools.values())
        calls = ", ".join(c["name"] for c in reply.tool_calls)
        return str(reply.content) or f"wants to call {calls or 'nothing'}"


async def test_agent_records_a_model_step_with_tokens(smollm2_server: str) -> None:
    @tool
    def calculate(expression: str) -> str:
        """Evaluate an arithmetic expression."""
        return expression

    m = OpenAICompatChatModel(model="smollm2", base_url=smollm2_server, max_tokens=24,
                              temperature=0)
    agent = Agent(tools=[calculate], model=m, planner=OneModelCall(), store=False)
    run = await agent.run("What is 2 + 2?")
    assert run.status == "ok", run.error
    assert [s.kind for s in run.steps] == ["model"]
    step = run.steps[0]
    assert step.status == "ok" and step.name == "smollm2"
    assert step.tokens_in > 0 and step.tokens_out > 0
    assert (run.tokens_in, run.tokens_out) == (step.tokens_in, step.tokens_out)
