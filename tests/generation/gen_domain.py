"""A small real tool domain for the generation tests, loaded with ``--plugin gen_domain``.

Rail travel: stations are looked up by city (an identifier a person would not say), trains
searched between stations, one train looked up by id (a chain only), a fare computed from a
derived template, a tool that fails on one value, a slow tool (for the kill test), a tool
whose free-text parameter cannot be sampled, and ``gen-scripted``, a scripted chat model
that writes requests and solves them with ``find_station`` (model mode).
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path
from typing import Any

from agent import Tool, ToolError, hookimpl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planners"))

CITIES = ["Oslo", "Bergen", "Lyon", "Graz", "Porto", "Turku", "Gdansk"]
TAGS = ("gentest",)


def _station_code(city: str) -> str:
    return city[:3].upper()


def find_station(city: str) -> dict[str, Any]:
    if city not in CITIES:
        raise ToolError(f"unknown city {city!r}")
    return {"city": city, "stations": [{"code": _station_code(city), "name": f"{city} S"}]}


def train_times(origin: str, destination: str, date: str, seats: int = 1) -> dict[str, Any]:
    digest = hashlib.sha1(f"{origin}{destination}{date}".encode()).hexdigest()
    return {"origin": origin, "destination": destination, "date": date, "seats": seats,
            "trains": [{"id": f"T{int(digest[:4], 16) % 900 + 100}", "departs": "08:15"},
                       {"id": f"T{int(digest[4:8], 16) % 900 + 100}", "departs": "17:40"}]}


def train_info(train_id: str) -> dict[str, Any]:
    if not re.fullmatch(r"T\d{3}", train_id):
        raise ToolError(f"no train {train_id!r}")
    return {"id": train_id, "carriages": int(train_id[1:]) % 9 + 3}


def ticket_price(cabin: str, adults: int, currency: str) -> dict[str, Any]:
    base = {"second": 40, "first": 95}[cabin]
    return {"price": base * adults, "currency": currency}


def echo_word(word: str) -> str:
    if word == "boom":
        raise ToolError("the echo service fell over on 'boom'")
    return word


def slow_square(number: int) -> int:
    time.sleep(0.05)
    return number * number


def evaluate(expression: str) -> str:
    return expression


CITY = {"type": "string", "x-type": "city", "description": "a city", "examples": CITIES}
STATION = {"type": "string", "x-type": "station_code", "pattern": "^[A-Z]{3}$",
           "description": "three-letter station code",
           "examples": [_station_code(c) for c in CITIES]}


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def domain_tools() -> list[Tool]:
    return [
        Tool.from_schema(
            "find_station", "Find the railway stations of a city.", _obj({"city": CITY},
                                                                          ["city"]),
            find_station, tags=TAGS, templates=("Which stations are there in {city}?",),
            output_schema=_obj({"stations": {"type": "array", "items": _obj(
                {"code": {"type": "string", "x-type": "station_code"}}, ["code"])}},
                ["stations"])),
        Tool.from_schema(
            "train_times", "Trains between two stations on a day.", _obj({
                "origin": {**STATION, "description": "departure station"},
                "destination": {**STATION, "description": "arrival station"},
                "date": {"type": "string", "format": "date", "x-type": "date",
                         "formatMinimum": "2027-03-01", "formatMaximum": "2027-03-31"},
                "seats": {"type": "integer", "minimum": 1, "maximum": 4}},
                ["origin", "destination", "date"]),
            train_times, tags=TAGS,
            templates=("Trains from {origin} to {destination} on {date}?",
                       "I need {seats} seats from {origin} to {destination} on {date}."),
            output_schema=_obj({"trains": {"type": "array", "items": _obj(
                {"id": {"type": "string", "x-type": "train_id"}}, ["id"])}}, ["trains"])),
        Tool.from_schema(
            "train_info", "Details of a train by its id.",
            _obj({"train_id": {"type": "string", "x-type": "train_id",
                               "pattern": "^T[0-9]{3}$"}}, ["train_id"]),
            train_info, tags=TAGS,
            templates=("How many carriages has the first train from {train_times.origin} to "
                       "{train_times.destination} on {train_times.date}?",)),
        Tool.from_schema(
            "ticket_price", "Price of rail tickets. Fares are per adult.",
            _obj({"cabin": {"type": "string", "enum": ["second", "first"]},
                  "adults": {"type": "integer", "minimum": 1, "maximum": 6},
                  "currency": {"type": "string", "enum": ["EUR", "NOK", "PLN"]}},
                 ["cabin", "adults", "currency"]),
            ticket_price, tags=TAGS),
        Tool.from_schema(
            "echo_word", "Echo a word.", _obj({"word": {"type": "string", "enum": [
                "alpha", "beta", "gamma", "delta", "boom"]}}, ["word"]),
            echo_word, tags=TAGS, templates=("Say {word}.", "Repeat the word {word} please.")),
        Tool.from_schema(
            "slow_square", "Square a number, slowly.",
            _obj({"number": {"type": "integer", "minimum": 1, "maximum": 100000}},
                 ["number"]),
            slow_square, tags=("slow",), templates=("What is {number} squared?",)),
        Tool.from_schema(
            "evaluate", "Evaluate an expression.",
            _obj({"expression": {"type": "string"}}, ["expression"]), evaluate, tags=TAGS),
    ]


def _respond(messages: list[Any]) -> Any:
    """Write a request (query prompt), or solve one: look the station up, then answer."""
    from scripted import call, say

    system = str(messages[0].content)
    if system.startswith("You write requests"):
        n = int(re.search(r"Variation (\d+)", system).group(1))  # type: ignore[union-attr]
        if "find_station" not in system:
            return say("Please do something with these tools.")
        return say(f"1. \"Which railway stations does {CITIES[n % len(CITIES)]} have?\"")
    query = next(str(m.content) for m in messages if m.type == "human")
    city = next((c for c in CITIES if c in query), None)
    if any(m.type == "tool" for m in messages):
        return say(f"{city} has one station, {_station_code(city or 'x')}.")
    if city is None:
        return call("give_up", {"reason": "no tool fits"})
    return call("find_station", {"city": city})


def gen_scripted() -> Any:
    from scripted import scripted

    return scripted(*([_respond] * 40))


@hookimpl
def register_tools(register: Any) -> None:
    register(domain_tools())


@hookimpl
def register_models(register: Any) -> None:
    register("gen-scripted", gen_scripted, "scripted model for the generation tests")
