"""The JSON Schema of ``agent.toml`` and one-line messages for what does not fit it.

``tomllib`` gives no positions, so ``locate`` finds a key's line by reading the raw text
(table headers, array-of-tables counters, dotted keys); it is only used to point at a line in
an error message, never to read values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

KEYS: dict[str, str] = {
    "model": "default chat model id for planners that need one (see `agent models`)",
    "planner": "default planner name (built in: dataflow, react, dfsdt, compiler)",
    "approval": "[approval] policy = ask|auto|deny, allow = tools approved without asking",
    "http": "[http] allow_private = bool, allow = hosts, IPs, CIDR networks or host:port",
    "openapi": "[[openapi]] tool sources: an OpenAPI spec each",
    "mcp": "[[mcp]] tool sources: an MCP server each",
    "trace_writer": "who writes traces: auto (default), thread or process",
    "planners": "[planners.NAME] options of planner NAME (its constructor's arguments)",
}

_NAMES = {"type": "string", "minLength": 1}
_SOURCES = {"type": "array", "items": {"type": "object"}}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "agent.toml",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "model": {**_NAMES, "description": KEYS["model"]},
        "planner": {**_NAMES, "description": KEYS["planner"]},
        "approval": {
            "type": "object",
            "additionalProperties": False,
            "description": KEYS["approval"],
            "properties": {
                "policy": {"enum": ["ask", "auto", "deny"]},
                "allow": {"type": "array", "items": _NAMES},
            },
        },
        "http": {
            "type": "object",
            "additionalProperties": False,
            "description": KEYS["http"],
            "properties": {
                "allow_private": {"type": "boolean"},
                "allow": {"type": "array", "items": _NAMES},
            },
        },
        # Each source's own keys are checked by its loader (agent.plugins.openapi / mcp_client).
        "openapi": {**_SOURCES, "description": KEYS["openapi"]},
        "mcp": {**_SOURCES, "description": KEYS["mcp"]},
        "trace_writer": {"enum": ["auto", "thread", "process"],
                         "description": KEYS["trace_writer"]},
        # Each planner checks its own options when it is made (Registry.planner).
        "planners": {"type": "object", "additionalProperties": {"type": "object"},
                     "description": KEYS["planners"]},
    },
}

_KIND_WORDS = {
    "string": "a string", "boolean": "true or false", "array": "an array [...]",
    "object": "a table", "integer": "an integer", "number": "a number",
}


def problems(doc: dict[str, Any], text: str) -> list[tuple[int | None, str]]:
    """Every way ``doc`` misfits the schema, as ``(line, message)``, in file order."""
    if fits(doc, SCHEMA):
        return []  # the common case, without importing jsonschema (~50-150 ms at start-up)
    from jsonschema import Draft202012Validator

    found = []
    for err in Draft202012Validator(SCHEMA).iter_errors(doc):
        path = list(err.absolute_path)
        if err.validator == "additionalProperties":
            props = err.schema.get("properties", {})
            for extra in sorted(k for k in err.instance if k not in props):
                key_path = [*path, extra]
                found.append((locate(text, key_path), _unknown(key_path, props)))
            continue
        found.append((locate(text, path), f"{dotted(path) or 'the file'}: {_expected(err)}"))
    return sorted(found, key=lambda p: (p[0] is None, p[0] or 0))


_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "boolean": bool}
_FIT_KEYWORDS = frozenset({"type", "properties", "additionalProperties", "items", "enum",
                           "minLength", "description", "title", "$schema"})


def fits(value: Any, schema: dict[str, Any]) -> bool:
    """A quick "certainly valid" walk of the keywords this schema uses.

    False means "not sure": jsonschema then decides and explains. A keyword it does not
    know makes it answer False, so the schema stays the one source of truth.
    """
    if not _FIT_KEYWORDS.issuperset(schema):
        return False
    kind = schema.get("type")
    if kind is not None and (kind not in _PY_TYPES or not isinstance(value, _PY_TYPES[kind])):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "minLength" in schema and len(value) < schema["minLength"]:
        return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if extra is False and not props.keys() >= value.keys():
            return False
        return all(fits(v, props[k]) if k in props
                   else not isinstance(extra, dict) or fits(v, extra)
                   for k, v in value.items())
    if isinstance(value, list) and "items" in schema:
        return all(fits(v, schema["items"]) for v in value)
    return True


def dotted(path: Sequence[Any]) -> str:
    """``['mcp', 0, 'args']`` -> ``mcp[0].args`` (indices as TOML users count: from 0)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown(path: list[Any], known: Iterable[str]) -> str:
    import difflib

    known = list(known)
    close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    where = f" in [{dotted(path[:-1])}]" if len(path) > 1 else ""
    return f"unknown key {path[-1]!r}{where}; {hint}expected one of: {', '.join(known)}"


def _expected(err: Any) -> str:
    got = _show(err.instance)
    if err.validator == "type":
        kinds = err.validator_value if isinstance(err.validator_value, list) else [
            err.validator_value]
        if err.schema is _SOURCES["items"]:
            return f"expected a table, got {got}"
        if err.schema.get("items") is _SOURCES["items"]:
            return f"expected [[{err.absolute_path[-1]}]] tables (an array of tables), got {got}"
        words = " or ".join(_KIND_WORDS.get(str(k), str(k)) for k in kinds)
        return f"expected {words}, got {got}"
    if err.validator == "enum":
        options = ", ".join(repr(o) for o in err.validator_value)
        return f"expected one of {options}, got {got}"
    if err.validator == "minLength":
        return "must not be empty"
    return str(err.message)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Locating a key in the raw text ----------------------------------------------------------
_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY)


def _parts(dotted_key: str) -> list[str]:
    return [p[1:-1] if p[:1] in "\"'" else p for p in _PART.findall(dotted_key)]


def locate(text: str, path: Sequence[Any]) -> int | None:
    """The 1-based line that defines ``path`` (or its longest defined prefix), else None."""
    index = _index(text)
    parts = tuple(path)
    while parts:
        if parts in index:
            return index[parts]
        parts = parts[:-1]
    return None


@lru_cache(maxsize=8)
def _index(text: str) -> dict[tuple[Any, ...], int]:
    """Every key path the text defines -> the line defining it first (one pass per text)."""
    index: dict[tuple[Any, ...], int] = {}
    counts: dict[tuple[Any, ...], int] = {}
    table: list[Any] = []
    in_string: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if in_string is not None:  # inside a multi-line string: no keys here
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _with_indices(_parts(header.group(2)), counts, header.group(1) == "[[")
            here = table
        else:
            assign = _ASSIGN.match(line)
            if assign is None:
                continue
            here = table + _parts(assign.group(1))
            rest = line[assign.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
        for n in range(1, len(here) + 1):
            index.setdefault(tuple(here[:n]), lineno)
    return index


def _with_indices(parts: list[str], counts: dict[tuple[Any, ...], int],
                  array: bool) -> list[Any]:
    """A header's path with array-of-tables indices: ``[[mcp]]`` twice -> ``['mcp', 1]``."""
    out: list[Any] = []
    for i, part in enumerate(parts):
        out.append(part)
        key = tuple(out)
        if array and i == len(parts) - 1:
            counts[key] = counts.get(key, -1) + 1
        if key in counts:
            out.append(counts[key])
    return out
