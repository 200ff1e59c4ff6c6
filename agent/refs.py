"""Explicit plans: normalise calls, find references between them, order them.

The one reference form: an argument value that is an object with the single key ``$ref``::

    {"$ref": "ID"}              the whole output of the call whose id is ID
    {"$ref": "ID#/a/0/name"}    a part of it, by JSON Pointer (RFC 6901)

A call's id defaults to its 1-based position ("1", "2", ...), so ``{"$ref": "1"}`` means
"the output of the first call", as LLMCompiler's ``$1`` does. Ids may not contain ``#``.
An object that must literally be ``{"$ref": ...}`` is written ``{"$literal": {...}}``.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from typing import Any

from agent.errors import PlanError

REF = "$ref"
LITERAL = "$literal"


class Calls(list[dict[str, Any]]):
    """A plan already normalised: passing it on does not copy it again."""


def normalize_calls(calls: Iterable[Any]) -> Calls:
    """Copy calls into ``{"name", "args", "id"}`` dicts, giving missing ids their position."""
    if isinstance(calls, Calls):
        return calls
    out = Calls()
    seen: set[str] = set()
    for i, call in enumerate(calls, 1):
        if not isinstance(call, Mapping):
            raise PlanError(f"call {i}: expected an object with 'name' and 'args', got {call!r}")
        name = call.get("name")
        if not isinstance(name, str) or not name:
            raise PlanError(f"call {i}: 'name' must be a tool name")
        args = call.get("args", {})
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise PlanError(
                f"call {i} ({name}): 'args' must be an object, got {type(args).__name__}"
            )
        call_id = call.get("id")
        call_id = str(i) if call_id is None else str(call_id)
        if "#" in call_id:
            raise PlanError(f"call {i}: id {call_id!r} may not contain '#'")
        if call_id in seen:
            raise PlanError(f"call {i}: duplicate id {call_id!r}")
        seen.add(call_id)
        out.append({"name": name, "args": dict(args), "id": call_id})
    return out


def has_nested(args: Mapping[str, Any]) -> bool:
    for v in args.values():
        t = type(v)
        if t is dict or t is list:
            return True
    return False


def find_refs(value: Any, found: set[str] | None = None) -> set[str]:
    """The ids of the calls that ``value`` references."""
    found = set() if found is None else found
    if type(value) is dict:
        if len(value) == 1 and REF in value:
            target = value[REF]
            if not isinstance(target, str):
                raise PlanError(
                    f"a reference must be a string like '1' or '1#/field', got {target!r}"
                )
            found.add(target.split("#", 1)[0])
        elif not (len(value) == 1 and LITERAL in value):
            for v in value.values():
                find_refs(v, found)
    elif type(value) is list:
        for v in value:
            find_refs(v, found)
    return found


def call_refs(call: Mapping[str, Any]) -> set[str]:
    args = call["args"]
    return find_refs(args) if has_nested(args) else set()


def pointer_get(doc: Any, pointer: str) -> Any:
    """Resolve a JSON Pointer; raise ``LookupError`` with the failing part."""
    if pointer in ("", "/"):
        return doc
    if not pointer.startswith("/"):
        raise LookupError(f"pointer {pointer!r} must start with '/'")
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, Mapping):
            if part not in doc:
                raise LookupError(f"no key {part!r}")
            doc = doc[part]
        elif isinstance(doc, list):
            try:
                doc = doc[int(part)]
            except (ValueError, IndexError):
                raise LookupError(f"no index {part!r} in a list of {len(doc)}") from None
        else:
            raise LookupError(f"cannot look up {part!r} in a {type(doc).__name__}")
    return doc


def substitute(value: Any, outputs: Mapping[str, Any]) -> Any:
    """Replace references by the outputs they point to (``outputs``: id -> content)."""
    if type(value) is dict:
        if len(value) == 1 and REF in value:
            call_id, _, pointer = value[REF].partition("#")
            try:
                return pointer_get(outputs[call_id], pointer)
            except LookupError as exc:
                raise LookupError(f"reference {value[REF]!r}: {exc}") from None
        if len(value) == 1 and LITERAL in value:
            return value[LITERAL]
        return {k: substitute(v, outputs) for k, v in value.items()}
    if type(value) is list:
        return [substitute(v, outputs) for v in value]
    return value


def plan_order(
    calls: list[dict[str, Any]], serial_groups: list[str | None]
) -> list[list[int]]:
    """Dependencies of each call (indices), refusing unknown references and cycles.

    ``serial_groups[i]`` names the group whose calls must keep their given order (calls on one
    object's methods, calls with side effects); ``None`` means free.
    """
    index = {c["id"]: i for i, c in enumerate(calls)}
    deps: list[list[int]] = []
    last_in_group: dict[str, int] = {}
    for i, call in enumerate(calls):
        mine: set[int] = set()
        for ref in call_refs(call):
            if ref not in index:
                known = ", ".join(repr(k) for k in index)
                raise PlanError(
                    f"call {call['id']!r} ({call['name']}) references unknown call {ref!r}; "
                    f"ids in this plan: {known}"
                )
            mine.add(index[ref])
        group = serial_groups[i]
        if group is not None:
            if group in last_in_group:
                mine.add(last_in_group[group])
            last_in_group[group] = i
        deps.append(sorted(mine))
    if any(deps):
        sorter = graphlib.TopologicalSorter({i: d for i, d in enumerate(deps)})
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = " -> ".join(calls[i]["id"] for i in exc.args[1])
            raise PlanError(f"the plan has a reference cycle: {cycle}") from None
    return deps
