"""Tool retrieval: BM25 over the built-in tools plus a few of our own, caching, plugins, CLI."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace
from typing import Literal

import pytest

from agent import Agent, Answer, tool
from agent.errors import UsageError
from agent.registry import Entry, Registry, build_registry
from agent.retrieval import (
    BM25Retriever,
    Hit,
    Retriever,
    RetrieverNotFoundError,
    Tokenizer,
    as_callable,
    clear_cache,
    lazy_retriever,
    light_stem,
    make_retriever,
    retriever_for,
    tool_document,
)
from agent.types import Tool

try:
    import Stemmer  # noqa: F401 - PyStemmer, optional
except ImportError:
    HAS_PYSTEMMER = False
else:
    HAS_PYSTEMMER = True

STEMMERS = [
    "light",
    pytest.param("snowball", marks=pytest.mark.skipif(not HAS_PYSTEMMER,
                                                      reason="PyStemmer not installed")),
]


def convert_currency(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert an amount of money from one currency to another at today's exchange rate.

    Args:
        amount: the amount of money to convert
        from_currency: ISO 4217 code of the amount's currency, e.g. "USD" or "EUR"
        to_currency: ISO 4217 code of the currency wanted, e.g. "JPY"
    """
    return amount


def get_weather_forecast(city: str, days: int = 3,
                         units: Literal["metric", "imperial"] = "metric") -> dict:
    """Weather forecast for a city: temperature, rain and wind for the next few days.

    Args:
        city: name of the city
        days: how many days ahead
        units: unit system of the temperatures
    """
    return {}


@tool(side_effects=True)
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email message to a recipient.

    Args:
        to: the recipient's address
        subject: the subject line
        body: the text of the message
    """
    return "sent"


def translateText(text: str, target_language: str) -> str:  # camelCase on purpose
    """Translate text into another language.

    Args:
        text: what to translate
        target_language: the language to translate into, e.g. "French"
    """
    return text


OWN = [convert_currency, get_weather_forecast, send_email, translateText]
BUILTIN = {"calculate", "convert_units", "current_time", "convert_time", "date_difference",
           "add_to_date", "day_of_week", "list_files", "read_file", "search_files",
           "sqlite_query", "sqlite_schema", "http_get", "http_post"}


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_LOAD_PLUGINS", "")  # built-ins only: no installed extras
    clear_cache()


@pytest.fixture
def registry() -> Registry:
    reg = build_registry()
    assert set(reg.tools) >= BUILTIN, "the built-in tools did not load"
    reg.add_tool(OWN, plugin="tests")
    return reg


@pytest.fixture(params=STEMMERS)
def retriever(request: pytest.FixtureRequest, registry: Registry) -> BM25Retriever:
    return BM25Retriever(registry.tools.values(), stemmer=request.param, cache=False)


def names(hits: list[Hit]) -> list[str]:
    return [h.tool.name for h in hits]


# Ranking -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("what is 15% of 240", "calculate"),
    ("how many miles is 10 km", "convert_units"),
    ("find files mentioning TODO", "search_files"),
    # paraphrases: words of the description or parameters, not an example query
    ("evaluate 3 * (4 + 5)", "calculate"),
    ("which weekday was 1969-07-20", "day_of_week"),
    ("what tables does the database have", "sqlite_schema"),
    ("run a SELECT on orders.db", "sqlite_query"),
    ("show the contents of notes.txt", "read_file"),
    ("30 degrees celsius in fahrenheit", "convert_units"),
    ("send data to a web API", "http_post"),
    ("list the python files in src", "list_files"),
    # our own tools, among the built-ins
    ("convert 100 USD to EUR", "convert_currency"),
    ("will it rain in Paris tomorrow?", "get_weather_forecast"),
    ("email the quarterly report to alice", "send_email"),
    ("translate this sentence into French", "translateText"),
    ("translateText", "translateText"),
    ("convert_units", "convert_units"),
])
def test_the_right_tool_comes_first(retriever: BM25Retriever, query: str, expected: str) -> None:
    hits = retriever.search(query, 5)
    assert hits, query
    assert hits[0].tool.name == expected, (query, [(h.tool.name, h.score) for h in hits])


def test_time_in_a_city_ranks_the_two_time_zone_tools_first(retriever: BM25Retriever) -> None:
    hits = retriever.search("what time is it in Tokyo", 5)
    assert set(names(hits[:2])) == {"current_time", "convert_time"}


def test_hits_are_sorted_positive_and_unique(retriever: BM25Retriever, registry: Registry) -> None:
    hits = retriever.search("convert a date or a time", 100)
    assert len(hits) >= 3  # the time tools and more share words with the query
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert len(set(names(hits))) == len(hits)
    # only tools that share a word with the query: not the whole registry
    assert 0 < len(hits) < len(registry.tools)
    assert "http_post" not in names(hits)


@pytest.mark.parametrize("query", ["", "   ", "the", "what is it", "?!", "zzzqqq xyzzy"])
def test_queries_with_no_known_word_return_nothing(retriever: BM25Retriever, query: str) -> None:
    assert retriever.search(query, 10) == []


def test_another_language_does_not_crash(retriever: BM25Retriever) -> None:
    assert retriever.search("東京は今何時ですか", 5) == []
    assert isinstance(retriever.search("Quelle heure est-il à Tokyo ?", 5), list)


def test_k_bounds(retriever: BM25Retriever, registry: Registry) -> None:
    assert retriever.search("files", 0) == []
    assert retriever.search("files", -3) == []
    assert len(retriever.search("files", 1)) == 1
    many = retriever.search("file time date convert", 10_000)  # k > number of tools
    assert 3 < len(many) <= len(registry.tools)


def test_empty_tool_set() -> None:
    r = BM25Retriever([])
    assert r.search("anything", 5) == []
    assert r.index is None


def test_a_single_tool() -> None:
    [t] = Registry(plugins=None).add_tool(send_email)  # type: ignore[arg-type]
    r = BM25Retriever([t])
    assert names(r.search("send an email", 10)) == ["send_email"]
    assert r.search("weather", 10) == []


# Documents and tokens ----------------------------------------------------------------------

def test_document_holds_name_description_parameters_enums_examples_tags(
        registry: Registry) -> None:
    doc = tool_document(registry.tools["get_weather_forecast"])
    for part in ("get_weather_forecast", "Weather forecast", "city", "name of the city",
                 "units", "imperial", "how many days ahead"):
        assert part in doc
    calc = tool_document(registry.tools["calculate"])
    assert "15% of 240" in calc and "math" in calc  # an example and a tag


def test_enum_values_are_searchable(retriever: BM25Retriever) -> None:
    assert names(retriever.search("imperial", 3)) == ["get_weather_forecast"]


def test_nested_parameters_are_indexed() -> None:
    t = Tool.from_schema(
        "create_order", "Create an order.",
        {"type": "object", "properties": {"items": {"type": "array", "items": {
            "type": "object", "properties": {"sku": {"type": "string",
                                                     "description": "stock keeping unit"}}}}}},
        fn=lambda **kw: kw)
    other = Tool.from_schema("ping", "Ping a host.", {"type": "object", "properties": {}},
                             fn=lambda **kw: kw)
    r = BM25Retriever([other, t])
    assert names(r.search("stock keeping unit", 5)) == ["create_order"]


def test_tokenizer_splits_names_and_keeps_them_whole() -> None:
    tok = Tokenizer("light")
    assert tok("getWeatherForecast") == ["getweatherforecast", "get", "weather", "forecast"]
    assert tok("convert_units") == ["convert_units", "convert", "unit"]
    assert tok("HTTPServer") == ["httpserver", "http", "server"]
    assert tok("sha256") == ["sha256", "sha"]


def test_tokenizer_drops_stopwords_numbers_and_single_letters() -> None:
    tok = Tokenizer("light")
    assert tok("What is the size of 2 files, e.g. a.txt?") == ["siz", "fil", "txt"]
    assert tok("15% of 240") == ["percent"]
    assert tok("") == []


def test_light_stem_maps_inflections_together() -> None:
    assert light_stem("files") == light_stem("file") == light_stem("filing")
    assert light_stem("cities") == "city"
    assert light_stem("running") == light_stem("run") == "run"
    assert light_stem("converted") == light_stem("converting") == light_stem("converts")
    assert light_stem("bus") == "bus" and light_stem("status") == "status"


def test_unknown_stemmer_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown stemmer"):
        Tokenizer("porter2000")


# Caching -----------------------------------------------------------------------------------

def test_retriever_for_builds_once_per_tool_set(registry: Registry) -> None:
    first = retriever_for(registry.tools)
    assert retriever_for(registry.tools) is first
    assert retriever_for(list(registry.tools.values())) is first  # same tools, same order
    assert isinstance(first, BM25Retriever)
    index = first.index
    first.search("time", 3)
    assert retriever_for(registry.tools).index is index


def test_a_new_tool_gets_a_new_index(registry: Registry) -> None:
    before = retriever_for(registry.tools)

    def scan_barcode(image_path: str) -> str:
        """Decode the barcode in a photo.

        Args:
            image_path: the photo
        """
        return ""

    registry.add_tool(scan_barcode)
    after = retriever_for(registry.tools)
    assert after is not before
    assert names(after.search("decode this barcode", 1)) == ["scan_barcode"]
    assert before.search("decode this barcode", 1) == []


def test_a_rebuilt_registry_shares_the_index_but_returns_its_own_tools() -> None:
    reg1, reg2 = build_registry(), build_registry()
    r1, r2 = retriever_for(reg1.tools), retriever_for(reg2.tools)
    assert r1 is not r2  # different Tool objects ...
    assert isinstance(r1, BM25Retriever) and isinstance(r2, BM25Retriever)
    assert r1.index is r2.index  # ... same content: one index
    [hit] = r2.search("what is 15% of 240", 1)
    assert hit.tool is reg2.tools["calculate"]
    assert hit.tool is not reg1.tools["calculate"]


def test_cache_false_builds_a_fresh_index(registry: Registry) -> None:
    a = BM25Retriever(registry.tools.values())
    b = BM25Retriever(registry.tools.values())
    c = BM25Retriever(registry.tools.values(), cache=False)
    assert a.index is b.index and c.index is not a.index


# Plugins -----------------------------------------------------------------------------------

class FirstTools:
    """A toy retriever: the first k tools whose name contains a word of the query."""

    def __init__(self, tools: list[Tool]) -> None:
        self.tools = tools

    def search(self, query: str, k: int = 10) -> list[Hit]:
        words = query.lower().split()
        return [Hit(t, 1.0) for t in self.tools if any(w in t.name for w in words)][:k]


def test_a_registered_retriever_is_picked_by_name(registry: Registry) -> None:
    holder = SimpleNamespace(retrievers={"first": Entry("first", FirstTools, "toy")})
    r = retriever_for(registry.tools, "first", registry=holder)
    assert isinstance(r, FirstTools) and isinstance(r, Retriever)
    assert retriever_for(registry.tools, "first", registry=holder) is r
    assert names(r.search("sqlite", 5)) == ["sqlite_query", "sqlite_schema"]
    # bm25 stays available next to it, and is the default
    assert isinstance(retriever_for(registry.tools, registry=holder), BM25Retriever)
    assert isinstance(make_retriever(registry.tools, "first", holder), FirstTools)


def test_a_plugin_may_replace_bm25(registry: Registry) -> None:
    holder = SimpleNamespace(retrievers={"bm25": Entry("bm25", FirstTools, "toy")})
    assert isinstance(retriever_for(registry.tools, registry=holder), FirstTools)


def test_unknown_retriever_is_a_usage_error_naming_the_choices(registry: Registry) -> None:
    holder = SimpleNamespace(retrievers={"first": Entry("first", FirstTools, "toy")})
    with pytest.raises(RetrieverNotFoundError, match=r"'dense'.*bm25, first") as exc:
        retriever_for(registry.tools, "dense", registry=holder)
    assert exc.value.exit_code == 2
    with pytest.raises(RetrieverNotFoundError):
        retriever_for(registry.tools, "first")  # no registry: only bm25
    with pytest.raises(RetrieverNotFoundError):
        lazy_retriever(registry.tools, "dense")  # fails when made, not at the first query


# The Agent's retriever ---------------------------------------------------------------------

class RetrieveThenCall:
    """Calls the best tool for the query with the arguments in ``settings``."""

    async def run(self, task, env):
        candidates = env.retrieve(task.query, 3)
        best = candidates[0]
        [result] = await env.call_tools([{"name": best.name, "args": ARGS[best.name]}])
        assert result.ok, result.error
        return Answer(best.name, data={"candidates": [t.name for t in candidates],
                                       "content": result.content})


ARGS = {"calculate": {"expression": "15% * 240"}, "convert_units":
        {"value": 10, "from_unit": "km", "to_unit": "mile"}}


@pytest.mark.parametrize("make", ["as_callable", "lazy"])
async def test_agent_uses_the_retriever(registry: Registry, make: str) -> None:
    fn = (as_callable(retriever_for(registry.tools)) if make == "as_callable"
          else lazy_retriever(registry.tools))
    agent = Agent(list(registry.tools.values()), planner=RetrieveThenCall(), store=False,
                  retriever=fn)
    run = await agent.run("what is 15% of 240")
    assert run.status == "ok", run.error
    assert run.answer == "calculate" and len(run.data["candidates"]) <= 3
    assert run.data["content"]["result"] == pytest.approx(36)
    run = await agent.run("how many miles is 10 km")
    assert run.status == "ok", run.error
    assert run.answer == "convert_units"
    assert "6.21" in json.dumps(run.data["content"])


def test_as_callable_returns_tools(registry: Registry) -> None:
    fn = as_callable(retriever_for(registry.tools))
    tools = fn("find files mentioning TODO", 2)
    assert [t.name for t in tools[:1]] == ["search_files"] and len(tools) == 2
    assert all(isinstance(t, Tool) for t in tools)


# CLI handler -------------------------------------------------------------------------------

def test_search_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.commands.search import search_tools

    assert search_tools(argparse.Namespace(query="what is 15% of 240", k=3, json=True)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "calculate" and len(rows) <= 3
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_search_command_table_and_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.commands.search import search_tools

    assert search_tools(argparse.Namespace(query="miles in 10 km", k=2, json=False)) == 0
    out = capsys.readouterr().out
    assert out.index("convert_units") < out.index("Convert a value")
    assert search_tools(argparse.Namespace(query="the", k=2, json=False)) == 0
    assert "no tool matches" in capsys.readouterr().out
    with pytest.raises(UsageError):
        search_tools(argparse.Namespace(query="x", k=0, json=False))
