"""``agent datasets stats``: examples per tool and source, calls per example, lengths."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

from agent.cli import print_json
from agent.commands.export import filter_from_args
from agent.render import default_console
from agent.store import TraceStore

_MEASURE_LABELS = {"calls": "tool calls", "messages": "messages", "chars": "characters",
                   "tools_offered": "tools offered"}


def _counts(title: str, counts: dict[str, int]) -> str:
    return f"{title}: " + ", ".join(f"{escape(k)} {v}" for k, v in counts.items())


def _render(stats: dict[str, Any], described: str) -> None:
    console = default_console()
    console.print(f"examples: {stats['examples']}  ({escape(described)})", highlight=False)
    for key in ("by_source", "by_status", "by_planner"):
        console.print(_counts(key.removeprefix("by_"), stats[key]), highlight=False)
    per = Table(box=None, pad_edge=False, show_edge=False)
    per.add_column("per example")
    for col in ("mean", "median", "p90", "min", "max"):
        per.add_column(col, justify="right")
    for name, values in stats["per_example"].items():
        per.add_row(_MEASURE_LABELS.get(name, name),
                    *(str(values[c]) for c in ("mean", "median", "p90", "min", "max")))
    console.print()
    console.print(per)
    tools = Table(box=None, pad_edge=False, show_edge=False)
    for col, justify in (("tool", "left"), ("examples", "right"), ("calls", "right")):
        tools.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, counts in stats["tools"].items():
        tools.add_row(escape(name), str(counts["examples"]), str(counts["calls"]))
    console.print()
    console.print(tools if stats["tools"] else "no tool calls")


def stats(args: argparse.Namespace) -> int:
    from agent.export import NothingToExportError, dataset_stats

    run_filter = filter_from_args(args)
    with TraceStore(args.db) as store:
        result = dataset_stats(store.scan(run_filter))
        if not result["examples"]:
            raise NothingToExportError(
                f"no runs match {run_filter.describe()} in {store.path} "
                f"({store.count_runs()} runs in all): loosen the filters (e.g. --status any)"
            )
    if args.json:
        print_json(result)
    else:
        _render(result, run_filter.describe())
    return 0
