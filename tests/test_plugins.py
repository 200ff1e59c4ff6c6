from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from agent import Agent, hookimpl, tool
from agent.errors import DuplicateToolError
from agent.plugin_manager import load_plugins
from agent.registry import build_registry

NEEDS_EXAMPLE = "install the example plugin: pip install ./examples/agent-textstats"


def test_third_party_plugin_is_found_through_its_entry_point() -> None:
    reg = build_registry()
    assert "text_stats" in reg.tools, NEEDS_EXAMPLE
    t = reg.tools["text_stats"]
    assert t.plugin == "textstats"
    info = reg.plugins.infos["textstats"]
    assert info.source == "entrypoint" and info.ok and info.version == "0.1.0"
    assert "register_commands" in info.hooks


def test_env_switches_select_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_LOAD_PLUGINS", "")
    reg = build_registry()
    assert "text_stats" not in reg.tools and "calculate" in reg.tools
    monkeypatch.setenv("AGENT_LOAD_PLUGINS", "textstats")
    monkeypatch.setenv("AGENT_DISABLE_PLUGINS", "calculator")
    reg = build_registry()
    assert "text_stats" in reg.tools, NEEDS_EXAMPLE
    assert "calculate" not in reg.tools and "agent.tools.calculator" not in reg.plugins.infos


class Raising:
    @hookimpl
    def register_tools(self, register):
        raise RuntimeError("plugin bug")


def dup_a(x: int) -> int:
    """First."""
    return x


class Clashing:
    __name__ = "clashing"

    @hookimpl
    def register_tools(self, register):
        @tool(name="calculate")
        def mine(x: int) -> int:
            """Not the calculator."""
            return x

        register(mine)


def test_a_plugin_raising_in_a_hook_is_recorded_and_others_still_work() -> None:
    reg = build_registry(load_plugins(extra=[Raising()]))
    info = reg.plugins.infos["Raising#0"]
    assert info.error == "RuntimeError: plugin bug"
    assert "calculate" in reg.tools  # built-ins unaffected


def test_two_tools_with_one_name_are_reported_not_overwritten() -> None:
    reg = build_registry(load_plugins(extra=[Clashing()]))
    assert reg.tools["calculate"].plugin == "agent.tools.calculator"
    assert reg.conflicts == [
        "tool 'calculate' from clashing ignored: the name is taken by agent.tools.calculator"
    ]


def test_embedded_agent_refuses_duplicate_names() -> None:
    with pytest.raises(DuplicateToolError, match="two tools are named 'dup_a'"):
        Agent([dup_a, dup_a], store=False)


def _broken_dist(root: Path) -> None:
    """A real installed distribution whose plugin module fails on import."""
    dist = root / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[agent.plugins]\nbroken = broken_plugin\n")
    (root / "broken_plugin.py").write_text(textwrap.dedent("""
        import does_not_exist_anywhere
    """))


def test_broken_entry_point_plugin_is_listed_with_its_error(tmp_path: Path, run_cli) -> None:
    site = tmp_path / "site"
    _broken_dist(site)
    env = {"PYTHONPATH": str(site)}
    out = run_cli("plugins", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout) if "name" in r}
    assert rows["broken"]["error"] == (
        "ModuleNotFoundError: No module named 'does_not_exist_anywhere'")
    assert rows["agent.tools.calculator"]["error"] is None
    tools = run_cli("tools", "--json", env=env)
    assert tools.returncode == 0 and "calculate" in tools.stdout
    assert "Traceback" not in tools.stderr


def test_plugin_command_is_added_to_the_cli(tmp_path: Path, run_cli) -> None:
    text = tmp_path / "t.txt"
    text.write_text("Tools are fun. Tools are useful!")
    out = run_cli("textstats", str(text))
    assert out.returncode == 0, out.stderr + NEEDS_EXAMPLE
    assert "sentences: 2" in out.stdout and "tools: 2" in out.stdout


async def test_run_time_hooks_are_called_and_awaited() -> None:
    seen: list[str] = []

    class Observer:
        @hookimpl
        def before_tool_call(self, call, tool, context):
            seen.append(f"before {call['name']}")

        @hookimpl
        async def after_tool_call(self, call, tool, result, context):
            seen.append(f"after {result.status}")

        @hookimpl
        def on_step(self, run, step):
            seen.append(f"step {step.kind}")

        @hookimpl
        async def on_run_end(self, run):
            seen.append(f"end {run.status}")

    plugins = load_plugins(builtins=(), entry_points=False, extra=[Observer()])
    agent = Agent([dup_a], store=False, plugins=plugins)
    await agent.execute([{"name": "dup_a", "args": {"x": 1}}])
    assert seen == ["before dup_a", "after success", "step tool_calls", "end ok"]
