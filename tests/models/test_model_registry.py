"""Model ids through the registry: prefix claims, the AGENT_MODEL default, `agent models`."""

from __future__ import annotations

import argparse
import json

import pytest
from langchain_core.messages import HumanMessage

from agent import Agent
from agent.errors import ModelNotFoundError
from agent.models import ModelInfo, list_models, resolve_model
from agent.plugin_manager import DEFAULT_PLUGINS, load_plugins
from agent.plugins.openai_chat import OpenAICompatChatModel
from agent.registry import Registry, build_registry

PLUGIN = "agent.plugins.openai_compat"


@pytest.fixture
def registry() -> Registry:
    return build_registry(load_plugins(builtins=(*DEFAULT_PLUGINS, PLUGIN), entry_points=False))


def test_openai_prefix_and_url_ids_resolve(registry: Registry,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    m = registry.model("openai:gpt-4o-mini")
    assert isinstance(m, OpenAICompatChatModel)
    assert (m.model_name, m.url) == ("gpt-4o-mini", "https://api.openai.com/v1/chat/completions")
    local = registry.model("http://127.0.0.1:8080/v1#qwen2.5", max_tokens=64)
    assert isinstance(local, OpenAICompatChatModel)
    assert (local.model_name, local.url, local.max_tokens) == (
        "qwen2.5", "http://127.0.0.1:8080/v1/chat/completions", 64)
    assert registry.model("https://llm.example.org/v1").url == (
        "https://llm.example.org/v1/chat/completions")


def test_unknown_ids_and_empty_names_are_usage_errors(registry: Registry) -> None:
    with pytest.raises(ModelNotFoundError, match=r"unknown model 'nope:x' \(available: .*openai:"):
        registry.model("nope:x")
    with pytest.raises(ModelNotFoundError, match="openai:NAME"):
        registry.model("openai:")
    with pytest.raises(ModelNotFoundError, match="server's URL"):
        registry.model("http://")


def test_resolve_model_default_from_environment(registry: Registry,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_MODEL", raising=False)
    assert resolve_model(None, registry) is None
    monkeypatch.setenv("AGENT_MODEL", "  ")
    assert resolve_model(None, registry) is None
    monkeypatch.setenv("AGENT_MODEL", "openai:gpt-4o-mini")
    m = resolve_model(None, registry)
    assert isinstance(m, OpenAICompatChatModel) and m.model_name == "gpt-4o-mini"
    explicit = resolve_model(" http://127.0.0.1:9/v1#other ", registry)
    assert isinstance(explicit, OpenAICompatChatModel) and explicit.model_name == "other"
    assert resolve_model(m, registry) is m  # a model object is used as it is


def test_list_models_rows(registry: Registry) -> None:
    rows = list_models(registry)
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    ours = {r.id: r for r in rows if r.plugin == PLUGIN}
    assert set(ours) == {"openai:", "http:", "https:"}
    assert isinstance(ours["openai:"], ModelInfo)
    assert "OPENAI_API_KEY" in ours["openai:"].description


def test_agent_takes_a_model_id(registry: Registry) -> None:
    agent = Agent(tools=[], model="http://127.0.0.1:9/v1#m", registry=registry, store=False)
    assert isinstance(agent.model, OpenAICompatChatModel) and agent.model.model_name == "m"


async def test_a_url_id_talks_to_the_real_server(registry: Registry, smollm2_server: str) -> None:
    model = resolve_model(f"{smollm2_server}#smollm2", registry, max_tokens=8)
    assert model is not None
    reply = await model.ainvoke([HumanMessage("Hi")])
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0


# `agent models` ---------------------------------------------------------------------------
@pytest.fixture
def command(registry: Registry, monkeypatch: pytest.MonkeyPatch):
    from agent.commands import models as command

    monkeypatch.setattr(command, "build_registry", lambda: registry)
    return command


def test_models_command_table(command, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AGENT_MODEL", "openai:gpt-4o-mini")
    assert command.list_models(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "openai:..." in out and "http:..." in out and PLUGIN in out
    assert "default: openai:gpt-4o-mini (from $AGENT_MODEL)" in out


def test_models_command_json(command, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_MODEL", raising=False)
    assert command.list_models(argparse.Namespace(json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["default"] is None
    assert {"id": "openai:", "plugin": PLUGIN}.items() <= data["models"][
        [m["id"] for m in data["models"]].index("openai:")].items()
