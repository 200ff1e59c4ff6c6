"""Cached replay: recorded model replies, tool results and answers give the same transcript,
nothing is executed, and the new run links to the original."""

from __future__ import annotations

import datetime as dt

import pytest
from replay_support import record, replay, transcript

from agent import tool
from agent.planners.compiler import CompilerPlanner
from agent.planners.dataflow import DataflowPlanner
from agent.planners.react import ReactPlanner
from agent.replay import ReplayDivergence
from agent.testing.scripted import call, say, scripted
from agent.types import Answer

CALLS: list[str] = []


@tool
def weather(city: str) -> dict:
    """Current weather in a city.

    Args:
        city: the city name
    """
    CALLS.append(city)
    return {"city": city, "temp_c": 21, "sky": ("clear", "sunny")}


@pytest.fixture(autouse=True)
def _clear():
    CALLS.clear()


def assert_same_transcript(store, original: str, replayed: str) -> None:
    before, after = transcript(store, original), transcript(store, replayed)
    assert len(before) == len(after) >= 1
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert a == b, f"message {i} differs"


async def test_dataflow_runs_on_built_in_tools_replay_identically(store, registry, make_agent):
    agent = make_agent()
    ids = [await record(agent, q) for q in (
        "what is 15% of 240", "how many miles is 42.195 km", "convert 5 km",  # needs_input
        "what is 2 + 2 and how many feet is 3 meters")]
    for run_id in ids:
        result = await replay(store, registry, run_id)
        assert result.identical, result.first_difference
        assert_same_transcript(store, run_id, result.run.id)
        stored = store.get_run(result.run.id)
        original = store.get_run(run_id)
        assert stored["parent_id"] == run_id
        assert {"key": "replay", "value": "cached"} in stored["labels"]
        assert (stored["status"], stored["answer"]) == (original["status"], original["answer"])
        assert [(s["seq"], s["kind"], s["name"], s["status"]) for s in stored["steps"]] == \
            [(s["seq"], s["kind"], s["name"], s["status"]) for s in original["steps"]]
        assert result.diff.same
    needs_input = store.get_run(ids[2])
    assert needs_input["status"] == "needs_input"


async def test_react_run_with_a_scripted_model_replays_without_the_model(store, registry,
                                                                        make_agent):
    model = scripted(call("weather", {"city": "Oslo"}, "c1"),
                     call("weather", {"city": "Bergen"}, "c2"), say("Oslo 21 C, Bergen 21 C"))
    agent = make_agent(tools=[weather], planner=ReactPlanner(), model=model)
    run_id = await record(agent, "weather in Oslo and Bergen?")
    assert CALLS == ["Oslo", "Bergen"] and model.position == 3
    result = await replay(store, registry, run_id, tools=[weather])
    assert result.identical, result.first_difference
    assert_same_transcript(store, run_id, result.run.id)
    assert CALLS == ["Oslo", "Bergen"]  # no tool ran again ...
    assert model.position == 3  # ... and the scripted model was not asked again
    original, replayed = store.get_run(run_id), store.get_run(result.run.id)
    assert replayed["model"] == original["model"] == "scripted"
    assert (replayed["tokens_in"], replayed["tokens_out"]) == (original["tokens_in"],
                                                               original["tokens_out"])
    assert [s["name"] for s in replayed["steps"]] == [s["name"] for s in original["steps"]]
    assert result.served == 5  # three model replies, two tool steps


async def test_json_mode_react_replays_with_a_model_without_tool_calling(store, registry,
                                                                        make_agent):
    model = scripted('{"tool": "weather", "args": {"city": "Oslo"}}', '{"answer": "21 C"}',
                     native_tools=False)
    agent = make_agent(tools=[weather], planner=ReactPlanner(), model=model)
    run_id = await record(agent, "weather in Oslo?")
    result = await replay(store, registry, run_id, tools=[weather])
    assert result.identical, result.first_difference
    assert result.run.answer == "21 C"


async def test_streamed_compiler_plan_replays_identically(store, registry, make_agent):
    model = scripted('1. weather(city="Oslo")\n2. weather(city="Rome")\n3. join()\n',
                     say("Thought: both known\nAnswer: 21 C in both"))
    agent = make_agent(tools=[weather], planner=CompilerPlanner(), model=model)
    run_id = await record(agent, "weather in Oslo and Rome")
    assert store.get_run(run_id)["status"] == "ok"
    result = await replay(store, registry, run_id, tools=[weather])
    assert result.identical, result.first_difference
    assert sorted(CALLS) == ["Oslo", "Rome"]


async def test_a_question_is_answered_from_the_recording(store, registry, make_agent):
    asked: list[str] = []

    def ask(question, schema):
        asked.append(question)
        return {"to_unit": "mile"}

    agent = make_agent(ask=ask)
    run_id = await record(agent, "convert 5 km")
    assert len(asked) == 1 and store.get_run(run_id)["status"] == "ok"
    result = await replay(store, registry, run_id)  # nobody to ask: the recording answers
    assert result.identical, result.first_difference
    assert len(asked) == 1
    ask_step = next(s for s in store.get_run(result.run.id)["steps"] if s["kind"] == "ask")
    assert ask_step["data"]["answer"] == {"to_unit": "mile"}


async def test_answers_given_up_front_are_recorded_and_given_again(store, registry, make_agent):
    agent = make_agent()
    run_id = await record(agent, "convert 5 km", answers={"to_unit": "mile"})
    assert store.get_run(run_id)["metadata"]["answers"] == {"to_unit": "mile"}
    result = await replay(store, registry, run_id)
    assert result.identical and result.run.status == "ok"


async def test_planner_options_are_recorded_and_restored(store, registry, make_agent):
    agent = make_agent(planner=DataflowPlanner(today=dt.date(2020, 2, 28)))
    run_id = await record(agent, "what is the date 1 day after tomorrow")
    options = store.get_run(run_id)["metadata"]["planner_options"]
    assert options["today"] == {"$date": "2020-02-28"}
    result = await replay(store, registry, run_id)  # a registry planner, given today= back
    assert result.identical, result.first_difference


async def test_an_explicit_plan_replays_with_its_references(store, registry, make_agent):
    agent = make_agent(tools=[weather])
    run = await agent.run_plan([
        {"id": "a", "name": "weather", "args": {"city": "Oslo"}},
        {"id": "b", "name": "weather", "args": {"city": {"$ref": "a#/city"}}}])
    await agent.aflush()
    result = await replay(store, registry, run.id, tools=[weather])
    assert result.identical, result.first_difference
    assert CALLS == ["Oslo", "Oslo"]


class CountingPlanner:
    """Calls the calculator with ``n + 1``: a planner whose behaviour a test can change."""

    name = "counting"

    def __init__(self, n: int) -> None:
        self.n = n

    async def run(self, task, env):
        [result] = await env.call_tools([{"name": "calculate",
                                          "args": {"expression": f"{self.n} + 1"}}])
        return Answer(result.text())


async def test_a_planner_that_now_calls_something_else_is_a_divergence(store, registry,
                                                                       make_agent):
    agent = make_agent(tools=["calculate"], planner=CountingPlanner(1))
    run_id = await record(agent, "count")
    same = await replay(store, registry, run_id, planner=CountingPlanner(1))
    assert same.identical
    with pytest.raises(ReplayDivergence) as caught:
        await replay(store, registry, run_id, planner=CountingPlanner(2))
    message = str(caught.value)
    assert "diverged at step 1" in message and "2 + 1" in message and "1 + 1" in message
    assert "\n" not in message
    diverged = store.list_runs(limit=1)[0]
    assert diverged["parent_id"] == run_id and diverged["status"] == "error"
    assert "diverged" in diverged["error"]
