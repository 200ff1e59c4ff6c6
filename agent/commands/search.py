"""``agent tools search "QUERY"``: the tools that fit a query, best first."""

from __future__ import annotations

import argparse

from agent.cli import print_json
from agent.registry import build_registry
from agent.retrieval import DEFAULT_RETRIEVER, retriever_for


def search_tools(args: argparse.Namespace) -> int:
    """Rank the installed tools for ``args.query`` (``-k``, ``--json``, ``--retriever``)."""
    from agent.errors import UsageError

    k = getattr(args, "k", 10)
    if k < 1:
        raise UsageError("-k must be at least 1")
    reg = build_registry()
    retriever = retriever_for(reg.tools, getattr(args, "retriever", None) or DEFAULT_RETRIEVER,
                              registry=reg)
    hits = retriever.search(args.query, k)
    if getattr(args, "json", False):
        print_json([{"name": h.tool.name, "score": round(h.score, 4),
                     "description": h.tool.description, "plugin": h.tool.plugin}
                    for h in hits])
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not hits:
        console.print(f"no tool matches {args.query!r}", highlight=False)
        return 0
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("tool", style="bold cyan", no_wrap=True)
    table.add_column("score", justify="right", style="green")
    table.add_column("description")
    for h in hits:
        table.add_row(h.tool.name, f"{h.score:.2f}", h.tool.description or "")
    console.print(table)
    return 0
