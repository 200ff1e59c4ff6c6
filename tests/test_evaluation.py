"""``agent.evaluation``: judging planners against gold plans, with scripted planners.

The planners here are tiny scripts (not the dataflow planner), run against the real travel
service on 127.0.0.1, so every way a query can pass or fail is exercised on real results.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "travel"
if importlib.util.find_spec("agent_travel") is None:  # not installed: use the source tree
    sys.path.insert(0, str(EXAMPLE))

from agent import Agent, PlannerNotFoundError, Tool, UsageError, tool  # noqa: E402
from agent.evaluation import (  # noqa: E402
    EvalReport,
    QueryResult,
    SimulatedUser,
    evaluate,
    load_queries,
    same,
)
from agent_travel.plugin import travel_tools  # noqa: E402
from agent_travel.server import background  # noqa: E402

QUERIES = EXAMPLE / "queries.jsonl"
Script = Callable[[Any, Any], Awaitable[Any]]

FLIGHTS = {
    "id": "md-x", "group": "multi_dataflow", "query": "flights from Paris to Rome on 2026-12-03",
    "plan": [
        {"id": "a", "name": "find_airports", "args": {"city": "Paris"}},
        {"id": "b", "name": "find_airports", "args": {"city": "Rome"}},
        {"id": "f", "name": "search_flights",
         "args": {"origin": {"$ref": "a#/airports/0/code"},
                  "destination": {"$ref": "b#/airports/0/code"}, "date": "2026-12-03"}},
    ],
}
WEATHER = {
    "id": "si-x", "group": "single_incomplete", "query": "what will the weather be in Rome?",
    "answers": {"date": "2026-12-05"},
    "plan": [{"name": "get_weather", "args": {"city": "Rome", "date": "2026-12-05"}}],
}


class Scripted:
    """A planner that runs one script (an async function of task and env)."""

    name = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script

    async def run(self, task: Any, env: Any) -> Any:
        return await self.script(task, env)


@pytest.fixture(scope="module")
def travel() -> Iterator[list[Tool]]:
    with background() as url:
        yield travel_tools(url)


def factory(tools: list[Tool], script: Script, **options: Any) -> Callable[..., Agent]:
    def make(answers: Mapping[str, Any]) -> Agent:
        return Agent(tools, planner=Scripted(script), store=False, approve=True, **options)

    return make


def calls_of(plan: list[dict[str, Any]]) -> Script:
    async def script(task: Any, env: Any) -> str:
        await env.call_tools(plan)
        return "done"

    return script


async def one(tools: list[Tool], query: dict[str, Any], script: Script) -> QueryResult:
    report = await evaluate(factory(tools, script), [query])
    assert report.total == 1
    return report.results[0]


# Passing ----------------------------------------------------------------------------------
async def test_the_gold_calls_pass(travel: list[Tool]) -> None:
    result = await one(travel, FLIGHTS, calls_of(FLIGHTS["plan"]))
    assert result.passed and result.reason is None and result.status == "ok"
    assert [n for n, _ in result.calls] == ["find_airports", "find_airports", "search_flights"]
    assert result.gold_calls[2] == ("search_flights", {
        "origin": "CDG", "destination": "FCO", "date": "2026-12-03", "cabin": "economy",
        "sort_by": "departure"})  # resolved references, schema defaults filled in


async def test_calls_are_compared_as_values_not_as_spelling(travel: list[Tool]) -> None:
    """Literal values instead of references, defaults spelled out, case, order: all alike."""
    plan = [
        {"name": "find_airports", "args": {"city": "rome"}},
        {"name": "search_flights", "args": {"date": "2026-12-03", "destination": "FCO",
                                            "origin": "CDG", "cabin": "economy"}},
        {"name": "find_airports", "args": {"city": "PARIS"}},
    ]
    result = await one(travel, FLIGHTS, calls_of(plan))
    assert result.passed, result.reason


async def test_failed_calls_along_the_way_do_not_count(travel: list[Tool]) -> None:
    async def script(task: Any, env: Any) -> str:
        [bad] = await env.call_tools([{"name": "find_airports", "args": {"city": "Pari"}}])
        assert not bad.ok
        await env.call_tools(FLIGHTS["plan"])
        return "done"

    assert (await one(travel, FLIGHTS, script)).passed


async def test_asking_for_what_is_missing_passes(travel: list[Tool]) -> None:
    async def script(task: Any, env: Any) -> str:
        schema = {"type": "object", "properties": {"date": {"type": "string"}},
                  "required": ["date"]}
        answer = await env.ask("On which day?", schema)
        await env.call_tools([{"name": "get_weather",
                               "args": {"city": "Rome", "date": answer["date"]}}])
        return "done"

    result = await one(travel, WEATHER, script)
    assert result.passed, result.reason
    assert result.asked == ["date"]


# Failing ----------------------------------------------------------------------------------
async def test_a_missing_call_is_named(travel: list[Tool]) -> None:
    result = await one(travel, FLIGHTS, calls_of(FLIGHTS["plan"][:2]))
    assert not result.passed
    assert result.reason is not None and result.reason.startswith("missing call search_flights(")
    assert '"FCO"' in result.reason  # the resolved arguments, not the references


async def test_an_extra_call_is_named(travel: list[Tool]) -> None:
    plan = [*FLIGHTS["plan"],
            {"name": "get_weather", "args": {"city": "Rome", "date": "2026-12-03"}}]
    result = await one(travel, FLIGHTS, calls_of(plan))
    assert not result.passed
    assert result.reason == ('extra call get_weather(city="Rome", date="2026-12-03", '
                             'units="celsius")')


async def test_wrong_arguments_show_what_differs(travel: list[Tool]) -> None:
    plan = json.loads(json.dumps(FLIGHTS["plan"]))
    plan[2]["args"]["date"] = "2026-12-04"
    result = await one(travel, FLIGHTS, calls_of(plan))
    assert not result.passed
    assert result.reason == ('wrong args for search_flights: got {"date": "2026-12-04"}, '
                             'expected {"date": "2026-12-03"}')


async def test_a_wrong_call_is_paired_with_the_closest_gold_call(travel: list[Tool]) -> None:
    cities = ["Paris", "Rome", "Berlin"]
    query = {"id": "w3", "group": "multi_independent", "query": "weather in three cities",
             "plan": [{"name": "get_weather", "args": {"city": c, "date": "2026-12-24"}}
                      for c in cities]}
    plan = json.loads(json.dumps(query["plan"]))
    plan[0]["args"]["date"] = "2026-12-25"
    result = await one(travel, query, calls_of(plan))
    assert result.reason == ('wrong args for get_weather: got {"date": "2026-12-25"}, '
                             'expected {"date": "2026-12-24"}')


async def test_a_run_that_does_not_end_ok_fails(travel: list[Tool]) -> None:
    async def script(task: Any, env: Any) -> str:
        await env.call_tools(FLIGHTS["plan"])
        raise RuntimeError("planner bug")

    result = await one(travel, FLIGHTS, script)
    assert not result.passed and result.status == "error"
    assert result.reason == "run ended error: RuntimeError: planner bug"


async def test_guessing_instead_of_asking_fails(travel: list[Tool]) -> None:
    result = await one(travel, WEATHER, calls_of(WEATHER["plan"]))
    assert not result.passed
    assert result.reason == "did not ask for date"


async def test_asking_for_what_the_user_cannot_know_fails(travel: list[Tool]) -> None:
    async def script(task: Any, env: Any) -> str:
        schema = {"type": "object", "properties": {"date": {"type": "string"},
                                                   "units": {"type": "string"}}}
        answer = await env.ask("Which day, and which units?", schema)
        await env.call_tools([{"name": "get_weather", "args": {"city": "Rome", **answer}}])
        return "done"

    result = await one(travel, WEATHER, script)
    assert not result.passed and result.status == "needs_input"
    assert result.reason is not None
    assert result.reason.startswith("asked for units which the user would not know")


async def test_asking_in_a_complete_query_fails(travel: list[Tool]) -> None:
    async def script(task: Any, env: Any) -> str:
        await env.ask("Are you sure?")
        return "done"

    result = await one(travel, FLIGHTS, script)
    assert not result.passed
    assert result.reason is not None and "'Are you sure?' (no fields named)" in result.reason


async def test_a_broken_gold_plan_is_reported_as_such(travel: list[Tool]) -> None:
    query = {**FLIGHTS, "plan": [{"name": "get_weather",
                                  "args": {"city": "Atlantis", "date": "2026-12-03"}}]}
    result = await one(travel, query, calls_of([]))
    assert not result.passed
    assert (result.reason or "").startswith(
        "gold plan failed: call '1' (get_weather): unknown city 'Atlantis'")


async def test_tools_the_agent_lacks_are_named(travel: list[Tool]) -> None:
    lacking = [t for t in travel if t.name != "search_flights"]
    result = (await evaluate(factory(lacking, calls_of([])), [FLIGHTS])).results[0]
    assert not result.passed and result.reason is not None
    assert result.reason.startswith("the gold plan uses tools the agent does not offer: "
                                    "search_flights")


async def test_a_planner_that_does_not_exist_stops_the_evaluation(travel: list[Tool]) -> None:
    def make(answers: Mapping[str, Any]) -> Agent:
        return Agent(travel, planner="no-such-planner", store=False)

    with pytest.raises(PlannerNotFoundError, match="no-such-planner"):
        await evaluate(make, [FLIGHTS])


async def test_the_final_output_must_be_produced() -> None:
    counter = itertools.count()

    @tool
    def ticket(queue: str) -> int:
        """Draw a numbered ticket (a different number every call).

        Args:
            queue: which queue
        """
        return next(counter)

    query = {"id": "t", "group": "single_complete", "query": "a ticket please",
             "plan": [{"name": "ticket", "args": {"queue": "main"}}]}
    result = await one([Tool.coerce(ticket)], query, calls_of(query["plan"]))
    assert not result.passed
    assert result.reason == "final output of ticket not produced: expected 0"


# The user, the report, the file -----------------------------------------------------------
def test_the_simulated_user_answers_only_what_it_knows() -> None:
    user = SimulatedUser({"date": "2026-12-05", "city": "Rome"})
    schema = {"properties": {"date": {}, "units": {}}, "required": ["date"]}
    assert user("When?", schema) == {"date": "2026-12-05"}  # optional units: not known, left out
    with pytest.raises(Exception, match="Which units"):
        user("Which units?", {"properties": {"units": {}}})
    assert user.asked == ["date", "units", "units"] and user.unknown == ["units"]


def test_values_are_compared_as_json() -> None:
    assert same({"a": [1, 2.0000000001], "b": " New  York"}, {"b": "new york", "a": [1.0, 2]})
    assert not same(1, True) and not same({"a": 1}, {"a": 1, "b": 2}) and not same([1], [1, 1])
    assert not same(100, 101) and same(0.1 + 0.2, 0.3)


def test_report_counts_per_group() -> None:
    report = EvalReport([QueryResult("1", "a", "q", True), QueryResult("2", "a", "q", False),
                         QueryResult("3", "b", "q", True)])
    assert report.by_group() == {"a": (1, 2), "b": (1, 1)}
    assert report.pass_rate() == pytest.approx(2 / 3)
    assert [r.id for r in report.failures()] == ["2"]
    lines = report.summary().splitlines()
    assert lines[1].split() == ["a", "1", "2", "50.0%"] and lines[-1].split()[0] == "all"
    data = report.to_dict()
    assert data["groups"]["b"] == {"passed": 1, "total": 1, "pass_rate": 1.0}
    json.dumps(data)


@pytest.mark.parametrize(("line", "message"), [
    ('{"query": "x", "plan": [', "line 2: not valid JSON"),
    ("[1, 2]", "line 2: expected a JSON object"),
    ('{"plan": [{"name": "t"}]}', "line 2: 'query' must be a non-empty string"),
    ('{"query": "x"}', "line 2: 'plan' must be a non-empty list"),
    ('{"query": "x", "plan": [{"name": "t", "args": {"a": {"$ref": "9"}}}]}',
     "line 2: plan: call '1' (t) references unknown call '9'"),
    ('{"id": "one", "query": "x", "plan": [{"name": "t"}]}', "line 2: duplicate id 'one'"),
    ('{"query": "x", "answers": [1], "plan": [{"name": "t"}]}', "line 2: 'answers' must be"),
])
def test_malformed_query_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "one", "query": "ok", "plan": [{"name": "t"}]}\n' + line + "\n")
    with pytest.raises(UsageError, match="^" + str(path).replace("\\", "\\\\")) as info:
        load_queries(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_queries(tmp_path / "nope.jsonl")


async def test_every_example_query_passes_with_a_planner_that_knows_the_gold(
    travel: list[Tool],
) -> None:
    """The whole example file, concurrently: a replaying planner asks, then runs the gold."""
    queries = load_queries(QUERIES)
    gold = {q["query"]: q for q in queries}

    async def replay(task: Any, env: Any) -> str:
        q = gold[task.query]
        if q["answers"]:
            fields = {k: {} for k in q["answers"]}
            await env.ask("I need more information", {"type": "object", "properties": fields})
        await env.call_tools(q["plan"])
        return "done"

    seen: list[str] = []
    report = await evaluate(factory(travel, replay), queries, concurrency=8,
                            on_result=lambda r: seen.append(r.id))
    assert [r.id for r in report.results] == [q["id"] for q in queries]
    assert sorted(seen) == sorted(r.id for r in report.results)
    assert report.pass_rate() == 1.0, [(r.id, r.reason) for r in report.failures()]
    assert set(report.by_group()) == {"single_complete", "single_incomplete",
                                      "multi_independent", "multi_dataflow"}


async def test_runs_are_traced_when_the_factory_keeps_a_store(travel: list[Tool],
                                                            tmp_path: Path) -> None:
    def make(answers: Mapping[str, Any]) -> Agent:
        return Agent(travel, planner=Scripted(calls_of(FLIGHTS["plan"])),
                     store=tmp_path / "traces.db", approve=True)

    report = await evaluate(make, [FLIGHTS])
    [result] = report.results
    assert result.passed and result.run_id
    from agent.store import TraceStore

    with TraceStore(tmp_path / "traces.db") as store:
        runs = store.list_runs()
    assert [r["id"] for r in runs] == [result.run_id]  # the gold plan run is not traced
    assert runs[0]["status"] == "ok"
