"""The real ``agent`` command in a subprocess, as a newcomer would use it."""

from __future__ import annotations

import json
from pathlib import Path

PLAN = [
    {"id": "km", "name": "calculate", "args": {"expression": "2 * 21"}},
    {"id": "mi", "name": "convert_units",
     "args": {"value": {"$ref": "km#/result"}, "from_unit": "km", "to_unit": "mile"}},
]


def one_line_error(out) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def test_help_lists_the_commands(run_cli) -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("tools", "plugins", "call", "plan", "traces"):
        assert command in out.stdout


def test_tools_json_lists_built_in_tools(run_cli) -> None:
    out = run_cli("tools", "--json")
    assert out.returncode == 0, out.stderr
    tools = {t["name"]: t for t in json.loads(out.stdout)}
    assert tools["calculate"]["plugin"] == "agent.tools.calculator"
    assert tools["calculate"]["parameters"]["required"] == ["expression"]
    assert tools["http_post"]["side_effects"] is True


def test_call_is_validated_and_traced(run_cli) -> None:
    out = run_cli("call", "calculate", "expression=2*(3+4)", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "ok" and result["results"][0]["content"]["result"] == 14
    shown = run_cli("traces", "show", result["run_id"][:10], "--json")
    saved = json.loads(shown.stdout)
    assert saved["tool_calls"][0]["args"] == {"expression": "2*(3+4)"}


def test_bad_arguments_get_one_line_and_exit_2(run_cli) -> None:
    out = run_cli("call", "convert_units", "value=ten", "from_unit=km", "to_unit=mile")
    assert out.returncode == 2
    assert one_line_error(out) == (
        "error: convert_units: argument 'value': 'ten' is not of type 'number'")
    out = run_cli("call", "calculate")
    assert out.returncode == 2
    assert one_line_error(out) == "error: calculate: argument 'expression': is required but missing"
    out = run_cli("call", "calculate", "expresion=1")
    assert one_line_error(out) == (
        "error: calculate: unknown argument 'expresion'; did you mean 'expression'?")
    out = run_cli("call", "calculater", "expression=1")
    assert out.returncode == 2
    assert "did you mean 'calculate'" in one_line_error(out)


def test_two_step_plan_feeds_the_first_output_to_the_second(tmp_path: Path, run_cli) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    out = run_cli("plan", "run", str(plan), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    [km, mi] = result["results"]
    assert km["content"]["result"] == 42
    assert abs(mi["content"]["result"] - 26.0976) < 1e-3
    tree = run_cli("traces", "show", result["run_id"][:12])
    assert tree.returncode == 0
    assert "calculate(expression=2 * 21) success" in tree.stdout
    line = next(x for x in tree.stdout.splitlines() if "convert_units(" in x)
    for part in ("value=42", "from_unit=km", "to_unit=mile", "success"):
        assert part in line
    assert " ms" in tree.stdout
    listed = run_cli("traces", "list")
    assert result["run_id"][:12] in listed.stdout


def test_malformed_plans_are_one_line_errors(tmp_path: Path, run_cli) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "calculate", ')
    out = run_cli("plan", "run", str(bad))
    assert out.returncode == 2
    assert one_line_error(out).startswith(f"error: plan {bad} is not valid JSON:")
    cyclic = tmp_path / "cycle.json"
    cyclic.write_text(json.dumps([
        {"id": "a", "name": "calculate", "args": {"expression": {"$ref": "b"}}},
        {"id": "b", "name": "calculate", "args": {"expression": {"$ref": "a"}}}]))
    out = run_cli("plan", "run", str(cyclic))
    assert one_line_error(out) == "error: the plan has a reference cycle: a -> b -> a"
    out = run_cli("plan", "run", str(tmp_path / "missing.json"))
    assert out.returncode == 2 and "cannot read plan" in one_line_error(out)


def test_side_effect_tool_is_refused_without_yes(run_cli) -> None:
    out = run_cli("call", "http_post", "url=https://example.invalid/", "--json")
    assert out.returncode == 1
    [result] = json.loads(out.stdout)["results"]
    assert result["status"] == "error" and "--yes" in result["error"]


def test_traces_search_and_delete(run_cli) -> None:
    out = run_cli("call", "calculate", "expression=6*7", "--json")
    run_id = json.loads(out.stdout)["run_id"]
    found = run_cli("traces", "search", "6*7")
    assert found.returncode == 0 and run_id[:12] in found.stdout
    deleted = run_cli("traces", "delete", run_id[:12])
    assert deleted.returncode == 0 and run_id in deleted.stdout
    again = run_cli("traces", "show", run_id[:12])
    assert again.returncode == 1
    assert one_line_error(again).startswith(f"error: no run '{run_id[:12]}'")


def test_corrupt_database_is_one_line_and_left_untouched(agent_home: Path, run_cli) -> None:
    db = agent_home / "traces.db"
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    out = run_cli("traces", "list")
    assert out.returncode == 1
    assert "not a SQLite database" in one_line_error(out)
    out = run_cli("call", "calculate", "expression=1+1")
    assert "not a SQLite database" in one_line_error(out)
    assert db.read_bytes() == garbage


def test_model_errors_say_what_to_do(run_cli) -> None:
    out = run_cli("run", "--planner", "react", "hi", env={"AGENT_MODEL": ""})
    assert out.returncode != 0
    assert one_line_error(out) == (
        "error: this planner needs a chat model: pass --model ID (`agent models` lists them) "
        "or set $AGENT_MODEL; in code, Agent(model=...)")
    out = run_cli("run", "--planner", "react", "--model", "openai:gpt-4o-mini", "hi",
                  env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    assert out.returncode != 0
    assert one_line_error(out).startswith(
        "error: no API key for https://api.openai.com/v1/chat/completions: set $OPENAI_API_KEY")
