"""The ``compiler`` plan as a llama.cpp grammar (GBNF), for models that decode under one.

A small model asked for LLMCompiler's numbered plan often answers the question instead
("12 * 7 = 88") and no task runs. A model that accepts a grammar (``accepts_grammar``, the
embedded ``local:`` model) is held to the format: tasks numbered from 1, each a call of a
shown tool with its required arguments (then optional ones), each value of its parameter's
type or enum, or a ``$N`` reference; the last line ``N. join()``; at least one task, at most
``max_tasks``. What a line means is still checked by ``parse_line`` and the executor: the
grammar only shapes the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from agent.types import Tool

#: Tasks a plan under the grammar may have at most: a small model held to the format rarely
#: writes ``join()`` on its own, and repeats its last task until the grammar ends the plan.
GRAMMAR_TASKS = 8

_VALUES = r'''
value ::= ref | string | number | "true" | "false" | "null" | array | object
ref ::= "$" [1-9] [0-9]? ("." [a-zA-Z_] [a-zA-Z0-9_]* | "[" [0-9] [0-9]? "]"){0,3}
string ::= "\"" ([^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt]){0,200} "\""
number ::= integer ("." [0-9]{1,10})?
integer ::= "-"? [0-9] [0-9]{0,15}
array ::= "[" (value (", " value){0,15})? "]"
object ::= "{" (string ": " value (", " string ": " value){0,15})? "}"
'''


def plan_grammar(tools: Iterable[Tool], max_tasks: int) -> str:
    """GBNF for a plan of 1 to ``max_tasks`` calls of ``tools``, then ``join()``."""
    shown = list(tools)
    if not shown:
        raise ValueError("a plan grammar needs at least one tool")
    body = ["root ::= line1", *_lines(max(1, max_tasks))]
    calls = []
    for i, tool in enumerate(shown):
        schema = tool.parameters or {}
        params: dict[str, Any] = schema.get("properties") or {}
        required = [p for p in schema.get("required") or () if p in params]
        optional = [p for p in params if p not in required]
        if optional:
            body.append(f"opt{i} ::= " + " | ".join(_arg(p, params[p]) for p in optional))
        body.append(f"call{i} ::= {json.dumps(f'{tool.name}(')} "
                    f"{_arguments(i, params, required, len(optional))} \")\"")
        calls.append(f"call{i}")
    body.append("call ::= " + " | ".join(calls))
    return "\n".join(body) + _VALUES


def _arg(name: str, spec: Any) -> str:
    return f"{json.dumps(f'{name}=')} {_typed(spec)}"


def _arguments(i: int, params: dict[str, Any], required: list[str], optional: int) -> str:
    """Keyword arguments: each required one once, in the schema's order, then up to as many
    optional ones (``opt{i}``) as there are."""
    text = ' ", " '.join(_arg(p, params[p]) for p in required)
    if not optional:
        return text or '""'
    if text:
        return f'{text} (", " opt{i}){{0,{optional}}}'
    return f'(opt{i} (", " opt{i}){{0,{optional - 1}}})?'


_BY_TYPE = {"string": "string", "number": "number", "integer": "integer",
            "boolean": '("true" | "false")', "array": "array", "object": "object",
            "null": '"null"'}


def _typed(spec: Any) -> str:
    """The values a parameter's schema allows (its enum, its type), or a reference."""
    if not isinstance(spec, dict):
        return "value"
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        options = " | ".join(json.dumps(json.dumps(v)) for v in spec["enum"])
        return f"(ref | {options})"
    kind = spec.get("type")
    kinds = [str(k) for k in (kind if isinstance(kind, list) else [kind])]
    if not kinds or not all(k in _BY_TYPE for k in kinds):
        return "value"
    return "(ref | " + " | ".join(_BY_TYPE[k] for k in kinds) + ")"


def _lines(count: int) -> list[str]:
    """``line1`` .. ``lineN``: task N, then ``N+1. join()`` or task N+1 (at most ``count``)."""
    out = []
    for n in range(1, count + 1):
        end = f'"{n + 1}. join()"'
        rest = f"{end} | line{n + 1}" if n < count else end
        out.append(f'line{n} ::= "{n}. " call "\\n" ({rest})')
    return out
