"""The dataflow planner's reading of language, on small tool sets written for these tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agent import Agent, Tool, ToolError
from agent.planners.dataflow import DataflowPlanner

TODAY = dt.date(2026, 11, 27)
MONEY = ["EUR", "USD", "GBP", "JPY"]
MONEY_DOC = "ISO code: EUR (euro), USD (US dollar), GBP (British pound), JPY (Japanese yen)"


def exchange(amount: float, source: str, target: str) -> dict:
    return {"amount": amount * 2, "currency": target}


def country_facts(country: str) -> dict:
    capitals = {"Norway": "Oslo", "Chile": "Santiago"}
    if country not in capitals:
        raise ToolError(f"unknown country {country!r}")
    return {"country": country, "capital": capitals[country]}


def city_facts(city: str) -> dict:
    if city in ("Norway", "Chile"):
        raise ToolError(f"unknown city {city!r}")
    return {"city": city, "population": 1}


def forecast(city: str, day: str) -> dict:
    return {"city": city, "day": day, "rain": False}


def stay_price(city: str, nights: int) -> dict:
    return {"city": city, "nights": nights, "total": 100 * nights, "currency": "EUR"}


def distance(origin: str, destination: str) -> dict:
    return {"km": 42}


TOOLS = [
    Tool.from_schema("exchange", "Exchange an amount of money into another currency.", {
        "type": "object", "required": ["amount", "source", "target"], "properties": {
            "amount": {"type": "number", "x-type": "amount", "description": "how much money"},
            "source": {"type": "string", "enum": MONEY, "x-type": "currency",
                       "description": f"currency to change from, {MONEY_DOC}"},
            "target": {"type": "string", "enum": MONEY, "x-type": "currency",
                       "description": f"currency to change into, {MONEY_DOC}"}}},
        exchange, output_schema={"type": "object", "properties": {
            "amount": {"type": "number", "x-type": "amount"}}}),
    Tool.from_schema("country_facts", "Facts about a country: its capital city.", {
        "type": "object", "required": ["country"], "properties": {
            "country": {"type": "string", "x-type": "country"}}},
        country_facts, output_schema={"type": "object", "properties": {
            "capital": {"type": "string", "x-type": "city"}}}),
    Tool.from_schema("city_facts", "Facts about a city: its population.", {
        "type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "x-type": "city"}}},
        city_facts, output_schema={"type": "object", "properties": {
            "population": {"type": "integer"}}}),
    Tool.from_schema("forecast", "Weather forecast for a city on a day.", {
        "type": "object", "required": ["city", "day"], "properties": {
            "city": {"type": "string", "x-type": "city"},
            "day": {"type": "string", "format": "date", "description": "the date"}}},
        forecast, output_schema={"type": "object", "properties": {
            "rain": {"type": "boolean"}}}),
    Tool.from_schema("stay_price", "Price of a stay in a city for some nights.", {
        "type": "object", "required": ["city", "nights"], "properties": {
            "city": {"type": "string", "x-type": "city"},
            "nights": {"type": "integer", "description": "number of nights"}}},
        stay_price, output_schema={"type": "object", "properties": {
            "total": {"type": "number", "x-type": "amount"},
            "currency": {"type": "string", "x-type": "currency"}}}),
    Tool.from_schema("distance", "Road distance between two cities.", {
        "type": "object", "required": ["origin", "destination"], "properties": {
            "origin": {"type": "string", "x-type": "city", "description": "start city"},
            "destination": {"type": "string", "x-type": "city",
                            "description": "destination city"}}},
        distance, output_schema={"type": "object", "properties": {
            "km": {"type": "number"}}}),
]


def calls(query: str) -> list[tuple[str, dict[str, Any]]]:
    agent = Agent(TOOLS, store=False)
    return [(c.name, c.args) for c in DataflowPlanner(today=TODAY).plan(query, agent.tools).calls]


def test_option_names_come_from_the_tools_own_descriptions() -> None:
    assert calls("how much is 2,500 Japanese yen in US dollars") == [
        ("exchange", {"amount": 2500, "source": "JPY", "target": "USD"})]


def test_a_repeated_clause_varies_the_last_goal() -> None:
    assert calls("Exchange 50 British pounds into euros. And into US dollars?") == [
        ("exchange", {"amount": 50, "source": "GBP", "target": "EUR"}),
        ("exchange", {"amount": 50, "source": "GBP", "target": "USD"})]


def test_the_x_of_y_is_produced_by_the_tool_whose_output_is_named_x() -> None:
    assert calls("forecast for the capital of Norway on 2026-12-10") == [
        ("country_facts", {"country": "Norway"}),
        ("forecast", {"day": "2026-12-10", "city": {"$ref": "1#/capital"}})]


def test_between_x_and_y_gives_roles() -> None:
    assert calls("road distance between Lyon and Nice") == [
        ("distance", {"origin": "Lyon", "destination": "Nice"})]


def test_a_counted_number_is_not_an_amount_and_later_goals_use_earlier_outputs() -> None:
    assert calls("price of 3 nights in Oslo, and that total in US dollars") == [
        ("stay_price", {"nights": 3, "city": "Oslo"}),
        ("exchange", {"target": "USD", "amount": {"$ref": "1#/total"},
                      "source": {"$ref": "1#/currency"}})]


async def test_a_tool_that_refuses_its_input_is_replaced_and_the_query_replanned() -> None:
    agent = Agent([TOOLS[2], TOOLS[1]], planner=DataflowPlanner(today=TODAY), store=False)
    run = await agent.run("facts about Chile")
    assert [(r.name, r.status) for r in run.results] == [
        ("city_facts", "error"), ("country_facts", "success")]
    assert run.status == "ok" and run.data["capital"] == "Santiago"
    assert [s.kind for s in run.steps] == ["tool_calls", "tool_calls"]


def test_numbers_do_not_name_tools_and_a_text_parameter_is_not_math() -> None:
    """"12 * 7" once went to a weekday tool ("ISO weekday 1-7" shares the "7") and an
    expression fitted a search's text ("not a regular expression") as well as the
    calculator's expression."""
    weekday = Tool("weekday", "The weekday of a date: ISO weekday 1-7.",
                   {"type": "object", "properties": {"date": {"type": "string"}},
                    "required": ["date"]}, lambda **_: {})
    search = Tool("search_notes", "Find notes that contain a text.",
                  {"type": "object", "properties": {"text": {
                      "type": "string",
                      "description": "plain text, not a regular expression"}},
                   "required": ["text"]}, lambda **_: {})
    calc = Tool("calculate", "Evaluate arithmetic.",
                {"type": "object", "properties": {"expression": {
                    "type": "string", "description": "the arithmetic expression"}},
                 "required": ["expression"]}, lambda **_: {})
    tools = {t.name: t for t in (weekday, search, calc)}
    plan = DataflowPlanner(today=TODAY).plan("What is 12 * 7?", tools)
    assert [(c.name, c.args) for c in plan.calls] == [("calculate", {"expression": "12 * 7"})]
    plan = DataflowPlanner(today=TODAY).plan('find my notes about "budget"', tools)
    assert [(c.name, c.args) for c in plan.calls] == [("search_notes", {"text": "budget"})]


RATE = Tool.from_schema("rate", "How many units of one currency one unit of another buys.", {
    "type": "object", "required": ["source", "target"], "properties": {
        "source": {"type": "string", "enum": MONEY, "x-type": "currency",
                   "description": f"currency to change from, {MONEY_DOC}"},
        "target": {"type": "string", "enum": MONEY, "x-type": "currency",
                   "description": f"currency to change into, {MONEY_DOC}"}}},
    lambda **_: {"rate": 2.0}, output_schema={"type": "object", "properties": {
        "rate": {"type": "number", "x-type": "rate"}}})
STAY = Tool.from_schema("hotel_stay", "Book-free quote for a hotel stay in a city.", {
    "type": "object", "required": ["city", "nights"], "properties": {
        "city": {"type": "string", "x-type": "city"},
        "nights": {"type": "integer", "description": "number of nights"}}},
    lambda **_: {}, output_schema={"type": "object", "properties": {
        "price_per_night": {"type": "number", "x-type": "amount"},
        "total_price": {"type": "number", "x-type": "amount"},
        "currency": {"type": "string", "x-type": "currency"}}})
CITY_MONEY = Tool.from_schema("city_money", "The money of a city: its local currency.", {
    "type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "x-type": "city"}}},
    lambda **_: {}, output_schema={"type": "object", "properties": {
        "currency": {"type": "string", "x-type": "currency", "enum": MONEY}}})


def plan_of(query: str, tools: list[Tool]) -> tuple[list[tuple[str, Any]], list[str]]:
    plan = DataflowPlanner(today=TODAY).plan(query, {t.name: t for t in tools})
    return [(c.name, c.args) for c in plan.calls], [h.param.name for h in plan.holes]


def test_money_one_has_but_does_not_count_is_an_amount_to_ask_for() -> None:
    """"for my dollars": some dollars, how many? An exchange (which asks), not a rate."""
    assert plan_of("How many yen would I get for my dollars?", [RATE, TOOLS[0]]) == (
        [("exchange", {"source": "USD", "target": "JPY"})], ["amount"])
    assert plan_of("How many yen does one US dollar buy?", [RATE])[0] == [
        ("rate", {"source": "USD", "target": "JPY"})]


def test_what_a_stay_costs_is_its_total_price_converted() -> None:
    """"cost" names the price; the total, not the rate per night, unless "per night"."""
    tools = [STAY, TOOLS[0], RATE]
    assert plan_of("What would 3 nights in Oslo cost in yen?", tools)[0] == [
        ("hotel_stay", {"nights": 3, "city": "Oslo"}),
        ("exchange", {"target": "JPY", "amount": {"$ref": "1#/total_price"},
                      "source": {"$ref": "1#/currency"}})]
    assert plan_of("What would 3 nights in Oslo cost per night in yen?", tools)[0][1][1][
        "amount"] == {"$ref": "1#/price_per_night"}


def test_a_place_the_clause_names_gets_its_own_producer() -> None:
    """The earlier goal's currency is Oslo's; "the currency used in Rome" is Rome's."""
    calls_, holes = plan_of("Quote 3 nights in Oslo and exchange 20 euros into the currency "
                            "used in Rome", [STAY, TOOLS[0], CITY_MONEY])
    assert holes == []
    assert ("city_money", {"city": "Rome"}) in calls_
    exchange_args = dict(calls_[-1][1])
    rome = calls_.index(("city_money", {"city": "Rome"})) + 1
    assert exchange_args["target"] == {"$ref": f"{rome}#/currency"}
    assert exchange_args["amount"] == 20 and exchange_args["source"] == "EUR"
