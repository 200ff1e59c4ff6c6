"""``agent planners``: the planners the installed plugins offer, and their options."""

from __future__ import annotations

import argparse
from typing import Any

from agent.cli import print_json
from agent.config import load_config
from agent.planner_options import option_defaults
from agent.registry import build_registry


def list_planners(args: argparse.Namespace) -> int:
    """Print each planner, its description, plugin and options: defaults, and the values
    ``[planners.NAME]`` in agent.toml sets (with where) (``--json``)."""
    reg = build_registry()
    config = load_config()
    rows: list[dict[str, Any]] = []
    for name, entry in sorted(reg.planners.items()):
        defaults = option_defaults(entry.factory)
        set_here = config.planners.get(name, {})
        options: dict[str, Any] = {}
        for option, default in (defaults or {}).items():
            options[option] = {"default": default}
            if option in set_here:
                options[option].update(value=set_here[option].value,
                                       source=set_here[option].source)
        rows.append({"name": name, "plugin": entry.plugin, "description": entry.description,
                     "options": options if defaults is not None else None})
    default = config.settings["planner"]
    if args.json:
        print_json({"default": default.value, "planners": rows})
        return 0
    from rich.markup import escape
    from rich.table import Table

    from agent.render import default_console

    console = default_console()
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("planner", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column(escape("options (-o KEY=VALUE, [planners.NAME] in agent.toml)"))
    table.add_column("plugin", style="dim")
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["description"] or ""),
                      escape(_options(row["options"])), escape(row["plugin"] or ""))
    console.print(table)
    console.print(f"[dim]default:[/] {escape(str(default.value))} (from "
                  f"{escape(default.source)})", highlight=False)
    return 0


def _options(options: dict[str, Any] | None) -> str:
    if options is None:
        return "(not known: see the planner's documentation)"
    parts = []
    for name, info in options.items():
        if "value" in info:
            parts.append(f"{name}={info['value']!r} (default {info['default']!r}; "
                         f"{info['source']})")
        else:
            parts.append(f"{name}={info['default']!r}")
    return ", ".join(parts) or "none"
