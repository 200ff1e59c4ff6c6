"""``agent traces list|show|search|delete``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

from agent.cli import print_json
from agent.render import default_console, ms, preview, short_id, status, trace_tree, when
from agent.store import TraceStore


def _store(args: argparse.Namespace) -> TraceStore:
    return TraceStore(args.db)


def _table(runs: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("run", "started", "status", "planner", "calls", "time"):
        table.add_column(col, no_wrap=True)
    table.add_column("query", min_width=24, no_wrap=True, overflow="ellipsis")
    for r in runs:
        table.add_row(short_id(r["id"]), when(r.get("started_at")), status(r.get("status")),
                      escape(r.get("planner") or "-"), str(r.get("tool_call_count", "")),
                      ms(r.get("duration_ms")), escape(preview(r.get("query") or "", 60)))
    return table


def list_runs(args: argparse.Namespace) -> int:
    with _store(args) as store:
        runs = store.list_runs(limit=args.limit, status=args.status)
    if args.json:
        print_json(runs)
    elif not runs:
        print("no runs recorded yet")
    else:
        default_console().print(_table(runs))
    return 0


def show(args: argparse.Namespace) -> int:
    with _store(args) as store:
        run = store.get_run(args.run_id)
    if args.json:
        print_json(run)
    else:
        default_console().print(trace_tree(run), highlight=False)
    return 0


def search(args: argparse.Namespace) -> int:
    with _store(args) as store:
        runs = store.search(args.text, limit=args.limit)
    if not runs:
        print(f"no run matches {args.text!r}")
        return 1
    default_console().print(_table(runs))
    return 0


def delete(args: argparse.Namespace) -> int:
    with _store(args) as store:
        run_id = store.delete_run(args.run_id)
    print(f"deleted run {run_id}")
    return 0
