"""Sample argument values from JSON Schemas, reproducibly (a ``random.Random`` per example).

What a schema says is used in this order: ``const``, ``enum``, ``examples`` (only those that
validate), ``format`` (date, date-time, time, email, uuid), ``pattern`` (a matching string,
via ``rstr``), numeric ranges (``minimum``/``maximum``/``exclusive*``/``multipleOf``),
``default``. A free-text string with none of these cannot be sampled into anything a tool
would accept ("expression", "path"), so ``can_sample`` says no and the tool is only used
where a chain produces that value. Dates fall in ``formatMinimum``..``formatMaximum`` when
the schema gives them (ajv's keywords), else in 2026: never the clock, so a seed always
gives the same values.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

DATE_RANGE = (date(2026, 1, 1), date(2026, 12, 31))
FORMATS = frozenset({"date", "date-time", "time", "email", "uuid"})
_NAMES = ("alex", "maria", "sam", "lena", "omar", "yuki", "noah", "ines", "tom", "ada")
_DOMAINS = ("example.com", "example.org", "mail.example.net")
_INT_RANGE = (1, 100)
_NUMBER_RANGE = (1.0, 1000.0)


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [k for k in kind if k != "null"] or ["null"]
    if isinstance(kind, str):
        return [kind]
    return []


def _branch(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            usable = [b for b in branches if isinstance(b, Mapping) and _types(b) != ["null"]]
            if usable:
                return usable[0]
    return None


def can_sample(schema: Any) -> bool:
    """Whether ``sample`` gives values a tool would plausibly accept."""
    if not isinstance(schema, Mapping):
        return False
    if "const" in schema or schema.get("enum") or _valid_examples(_key(schema)):
        return True
    branch = _branch(schema)
    if branch is not None:
        return can_sample(branch)
    kinds = _types(schema)
    kind = kinds[0] if kinds else None
    if kind == "string":
        return (schema.get("format") in FORMATS or "pattern" in schema
                or "default" in schema)
    if kind in ("integer", "number", "boolean", "null"):
        return True
    if kind == "array":
        items = schema.get("items")
        return isinstance(items, Mapping) and can_sample(items)
    if kind == "object":
        props = schema.get("properties") or {}
        return all(can_sample(props.get(r)) for r in schema.get("required") or ())
    return "default" in schema


def sample(schema: Mapping[str, Any], rng: random.Random) -> Any:
    """One value for ``schema``; ``can_sample(schema)`` should be true."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    examples = _valid_examples(_key(schema))
    if examples:
        return json.loads(rng.choice(examples))
    branch = _branch(schema)
    if branch is not None:
        return sample(branch, rng)
    kinds = _types(schema)
    kind = kinds[0] if kinds else None
    if kind == "string":
        return _string(schema, rng)
    if kind == "integer":
        return _integer(schema, rng)
    if kind == "number":
        return _number(schema, rng)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = max(low, min(int(schema.get("maxItems", low + 2)), low + 2))
        items = schema.get("items") or {}
        return [sample(items, rng) for _ in range(rng.randint(max(low, 1), max(high, 1)))]
    if kind == "object":
        props = schema.get("properties") or {}
        return {r: sample(props[r], rng) for r in schema.get("required") or () if r in props}
    return schema.get("default")


def _string(schema: Mapping[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt in ("date", "date-time"):
        low = _as_date(schema.get("formatMinimum"), DATE_RANGE[0])
        high = _as_date(schema.get("formatMaximum"), DATE_RANGE[1])
        day = low + timedelta(days=rng.randint(0, max((high - low).days, 0)))
        if fmt == "date":
            return day.isoformat()
        return f"{day.isoformat()}T{rng.randint(6, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
    if fmt == "time":
        return f"{rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
    if fmt == "email":
        return f"{rng.choice(_NAMES)}.{rng.choice(_NAMES)}@{rng.choice(_DOMAINS)}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if "pattern" in schema:
        return _from_pattern(schema["pattern"], rng)
    default = schema.get("default")
    return str(default) if default is not None else ""


def _from_pattern(pattern: str, rng: random.Random) -> str:
    """A string matching ``pattern``; whitespace classes give plain spaces, trimmed, when
    that still matches (``\\s*`` would otherwise yield tabs and form feeds)."""
    import re

    import rstr

    raw = str(rstr.Rstr(rng).xeger(pattern))
    tidy = re.sub(r"\s+", " ", raw).strip()
    return tidy if re.search(pattern, tidy) else raw


def _as_date(value: Any, fallback: date) -> date:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return fallback
    return fallback


def _bounds(schema: Mapping[str, Any], fallback: tuple[float, float],
            step: float) -> tuple[float, float]:
    low: float | None = _num(schema.get("minimum"))
    high: float | None = _num(schema.get("maximum"))
    if _num(schema.get("exclusiveMinimum")) is not None:
        low = float(schema["exclusiveMinimum"]) + step
    if _num(schema.get("exclusiveMaximum")) is not None:
        high = float(schema["exclusiveMaximum"]) - step
    if low is None and high is None:
        return fallback
    if low is None:
        assert high is not None
        low = min(fallback[0], high)
    if high is None:
        high = low + (fallback[1] - fallback[0])
    return low, max(high, low)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(schema: Mapping[str, Any], rng: random.Random) -> int:
    low, high = _bounds(schema, _INT_RANGE, 1)
    lo, hi = int(-(-low // 1)), int(high // 1)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int) and multiple > 0:
        first, last = -(-lo // multiple), hi // multiple
        if first <= last:
            return rng.randint(first, last) * multiple
    return rng.randint(lo, max(hi, lo))


def _number(schema: Mapping[str, Any], rng: random.Random) -> float | int:
    low, high = _bounds(schema, _NUMBER_RANGE, 0.01)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        first, last = int(-(-low // multiple)), int(high // multiple)
        if first <= last:
            return round(rng.randint(first, last) * multiple, 10)
    value = round(rng.uniform(low, high), 2)
    return min(max(value, low), high)


@lru_cache(maxsize=4096)
def _valid_examples(key: str) -> tuple[str, ...]:
    """The schema's ``examples`` that validate against it (as JSON text, hashable)."""
    schema = json.loads(key)
    examples = schema.get("examples")
    if not isinstance(examples, list) or not examples:
        examples = described_examples(schema.get("description"))
    if not examples:
        return ()
    from jsonschema import Draft202012Validator

    bare = {k: v for k, v in schema.items() if k != "examples"}
    validator = Draft202012Validator(bare)
    return tuple(json.dumps(e) for e in examples if validator.is_valid(e))


_EXAMPLE_CUE = re.compile(r"\b(?:e\.g\.|for example|such as)[,:]?\s*(.*)", re.I | re.S)
_QUOTED = re.compile(r'"([^"\n]{1,200})"')
_NUM = r"-?\d+(?:\.\d+)?"
_NUMBER = re.compile(_NUM)
# "10, 2.5 or 100": numbers joined by ", " / "or" / "and" ("1,000" is one number, not two)
_NUMBERS = re.compile(rf"{_NUM}(?:(?:,\s+|,?\s+(?:or|and)\s+){_NUM})*")


def described_examples(description: Any) -> list[Any]:
    """Examples written in a parameter's description: ``e.g. "km" or "degC"`` -> ["km",
    "degC"], ``e.g. 10, 2.5 or 100`` -> [10, 2.5, 100]. Tool authors write them far more
    often than ``examples``; each is still validated against the schema before it is used."""
    if not isinstance(description, str):
        return []
    cue = _EXAMPLE_CUE.search(description)
    if cue is None:
        return []
    tail = cue.group(1)
    quoted = _QUOTED.findall(tail)
    if quoted:
        return list(dict.fromkeys(quoted))
    numbers = _NUMBERS.match(tail.strip())
    if numbers is None:
        return []
    found = _NUMBER.findall(numbers.group(0))
    return list(dict.fromkeys(float(t) if "." in t else int(t) for t in found))


def _key(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)
