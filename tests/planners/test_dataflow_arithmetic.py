"""Arithmetic said in words reaches the calculator as an expression, with the built-in tools.

Before, "add 2 and 40" went to add_to_date (its name says "add") and asked for a date, and
"multiply 6 by 7" fitted no tool at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from agent import Agent, Tool
from agent.planners.dataflow import DataflowPlanner
from agent.planners.values import extract
from agent.plugin_manager import load_plugins
from agent.registry import build_registry
from agent.tools.calculator import evaluate

TODAY = dt.date(2026, 11, 27)

SPOKEN = [
    ("add 2 and 40", "2 + 40", 42),
    ("sum of 3 and 4", "3 + 4", 7),
    ("multiply 6 by 7", "6 * 7", 42),
    ("subtract 5 from 12", "12 - 5", 7),
    ("divide 10 by 4", "10 / 4", 2.5),
    ("what is 2 plus 3 times 4", "2 + 3 * 4", 14),
    ("square root of 81", "sqrt(81)", 9),
    ("7 squared", "7 ** 2", 49),
    ("half of 30", "30 / 2", 15),
    ("double 21", "2 * 21", 42),
    ("What is the average of 2, 4 and 9?", "(2 + 4 + 9) / 3", 5),
    ("what's seven times six", "7 * 6", 42),
    ("what is 15 percent of 240", "15% * 240", 36),
    ("10 mod 3", "10 % 3", 1),
]


@pytest.fixture(scope="module")
def builtin() -> dict[str, Tool]:
    """The tools `agent run` offers out of the box: add_to_date competes for "add"."""
    tools = dict(build_registry(load_plugins(entry_points=False)).tools)
    assert {"calculate", "add_to_date", "convert_units"} <= set(tools)
    return tools


def calls(query: str, tools: dict[str, Tool]) -> tuple[list[tuple[str, Any]], list[str]]:
    plan = DataflowPlanner(today=TODAY).plan(query, tools)
    return [(c.name, c.args) for c in plan.calls], [h.param.name for h in plan.holes]


@pytest.mark.parametrize(("query", "expression", "result"), SPOKEN)
async def test_spoken_arithmetic_is_planned_and_answered_by_the_calculator(
        query: str, expression: str, result: float, builtin: dict[str, Tool]) -> None:
    assert calls(query, builtin) == ([("calculate", {"expression": expression})], [])
    agent = Agent(list(builtin.values()), planner=DataflowPlanner(today=TODAY), store=False)
    run = await agent.run(query)
    assert run.status == "ok", run.answer
    assert [(r.name, r.args) for r in run.results] == [
        ("calculate", {"expression": expression})]
    assert run.data["result"] == pytest.approx(result)


@pytest.mark.parametrize(("query", "expected"), [
    ("add 3 days to 2024-01-31", [("add_to_date", {"days": 3, "date": "2024-01-31"})]),
    ("What is 12 * 7?", [("calculate", {"expression": "12 * 7"})]),
    ("what is 15% of 240", [("calculate", {"expression": "15% of 240"})]),
])
def test_dates_and_symbols_are_read_as_before(query: str, expected: list[Any],
                                             builtin: dict[str, Tool]) -> None:
    assert calls(query, builtin) == (expected, [])


def test_a_sum_beside_another_goal_is_one_goal_not_split_at_its_and(
        builtin: dict[str, Tool]) -> None:
    """"and"/"plus" split goals; inside "add 2 and 40" they join its operands."""
    planned, holes = calls("add 2 and 40 and what time is it in Tokyo", builtin)
    assert holes == []
    assert planned == [("calculate", {"expression": "2 + 40"}),
                       ("current_time", {"timezone": "Tokyo"})]


@pytest.mark.parametrize("query", [
    "add 3 days to 2024-01-31",  # a quantity of days, not a number
    "half of 30 euros",
    "double room for 2 nights",
    "3 times a day",
    "a 15 percent tip",
    "set it to minus 3",  # a signed number is still a number
    "4 stars and under 300 euros",
    "add one to the list",
])
def test_numbers_with_units_or_without_an_operation_are_not_arithmetic(query: str) -> None:
    assert [v for v in extract(query, today=TODAY) if v.kind == "expression"] == []


@pytest.mark.parametrize(("query", "expression", "value"), [
    ("(2 plus 3) times 4", "(2 + 3) * 4", 20),
    ("subtract 2 from 10 squared", "10 ** 2 - 2", 98),
    ("12 minus 5 minus 3", "12 - 5 - 3", 4),
    ("divide 12 by the difference between 9 and 5", "12 / (9 - 5)", 3),
    ("the square root of the sum of 9 and 16", "sqrt(9 + 16)", 5),
    ("2 to the power of 3 squared", "2 ** 3 ** 2", 512),
    ("negative 3 squared", "-3 ** 2", -9),
    ("cube root of 27", "27 ** (1/3)", 3),
    ("two hundred and ten plus 1", "210 + 1", 211),
    ("add two and three", "2 + 3", 5),  # not one number "two and three" = 5 by accident
    ("multiply 2, 3 and 4", "2 * 3 * 4", 24),
    ("2 * 3 squared", "2 * 3 ** 2", 18),  # symbols and words in one phrase
])
def test_spoken_expressions_keep_their_precedence(query: str, expression: str,
                                                  value: float) -> None:
    found = [v for v in extract(query, today=TODAY) if v.kind == "expression"]
    assert [v.value for v in found] == [expression]
    assert found[0].extra.get("spoken") is True
    assert query.endswith(found[0].text)  # the value covers the words that said it
    assert evaluate(expression) == pytest.approx(value)

