"""Terminal rendering of results and traces (rich), shared by the CLI and the REPL."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from agent.types import Run, ToolResult


def short_id(run_id: str) -> str:
    """Enough of a run id to be unique in practice (ids start with the time in ns)."""
    return run_id[:16]


def default_console() -> Console:
    """A console; piped output gets a wide page instead of rich's 80 columns."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=160)


STATUS_STYLE = {"ok": "green", "success": "green", "error": "red", "cancelled": "yellow",
                "needs_input": "yellow", "interrupted": "magenta", "running": "cyan",
                "max_steps": "yellow"}


def preview(value: Any, limit: int = 120) -> str:
    """One line of a value, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


def status(text: str | None) -> str:
    text = text or "?"
    return f"[{STATUS_STYLE.get(text, 'white')}]{text}[/]"


def result_line(r: ToolResult) -> str:
    args = ", ".join(f"{k}={preview(v, 40)}" for k, v in (r.args or {}).items())
    head = (f"[bold]{escape(r.name)}[/]({escape(args)}) {status(r.status)} "
            f"[dim]{ms(r.duration_ms)}[/]")
    body = preview(r.content) if r.ok else (r.error or "")
    return f"{head}\n  → {escape(body)}"


def print_results(run: Run, *, traced: bool = True, console: Console | None = None) -> None:
    console = console or default_console()
    for r in run.results:
        console.print(f"[dim]{escape(r.call_id)}[/] {result_line(r)}", highlight=False)
    tail = f"run {short_id(run.id)} {status(run.status)} in {ms(run.duration_ms)}"
    if traced:
        tail += f" · agent traces show {short_id(run.id)}"
    console.print(f"[dim]{tail}[/]", highlight=False)


def trace_tree(run: dict[str, Any]) -> Tree:
    """A recorded run as a tree: steps (nested by parent) and their tool calls, with timings."""
    root = Tree(
        f"[bold]run {short_id(run['id'])}[/] {status(run['status'])} {ms(run.get('duration_ms'))}"
        f" · {escape(run.get('planner') or '-')} · {when(run.get('started_at'))}\n"
        f"[italic]{escape(preview(run.get('query') or '', 200))}[/]"
        + _lineage(run)
    )
    calls_by_step: dict[str, list[dict[str, Any]]] = {}
    for c in run.get("tool_calls", []):
        calls_by_step.setdefault(c["step_id"], []).append(c)
    nodes: dict[str | None, Tree] = {None: root}
    for step in run.get("steps", []):
        parent = nodes.get(step.get("parent_id"), root)
        tokens = ""
        if step.get("tokens_in") or step.get("tokens_out"):
            tokens = f" · {step.get('tokens_in', 0)}→{step.get('tokens_out', 0)} tokens"
        node = parent.add(
            f"[dim]{step.get('seq')}[/] "  # the step number `agent replay --fork` takes
            f"[cyan]{escape(step['kind'])}[/] {escape(step.get('name') or '')} "
            f"{status(step['status'])} [dim]{ms(step.get('duration_ms'))}{tokens}[/]"
        )
        nodes[step["id"]] = node
        for c in calls_by_step.get(step["id"], []):
            args = ", ".join(f"{k}={preview(v, 40)}" for k, v in (c.get("args") or {}).items())
            out = preview(c.get("content")) if c["status"] == "success" else (c.get("error") or "")
            node.add(f"[dim]{escape(str(c['call_id']))}[/] [bold]{escape(c['tool_name'])}[/]"
                     f"({escape(args)}) {status(c['status'])} [dim]{ms(c.get('duration_ms'))}[/]"
                     f"\n→ {escape(out)}")
    if run.get("answer"):
        root.add(f"[bold green]answer[/] {escape(preview(run['answer'], 300))}")
    if run.get("error"):
        root.add(f"[bold red]error[/] {escape(run['error'])}")
    return root


def _lineage(run: dict[str, Any]) -> str:
    """Where a run came from: its parent (a resumed or replayed run) and replay labels."""
    parent = run.get("parent_id")
    if not parent:
        return ""
    labels = {lb["key"]: lb["value"] for lb in run.get("labels") or []}
    mode = labels.get("replay")
    how = f"{mode} replay of" if mode else "continues"
    fork = (run.get("metadata") or {}).get("replay", {}).get("fork_step") if mode else None
    at = f" at step {fork}" if fork else ""
    return f"\n[dim]{how} run {short_id(parent)}{at} · agent traces show {short_id(parent)}[/]"


def print_run(run: Run, *, traced: bool = True, console: Console | None = None) -> None:
    """A planner's run: its calls, then the answer, or what is missing and how to resume."""
    console = console or default_console()
    print_results(run, traced=traced, console=console)
    if run.status == "needs_input":
        console.print(f"[yellow]needs input:[/] {escape(run.error or '')}", highlight=False)
        fields = " ".join(f"{name}=..." for name in run.missing)
        console.print(f"resume with: agent run --resume {short_id(run.id)} {fields}",
                      highlight=False)
    elif run.answer:
        style = "bold" if run.status == "ok" else "red"
        console.print(f"[{style}]{escape(run.answer)}[/]", highlight=False)
    elif run.error:
        console.print(f"[red]{escape(run.error)}[/]", highlight=False)
