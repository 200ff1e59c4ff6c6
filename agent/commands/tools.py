"""``agent tools`` and ``agent plugins``."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli import print_json
from agent.registry import Registry, build_registry
from agent.render import default_console


def list_tools(args: argparse.Namespace) -> int:
    reg = build_registry()
    tools = sorted(reg.tools.values(), key=lambda t: t.name)
    if args.json:
        print_json([{**t.spec()["function"], "plugin": t.plugin, "side_effects": t.side_effects,
                     "tags": list(t.tags)} for t in tools])
        return 0
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("tool", style="bold cyan", no_wrap=True)
    table.add_column("arguments", style="green")
    table.add_column("description")
    table.add_column("plugin", style="dim")
    for t in tools:
        props = t.parameters.get("properties", {})
        required = set(t.parameters.get("required", []))
        sig = ", ".join(p if p in required else f"[{p}]" for p in props)
        flag = " [yellow](side effects)[/]" if t.side_effects else ""
        table.add_row(escape(t.name), escape(sig), escape(t.description or "") + flag,
                      escape(t.plugin or ""))
    console = default_console()
    console.print(table)
    _print_problems(console, reg)
    return 0


def list_plugins(args: argparse.Namespace) -> int:
    reg = build_registry()
    infos = list(reg.plugins.infos.values())
    counts: dict[str, int] = {}
    for t in reg.tools.values():
        counts[t.plugin or ""] = counts.get(t.plugin or "", 0) + 1
    if args.json:
        print_json([{"name": i.name, "source": i.source, "module": i.module,
                     "version": i.version, "hooks": i.hooks, "tools": counts.get(i.name, 0),
                     "error": i.error} for i in infos] + ([{"conflicts": reg.conflicts}]
                                                          if reg.conflicts else []))
        return 0
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("plugin", style="bold")
    table.add_column("source", style="dim")
    table.add_column("tools", justify="right")
    table.add_column("hooks / error")
    for i in infos:
        status = f"[red]failed: {escape(i.error)}[/]" if i.error else ", ".join(i.hooks)
        version = f" {i.version}" if i.version else ""
        table.add_row(escape(i.name + version), i.source, str(counts.get(i.name, 0)), status)
    console = default_console()
    console.print(table)
    _print_problems(console, reg, failures=False)  # the table shows them
    return 0


def _print_problems(console: Console, reg: Registry, failures: bool = True) -> None:
    for line in reg.conflicts:
        console.print(f"[yellow]warning:[/] {line}", highlight=False)
    for info in reg.plugins.infos.values() if failures else ():
        if info.error:
            console.print(f"[red]plugin {escape(info.name)} failed:[/] {escape(info.error)}",
                          highlight=False)
