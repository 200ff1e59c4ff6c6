from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agent import Agent, Answer, tool
from agent.errors import PlannerNotFoundError
from agent.store import TraceStore


def lookup(city: str) -> dict:
    """Find a city's country.

    Args:
        city: the city
    """
    return {"city": city, "country": {"Oslo": "Norway", "Lyon": "France"}.get(city, "?")}


def capital(country: str) -> str:
    """The capital of a country.

    Args:
        country: the country
    """
    return {"Norway": "Oslo", "France": "Paris"}[country]


async def slow(seconds: float) -> str:
    """Sleep.

    Args:
        seconds: how long
    """
    await asyncio.sleep(seconds)
    return "slept"


class TwoSteps:
    """A planner that looks a city up, then asks for a capital using the first output."""

    name = "two-steps"

    async def run(self, task, env):
        [found] = await env.call_tools([{"name": "lookup", "args": {"city": task.query}}])
        [cap] = await env.call_tools(
            [{"name": "capital", "args": {"country": found.content["country"]}}])
        return Answer(f"{task.query} is in {found.content['country']}, capital {cap.content}",
                      data=cap.content)


class Asking:
    name = "asking"

    async def run(self, task, env):
        answer = await env.ask("Which city?", {"type": "object", "required": ["city"],
                                               "properties": {"city": {"type": "string",
                                                                       "minLength": 2}}})
        [r] = await env.call_tools([{"name": "lookup", "args": {"city": answer["city"]}}])
        return r.content["country"]


def db(path: Path) -> TraceStore:
    return TraceStore(path)


async def test_run_traces_steps_calls_and_messages(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with Agent([lookup, capital], planner=TwoSteps(), store=path) as agent:
        run = await agent.run("Oslo")
    assert run.status == "ok" and run.answer == "Oslo is in Norway, capital Oslo"
    assert [s.kind for s in run.steps] == ["tool_calls", "tool_calls"]
    assert [m.type for m in run.messages] == ["human", "ai", "tool", "ai", "tool", "ai"]
    with db(path) as store:
        saved = store.get_run(run.id[:8])
    assert saved["status"] == "ok" and saved["planner"] == "two-steps"
    assert [c["tool_name"] for c in saved["tool_calls"]] == ["lookup", "capital"]
    assert saved["tool_calls"][1]["args"] == {"country": "Norway"}
    assert [s["status"] for s in saved["steps"]] == ["ok", "ok"]
    assert len(saved["messages"]) == 6
    assert {t["name"] for t in saved["tools"]} == {"lookup", "capital"}


async def test_stream_yields_events_in_order() -> None:
    agent = Agent([lookup, capital], planner=TwoSteps(), store=False)
    kinds = [e.type async for e in agent.stream("Lyon")]
    assert kinds == ["step_started", "tool_started", "tool_finished", "step_finished"] * 2
    assert agent.last_run is not None and agent.last_run.answer.endswith("capital Paris")


def test_run_sync(tmp_path: Path) -> None:
    run = Agent([lookup, capital], planner=TwoSteps(), store=tmp_path / "s.db").run_sync("Lyon")
    assert run.status == "ok" and run.data == "Paris"


async def test_needs_input_without_anyone_to_ask_then_resumed_with_answers(
        tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with Agent([lookup], planner=Asking(), store=path) as agent:
        run = await agent.run("where?")
        assert run.status == "needs_input" and list(run.missing) == ["city"]
        again = await agent.run("where?", answers={"city": "Lyon"}, parent_id=run.id)
    assert again.status == "ok" and again.answer == "France"
    with db(path) as store:
        assert store.get_run(run.id)["status"] == "needs_input"
        assert store.get_run(again.id)["parent_id"] == run.id


async def test_invalid_answer_is_asked_again_with_the_reason() -> None:
    prompts = []

    def ask(question, schema):
        prompts.append(question)
        return {"city": "X"} if len(prompts) == 1 else {"city": "Oslo"}

    run = await Agent([lookup], planner=Asking(), store=False, ask=ask).run("q")
    assert run.answer == "Norway"
    assert prompts == ["Which city?", "Which city? (city: 'X' is too short)"]


async def test_a_planner_bug_ends_the_run_as_error_and_is_recorded(tmp_path: Path) -> None:
    class Buggy:
        async def run(self, task, env):
            await env.call_tools([{"name": "lookup", "args": {"city": "Oslo"}}])
            raise KeyError("oops")

    path = tmp_path / "t.db"
    with Agent([lookup], planner=Buggy(), store=path) as agent:
        run = await agent.run("q")
    assert run.status == "error" and run.error == "KeyError: 'oops'"
    with db(path) as store:
        saved = store.get_run(run.id)
    assert saved["status"] == "error" and len(saved["tool_calls"]) == 1


async def test_max_steps() -> None:
    class Loop:
        async def run(self, task, env):
            while True:
                await env.call_tools([{"name": "lookup", "args": {"city": "Oslo"}}])

    run = await Agent([lookup], planner=Loop(), store=False, max_steps=3).run("q")
    assert run.status == "max_steps" and len(run.results) == 3


async def test_cancelled_run_is_recorded_as_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    agent = Agent([slow], store=path)
    task = asyncio.create_task(agent.execute([{"name": "slow", "args": {"seconds": 5}}] * 2))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    agent.close()
    with db(path) as store:
        [saved] = store.list_runs()
        full = store.get_run(saved["id"])
    assert full["status"] == "cancelled"
    assert [c["status"] for c in full["tool_calls"]] == ["cancelled", "cancelled"]


def test_ctrl_c_in_a_real_process_records_the_run_as_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    script = textwrap.dedent(f"""
        import asyncio
        import signal
        from agent import Agent

        # As in a terminal: a job started in the background by a shell inherits SIGINT ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)

        async def slow(seconds: float) -> str:
            '''Sleep.'''
            print("sleeping", flush=True)
            await asyncio.sleep(seconds)
            return "slept"

        agent = Agent([slow], store={str(path)!r})
        print("started", flush=True)
        try:
            asyncio.run(agent.execute([{{"name": "slow", "args": {{"seconds": 30}}}}]))
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    # Interrupt while the tool runs, not after a guessed wait.
    assert proc.stdout.readline().strip() == "sleeping"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert "interrupted" in out
    rows = sqlite3.connect(path).execute("select status from runs").fetchall()
    assert rows == [("cancelled",)]
    calls = sqlite3.connect(path).execute("select status from tool_calls").fetchall()
    assert calls == [("cancelled",)]


async def test_unknown_planner_is_a_clear_error() -> None:
    agent = Agent([lookup], planner="nope", store=False)
    with pytest.raises(PlannerNotFoundError, match="unknown planner 'nope'"):
        await agent.run("q")


async def test_secrets_in_arguments_never_reach_the_database(tmp_path: Path) -> None:
    @tool
    def fetch(url: str, headers: dict, api_key: str) -> dict:
        """Pretend to fetch."""
        return {"echo": headers}

    path = tmp_path / "t.db"
    with Agent([fetch], store=path) as agent:
        [r] = await agent.execute([{"name": "fetch", "args": {
            "url": "https://example.org", "api_key": "sk-live-abcdefghijklmnop1234",
            "headers": {"Authorization": "Bearer s3cr3t-t0ken-value"}}}])
    assert r.ok
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("t.db*"))
    assert b"s3cr3t-t0ken-value" not in raw and b"sk-live-abcdefghijklmnop1234" not in raw
    assert b"example.org" in raw


def test_a_program_that_exits_without_close_keeps_its_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    script = textwrap.dedent(f"""
        import asyncio
        from agent import Agent

        async def add(a: int, b: int) -> int:
            '''Add.'''
            return a + b

        agent = Agent([add], store={str(path)!r})
        asyncio.run(agent.execute([{{"name": "add", "args": {{"a": 1, "b": 2}}}}]))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=60)
    db = sqlite3.connect(path)
    assert db.execute("select status from runs").fetchall() == [("ok",)]
    assert db.execute("select status, content from tool_calls").fetchall() == [("success", "3")]


def test_runs_in_short_lived_event_loops_are_committed_without_close(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    agent = Agent([lookup], store=path)
    for city in ("Oslo", "Lyon", "Rome"):
        asyncio.run(agent.execute([{"name": "lookup", "args": {"city": city}}]))
    deadline = time.monotonic() + 10
    count = 0
    while time.monotonic() < deadline:  # the writer thread commits in the background
        count = sqlite3.connect(path).execute(
            "select count(*) from runs where status = 'ok'").fetchone()[0]
        if count == 3:
            break
        time.sleep(0.02)
    assert count == 3
    agent.close()


def test_a_tool_results_text_follows_its_content() -> None:
    """``text()`` is made once per content object (the model's tool message and the trace
    both ask for it), and made again when the content is replaced."""
    from agent.types import ToolResult

    result = ToolResult("c1", "echo", "success", content={"n": 1})
    assert result.text() == '{"n": 1}'
    assert result.text() is result.text()
    result.content = {"n": 2}
    assert result.text() == '{"n": 2}'
    result.status, result.error = "error", "boom"
    assert result.text() == "Error: boom"
    assert result == ToolResult("c1", "echo", "error", content={"n": 2}, error="boom")


def test_model_steps_carry_the_name_of_the_model_that_made_them() -> None:
    """The name is looked up once per model object: a model swapped in gets its own."""
    from langchain_core.messages import AIMessage

    from agent.planners.react import ReactPlanner
    from agent.testing.scripted import say, scripted

    class Unnamed:  # no model_name: its class name stands for it
        def bind_tools(self, tools: object, **kwargs: object) -> Unnamed:
            return self

        async def ainvoke(self, messages: object, **kwargs: object) -> AIMessage:
            return AIMessage(content="plain")

    agent = Agent([lookup], planner=ReactPlanner(), store=False, model=scripted(say("one")))
    first = asyncio.run(agent.run("hi"))
    agent._model = Unnamed()
    second = asyncio.run(agent.run("hi"))
    agent._model = scripted(say("two"))
    third = asyncio.run(agent.run("hi"))
    assert [[s.name for s in r.steps if s.kind == "model"] for r in (first, second, third)] \
        == [["scripted"], ["Unnamed"], ["scripted"]]
    assert (first.answer, second.answer, third.answer) == ("one", "plain", "two")
