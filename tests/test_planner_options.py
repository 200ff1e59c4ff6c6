"""Planner options: ``[planners.NAME]`` in agent.toml, ``--planner-option KEY=VALUE``, and
``Agent(planner_options=)``, checked against the planner's constructor."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.config import ConfigError, load_config, parse_planner_options
from agent.errors import PlannerOptionError, UsageError
from agent.registry import build_registry


def write(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    target = path / "agent.toml"
    target.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def registry() -> Any:
    return build_registry()


def test_options_reach_the_planner(registry: Any) -> None:
    react = registry.planner("react", max_tools=5, first_tool_choice=None)
    assert (react.max_tools, react.first_tool_choice) == (5, None)
    dataflow = registry.planner("dataflow", today=dt.date(2024, 1, 31))
    assert dataflow.today == dt.date(2024, 1, 31)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("dfsdt", {"widht": 3}, "planner 'dfsdt' has no option 'widht' (did you mean 'width'? "
                            "its options: width, max_nodes, max_depth, max_tools, tools, "
                            "first_tool_choice)"),
    ("dataflow", {"max_gaols": 2}, "planner 'dataflow' has no option 'max_gaols' (did you "
                                   "mean 'max_goals'?"),
    ("react", {"max_tools": "abc"}, "planner 'react': max_tools takes an integer, got 'abc'"),
    ("dataflow", {"max_goals": True}, "max_goals takes an integer, got True"),
    ("dataflow", {"today": "yesterday"}, "today takes a date (2024-05-31), got 'yesterday'"),
    ("react", {"first_tool_choice": 3}, "first_tool_choice takes a string, got 3"),
    ("react", {"later_tools": "some"},
     "planner 'react': later_tools must be 'fitting' or 'all', not 'some'"),
])
def test_a_bad_option_is_one_line_that_says_what_to_do(registry: Any, name: str,
                                                       options: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(PlannerOptionError) as err:
        registry.planner(name, **options)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert err.value.exit_code == 2 and err.value.option == next(iter(options))


def test_a_planner_that_cannot_be_made_without_options_still_gets_a_clear_error(
        registry: Any) -> None:
    from agent.registry import Entry

    class Strict:
        def __init__(self, *, depth: int) -> None:
            self.depth = depth

    def factory(**options: Any) -> Strict:  # lazy, as plugins register them
        return Strict(**options)

    registry.planners["strict"] = Entry("strict", factory, "test", "")
    try:
        assert registry.planner("strict", depth=2).depth == 2
        with pytest.raises(PlannerOptionError, match=r"planner 'strict': .*'deep'"):
            registry.planner("strict", deep=2)
    finally:
        del registry.planners["strict"]


def test_flags_are_toml_values_or_text() -> None:
    assert parse_planner_options([
        "max_tools=10", "first_tool_choice=auto", "native_tools=false", "today=2024-01-31",
        'query="a = b"', "tools=[1, 2]"]) == {
        "max_tools": 10, "first_tool_choice": "auto", "native_tools": False,
        "today": dt.date(2024, 1, 31), "query": "a = b", "tools": [1, 2]}
    with pytest.raises(UsageError, match="--planner-option takes KEY=VALUE, got 'max_tools'"):
        parse_planner_options(["max_tools"])


def test_files_merge_option_by_option_and_flags_win(agent_home: Path, tmp_path: Path) -> None:
    home = write(agent_home, """
        [planners.react]
        max_tools = 5
        later_tools = "all"
    """)
    here = write(tmp_path / "project", """
        planner = "react"

        [planners.react]
        max_tools = 7
    """)
    config = load_config(tmp_path / "project")
    assert config.planner_options() == {"react": {"max_tools": 7, "later_tools": "all"}}
    assert config.planners["react"]["max_tools"].source == f"{here}:4"
    assert config.planners["react"]["later_tools"].source == f"{home}:3"
    assert config.options_with("react", ["max_tools=9"]) == {
        "react": {"max_tools": 9, "later_tools": "all"}}
    agent = Agent.from_config(config, store=False)
    assert (agent.planner.max_tools, agent.planner.later_tools) == (7, "all")
    # options given to from_config win over the files', option by option
    agent = Agent.from_config(config, store=False, planner_options={"react": {"max_tools": 3}})
    assert (agent.planner.max_tools, agent.planner.later_tools) == (3, "all")


def test_a_planners_entry_that_is_not_a_table_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'planner = "react"\n[planners]\nreact = 5\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value).startswith(f"{path}:3: ")
    assert "planners.react: expected a table, got 5" in str(err.value)


def test_the_cli_passes_options_and_refuses_bad_ones_in_one_line(run_cli, tmp_path: Path,
                                                                 agent_home: Path) -> None:
    db = tmp_path / "traces.db"
    out = run_cli("--db", str(db), "run", "--json", "-o", "today=2024-01-31",
                  "what is the date 3 days from today")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["data"]["result"] == "2024-02-03"
    with sqlite3.connect(db) as conn:
        (metadata,) = conn.execute("SELECT metadata FROM runs").fetchone()
    assert json.loads(metadata)["planner_options"]["today"] == {"$date": "2024-01-31"}
    out = run_cli("run", "--planner", "react", "--model", "local:missing.gguf",
                  "--planner-option", "max_tools=abc", "hi")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: planner 'react': max_tools takes an integer, "
                                  "got 'abc' (set by --planner-option max_tools)")
    toml = write(tmp_path, "[planners.dataflow]\nmax_gaols = 2\n")
    for args in (("run", "what is 2 + 2"), ("chat",)):
        out = run_cli(*args, input="")
        assert out.returncode == 2, out
        assert out.stderr.strip().startswith("error: planner 'dataflow' has no option "
                                             "'max_gaols' (did you mean 'max_goals'?")
        assert out.stderr.strip().endswith(f"(set by {toml}:2)")
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "a", "query": "what is 2 + 2", "answers": {}, "plan": [
        {"name": "calculate", "args": {"expression": "2 + 2"}}]}) + "\n")
    out = run_cli("eval", str(queries))  # one line, not every query failing with it
    assert out.returncode == 2 and "has no option 'max_gaols'" in out.stderr
    assert "FAIL" not in out.stdout
    shown = json.loads(run_cli("config", "show", "--json").stdout)
    assert shown["planners"] == {"dataflow": {"max_gaols": {
        "value": 2, "source": f"{tmp_path / 'agent.toml'}:2"}}}
    text = run_cli("config", "show").stdout
    row = next(line for line in text.splitlines() if line.startswith("planners."))
    assert row.split() == ["planners.dataflow.max_gaols", "2", f"{tmp_path / 'agent.toml'}:2"]
    assert "tool sources: none ([[openapi]] and [[mcp]] tables add them)" in text


def test_agent_planners_lists_each_planners_options_and_what_agent_toml_sets(
        run_cli, tmp_path: Path) -> None:
    toml = write(tmp_path, "[planners.react]\nmax_tools = 10\n")
    out = run_cli("planners", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    planners = {p["name"]: p for p in doc["planners"]}
    assert doc["default"] == "dataflow"
    assert set(planners) >= {"dataflow", "react", "dfsdt", "compiler"}
    react = planners["react"]["options"]
    assert list(react) == ["max_tools", "native_tools", "first_tool_choice", "later_tools"]
    assert react["max_tools"] == {"default": 40, "value": 10, "source": f"{toml}:2"}
    assert react["first_tool_choice"] == {"default": "fitting"}
    assert planners["dfsdt"]["options"]["width"] == {"default": 2}
    text = run_cli("planners").stdout
    assert "[planners.NAME] in agent.toml" in text
    assert "max_tools=10 (default 40;" in text and "agent.toml:2)" in text  # paths wrap


def test_option_defaults_read_the_class_a_lazy_factory_makes() -> None:
    from agent.planner_options import REQUIRED, option_defaults
    from agent.planners.react import ReactPlanner

    class Strict:
        def __init__(self, *, depth: int, width: int = 2) -> None:
            pass

    assert option_defaults(Strict) == {"depth": REQUIRED, "width": 2}
    assert option_defaults(lambda **kw: ReactPlanner(**kw))["later_tools"] == "fitting"
    assert option_defaults(lambda **kw: Strict(**kw)) is None  # cannot make one to ask
