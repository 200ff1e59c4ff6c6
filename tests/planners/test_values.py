from __future__ import annotations

import datetime as dt

import pytest

from agent.planners.text import parse_number_words, stem
from agent.planners.values import extract

TODAY = dt.date(2026, 11, 27)  # a Friday


def found(query: str) -> list[tuple[str, object]]:
    return [(v.kind, v.value) for v in extract(query, today=TODAY)
            if v.kind not in ("word",)]


@pytest.mark.parametrize(("query", "expected"), [
    ("on December 3, 2026", [("date", "2026-12-03")]),
    ("3 Dec 2026", [("date", "2026-12-03")]),
    ("the 3rd of December", [("date", "2026-12-03")]),
    ("2026-12-03", [("date", "2026-12-03")]),
    ("tomorrow", [("date", "2026-11-28")]),
    ("next Monday", [("date", "2026-11-30")]),
    ("in 3 days", [("date", "2026-11-30")]),
    ("Jan 5", [("date", "2027-01-05")]),  # past this year: next year's
    ("at 2:30 pm", [("time", "14:30")]),
    ("2026-12-03T09:15", [("datetime", "2026-12-03T09:15")]),
])
def test_dates_and_times(query, expected) -> None:
    assert found(query) == expected


def test_numbers_units_and_written_numbers() -> None:
    values = extract("twenty five km and 3,500.5 USD and $40", today=TODAY)
    numbers = [(v.value, v.unit) for v in values if v.kind == "number"]
    assert numbers == [(25, "km"), (3500.5, "USD"), (40, "USD")]
    assert parse_number_words(["two", "hundred", "and", "ten"]) == (210, 4)
    assert parse_number_words(["a", "dozen"]) == (12, 2)
    assert parse_number_words(["paris"]) is None


def test_cues_are_remembered() -> None:
    values = extract("flights from Paris to New York", today=TODAY)
    entities = [(v.value, v.cue) for v in values if v.kind == "entity"]
    assert entities == [("Paris", "from"), ("New York", "to")]


def test_other_kinds() -> None:
    kinds = found('search "error budget" in notes/todo.txt, mail ada@example.org, '
                  'see https://example.org/x, flight AF123, code CDG')
    assert ("quoted", "error budget") in kinds
    assert ("path", "notes/todo.txt") in kinds
    assert ("email", "ada@example.org") in kinds
    assert ("url", "https://example.org/x") in kinds
    assert ("code", "AF123") in kinds and ("code", "CDG") in kinds


def test_expressions() -> None:
    assert found("what is 15% of 240") == [("expression", "15% of 240")]
    assert found("calculate (2+3)*4^2 please") == [("expression", "(2+3)*4^2")]


def test_stemmer() -> None:
    assert stem("flights") == stem("flight") == "flight"
    assert stem("converting") == "convert"
    assert stem("cities") == "city"
    assert stem("bus") == "bus"
