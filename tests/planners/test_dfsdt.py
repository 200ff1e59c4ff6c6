"""``dfsdt``: backtracking, the tree in the steps' parent ids, the marked solution path."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from scripted import call, say, scripted

from agent import Agent, tool
from agent.planners.dfsdt import DfsdtPlanner
from agent.plugin_manager import PluginSet
from agent.registry import build_registry


@tool
def lookup(name: str) -> dict:
    """Look a person up.

    Args:
        name: full name
    """
    if name != "Ada Lovelace":
        raise LookupError(f"nobody called {name}")
    return {"name": name, "born": 1815}


def run_with(model, **options):
    agent = Agent(tools=[lookup], planner=DfsdtPlanner(**options), model=model, store=False)
    return agent.run("When was Ada born?")


async def test_first_branch_fails_second_succeeds():
    model = scripted(
        call("lookup", {"name": "Ada"}, "a"),           # root, child 1: the tool fails
        call("lookup", {"name": "Ada Lovelace"}, "b"),  # root, child 2: succeeds -> node
        say("Ada Lovelace was born in 1815."),          # answer below child 2
    )
    run = await run_with(model)
    assert run.status == "ok" and run.answer == "Ada Lovelace was born in 1815."
    m1, t1, m2, t2, m3, solution = run.steps
    assert [s.kind for s in run.steps] == ["model", "tool_calls", "model", "tool_calls",
                                           "model", "solution"]
    # the tree: two siblings under the root, the answer under the successful branch
    assert m1.parent_id is None and m2.parent_id is None
    assert t1.parent_id == m1.id and t1.status == "error"
    assert t2.parent_id == m2.id and t2.status == "ok"
    assert m3.parent_id == t2.id
    assert solution.data == {"path": [m2.id, t2.id, m3.id], "nodes": 3}
    # the second try saw the first one and its error, as data, in a user turn
    retry = model.requests[1].messages
    assert isinstance(retry[0], SystemMessage) and len(retry) == 3
    assert isinstance(retry[-1], HumanMessage)
    assert 'lookup({"name": "Ada"}) -> failed:' in retry[-1].content
    assert '<tool_output name="lookup" id="a" status="error">' in retry[-1].content
    assert "LookupError: nobody called Ada" in retry[-1].content
    # the answer was asked with the successful branch's result as a tool message
    final = model.requests[2].messages
    assert isinstance(final[-1], ToolMessage) and '"born": 1815' in final[-1].content
    assert len(final) == 4  # system, question, the call, its result: no failed branch
    # give_up is offered as an action, next to the tools
    assert [t["function"]["name"] for t in model.bound[0]] == ["lookup", "give_up"]


async def test_give_up_backtracks_to_the_parent():
    model = scripted(
        call("lookup", {"name": "Ada Lovelace"}, "a"),  # root child 1 -> node A
        call("give_up", {"reason": "stuck"}, "g1"),     # A child 1: gives up
        call("give_up", {"reason": "still"}, "g2"),     # A child 2: gives up -> back to root
        say("1815"),                                    # root child 2: answers
    )
    run = await run_with(model)
    assert run.status == "ok" and run.answer == "1815"
    m1, t1, m2, m3, m4, solution = run.steps
    assert m1.parent_id is None and t1.parent_id == m1.id
    assert m2.parent_id == t1.id and m3.parent_id == t1.id  # siblings under node A
    assert m4.parent_id is None                             # back at the root
    assert solution.data["path"] == [m4.id]
    retry = model.requests[3].messages[-1].content
    assert "every step after it failed" in retry and '"born": 1815' in retry
    assert "the model gave up: stuck" in model.requests[2].messages[-1].content


async def test_bounded_by_nodes():
    model = scripted(*[call("lookup", {"name": "Bob"}, f"c{i}") for i in range(10)])
    run = await run_with(model, width=3, max_nodes=4)
    assert run.status == "error" and run.answer == "No solution found after trying 3 steps."
    assert run.steps[-1].kind == "solution" and run.steps[-1].status == "error"
    assert run.steps[-1].data == {"path": [], "nodes": 3}


async def test_bounded_by_depth():
    model = scripted(
        call("lookup", {"name": "Ada Lovelace"}, "a"),
        call("lookup", {"name": "Ada Lovelace"}, "b"),  # at depth 1 = max: not run
        say("1815"),
    )
    run = await run_with(model, width=2, max_depth=1)
    assert run.answer == "1815"
    assert [s.kind for s in run.steps] == ["model", "tool_calls", "model", "model", "solution"]
    assert "depth limit" in model.requests[2].messages[-1].content


async def test_tokens_and_trace(tmp_path: Path):
    model = scripted(call("lookup", {"name": "Ada"}, "a"),
                     call("lookup", {"name": "Ada Lovelace"}, "b"), say("1815"))
    agent = Agent(tools=[lookup], planner=DfsdtPlanner(), model=model, store=tmp_path / "t.db")
    run = await agent.run("When was Ada born?")
    await agent.aflush()
    assert (run.tokens_in, run.tokens_out) == (30, 15)
    rows = list(agent.store.db["steps"].rows_where("run_id = ?", [run.id], order_by="seq"))
    by_id = {s.id: s for s in run.steps}
    assert [(r["id"], r["parent_id"]) for r in rows] == [(s.id, s.parent_id) for s in run.steps]
    assert by_id[rows[-1]["id"]].kind == "solution"
    agent.close()


def test_registered_as_a_plugin():
    from agent.planners import llm_planners

    plugins = PluginSet()
    plugins.add(llm_planners, "agent.planners.llm_planners", "builtin")
    assert isinstance(build_registry(plugins).planner("dfsdt", width=3), DfsdtPlanner)


async def test_end_to_end_with_the_local_model():
    from scripted import all_calls_validated, local_model

    agent = Agent(tools=[lookup], planner=DfsdtPlanner(width=2, max_nodes=4, max_depth=2),
                  model=local_model(), store=False, max_steps=12)
    run = await agent.run("When was Ada Lovelace born?")
    assert run.status in ("ok", "error", "max_steps"), run.error
    assert run.steps[-1].kind == "solution" or run.status == "max_steps"
    assert all_calls_validated(agent, run)


@tool
def weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: the city
    """
    return "sunny"


async def test_only_the_tools_that_fit_are_shown_unless_all_are_asked_for():
    agent = Agent(tools=[lookup, weather], planner=DfsdtPlanner(), model=scripted(
        say("1815")), store=False)
    await agent.run("When was Ada born? Look her up.")
    shown = [t["function"]["name"] for t in agent.model.bound[0]]
    assert shown == ["lookup", "give_up"]
    every = Agent(tools=[lookup, weather], planner=DfsdtPlanner(tools="all"),
                  model=scripted(say("1815")), store=False)
    await every.run("When was Ada born? Look her up.")
    assert [t["function"]["name"] for t in every.model.bound[0]] == [
        "lookup", "weather", "give_up"]
    nothing_fits = Agent(tools=[lookup, weather], planner=DfsdtPlanner(),
                         model=scripted(say("hello")), store=False)
    await nothing_fits.run("hello")
    assert len(nothing_fits.model.bound[0]) == 3  # none fit: all are shown
    with pytest.raises(ValueError, match="tools must be"):
        DfsdtPlanner(tools="few")


async def test_the_root_requires_a_call_only_when_a_tool_fits_the_query():
    def ask(model, **options):
        return Agent(tools=[lookup], planner=DfsdtPlanner(**options), model=model,
                     store=False).run("When was Ada born? Look her up.")

    model = scripted(
        call("lookup", {"name": "Ada"}, "a"),           # root, child 1: fails
        call("lookup", {"name": "Ada Lovelace"}, "b"),  # root, child 2: a node
        say("1815"),                                    # below it: free to answer
    )
    run = await ask(model)
    assert run.answer == "1815"
    assert [r.tool_choice for r in model.requests] == ["required", "required", None]
    nothing_fits = scripted(say("hello"))
    await Agent(tools=[lookup], planner=DfsdtPlanner(), model=nothing_fits,
                store=False).run("hello")
    assert nothing_fits.requests[0].tool_choice is None
    free = scripted(say("1815"))
    await ask(free, first_tool_choice=None)
    assert free.requests[0].tool_choice is None
    every = scripted(say("1815"))
    await ask(every, tools="all")  # all shown; the fitting ones still decide the choice
    assert every.requests[0].tool_choice == "required"
