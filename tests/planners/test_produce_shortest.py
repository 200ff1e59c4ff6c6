"""The producer search should find the shortest chain, whatever order the tools come in.

Found by ``bench/bench_planner_search.py`` (optimal plans from pyperplan and clingo on the
same problems): the producer search used to take the best-ranked producer and never
backtrack, so the first-listed of two producers won even when its chain was longer, and a
chain past ``MAX_DEPTH`` lost a plan that a shorter route had.
"""

from __future__ import annotations

from typing import Any

from agent.planners.dataflow import DataflowPlanner
from agent.types import Tool

QUERY = "What is the forecast for Springfield?"
SHORTEST = ["town_for_place", "station_near_town", "get_forecast"]


def _tool(name: str, produces: str, needs: str | None) -> Tool:
    """A step that turns a ``needs`` id (or, with None, a place name) into ``produces``."""
    props: dict[str, Any] = ({needs: {"type": "string", "x-type": needs,
                                      "description": f"the {needs.replace('_', ' ')}"}}
                             if needs else {"place": {"type": "string",
                                                      "description": "a place name"}})
    return Tool(name, f"Step {name.replace('_', ' ')}.",
                {"type": "object", "properties": props, "required": list(props)},
                lambda **_: {}, output_schema={"type": "object", "properties": {
                    produces: {"type": "string", "x-type": produces}}})


def _tools(long_route: list[tuple[str, str, str | None]]) -> dict[str, Tool]:
    """The goal, then the long route's steps, then the short route's (order matters)."""
    goal = Tool("get_forecast", "The weather forecast of a weather station.",
                {"type": "object", "properties": {
                    "station_id": {"type": "string", "x-type": "station_id"}},
                 "required": ["station_id"]}, lambda **_: {})
    steps = [_tool(*s) for s in long_route] + [
        _tool("station_near_town", "station_id", "town_id"),
        _tool("town_for_place", "town_id", None)]
    return {t.name: t for t in [goal, *steps]}


def _names(tools: dict[str, Tool]) -> tuple[list[str], list[str]]:
    plan = DataflowPlanner().plan(QUERY, tools)
    return [c.name for c in plan.calls], [h.param.name for h in plan.holes]


def test_the_short_route_listed_first_is_taken() -> None:
    """The control: the same tools with the short route first give the shortest plan."""
    tools = _tools([("station_for_grid", "station_id", "grid_id"),
                    ("grid_for_region", "grid_id", "region_id"),
                    ("region_for_place", "region_id", None)])
    short_first = {n: tools[n] for n in ["get_forecast", "station_near_town",
                                         "town_for_place", "station_for_grid",
                                         "grid_for_region", "region_for_place"]}
    assert _names(short_first) == (SHORTEST, [])


def test_a_longer_route_listed_first_is_not_taken() -> None:
    tools = _tools([("station_for_grid", "station_id", "grid_id"),
                    ("grid_for_region", "grid_id", "region_id"),
                    ("region_for_place", "region_id", None)])
    assert _names(tools) == (SHORTEST, [])


def test_a_route_past_the_depth_limit_does_not_hide_a_short_one() -> None:
    tools = _tools([("station_for_grid", "station_id", "grid_id"),
                    ("grid_for_region", "grid_id", "region_id"),
                    ("region_for_area", "region_id", "area_id"),
                    ("area_for_place", "area_id", None)])
    assert _names(tools) == (SHORTEST, [])
