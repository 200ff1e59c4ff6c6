"""A replay's outcome for people: what ran from the recording, what changed (rich markup)."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape

from agent.render import preview, short_id, status

from .diff import CallDiff, Change
from .runner import ReplayResult

_MARK = {"same": "[dim]=[/]", "changed": "[yellow]~[/]", "added": "[green]+[/]",
         "removed": "[red]-[/]"}


def report_lines(result: ReplayResult) -> list[str]:
    """The header, the calls diff, the answer, then notes."""
    run, rec, diff = result.run, result.original, result.diff
    head = f"{result.mode} replay of run {short_id(rec.id)}"
    if result.fork_step is not None:
        head = f"fork of run {short_id(rec.id)} at step {result.fork_step}"
    lines = [f"[bold]{head}[/] → run {short_id(run.id)} · status "
             f"{status(diff.status[0])} → {status(diff.status[1])}"]
    if result.mode == "fork":
        live = (f"live from step {result.live_from}" if result.live_from is not None
                else "never went live (the run ended before the fork step)")
        lines.append(f"[dim]{result.served} step(s) from the recording, {live}[/]")
    if diff.calls:
        lines.append("calls:")
        lines.extend(_call_lines(c) for c in diff.calls)
    else:
        lines.append("calls: none on either side")
    lines.extend(_answer_lines(diff.answer))
    if result.mode == "cached":
        if result.identical:
            lines.append(f"[green]transcript identical to the original[/] "
                         f"({len(rec.transcript())} messages, {result.served} step(s) served "
                         "from the recording)")
        elif result.identical is False:
            lines.append(f"[red]transcript differs from the original:[/] "
                         f"{escape(result.first_difference or 'see the notes')}")
    if run.error and run.status != "ok":
        lines.append(f"[red]{escape(run.error)}[/]")
    lines.extend(f"[yellow]note:[/] {escape(n)}" for n in result.notes)
    lines.append(f"[dim]agent traces show {short_id(run.id)}[/]")
    return lines


def _call_lines(c: CallDiff) -> str:
    view = c.after if c.after is not None else c.before
    assert view is not None
    args = ", ".join(f"{k}={preview(v, 40)}" for k, v in (view.get("args") or {}).items())
    line = f"  {_MARK[c.op]} [bold]{escape(c.name)}[/]({escape(args)})"
    if c.op == "same":
        return f"{line} {status(view.get('status'))} {escape(_outcome(view))}"
    if c.op == "added":
        return f"{line} {status(view.get('status'))} [green]only in the replay[/]"
    if c.op == "removed":
        return f"{line} {status(view.get('status'))} [red]only in the original[/]"
    out = [line]
    out.extend(f"      arguments {_change(ch)}" for ch in c.args)
    out.extend(f"      result {_change(ch)}" for ch in c.result)
    return "\n".join(out)


def _outcome(view: dict[str, Any]) -> str:
    if view.get("status") == "success":
        return f"→ {preview(view.get('content'), 80)}"
    return f"→ {preview(view.get('error') or '', 80)}"


def _change(ch: Change) -> str:
    return (f"{escape(ch.path)}: [red]{escape(_short(ch.before))}[/] → "
            f"[green]{escape(_short(ch.after))}[/]")


def _short(value: Any) -> str:
    return preview(value if isinstance(value, str) else json.dumps(value, default=str), 80)


def _answer_lines(answer: tuple[str | None, str | None]) -> list[str]:
    before, after = answer
    if before == after:
        return [f"answer (same): {escape(preview(after or '-', 300))}"]
    return ["answer changed:", f"  [red]- {escape(preview(before or '-', 300))}[/]",
            f"  [green]+ {escape(preview(after or '-', 300))}[/]"]
