"""The example travel domain: its service, its plugin, and its evaluation queries.

The service runs for real on 127.0.0.1 (in a thread with its own event loop, so the plugin's
blocking registration and the agent's async calls can both reach it).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "travel"
if importlib.util.find_spec("agent_travel") is None:  # not installed: use the source tree
    sys.path.insert(0, str(EXAMPLE))

from agent import Agent, Tool  # noqa: E402
from agent.evaluation import load_queries  # noqa: E402
from agent.refs import call_refs, normalize_calls  # noqa: E402
from agent.registry import build_registry  # noqa: E402
from agent_travel.plugin import ENV, atravel_tools, travel_tools  # noqa: E402
from agent_travel.server import background, start  # noqa: E402

QUERIES = EXAMPLE / "queries.jsonl"
GROUPS = ("single_complete", "single_incomplete", "multi_independent", "multi_dataflow")
UNTYPED_OUTPUTS = {"note", "status", "schedule", "summary"}
NEEDS_TRAVEL = "the entry point needs the example installed: pip install -e examples/travel"


@pytest.fixture(scope="module")
def travel_url() -> Iterator[str]:
    with background() as url:
        yield url


@pytest.fixture(scope="module")
def tools(travel_url: str) -> dict[str, Tool]:
    return {t.name: t for t in travel_tools(travel_url)}


def agent_for(tools: dict[str, Tool], **options: Any) -> Agent:
    return Agent(list(tools.values()), store=False, **options)


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The service ------------------------------------------------------------------------------
def _leaves(schema: dict[str, Any], name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            yield from _leaves(sub, key)
    elif schema.get("type") == "array" and "x-type" not in schema:
        yield from _leaves(schema["items"], name)
    else:
        yield name, schema


def test_tool_specs_carry_types_descriptions_and_examples(travel_url: str) -> None:
    status, body = get_json(f"{travel_url}/tools")
    assert status == 200 and body["service"] == "agent-travel"
    specs = body["tools"]
    assert 10 <= len(specs) <= 16
    for spec in specs:
        assert spec["description"] and len(spec["examples"]) >= 3, spec["name"]
        for name, param in spec["parameters"]["properties"].items():
            assert param.get("x-type") and param.get("description"), (spec["name"], name)
        for name, leaf in _leaves(spec["output_schema"]):
            assert leaf.get("x-type") or name in UNTYPED_OUTPUTS, (spec["name"], name)
    by_name = {s["name"]: s for s in specs}
    flights = by_name["search_flights"]["parameters"]["properties"]
    assert flights["origin"]["x-type"] == flights["destination"]["x-type"] == "airport_code"
    assert "departure" in flights["origin"]["description"]
    assert flights["cabin"]["enum"][0] == flights["cabin"]["default"] == "economy"
    # the concepts chain: a city's airports feed a flight search; a hotel id feeds a booking
    airports = by_name["find_airports"]["output_schema"]["properties"]["airports"]
    assert airports["items"]["properties"]["code"]["x-type"] == "airport_code"
    hotel = by_name["search_hotels"]["output_schema"]["properties"]["hotels"]["items"]
    assert hotel["properties"]["hotel_id"]["x-type"] == (
        by_name["book_hotel"]["parameters"]["properties"]["hotel_id"]["x-type"])
    assert [s["name"] for s in specs if s["side_effects"]] == ["book_hotel"]


def test_errors_are_json_with_a_clear_message(travel_url: str) -> None:
    status, body = get_json(f"{travel_url}/weather?city=Pari&date=2026-12-03")
    assert status == 404 and body == {"error": "unknown city 'Pari'; did you mean 'Paris'?"}
    status, body = get_json(f"{travel_url}/weather?city=Paris&date=3.12.2026")
    assert status == 400 and "date" in body["error"]
    status, body = get_json(f"{travel_url}/flights?origin=Paris&destination=FCO&date=2026-12-03")
    assert status == 400 and "origin" in body["error"]
    status, body = get_json(f"{travel_url}/flights/cheapest?origin=CDG&date=2026-12-03")
    assert status == 400 and "destination" in body["error"]
    status, body = get_json(f"{travel_url}/nowhere")
    assert status == 404 and "/tools" in body["error"]
    request = urllib.request.Request(f"{travel_url}/bookings", data=b"not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400 and "JSON object" in json.load(info.value)["error"]


def test_a_city_without_an_airport_names_the_nearest(travel_url: str) -> None:
    status, body = get_json(f"{travel_url}/airports?city=bern")
    assert status == 200 and body["city"] == "Bern" and body["airports"] == []
    assert "(ZRH)" in body["note"]


def test_answers_are_deterministic(travel_url: str) -> None:
    url = f"{travel_url}/flights?origin=CDG&destination=FCO&date=2026-12-03&sort_by=price"
    first, second = get_json(url), get_json(url)
    assert first == second and first[0] == 200
    prices = [f["price"] for f in first[1]["flights"]]
    assert prices == sorted(prices) and first[1]["count"] >= 2


# The plugin -------------------------------------------------------------------------------
def test_plugin_registers_the_live_tools(travel_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, travel_url)
    reg = build_registry()
    assert "travel" in reg.plugins.infos, NEEDS_TRAVEL
    assert reg.plugins.infos["travel"].ok, reg.plugins.infos["travel"].error
    t = reg.tools["search_flights"]
    assert t.plugin == "travel" and t.tags == ("travel",) and t.examples
    assert t.output_schema and "flights" in t.output_schema["properties"]
    assert reg.tools["book_hotel"].side_effects and not t.side_effects


def test_plugin_registers_nothing_without_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    reg = build_registry()
    assert "travel" in reg.plugins.infos, NEEDS_TRAVEL
    assert reg.plugins.infos["travel"].ok
    assert not [t for t in reg.tools.values() if "travel" in t.tags]


def test_a_service_that_is_down_is_one_line_in_the_plugin_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(ENV, url)
    reg = build_registry()
    assert "travel" in reg.plugins.infos, NEEDS_TRAVEL
    error = reg.plugins.infos["travel"].error
    assert error and "\n" not in error
    assert url in error and "python -m agent_travel.server" in error
    assert "calculate" in reg.tools  # the other plugins keep working


async def test_calls_go_through_the_agent_with_references(tools: dict[str, Tool]) -> None:
    results = await agent_for(tools).execute([
        {"id": "a", "name": "find_airports", "args": {"city": "paris"}},
        {"id": "b", "name": "find_airports", "args": {"city": "Rome"}},
        {"id": "f", "name": "cheapest_flight",
         "args": {"origin": {"$ref": "a#/airports/0/code"},
                  "destination": {"$ref": "b#/airports/0/code"}, "date": "2026-12-03"}},
    ])
    assert [r.status for r in results] == ["success"] * 3
    assert results[2].args == {"origin": "CDG", "destination": "FCO", "date": "2026-12-03"}
    assert results[2].content["origin"] == "CDG" and results[2].content["currency"] == "EUR"


async def test_service_errors_become_error_results(tools: dict[str, Tool]) -> None:
    results = await agent_for(tools).execute([
        {"name": "get_weather", "args": {"city": "Pari", "date": "2026-12-03"}},
        {"name": "cheapest_flight",
         "args": {"origin": "CDG", "destination": "CDG", "date": "2026-12-03"}},
        {"name": "get_flight", "args": {"flight_number": "ZZ1"}},
    ])
    assert [r.status for r in results] == ["error"] * 3
    assert results[0].error == "unknown city 'Pari'; did you mean 'Paris'?"
    assert "both CDG" in (results[1].error or "")
    assert "search_flights" in (results[2].error or "")


async def test_booking_needs_approval_and_is_recorded(tools: dict[str, Tool],
                                                      travel_url: str) -> None:
    call = {"name": "book_hotel", "args": {"hotel_id": "H-ROM-02", "check_in": "2026-12-03",
                                           "nights": 2, "guest_name": "Maria Rossi"}}
    [refused] = await agent_for(tools).execute([call])
    assert refused.status == "error" and "approval" in (refused.error or "")
    [booked] = await agent_for(tools, approve=True).execute([call])
    assert booked.ok and booked.content["status"] == "confirmed"
    reference = booked.content["booking_reference"]
    assert get_json(f"{travel_url}/bookings/{reference}") == (200, booked.content)
    [again] = await agent_for(tools, approve=True).execute([call])
    assert again.content == booked.content  # same booking, same reference


async def test_start_serves_in_the_running_loop() -> None:
    runner, url = await start(port=0)
    try:
        tools = {t.name: t for t in await atravel_tools(url)}
        [result] = await agent_for(tools).execute(
            [{"name": "convert_currency",
              "args": {"amount": 100, "from_currency": "EUR", "to_currency": "NOK"}}])
        assert result.ok and result.content["converted_amount"] == 1160
    finally:
        await runner.cleanup()


# The queries ------------------------------------------------------------------------------
QUERY_LIST = load_queries(QUERIES)


def test_query_file_has_four_groups_of_at_least_16() -> None:
    counts = Counter(q["group"] for q in QUERY_LIST)
    assert set(counts) == set(GROUPS)
    assert all(counts[g] >= 16 for g in GROUPS), counts
    assert len({q["query"].casefold() for q in QUERY_LIST}) == len(QUERY_LIST)


@pytest.mark.parametrize("query", QUERY_LIST, ids=[q["id"] for q in QUERY_LIST])
def test_query_shape_fits_its_group(query: dict[str, Any], tools: dict[str, Tool]) -> None:
    plan = normalize_calls(query["plan"])
    refs = [call_refs(c) for c in plan]
    group, answers = query["group"], query["answers"]
    assert all(c["name"] in tools for c in plan)
    if group.startswith("single_"):
        assert len(plan) == 1
    else:
        assert len(plan) >= 2
    assert any(refs) == (group == "multi_dataflow")
    assert bool(answers) == (group == "single_incomplete")
    for key, value in answers.items():  # each answer fills a parameter of the gold call
        params = tools[plan[0]["name"]].parameters["properties"]
        assert key in params and plan[0]["args"][key] == value


@pytest.mark.parametrize("query", QUERY_LIST, ids=[q["id"] for q in QUERY_LIST])
async def test_gold_plan_runs(query: dict[str, Any], tools: dict[str, Tool]) -> None:
    results = await Agent(list(tools.values()), store=False, approve=True).execute(query["plan"])
    failed = [(r.call_id, r.name, r.error) for r in results if not r.ok]
    assert not failed
