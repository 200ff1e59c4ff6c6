"""Check many related JSON Schemas against the 2020-12 metaschema, each distinct node once.

jsonschema's ``check_schema`` costs about a millisecond per schema node, and the tools of a
big spec repeat the same inlined components again and again: checking each tool's schema
whole takes seconds for a thousand operations. Here each node is checked on its own, with
its sub-schemas left out, and only the first time that shape is seen (by identity, then by
content), which finds exactly the errors a whole check would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONE = ("additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedProperties", "unevaluatedItems", "contentSchema", "items")


class SchemaChecker:
    """Remembers what it has checked; ``error(schema)`` is None or the first problem found."""

    def __init__(self) -> None:
        from jsonschema import Draft202012Validator

        self._meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
        self._seen: dict[int, Any] = {}  # id -> node (kept alive, so ids stay unique)
        self._shapes: set[str] = set()

    def error(self, schema: Any, where: str = "") -> str | None:
        if isinstance(schema, bool):
            return None
        if not isinstance(schema, Mapping):
            return f"{where or 'schema'}: {schema!r} is not a schema (an object or boolean)"
        if id(schema) in self._seen:
            return None
        self._seen[id(schema)] = schema
        children: list[tuple[str, Any]] = []
        shape: dict[str, Any] = {}
        for key, value in schema.items():
            if key in SCHEMA_MAPS and isinstance(value, Mapping):
                shape[key] = {k: {} for k in value}
                children += [(f"{where}.{key}.{k}", v) for k, v in value.items()]
            elif key in SCHEMA_LISTS and isinstance(value, list):
                shape[key] = [{} for _ in value]
                children += [(f"{where}.{key}[{i}]", v) for i, v in enumerate(value)]
            elif key in SCHEMA_ONE and isinstance(value, Mapping | bool):
                shape[key] = {}
                children.append((f"{where}.{key}", value))
            else:
                shape[key] = value
        key = json.dumps(shape, sort_keys=True, default=repr)
        if key not in self._shapes:
            from jsonschema.exceptions import best_match

            problem = best_match(self._meta.iter_errors(shape))
            if problem is not None:
                inner = ".".join(str(p) for p in problem.absolute_path)
                place = ".".join(p for p in (where.lstrip("."), inner) if p) or "the schema"
                return f"invalid JSON Schema at {place}: {problem.message}"
            self._shapes.add(key)
        for path, child in children:
            found = self.error(child, path)
            if found:
                return found
        return None
