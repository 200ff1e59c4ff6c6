"""``agent datasets stats``: what an export of the same filters would hold, in numbers.

One streaming pass: counters per tool, source, status and planner, and one machine integer
per example and measure (kept in ``array``s for the medians), so 100,000 runs cost a few MB.
Lengths are counted on the exported (OpenAI-shaped) messages: characters of every content
and every call's arguments.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from agent.store.scan import run_source

from .openai import openai_messages

MEASURES = ("calls", "messages", "chars", "tools_offered")


def summary(values: array[int]) -> dict[str, float | int]:
    """mean, median, p90 (nearest rank), min and max of a list of counts."""
    if not values:
        return {"mean": 0, "median": 0, "p90": 0, "min": 0, "max": 0}
    ordered = sorted(values)
    n = len(ordered)

    def rank(q: float) -> int:
        return ordered[min(n - 1, max(0, math.ceil(q * n) - 1))]

    return {"mean": round(sum(ordered) / n, 2), "median": rank(0.5), "p90": rank(0.9),
            "min": ordered[0], "max": ordered[-1]}


def dataset_stats(runs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Examples per source/status/planner, per tool (examples using it, calls), and the
    distributions of calls, messages, characters and offered tools per example."""
    sources: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    planners: Counter[str] = Counter()
    tool_examples: Counter[str] = Counter()
    tool_calls: Counter[str] = Counter()
    calls_histogram: Counter[int] = Counter()
    measures = {name: array("q") for name in MEASURES}
    examples = 0
    for run in runs:
        messages = openai_messages(run.get("messages") or ())
        if not messages:
            continue
        examples += 1
        sources[str(run_source(run) or "-")] += 1
        statuses[str(run.get("status") or "-")] += 1
        planners[str(run.get("planner") or "-")] += 1
        calls = 0
        chars = 0
        used: set[str] = set()
        for message in messages:
            chars += len(message.get("content") or "")
            for call in message.get("tool_calls") or ():
                calls += 1
                name = call["function"]["name"]
                used.add(name)
                tool_calls[name] += 1
                chars += len(call["function"]["arguments"])
        tool_examples.update(used)
        calls_histogram[calls] += 1
        measures["calls"].append(calls)
        measures["messages"].append(len(messages))
        measures["chars"].append(chars)
        measures["tools_offered"].append(len(run.get("tools") or ()))
    tools = {name: {"examples": tool_examples[name], "calls": count}
             for name, count in sorted(tool_calls.items(), key=lambda kv: (-kv[1], kv[0]))}
    return {
        "examples": examples,
        "by_source": dict(sources.most_common()),
        "by_status": dict(statuses.most_common()),
        "by_planner": dict(planners.most_common()),
        "tools": tools,
        "per_example": {name: summary(values) for name, values in measures.items()},
        "calls_histogram": {str(k): calls_histogram[k] for k in sorted(calls_histogram)},
    }
