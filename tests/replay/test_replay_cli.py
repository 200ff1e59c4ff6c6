"""``agent replay``: the real command in a subprocess for the newcomer's path, then the same
entry point in-process (``agent.cli.main``) for the bad-input cases, to keep the tests fast."""

from __future__ import annotations

import json

import pytest

from agent.cli import main


def test_a_newcomer_replays_a_run_cached_and_live(run_cli):
    made = run_cli("run", "--json", "what is 15% of 240")
    assert made.returncode == 0, made.stderr
    run_id = json.loads(made.stdout)["run_id"]

    cached = run_cli("replay", run_id[:12], "--cached")
    assert cached.returncode == 0, cached.stderr
    assert "transcript identical to the original" in cached.stdout
    assert f"cached replay of run {run_id[:16]}" in cached.stdout

    live = run_cli("replay", run_id, "--live", "--json")
    assert live.returncode == 0, live.stderr
    report = json.loads(live.stdout)
    assert report["parent_id"] == run_id and report["mode"] == "live"
    assert report["diff"]["same"] is True
    assert report["diff"]["calls"][0]["name"] == "calculate"


@pytest.fixture
def recorded(capsys) -> str:
    assert main(["run", "--json", "what is 2 + 2"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fork_and_the_parent_link_in_traces_show(recorded, capsys):
    code, out, err = cli(capsys, "replay", recorded, "--fork", "1", "--planner", "dataflow")
    assert code == 0, err
    assert f"fork of run {recorded[:16]} at step 1" in out and "live from step 1" in out
    replay_id = out.strip().splitlines()[-1].split()[-1]  # "agent traces show ID"
    code, out, _ = cli(capsys, "traces", "show", replay_id)
    assert f"fork replay of run {recorded[:16]} at step 1" in out
    assert "1 tool_calls calculate" in out  # step numbers, as --fork takes them


def test_bad_input_is_one_line(recorded, capsys):
    for args, want, text in (
        (("replay", "0123456789ab", "--cached"), 1, "error: no run '0123456789ab'"),
        (("replay", recorded, "--fork", "9"), 2, f"error: run {recorded[:16]} has no step 9"),
        (("replay", recorded, "--cached", "--planner", "react"), 2,
         "error: --cached replays the recorded planner and model"),
    ):
        code, _, err = cli(capsys, *args)
        assert code == want, (args, err)
        assert err.startswith(text) and err.count("\n") == 1, err


def test_what_is_not_installed_any_more_is_named(recorded, capsys, monkeypatch):
    monkeypatch.setenv("AGENT_DISABLE_PLUGINS", "agent.tools.calculator")
    code, _, err = cli(capsys, "replay", recorded, "--cached")
    assert code == 1 and err.count("\n") == 1
    assert "calculate" in err and "install" in err
    monkeypatch.setenv("AGENT_DISABLE_PLUGINS", "agent.planners.dataflow")
    code, _, err = cli(capsys, "replay", recorded, "--cached")
    assert code == 1 and "planner 'dataflow'" in err and "not installed" in err
