"""Live replay re-executes and diffs; a fork serves the recording up to a step, then goes live."""

from __future__ import annotations

import pytest
from replay_support import record, replay

from agent import tool
from agent.planners.react import ReactPlanner
from agent.testing.scripted import call, say, scripted

PRICES = {"apple": 1.25, "pear": 2.0}
SENT: list[dict] = []


@tool
def price(item: str) -> dict:
    """The price of a fruit.

    Args:
        item: the fruit
    """
    return {"item": item, "eur": PRICES[item]}


@tool(side_effects=True)
def order(item: str, count: int) -> dict:
    """Order fruit (it is delivered: a side effect).

    Args:
        item: the fruit
        count: how many
    """
    SENT.append({"item": item, "count": count})
    return {"ordered": count, "item": item}


@pytest.fixture(autouse=True)
def _reset():
    PRICES.update(apple=1.25, pear=2.0)
    SENT.clear()


def react(*replies):
    return ReactPlanner(), scripted(*replies)


async def test_live_replay_shows_a_changed_tool_result_and_answer(store, registry, make_agent):
    planner, model = react(call("price", {"item": "apple"}, "c1"),
                           say("An apple costs 1.25 EUR."))
    agent = make_agent(tools=[price], planner=planner, model=model)
    run_id = await record(agent, "how much is an apple?")
    PRICES["apple"] = 1.5  # the world changed since the run
    live_model = scripted(call("price", {"item": "apple"}, "c1"), say("An apple costs 1.5 EUR."))
    result = await replay(store, registry, run_id, "live", tools=[price], model=live_model)
    [c] = result.diff.calls
    assert c.op == "changed" and c.name == "price" and not c.args
    assert [(ch.path, ch.before, ch.after) for ch in c.result] == [("/eur", 1.25, 1.5)]
    assert result.diff.answer == ("An apple costs 1.25 EUR.", "An apple costs 1.5 EUR.")
    assert not result.diff.same
    stored = store.get_run(result.run.id)
    assert stored["parent_id"] == run_id
    assert {"key": "replay", "value": "live"} in stored["labels"]
    assert stored["tool_calls"][0]["content"] == {"item": "apple", "eur": 1.5}
    # the live model saw the new price: the tool really ran again
    assert '"eur": 1.5' in live_model.requests[1].messages[-1].content


async def test_live_replay_with_the_same_world_is_the_same(store, registry, make_agent):
    agent = make_agent()
    run_id = await record(agent, "how many miles is 42.195 km")
    result = await replay(store, registry, run_id, "live")
    assert result.diff.same and result.run.status == "ok"
    assert [c.op for c in result.diff.calls] == ["same"]


async def test_live_replay_of_a_side_effect_needs_approval(store, registry, make_agent):
    replies = (call("order", {"item": "pear", "count": 3}, "c1"), say("Ordered."))
    agent = make_agent(tools=[order], planner=ReactPlanner(), model=scripted(*replies),
                       approve=True)
    run_id = await record(agent, "order 3 pears")
    assert len(SENT) == 1
    refused = await replay(store, registry, run_id, "live", tools=[order],
                           model=scripted(*replies))
    assert len(SENT) == 1  # no approval given: not sent again
    [c] = refused.diff.calls
    assert c.op == "changed" and c.after["status"] == "error"
    assert "needs approval" in c.after["error"]
    approved = await replay(store, registry, run_id, "live", tools=[order],
                            model=scripted(*replies), approve=True)
    assert len(SENT) == 2 and approved.diff.calls[0].op == "same"
    cached = await replay(store, registry, run_id, "cached", tools=[order])
    assert cached.identical and len(SENT) == 2  # cached replay never executes it


async def test_live_replay_answers_questions_from_the_recording(store, registry, make_agent):
    agent = make_agent(ask=lambda question, schema: {"to_unit": "mile"})
    run_id = await record(agent, "convert 5 km")
    result = await replay(store, registry, run_id, "live")  # no ask callback given
    assert result.run.status == "ok" and result.diff.same


async def test_fork_serves_the_steps_before_it_and_continues_with_another_model(
        store, registry, make_agent):
    planner, model = react(call("price", {"item": "apple"}, "c1"),
                           call("price", {"item": "pear"}, "c2"), say("3.25 EUR together."))
    agent = make_agent(tools=[price], planner=planner, model=model)
    run_id = await record(agent, "apple plus pear?")
    steps = store.get_run(run_id)["steps"]
    assert [s["kind"] for s in steps] == ["model", "tool_calls", "model", "tool_calls", "model"]
    PRICES["apple"] = 9.0  # would show if step 2 ran again
    other = scripted(say("A pear and an apple: 3.25 EUR."))
    result = await replay(store, registry, run_id, "fork", fork_step=3, tools=[price],
                          model=other)
    assert result.live_from == 3 and result.served == 2
    # the new model continued from the recorded history: the recorded apple price
    history = other.requests[0].messages
    assert '"eur": 1.25' in history[-1].content
    assert model.position == 3  # the original model was not asked again
    assert result.run.answer == "A pear and an apple: 3.25 EUR."
    assert [c.op for c in result.diff.calls] == ["same", "removed"]
    stored = store.get_run(result.run.id)
    assert stored["metadata"]["replay"] == {"mode": "fork", "of": run_id, "fork_step": 3}
    assert stored["model"] == "scripted"


async def test_fork_with_another_planner_reuses_matching_recorded_calls(store, registry,
                                                                       make_agent):
    planner, model = react(call("convert_units",
                                {"value": 5, "from_unit": "km", "to_unit": "miles"}, "c1"),
                           say("About 3.1 miles."))
    agent = make_agent(tools=["convert_units"], planner=planner, model=model)
    run_id = await record(agent, "how many miles is 5 km")
    result = await replay(store, registry, run_id, "fork", fork_step=3, planner="dataflow")
    stored = store.get_run(result.run.id)
    assert stored["planner"] == "dataflow" and stored["parent_id"] == run_id
    # dataflow made the same call as the recorded step 2: served, not run again
    assert result.served == 1 and result.live_from is None
    assert stored["tool_calls"][0]["duration_ms"] == 0.0
    assert result.run.status == "ok" and "3.10686 mile" in result.run.answer, result.run.answer
    assert [c.op for c in result.diff.calls] == ["same"]
    assert result.diff.answer[0] == "About 3.1 miles."


async def test_fork_with_another_llm_planner_serves_its_matching_calls(store, registry,
                                                                      make_agent):
    planner, model = react(call("price", {"item": "pear"}, "c1"), say("2 EUR."))
    agent = make_agent(tools=[price], planner=planner, model=model)
    run_id = await record(agent, "how much is a pear?")
    PRICES["pear"] = 7.0  # would show if the recorded call ran again
    compiler = scripted('1. price(item="pear")\n2. join()\n', say("Answer: a pear is 2 EUR"))
    result = await replay(store, registry, run_id, "fork", fork_step=3, tools=[price],
                          planner="compiler", model=compiler)
    assert result.run.status == "ok" and result.run.answer == "a pear is 2 EUR"
    assert result.served == 1  # the compiler's call, served from recorded step 2
    assert "2.0" in compiler.requests[1].messages[-1].content  # the joiner saw 2 EUR
    kinds = [s["kind"] for s in store.get_run(result.run.id)["steps"]]
    assert kinds == ["model", "tool_calls", "model"]
