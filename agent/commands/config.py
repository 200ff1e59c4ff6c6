"""``agent config show`` and ``agent config schema``: the settings in force and their sources."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent.cli import print_json
from agent.config import Config, describe_source, load_config, redacted_entry


def show(args: argparse.Namespace) -> int:
    """Print every setting with its source (default, FILE:LINE, $VARIABLE) and the sources."""
    config = load_config()
    if args.json:
        print_json(as_json(config))
        return 0
    from rich.markup import escape
    from rich.table import Table

    from agent.render import default_console

    console = default_console()
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("setting", style="bold cyan", no_wrap=True)
    table.add_column("value")
    table.add_column("source", style="dim")
    for key, setting in config.settings.items():
        table.add_row(key, escape(_value(setting.value)), escape(setting.source))
    for name, options in config.planners.items():
        for option, setting in options.items():
            table.add_row(f"planners.{name}.{option}", escape(_value(setting.value)),
                          escape(setting.source))
    console.print(table)
    console.print()
    if config.sources:
        console.print("[bold]tool sources[/] (`agent plugins` shows whether each one loaded)")
        for src in config.sources:
            console.print(f"  {escape(describe_source(src))}  [dim]{escape(src.where)}[/]",
                          highlight=False)
    else:
        console.print("[bold]tool sources:[/] none "
                      + escape("([[openapi]] and [[mcp]] tables add them)"))
    console.print("[bold]files[/] (the working directory's overrides the home one)")
    for scope, path, read in config.files:
        state = "" if read else " [dim](none)[/]"
        console.print(f"  {scope:<4} {escape(str(path))}{state}", highlight=False)
    return 0


def as_json(config: Config) -> dict[str, Any]:
    return {
        "settings": {k: {"value": s.value, "source": s.source}
                     for k, s in config.settings.items()},
        "planners": {name: {k: {"value": s.value, "source": s.source}
                            for k, s in options.items()}
                     for name, options in config.planners.items()},
        "sources": [{"name": s.label, "kind": s.kind, "entry": redacted_entry(s.entry),
                     "file": str(s.file), "line": s.line, "base_dir": str(s.base_dir)}
                    for s in config.sources],
        "files": [{"scope": scope, "path": str(path), "exists": read}
                  for scope, path, read in config.files],
    }


def schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of agent.toml (for editors such as taplo or Even Better TOML)."""
    from agent.config_schema import SCHEMA

    print_json(SCHEMA)
    return 0


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
