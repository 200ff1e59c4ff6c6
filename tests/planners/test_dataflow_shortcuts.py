"""The dataflow planner's shortcuts give what the long way gives.

Each shortcut (postings in ``ToolIndex.rank``, the enum readings kept per parameter, the
skipped fills in ``_by_values``, today's date read only for a date) is checked here against
the plain computation it stands for.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from typing import Any

import pytest

from agent import Agent, Tool
from agent.planners import values as values_module
from agent.planners.dataflow import DataflowPlanner
from agent.planners.enums import enum_option, match_enum
from agent.planners.filling import Param, params_of
from agent.planners.index import ToolIndex
from agent.planners.text import stem, words
from agent.planners.values import Value, extract

TODAY = dt.date(2026, 11, 27)
UNITS = ["meters", "kilometers", "miles", "feet", "inches", "celsius", "fahrenheit", "kelvin",
         "Kilograms", "kg", "pounds", "US dollar", "dollars", "grams", "gram"]


def _tool(name: str, enum: list[Any]) -> Tool:
    return Tool(name=name, description="convert a quantity between units", fn=None,
                parameters={"type": "object", "required": ["unit"], "properties": {
                    "unit": {"type": "string", "enum": enum,
                             "description": "kg (kilogram), lb (pound)"},
                    "value": {"type": "number"}}})


def _unit(enum: list[Any]) -> Param:
    return params_of(_tool("convert", enum))[0]


def _match_enum_plainly(p: Param, text: str) -> Any:
    """``match_enum`` as it read each option on every call (the reference)."""
    assert p.enum is not None
    low = text.lower()
    stems = [stem(w) for w in words(text)]
    best, best_ratio = None, 0.0
    for option in p.enum:
        o = str(option).lower()
        if re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", low):
            return option
        o_stems = [stem(w) for w in words(str(option))]
        if o_stems and any(stems[i:i + len(o_stems)] == o_stems
                           for i in range(len(stems) - len(o_stems) + 1)):
            return option
        so = stem(o)
        for w in stems:
            if len(w) >= 4 and len(o) >= 4 and abs(len(w) - len(so)) <= 2:
                m = difflib.SequenceMatcher(None, w, so)
                if m.real_quick_ratio() < 0.85 or m.quick_ratio() < 0.85:
                    continue
                r = m.ratio()
                if r > best_ratio:
                    best, best_ratio = option, r
    return best if best_ratio >= 0.85 else None


@pytest.mark.parametrize("text", [
    "convert 3 kilometres to mile", "in fahrenheit please", "Kilograms", "kilogram",
    "some kilometters and meterz", "5 inchs", "us dollars", "feet or meters", "nothing here",
    "celsius-like", "pound", "grams gram", "", "kelvinn to celcius", "milesss",
])
def test_match_enum_reads_options_as_before(text: str) -> None:
    for enum in (UNITS, list(reversed(UNITS)), ["gram", "grams"], ["a", 3, "3"], []):
        p = _unit(enum)
        assert match_enum(p, text) == _match_enum_plainly(p, text), (enum, text)


def test_enum_option_first_option_wins() -> None:
    p = _unit(["Meters", "meter", "METERS", "kg"])
    for text, expected in [("meters", "Meters"), ("meter", "Meters"), ("METER", "Meters"),
                           ("kg", "kg"), ("KG", "kg"), ("kgs", None), ("inch", None)]:
        v = Value("word", text, text, 0, len(text))
        assert enum_option(p, v) == expected


def test_rank_scores_only_what_shares_a_word() -> None:
    tools = Agent(store=False).tools
    index = ToolIndex(tools)
    vocabulary = sorted({s for terms in index.terms.values() for s in terms})[:60]
    for stems in [["count"], ["time", "zone"], ["12"], [], ["joke"], *(
            list(pair) for pair in itertools.combinations(vocabulary[::6], 2))]:
        for intent in (False, True):
            scored = [(index.score(n, stems, intent), n) for n in index.tools]
            plain = sorted((s for s in scored if s[0] > 0), key=lambda x: (-x[0], x[1]))
            assert index.rank(stems, intent) == plain


@pytest.mark.parametrize("query", ["count", "hello", "count to ten", "tell me a joke"])
def test_chatter_plans_nothing(query: str) -> None:
    assert DataflowPlanner(today=TODAY).plan(query, Agent(store=False).tools).calls == []


def test_values_alone_still_choose_a_tool() -> None:
    """The fills ``_by_values`` skips are those that could not qualify: "how much is 40 GBP
    in JPY" still finds the converter by its values alone."""
    tools = {t.name: t for t in [_tool("convert", ["GBP", "JPY"])]}
    plan = DataflowPlanner(today=TODAY).plan("how much is 40 GBP in JPY", tools)
    assert [c.name for c in plan.calls] == ["convert"]


class _NoClock:
    """Stands in for the ``datetime`` module: reading today's date fails the test."""

    timedelta = dt.timedelta

    class date(dt.date):
        @classmethod
        def today(cls) -> dt.date:
            raise AssertionError("today's date read for a query without a date")


def test_today_is_read_only_for_a_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values_module, "dt", _NoClock)
    assert [v.value for v in extract("count to ten times")] == ["count", 10, "times"]
    with pytest.raises(AssertionError):
        extract("tomorrow")
