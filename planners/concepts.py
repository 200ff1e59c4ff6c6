"""What tools consume and produce, as concepts: the types the dataflow planner chains on.

A parameter or output field names its concept with the JSON Schema annotation ``x-type``
(``"x-type": "airport_code"``). Without one, the concept is inferred from the name: role
words are dropped (``origin_city`` and ``destination_city`` both consume a ``city``), and the
last word is singularised (``airports`` -> ``airport``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.types import Tool

from .text import split_identifier, stem

ROLE_FROM = frozenset({"from", "origin", "source", "src", "departure", "depart", "start",
                       "begin", "base", "sender", "leaving", "old", "input", "first", "since",
                       "check_in", "outbound"})
ROLE_TO = frozenset({"to", "destination", "dest", "target", "arrival", "arrive", "end",
                     "finish", "recipient", "into", "new", "output", "second", "until",
                     "check_out", "return", "quote"})
ROLE_WORDS = ROLE_FROM | ROLE_TO | frozenset({"min", "max", "minimum", "maximum", "check", "in",
                                              "out", "at", "of", "the", "for", "by"})
IDENTIFIER_WORDS = frozenset({"code", "id", "uuid", "key", "iata", "icao", "isbn", "sku",
                              "number", "ref", "reference", "slug", "handle"})


# Words people use for what something costs, and for "per unit" (a rate, not a total).
PRICE_WORDS = frozenset({"price", "cost", "fare", "fee", "charge", "pay", "spend"})
PER_WORDS = frozenset({"per", "each", "every", "nightly", "daily", "weekly", "monthly",
                       "hourly", "apiece"})


def field_named(field: str, stems: set[str] | list[str]) -> bool:
    """Does the text (its stems) name a field: ``price`` for ``price``, ``total_price`` or a
    ``"cost"``; ``date`` for ``departure_date``? The head word counts (the word before
    ``per``, else the last), and all the words people use for a price are one."""
    names = _field_names(field)
    if names is None:
        return False
    whole, head = names
    said = set(stems)
    if whole in said or head in said:
        return True
    return head in PRICE_WORDS and bool(said & PRICE_WORDS)


@lru_cache(maxsize=4096)
def _field_names(field: str) -> tuple[str, str] | None:
    """The stems ``field_named`` looks for: the whole name's and the head word's (None for a
    name without words). A function of the name alone, so kept per name."""
    parts = [stem(w) for w in split_identifier(field)]
    if not parts:
        return None
    return stem(field), parts[parts.index("per") - 1] if "per" in parts[1:] else parts[-1]


def is_rate(field: str) -> bool:
    """``price_per_night`` is a rate; ``total_price`` is not."""
    return "per" in split_identifier(field)


def concept_of_name(name: str) -> str:
    """``origin_city`` -> ``city``; ``departure_airport_code`` -> ``airport_code``."""
    parts = split_identifier(name)
    kept = [p for p in parts if p not in ROLE_WORDS] or parts
    kept[-1] = stem(kept[-1])
    return "_".join(kept)


def param_concept(name: str, schema: dict[str, Any]) -> str:
    explicit = schema.get("x-type")
    return explicit if isinstance(explicit, str) else concept_of_name(name)


@lru_cache(maxsize=4096)
def role_of(name: str, description: str = "") -> str | None:
    """``from`` / ``to`` / None, from a parameter's name (and failing that, description)."""
    parts = set(split_identifier(name))
    joined = "_".join(split_identifier(name))
    if parts & ROLE_FROM or "check_in" in joined:
        return "from"
    if parts & ROLE_TO or "check_out" in joined:
        return "to"
    desc = set(split_identifier(description)) if description else set()
    if desc & {"origin", "source", "departure", "departing"}:
        return "from"
    if desc & {"destination", "target", "arrival", "arriving"}:
        return "to"
    return None


def expects_identifier(concept: str) -> bool:
    """A code or an id: a person's words ("Paris") will not do, a producer must find it."""
    return bool(set(concept.split("_")) & IDENTIFIER_WORDS)


@dataclass(frozen=True)
class Output:
    """One field a tool produces: its concept and the JSON Pointer that reaches it."""

    concept: str
    pointer: str
    schema: dict[str, Any]
    many: bool  # reached through an array: the pointer takes the first item


_OUTPUTS: weakref.WeakKeyDictionary[Tool, list[Output]] = weakref.WeakKeyDictionary()


def outputs(tool: Tool) -> list[Output]:
    """Every concept the tool's ``output_schema`` offers (depth-first, first item of arrays),
    read once per tool."""
    cached = _OUTPUTS.get(tool)
    if cached is None:
        schema = tool.output_schema
        cached = _OUTPUTS[tool] = list(_walk(schema, "", None, False)) if schema else []
    return cached


def _walk(schema: dict[str, Any], pointer: str, name: str | None,
          many: bool) -> Iterator[Output]:
    kind = schema.get("type")
    explicit = schema.get("x-type")
    if isinstance(explicit, str):
        yield Output(explicit, pointer, schema, many)
    elif name is not None and kind not in ("object", "array"):
        yield Output(concept_of_name(name), pointer, schema, many)
    if kind == "object" or "properties" in schema:
        for prop, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield from _walk(sub, f"{pointer}/{_escape(prop)}", prop, many)
    elif kind == "array" and isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], f"{pointer}/0", _singular(name), True)


def _singular(name: str | None) -> str | None:
    return stem(name) if name else None


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=16384)
def concepts_match(wanted: str, offered: str) -> float:
    """1.0 for the same concept, 0.6 when the offered one ends the wanted one, else 0.

    (Kept per pair of concepts: a function of the two names alone, asked for every output
    of every tool each time a producer is looked for.)"""
    if wanted == offered:
        return 1.0
    w, o = wanted.split("_"), offered.split("_")
    if w[-1] == o[-1] and (len(w) == 1 or len(o) == 1 or set(w) & set(o[:-1])):
        return 0.6
    return 0.0
