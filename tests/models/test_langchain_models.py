"""Any installed LangChain chat model by id: ``langchain:package.module.ClassName?options``."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from agent import Agent
from agent.models import ModelError
from agent.plugins.langchain_models import parse_id
from agent.registry import build_registry

FAKE = "langchain:langchain_core.language_models.fake_chat_models.FakeListChatModel"


def test_query_options_are_json_when_they_parse() -> None:
    target, options = parse_id('langchain:pkg.Cls?temperature=0&responses=["a","b"]&name=x')
    assert target == "pkg.Cls"
    assert options == {"temperature": 0, "responses": ["a", "b"], "name": "x"}


async def test_a_langchain_class_by_id_answers_through_the_registry() -> None:
    registry = build_registry()
    model = registry.model(FAKE + '?responses=["hello from langchain"]')
    reply = await model.ainvoke("hi")
    assert reply.content == "hello from langchain"


async def test_keyword_options_override_the_id() -> None:
    model = build_registry().model(FAKE + '?responses=["from id"]', responses=["from code"])
    assert (await model.ainvoke("hi")).content == "from code"


async def test_a_react_run_with_a_langchain_model_is_traced(tmp_path) -> None:
    # FakeListChatModel has no tool calling: react uses its JSON reply format.
    reply = quote('["{\\"answer\\": \\"no tool needed\\"}"]')
    agent = Agent(planner="react", model=f"{FAKE}?responses={reply}",
                  store=tmp_path / "traces.db", tools=[])
    run = await agent.run("say something")
    assert run.status == "ok"
    assert run.answer == "no tool needed"
    assert [s.kind for s in run.steps] == ["model"]
    await agent.aflush()
    recorded = agent.store.get_run(run.id)
    assert recorded["status"] == "ok" and recorded["model"].startswith("langchain:")


@pytest.mark.parametrize(("model_id", "needle"), [
    ("langchain:", "names no model"),
    ("langchain:NoModule", "name the class with its module"),
    ("langchain:no_such_pkg_xyz.Chat", "cannot import no_such_pkg_xyz"),
    ("langchain:json.JSONDecoder", "not a LangChain chat model"),
    (FAKE + "?responses=7", "bad options"),
])
def test_bad_ids_get_one_line_errors(model_id: str, needle: str) -> None:
    with pytest.raises(ModelError) as info:
        build_registry().model(model_id)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)
