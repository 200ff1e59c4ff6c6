"""The plugin-author kit: the pytest11 fixtures and ToolPluginConformance, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD_PLUGIN = '''
from agent import ToolError, hookimpl, tool


@tool(output_schema={"type": "object", "properties": {"total": {"type": "number"}},
                     "required": ["total"]}, examples=("add up 2 and 3",))
def add_up(a: float, b: float) -> dict:
    """Add two numbers.

    Args:
        a: the first number
        b: the second number
    """
    return {"total": a + b}


@tool(side_effects=True)
def save_note(text: str) -> str:
    """Save a note (it changes things, so it needs approval).

    Args:
        text: what to save
    """
    if not text:
        raise ToolError("nothing to save")
    return "saved"


@hookimpl
def register_tools(register):
    register([add_up, save_note])
'''

BAD_PLUGIN = '''
from agent import hookimpl, tool


def undocumented(x: int) -> int:
    return x


@tool(output_schema={"type": "object", "required": ["total"]})
def wrong_output(x: int) -> dict:
    """Promises a total but returns something else.

    Args:
        x: a number
    """
    return {"sum": x}


def delete_all(confirm: bool) -> str:
    """Delete everything (but forgets to declare side effects).

    Args:
        confirm: really?
    """
    return "deleted"


def crashes(x: int) -> int:
    """Always fails.

    Args:
        x: a number
    """
    raise RuntimeError("boom")


@hookimpl
def register_tools(register):
    register([undocumented, wrong_output, delete_all, crashes])
'''

TESTS = '''
import {module}
from agent.testing import ToolPluginConformance


class TestPlugin(ToolPluginConformance):
    plugin = {module}
    sample_args = {samples}
    side_effect_tools = {side_effects}
'''


BROKEN_SAMPLES = {"undocumented": {"x": 1}, "wrong_output": {"x": 1},
                  "delete_all": {"confirm": True}, "crashes": {"x": 1}}


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """One real pytest run, as a plugin author's project would do it (a subprocess, the kit
    found through its pytest11 entry point): a good plugin, a broken one, an unset suite.

    Returns ``({"file::Class::test": "PASSED" | "FAILED" | "ERROR"}, output)``.
    """
    root = tmp_path_factory.mktemp("plugin-project")
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (root / "good_plugin.py").write_text(GOOD_PLUGIN)
    (root / "bad_plugin.py").write_text(BAD_PLUGIN)
    (root / "test_good.py").write_text(TESTS.format(
        module="good_plugin", samples=repr({"add_up": {"a": 2, "b": 3},
                                            "save_note": {"text": "hi"}}),
        side_effects=repr(("save_note",))))
    (root / "test_bad.py").write_text(TESTS.format(
        module="bad_plugin", samples=repr(BROKEN_SAMPLES), side_effects=repr(("delete_all",))))
    (root / "test_samples.py").write_text(TESTS.format(
        module="good_plugin", samples=repr({"add_up": {"a": "two", "b": 3}}),
        side_effects="()"))
    (root / "test_unset.py").write_text(textwrap.dedent("""
        from agent.testing import ToolPluginConformance

        class TestNothing(ToolPluginConformance):
            pass
    """))
    home = root / "home"
    home.mkdir()
    env = {**os.environ, "AGENT_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                           "-q", str(root)], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    outcomes = {}
    for line in done.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR"):
            outcomes[rest.split(" - ")[0].strip()] = word
    return outcomes, done.stdout


def _outcomes(run: tuple[dict[str, str], str], file: str) -> dict[str, str]:
    return {k.rsplit("::", 1)[-1]: v for k, v in run[0].items() if k.startswith(file)}


def test_a_well_made_plugin_passes_the_whole_suite(suite_run) -> None:
    outcomes = _outcomes(suite_run, "test_good.py")
    assert len(outcomes) == 12 and set(outcomes.values()) == {"PASSED"}, suite_run[1]


def test_the_suite_names_what_is_wrong_with_each_tool(suite_run) -> None:
    out = suite_run[1]
    failed = {k for k, v in _outcomes(suite_run, "test_bad.py").items() if v != "PASSED"}
    assert failed == {"test_tools_are_described", "test_sample_calls_succeed_and_are_traced",
                      "test_side_effect_tools_declare_it"}, out
    assert "undocumented: no description" in out
    assert "wrong_output: output does not match output_schema: 'total' is a required" in out
    assert "crashes: failed: RuntimeError: boom" in out
    assert "side_effects=True): ['delete_all']" in out


def test_missing_sample_args_and_plugin_are_reported(suite_run) -> None:
    out = suite_run[1]
    failed = {k for k, v in _outcomes(suite_run, "test_samples.py").items() if v != "PASSED"}
    assert failed == {"test_sample_args_validate", "test_sample_calls_succeed_and_are_traced"}, out
    assert "save_note: no sample arguments: add sample_args['save_note'] = {...}" in out
    assert "add_up: a: 'two' is not of type 'number'" in out
    unset = _outcomes(suite_run, "test_unset.py")
    assert unset["test_plugin_loads_without_error"] == "ERROR", out
    assert "set `plugin = your_module`" in out


class TestPluginByEntryPointName:
    """``plugin`` may be an installed entry-point name (here the example package)."""

    def test_entry_point_name_loads_the_installed_plugin(self) -> None:
        from agent.testing import ToolPluginConformance

        class Suite(ToolPluginConformance):
            plugin = "textstats"

        from agent.plugin_manager import load_plugins
        from agent.registry import build_registry

        reg = build_registry(load_plugins((), entry_points=False,
                                          extra=[Suite().plugin_object()]))
        assert {"text_stats", "top_words"} <= set(reg.tools)


# The fixtures, used here without any import: they come from the pytest11 entry point.
def test_fixtures_give_a_private_home_and_a_real_trace_store(agent_home: Path, trace_store,
                                                             make_agent) -> None:
    def double(x: int) -> int:
        """Double a number.

        Args:
            x: the number
        """
        return 2 * x

    import asyncio
    import os

    assert os.environ["AGENT_HOME"] == str(agent_home)
    agent = make_agent([double])
    run = asyncio.run(agent.run_plan([{"name": "double", "args": {"x": 21}}]))
    agent.close()
    assert run.results[0].content == 42
    assert trace_store.get_run(run.id)["tool_calls"][0]["tool_name"] == "double"
    assert Path(trace_store.path).parent == agent_home


async def test_scripted_model_fixture_drives_a_planner(make_agent, scripted_model) -> None:
    from agent.testing.scripted import call

    def shout(text: str) -> str:
        """Upper-case a text.

        Args:
            text: the text
        """
        return text.upper()

    model = scripted_model(call("shout", {"text": "hi"}), "HI it is.")
    run = await make_agent([shout], planner="react", model=model).run("shout hi")
    assert run.status == "ok" and run.results[0].content == "HI"
    assert len(model.requests) == 2 and model.bound  # the tools were offered natively


def test_agent_config_fixture_is_read_by_the_cli(agent_config, agent_cli) -> None:
    path = agent_config("""
        model = "openai:gpt-4o-mini"
        [approval]
        policy = "deny"
    """)
    done = agent_cli("config", "show", "--json")
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)["settings"]
    assert settings["approval.policy"] == {"value": "deny", "source": f"{path}:4"}
    assert settings["model"]["source"] == f"{path}:2"


def test_the_kit_is_registered_as_a_pytest_plugin(pytestconfig: pytest.Config) -> None:
    import agent.testing

    assert pytestconfig.pluginmanager.get_plugin("agent") is agent.testing


def test_the_scripted_models_import_without_pytest() -> None:
    """A demo or a notebook scripts a model with ``agent.testing.scripted``; pytest is a dev
    dependency only. A real interpreter in which ``import pytest`` fails."""
    code = textwrap.dedent("""
        import sys
        sys.modules["pytest"] = None  # import pytest -> ImportError, as when not installed
        from agent.testing.scripted import call, scripted
        model = scripted(call("add", {"a": 1, "b": 2}), "3")
        print(type(model).__name__, "agent.testing.fixtures" in sys.modules)
        try:
            from agent.testing import ToolPluginConformance
        except ImportError as exc:
            print("conformance:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "ScriptedChatModel False"
    assert second.startswith("conformance: import of pytest halted")
