"""Programmatic examples (SambaNova ToolBench style): fill a spec's template with sampled
values and run its gold plan for real, so every example carries real outputs.

``generate_one`` is the unit of work an engine maps over: plain data in, plain data out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from agent.types import Tool

from .sampling import sample
from .templates import render, render_value
from .worker import capture, registry_for, sandbox_for

MAX_RESAMPLE = 8


def derived_rng(seed: int | str, index: int, purpose: str) -> random.Random:
    """A generator for one example and one purpose: independent of how work is spread."""
    return random.Random(f"{seed}:{index}:{purpose}")


def _props(tool: Tool) -> dict[str, Any]:
    return dict(tool.parameters.get("properties") or {})


def sample_example(spec: Mapping[str, Any], tools: Mapping[str, Tool],
                   rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """(query, plan) for ``spec``: sampled literals, ``$ref``s, the template filled in."""
    from agent.planners.concepts import param_concept

    calls = spec["calls"]
    target = calls[-1]
    args: dict[str, dict[str, Any]] = {c["id"]: {} for c in calls}
    used: dict[str, set[str]] = {}  # concept -> values said already: "from Paris to Paris" no
    for call in reversed(calls):  # the target first: producers share its values
        schema = _props(tools[call["name"]])
        for param in call["literal"]:
            if param in call["share"] and param in args[target["id"]]:
                args[call["id"]][param] = args[target["id"]][param]
                continue
            concept = param_concept(param, schema[param])
            seen = used.setdefault(concept, set())
            value = sample(schema[param], rng)
            for _ in range(MAX_RESAMPLE):
                if repr(value) not in seen:
                    break
                value = sample(schema[param], rng)
            seen.add(repr(value))
            args[call["id"]][param] = value
    plan = []
    for call in calls:
        full = dict(args[call["id"]])
        full.update({p: {"$ref": ref} for p, ref in call["refs"].items()})
        plan.append({"id": call["id"], "name": call["name"], "args": full})
    by_id = {c["id"]: c for c in calls}

    def said(call_id: str, param: str) -> str:
        call = by_id[call_id]
        lookup = call["mentions"].get(param)
        if lookup is not None:  # an identifier said by what it is looked up from
            return render_value(next(iter(args[lookup].values())))
        return render_value(args[call_id][param])

    values = {name: said(call_id, param) for name, (call_id, param) in spec["fields"].items()}
    query = render(spec["template"], values)
    return query[:1].upper() + query[1:], plan


def check_literals(tool: Tool, args: Mapping[str, Any]) -> str | None:
    """Validate a call before it runs; referenced arguments are checked once resolved."""
    from agent.schema import compile_validator, explain

    literal = {k: v for k, v in args.items()
               if not (isinstance(v, dict) and set(v) == {"$ref"})}
    if len(literal) == len(args):
        if tool.is_valid(literal):
            return None
        field, message = explain(tool.validator, literal)
    else:
        schema = dict(tool.parameters)
        schema["required"] = [r for r in schema.get("required") or () if r in literal]
        props = dict(schema.get("properties") or {})
        for name in set(args) - set(literal):
            props.pop(name, None)
        schema["properties"] = props
        validator = compile_validator(schema, tool.name)
        if validator.is_valid(literal):
            return None
        field, message = explain(validator, literal)
    return f"{tool.name}: {field + ': ' if field else ''}{message}"


def generate_one(item: dict[str, Any]) -> dict[str, Any]:
    """One example: sample, validate, execute the gold plan; a failure is reported, not raised.

    ``item``: ``seed``, ``index``, ``spec`` (from ``build_catalog``), ``setup``
    (``make_setup``) and ``side_effects`` (approve tools with side effects).
    """
    from agent.runtime import Agent

    index, spec = item["index"], item["spec"]
    registry = registry_for(item["setup"])
    tools = {n: registry.tools[n] for n in spec["tools"] if n in registry.tools}
    record: dict[str, Any] = {"index": index, "tool": spec["tool"], "tools": spec["tools"],
                              "calls": [c["name"] for c in spec["calls"]]}
    missing = sorted(set(spec["tools"]) - set(tools))
    if missing:
        return {**record, "status": "failed", "reason": f"tool(s) not registered: {missing}"}
    query, plan = sample_example(spec, tools, derived_rng(item["seed"], index, "args"))
    record["query"] = query
    for call in plan:
        problem = check_literals(tools[call["name"]], call["args"])
        if problem is not None:
            return {**record, "status": "invalid", "reason": problem}
    agent = Agent(list(tools.values()), store=False, registry=registry,
                  settings=sandbox_for(item["setup"]),
                  approve=True if item.get("side_effects") else None)
    recorder = capture(agent)
    run = asyncio.run(agent.run_plan(plan, query=query))
    if run.status != "ok":
        failed = next((r for r in run.results if not r.ok), None)
        reason = f"{failed.name}: {failed.error}" if failed else (run.error or run.status)
        return {**record, "status": "failed", "reason": reason}
    return {**record, "status": "ok", "plan": plan, "ops": recorder.ops()}
