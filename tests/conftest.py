"""Shared fixtures: every test gets its own AGENT_HOME, so no test touches the user's data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "agent-home"
    home.mkdir()
    monkeypatch.setenv("AGENT_HOME", str(home))
    monkeypatch.delenv("AGENT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("AGENT_DISABLE_PLUGINS", raising=False)
    return home


@pytest.fixture
def run_cli(tmp_path: Path, agent_home: Path):
    """Run the real ``agent`` command in a subprocess; returns CompletedProcess."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "AGENT_HOME": str(agent_home), "COLUMNS": "200",
                    **(env or {})}
        script = Path(sys.executable).with_name("agent")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "agent.cli"]
        return subprocess.run(
            [*cmd, *args], input=input, capture_output=True,
            text=True, env=full_env, cwd=tmp_path, timeout=timeout,
        )

    return run
