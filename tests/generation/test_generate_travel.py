"""Programmatic generation over the example travel domain, against the real service, and
``agent generate``'s one-line errors."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "travel"
if importlib.util.find_spec("agent_travel") is None:  # not installed: use the source tree
    sys.path.insert(0, str(EXAMPLE))

from agent.generation.engines import get_engine  # noqa: E402
from agent.generation.job import GenerateOptions, generate  # noqa: E402
from agent.store import TraceStore  # noqa: E402
from agent_travel.plugin import ENV, travel_tools  # noqa: E402
from agent_travel.server import background  # noqa: E402


@pytest.fixture(scope="module")
def travel_url() -> Iterator[str]:
    with background() as url:
        yield url


def test_fifty_travel_examples_run_for_real(travel_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, travel_url)
    tools = {t.name: t for t in travel_tools(travel_url)}
    engine = get_engine("local", workers=4)
    try:
        with TraceStore(tmp_path / "travel.db") as store:
            report = generate(GenerateOptions(n=50, seed=1, tools=["travel"], job="travel"),
                              store, engine=engine)
            runs = [store.get_run(r["id"]) for r in store.labelled_runs("job", "travel")]
    finally:
        engine.close()
    assert report.complete and len(runs) == 50
    assert report.skipped_tools == {
        "book_hotel": "has side effects (pass --side-effects to include it)"}
    assert len({r["query"] for r in runs}) == 50
    for run in runs:
        assert run["status"] == "ok" and run["source"] == "synthetic"
        for call in run["tool_calls"]:
            assert call["status"] == "success"
            assert tools[call["tool_name"]].is_valid(call["args"]), call
    chains = [r for r in runs if len(r["tool_calls"]) > 1]
    assert chains  # e.g. find_airports x2 -> search_flights
    assert len({r["tool_calls"][-1]["tool_name"] for r in runs}) >= 10  # balanced over tools
    assert sum(row["examples"] for row in report.tools.values()) == 50
    # queries read like the templates say, with the values the calls got
    weather = [r for r in runs if [c["tool_name"] for c in r["tool_calls"]] == ["get_weather"]]
    for run in weather:
        args = run["tool_calls"][0]["args"]
        assert args["city"] in run["query"] and args["date"] in run["query"]


def test_a_bad_template_is_one_line_naming_tool_template_and_parameter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from agent.cli import main

    (tmp_path / "bad_templates.py").write_text(
        "from agent import Tool, hookimpl\n"
        "def ping(host: str) -> str:\n    return host\n"
        "@hookimpl\n"
        "def register_tools(register):\n"
        "    register([Tool.from_schema('ping', 'Ping a host.', {'type': 'object', "
        "'properties': {'host': {'type': 'string', 'enum': ['a', 'b']}}, "
        "'required': ['host']}, ping, templates=['Ping {hostname}'])])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["generate", "-n", "3", "--tools", "ping", "--plugin", "bad_templates"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: tool 'ping', template 'Ping {hostname}': unknown parameter 'hostname'; "
        "ping has: host"]
    assert main(["generate", "-n", "3", "--tools", "nothing-matches*"]) == 2
    assert "no tools matching nothing-matches*" in capsys.readouterr().err
    assert main(["generate", "--plugin", "no_such_module_xyz"]) == 2
    assert "cannot import plugin module 'no_such_module_xyz'" in capsys.readouterr().err
