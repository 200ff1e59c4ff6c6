"""Re-planning after a tool refused its input: what failed, and what need not run again."""

from __future__ import annotations

import json
from typing import Any

from agent.refs import call_refs, pointer_get
from agent.types import ToolResult

from .plan import Call, Plan


def refused(results: list[ToolResult]) -> set[str]:
    """Tools that failed on their own input. Refused approvals and calls not run because
    what they needed failed are not evidence against a tool."""
    return {r.name for r in results if r.status == "error" and r.error
            and not r.error.startswith(("not run:", "the user did not approve"))
            and "needs approval" not in r.error}


def reuse(plan: Plan, results: list[ToolResult],
          retry: Plan) -> tuple[dict[str, ToolResult], list[Call]]:
    """Calls of ``retry`` that already succeeded (by id -> result), and the ones to run, with
    references to reused calls replaced by their recorded outputs."""
    done = {_key(c.name, c.args): r for c, r in zip(plan.calls, results, strict=True)
            if r.ok and not call_refs({"args": c.args})}
    reused: dict[str, ToolResult] = {}
    todo = []
    for call in retry.calls:
        hit = done.get(_key(call.name, call.args))
        if hit is not None:
            reused[call.id] = hit
        else:
            call.args = _resolve(call.args, reused)
            todo.append(call)
    return reused, todo


def _key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True, default=str)


def _resolve(args: Any, reused: dict[str, ToolResult]) -> Any:
    """Replace references to calls that are not run again by their recorded outputs."""
    if isinstance(args, dict):
        target = args.get("$ref") if len(args) == 1 else None
        if isinstance(target, str):
            call_id, _, pointer = target.partition("#")
            if call_id in reused:
                try:
                    return pointer_get(reused[call_id].content, pointer)
                except LookupError:
                    return args
            return args
        return {k: _resolve(v, reused) for k, v in args.items()}
    if isinstance(args, list):
        return [_resolve(v, reused) for v in args]
    return args
