"""The dataflow planner on tool sets it was not written for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from agent import Agent, Tool, tool
from agent.planners.dataflow import DataflowPlanner

TODAY = dt.date(2026, 11, 27)


@tool(output_schema={"type": "object", "properties": {
    "city": {"type": "string", "x-type": "city"},
    "temperature_c": {"type": "number"}}})
def get_weather(city: str, date: str) -> dict:
    """Weather forecast for a city on a date.

    Args:
        city: the city name
        date: the day, ISO format
    """
    return {"city": city, "date": date, "temperature_c": 21.5}


@tool(output_schema={"type": "object", "properties": {
    "users": {"type": "array", "items": {"type": "object", "properties": {
        "user_id": {"type": "string", "x-type": "user_id"},
        "name": {"type": "string"}}}}}})
def find_users(name: str) -> dict:
    """Find user accounts by a person's name.

    Args:
        name: full or partial name of the person
    """
    return {"users": [{"user_id": f"u-{len(name)}", "name": name}]}


@tool(output_schema={"type": "object", "properties": {
    "orders": {"type": "array", "items": {"type": "object", "properties": {
        "order_id": {"type": "string", "x-type": "order_id"},
        "total": {"type": "number", "x-type": "amount"}}}}}})
def list_orders(user_id: str, status: str = "any") -> dict:
    """List the orders a user placed.

    Args:
        user_id: the account id
        status: which orders to list
    """
    return {"orders": [{"order_id": f"o-{user_id}", "total": 99.5}], "status": status}


list_orders_tool = Tool.from_function(list_orders)
list_orders_tool.parameters["properties"]["status"]["enum"] = ["any", "open", "shipped"]
list_orders_tool.parameters["properties"]["user_id"]["x-type"] = "user_id"


@tool(side_effects=True)
def send_email(to: str, subject: str, body: str) -> str:
    """Send an e-mail message.

    Args:
        to: recipient e-mail address
        subject: subject line
        body: message text
    """
    return f"sent to {to}"


def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict:
    """Convert an amount of money between currencies.

    Args:
        amount: how much money
        from_currency: ISO code of the currency to convert from
        to_currency: ISO code of the currency to convert to
    """
    return {"amount": round(amount * 1.1, 2), "currency": to_currency}


def stock_price(symbol: str) -> dict:
    """Latest stock price for a ticker symbol.

    Args:
        symbol: the ticker, e.g. AAPL
    """
    return {"symbol": symbol, "price": 123.4}


TOOLS: list[Any] = [get_weather, find_users, list_orders_tool, send_email, convert_currency,
                    stock_price]


def plan(query: str) -> list[tuple[str, dict[str, Any]]]:
    agent = Agent(TOOLS, planner=DataflowPlanner(today=TODAY), store=False)
    p = DataflowPlanner(today=TODAY).plan(query, agent.tools)
    return [(c.name, c.args) for c in p.calls]


@pytest.mark.parametrize(("query", "expected"), [
    ("What's the weather in Lisbon on December 3, 2026?",
     [("get_weather", {"city": "Lisbon", "date": "2026-12-03"})]),
    ("convert 250 EUR to USD",
     [("convert_currency", {"amount": 250, "from_currency": "EUR", "to_currency": "USD"})]),
    ("how much is 40 GBP in JPY",
     [("convert_currency", {"amount": 40, "from_currency": "GBP", "to_currency": "JPY"})]),
    ("price of AAPL stock", [("stock_price", {"symbol": "AAPL"})]),
])
def test_single_goal_arguments(query, expected) -> None:
    assert plan(query) == expected


def test_missing_identifier_is_produced_by_another_tool_through_a_reference() -> None:
    calls = plan("show the shipped orders of Ada Lovelace")
    assert calls == [
        ("find_users", {"name": "Ada Lovelace"}),
        ("list_orders", {"status": "shipped", "user_id": {"$ref": "1#/users/0/user_id"}}),
    ]


def test_several_goals_become_independent_calls() -> None:
    calls = plan("weather in Oslo tomorrow and the price of MSFT")
    assert calls == [("get_weather", {"city": "Oslo", "date": "2026-11-28"}),
                     ("stock_price", {"symbol": "MSFT"})]


def test_one_goal_over_several_names_fans_out() -> None:
    calls = plan("weather in Oslo and Paris on 2026-12-01")
    assert calls == [("get_weather", {"city": "Oslo", "date": "2026-12-01"}),
                     ("get_weather", {"city": "Paris", "date": "2026-12-01"})]


def test_a_query_no_tool_fits_makes_no_call() -> None:
    assert plan("sing me a lullaby") == []
    assert plan("wie spät ist es") == []


async def test_missing_information_is_asked_for_and_validated() -> None:
    questions = []

    def ask(question, schema):
        questions.append((question, sorted(schema["properties"])))
        return {"date": "2026-12-24"}

    agent = Agent(TOOLS, planner=DataflowPlanner(today=TODAY), store=False, ask=ask)
    run = await agent.run("what will the weather be in Rome")
    assert run.status == "ok"
    assert [(r.name, r.args) for r in run.results] == [
        ("get_weather", {"city": "Rome", "date": "2026-12-24"})]
    assert questions[0][1] == ["date"] and "get_weather" in questions[0][0]
    assert [s.kind for s in run.steps] == ["ask", "tool_calls"]


async def test_without_anyone_to_ask_the_run_needs_input_and_resumes() -> None:
    agent = Agent(TOOLS, planner=DataflowPlanner(today=TODAY), store=False)
    run = await agent.run("what will the weather be in Rome")
    assert run.status == "needs_input" and list(run.missing) == ["date"]
    assert run.results == []
    resumed = await agent.run("what will the weather be in Rome", answers={"date": "2026-12-24"})
    assert resumed.status == "ok" and resumed.data["city"] == "Rome"


async def test_a_failing_tool_mid_plan_is_reported_with_its_step() -> None:
    def flaky_lookup(name: str) -> dict:
        """Find user accounts by a person's name.

        Args:
            name: full or partial name of the person
        """
        raise RuntimeError("directory offline")

    broken = Tool.from_function(flaky_lookup, output_schema=find_users.__agent_tool__[
        "output_schema"])
    agent = Agent([broken, list_orders_tool], planner=DataflowPlanner(today=TODAY),
                  store=False)
    run = await agent.run("list the orders of Grace Hopper")
    assert run.status == "error"
    assert "flaky_lookup (call 1) failed: RuntimeError: directory offline" in run.answer
    assert "list_orders (call 2) failed: not run: call '1' it depends on failed" in run.answer


async def test_side_effect_goal_still_needs_approval() -> None:
    agent = Agent(TOOLS, planner=DataflowPlanner(today=TODAY), store=False)
    run = await agent.run('send an email to ada@example.org with subject "hi" and body "hello"')
    assert [r.name for r in run.results] == ["send_email"]
    assert run.results[0].status == "error" and "needs approval" in run.results[0].error
