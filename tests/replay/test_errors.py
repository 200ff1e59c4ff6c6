"""Bad input: unknown runs and steps, planners, tools and models that are not installed.
Each is one line that says what is missing, and no replay run is written."""

from __future__ import annotations

import pytest
from replay_support import record, replay

from agent import tool
from agent.errors import UsageError
from agent.planners.react import ReactPlanner
from agent.replay import ReplayMissing, ReplayStepNotFound
from agent.store import RunNotFoundError
from agent.testing.scripted import call, say, scripted
from agent.types import Answer


@tool
def homemade(text: str) -> str:
    """A tool no plugin provides.

    Args:
        text: anything
    """
    return text[::-1]


class HomemadePlanner:
    name = "homemade-planner"

    async def run(self, task, env):
        [result] = await env.call_tools([{"name": "calculate", "args": {"expression": "1+1"}}])
        return Answer(result.text())


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


async def test_unknown_run_and_unknown_step(store, registry, make_agent):
    run_id = await record(make_agent(), "what is 15% of 240")
    with pytest.raises(RunNotFoundError) as exc:
        await replay(store, registry, "ffffffffffff")
    assert "no run 'ffffffffffff'" in one_line(exc)
    with pytest.raises(ReplayStepNotFound) as exc:
        await replay(store, registry, run_id, "fork", fork_step=9)
    assert "has no step 9" in one_line(exc) and "agent traces show" in str(exc.value)
    with pytest.raises(UsageError):
        await replay(store, registry, run_id, "sideways")
    assert len(store.list_runs()) == 1  # nothing was written


async def test_a_planner_that_is_not_installed_is_named(store, registry, make_agent):
    run_id = await record(make_agent(planner=HomemadePlanner()), "one plus one")
    with pytest.raises(ReplayMissing) as exc:
        await replay(store, registry, run_id)
    message = one_line(exc)
    assert "'homemade-planner'" in message and "not installed" in message
    assert "dataflow" in message  # what is installed instead
    # given in code, the same planner replays it
    assert (await replay(store, registry, run_id, planner=HomemadePlanner())).identical
    assert len(store.list_runs()) == 2


async def test_tools_that_are_not_installed_are_named(store, registry, make_agent):
    agent = make_agent(tools=[homemade, "calculate"])
    run = await agent.run_plan([{"name": "homemade", "args": {"text": "abc"}}])
    await agent.aflush()
    with pytest.raises(ReplayMissing) as exc:
        await replay(store, registry, run.id)
    message = one_line(exc)
    assert "homemade" in message and "calculate" not in message
    assert (await replay(store, registry, run.id, tools=[homemade, "calculate"])).identical


async def test_a_live_replay_needs_its_model(store, registry, make_agent):
    model = scripted(call("calculate", {"expression": "2*3"}, "c1"), say("six"))
    agent = make_agent(tools=["calculate"], planner=ReactPlanner(), model=model)
    run_id = await record(agent, "2*3?")
    with pytest.raises(ReplayMissing) as exc:
        await replay(store, registry, run_id, "live")
    message = one_line(exc)
    assert "model 'scripted'" in message and "--model" in message
    # cached replay needs no model at all
    assert (await replay(store, registry, run_id)).identical
