"""The dataflow planner's answer in words: each goal's result, or which call failed and why."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent.types import Answer, ToolResult

if TYPE_CHECKING:
    from .dataflow import Plan


def no_tool_answer(query: str) -> str:
    return (f"None of the available tools fits {query!r}. Try `agent tools` to see what they "
            "can do, or rephrase the request in their terms.")


def summarize(plan: Plan, results: list[ToolResult]) -> Answer:
    """The goals' results in words; a failure names the call that failed and why."""
    by_id = {r.call_id: r for r in results}
    failed = [r for r in results if not r.ok]
    if failed:
        lines = [f"{r.name} (call {r.call_id}) failed: {r.error}" for r in failed]
        return Answer("\n".join(lines), data=[r.content for r in results], status="error")
    lines, data = [], []
    for goal in plan.goals:
        r = by_id[goal.id]
        data.append(r.content)
        lines.append(f"{goal.name}: {describe(r.content)}")
    return Answer("\n".join(lines), data=data[0] if len(data) == 1 else data)


def describe(content: Any, limit: int = 400) -> str:
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return content["text"]
        text = ", ".join(f"{k}={_short(v)}" for k, v in content.items())
    elif isinstance(content, list):
        text = "; ".join(_short(v) for v in content[:5]) + (
            f" (+{len(content) - 5} more)" if len(content) > 5 else "")
    else:
        text = str(content)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(v: Any) -> str:
    if isinstance(v, dict | list):
        s = json.dumps(v, ensure_ascii=False, default=str)
        return s if len(s) <= 80 else s[:79] + "…"
    return str(v)
