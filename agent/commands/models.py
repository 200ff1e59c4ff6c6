"""``agent models``: the chat models (and model-id prefixes) the installed plugins offer."""

from __future__ import annotations

import argparse

from agent.cli import print_json
from agent.config import load_config
from agent.models import DEFAULT_MODEL_ENV
from agent.models import list_models as model_rows
from agent.registry import build_registry


def list_models(args: argparse.Namespace) -> int:
    """Print every model id or prefix, its description and its plugin (``--json``)."""
    reg = build_registry()
    rows = model_rows(reg)
    setting = load_config().settings["model"]  # $AGENT_MODEL > ./agent.toml > home file
    default = setting.value
    if getattr(args, "json", False):
        print_json({"default": default,
                    "models": [{"id": r.id, "plugin": r.plugin, "description": r.description}
                               for r in rows]})
        return 0
    from rich.markup import escape
    from rich.table import Table

    from agent.commands.tools import _print_problems
    from agent.render import default_console

    console = default_console()
    if not rows:
        console.print("no models installed: planners that need one will not work "
                      "(see `agent plugins`)", highlight=False)
    else:
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("model", style="bold cyan", no_wrap=True)
        table.add_column("description")
        table.add_column("plugin", style="dim")
        for r in rows:
            shown = f"{r.id}..." if r.id.endswith(":") else r.id
            table.add_row(escape(shown), escape(r.description), escape(r.plugin or ""))
        console.print(table)
    where = (f"{escape(default)} (from {escape(setting.source)})" if default
             else f"none (set model in agent.toml or ${DEFAULT_MODEL_ENV}, or pass --model ID)")
    console.print(f"[dim]default:[/] {where}", highlight=False)
    _print_problems(console, reg)
    return 0
