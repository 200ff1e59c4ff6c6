"""The fixtures of the ``agent.testing`` pytest plugin (documented there)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agent.runtime import Agent
    from agent.store import TraceStore
    from agent.testing.scripted import ScriptedTextModel

__all__ = ["agent_cli", "agent_config", "agent_home", "make_agent", "scripted_model",
           "trace_store"]


@pytest.fixture
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``AGENT_HOME``; plugin selection switches are cleared for the test."""
    home = tmp_path / "agent-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("AGENT_HOME", str(home))
    for var in ("AGENT_LOAD_PLUGINS", "AGENT_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def agent_config(agent_home: Path) -> Callable[[str], Path]:
    """Write ``agent.toml`` in the test's ``AGENT_HOME`` (the home file of ``load_config``)."""

    def write(text: str) -> Path:
        import textwrap

        path = agent_home / "agent.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def trace_store(agent_home: Path) -> Iterator[TraceStore]:
    from agent.store import TraceStore

    with TraceStore(agent_home / "traces.db") as store:
        yield store


@pytest.fixture
def make_agent(trace_store: TraceStore) -> Iterator[Callable[..., Agent]]:
    from agent.runtime import Agent

    made: list[Agent] = []

    def make(tools: Any = None, **options: Any) -> Agent:
        options.setdefault("store", trace_store)
        agent = Agent(tools, **options)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()


@pytest.fixture
def scripted_model() -> Callable[..., ScriptedTextModel]:
    from agent.testing.scripted import scripted

    return scripted


@pytest.fixture
def agent_cli(agent_home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``agent ARGS...`` in a subprocess, in ``tmp_path``, with the test's home."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        script = Path(sys.executable).with_name("agent")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "agent.cli"]
        full_env = {**os.environ, "AGENT_HOME": str(agent_home), "COLUMNS": "200",
                    **(env or {})}
        return subprocess.run([*cmd, *args], input=input, capture_output=True, text=True,
                              env=full_env, cwd=cwd or tmp_path, timeout=timeout)

    return run
