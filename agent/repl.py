"""``agent chat``: the terminal REPL. Each query is one traced run; one session groups them.

The loop reads a line (prompt_toolkit with a history file at a terminal, plain lines from a
pipe), streams the run's events as they happen (each call with its arguments, then its status,
time and result), and prints the answer. The planner's questions and approvals of tools with
side effects are asked inline. Ctrl-C cancels the run in flight (the runtime records it as
``cancelled``) and returns to the prompt; Ctrl-D or ``/quit`` leaves. A library error is one
line; nothing ends the loop but the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.approval import ApprovalPolicy
from agent.environment import new_id
from agent.errors import AgentError
from agent.registry import Registry, build_registry
from agent.render import ms, preview, result_line, short_id, status, trace_tree
from agent.runtime import DEFAULT_PLANNER, Agent
from agent.store import StoreError, TraceStore, default_db_path
from agent.types import Event, Run, Tool

HELP = """\
Type a question; the planner answers it with tools. Commands:
  /help              this help
  /tools [QUERY]     the tools on offer (the best matches for QUERY if given)
  /planner [NAME]    show or switch the planner
  /model [ID]        show or switch the chat model
  /trace [ID]        the step tree of the last run (or of run ID)
  /quit              leave (Ctrl-D does too)
Ctrl-C cancels the run in flight; at the prompt it clears the line."""


class LineReader:
    """Reads the user's lines: prompt_toolkit at a terminal, plain lines from a pipe.

    ``read`` raises ``EOFError`` at the end of input (Ctrl-D) and ``KeyboardInterrupt`` for
    Ctrl-C typed at a prompt.
    """

    def __init__(self, history: Path | None, interactive: bool) -> None:
        self.interactive = interactive
        self._sessions: dict[bool, Any] = {}
        self._history = history
        self._lines: asyncio.Queue[str | None] | None = None

    async def read(self, label: str, *, history: bool = False) -> str:
        if self.interactive:
            return str(await self._session(history).prompt_async(label, handle_sigint=False))
        return await self._read_plain(label)

    def _session(self, history: bool) -> Any:
        if history not in self._sessions:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
            from prompt_toolkit.completion import WordCompleter
            from prompt_toolkit.history import FileHistory, InMemoryHistory

            if history and self._history is not None:
                words = ["/help", "/tools", "/planner", "/model", "/trace", "/quit"]
                self._sessions[history] = PromptSession(
                    history=FileHistory(str(self._history)),
                    auto_suggest=AutoSuggestFromHistory(),
                    completer=WordCompleter(words, sentence=True),
                    complete_while_typing=False,
                )
            else:  # answers to questions stay out of the query history
                self._sessions[history] = PromptSession(history=InMemoryHistory())
        return self._sessions[history]

    async def _read_plain(self, label: str) -> str:
        if self._lines is None:
            self._lines = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=_read_fd, args=(loop, self._lines), daemon=True).start()
        echo = not sys.stdin.isatty()  # a piped line is not echoed: show it, like a transcript
        if label and not echo:
            sys.stdout.write(label)
            sys.stdout.flush()
        line = await self._lines.get()
        if line is None:
            self._lines.put_nowait(None)  # every later read sees the end too
            raise EOFError
        if echo:
            print(f"{label}{line}", flush=True)
        return line


def _read_fd(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Split standard input into lines with ``os.read``: no Python-level lock on ``sys.stdin``
    is held, so a blocked read never stalls the interpreter's exit."""
    buf = b""
    with contextlib.suppress(RuntimeError):  # the loop is closed: the session is over
        while True:
            try:
                chunk = os.read(0, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").rstrip("\r")
                loop.call_soon_threadsafe(queue.put_nowait, text)
        if buf:
            loop.call_soon_threadsafe(queue.put_nowait, buf.decode(errors="replace"))
        loop.call_soon_threadsafe(queue.put_nowait, None)


class Repl:
    """One chat session: one ``Agent`` (rebuilt by ``/planner`` and ``/model``), one store."""

    def __init__(self, *, planner: str | None = None, model: str | None = None,
                 approve_all: bool = False, db: str | None = None,
                 console: Console | None = None, interactive: bool | None = None,
                 approval: ApprovalPolicy | None = None,
                 settings: dict[str, Any] | None = None,
                 trace_writer: str | None = None,
                 planner_options: dict[str, dict[str, Any]] | None = None) -> None:
        if interactive is None:
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
        self.console = console or Console(highlight=False)
        self.session_id = new_id()
        self.approve_all = approve_all
        self.approval = approval or ApprovalPolicy()  # agent.toml's [approval]
        self.settings = settings or {}
        self.planner_options = planner_options or {}  # by planner name, for /planner too
        self.trace_writer = trace_writer
        self.registry: Registry = build_registry()
        self.store = TraceStore(db)
        self.reader = LineReader(default_db_path().parent / "chat_history", interactive)
        self.planner_name, self.model_id = planner, model
        try:
            self.agent = self._build(planner, model)
        except BaseException:
            self.store.close()
            raise
        self.last_run_id: str | None = None
        self._turn: asyncio.Task[None] | None = None

    # The agent ----------------------------------------------------------------------------
    def _build(self, planner: str | None, model: str | None) -> Agent:
        """A new agent on the shared registry and store; raises if a name is unknown."""
        agent = Agent(planner=planner, model=model, store=self.store, registry=self.registry,
                      planner_options=self.planner_options, ask=self._ask,
                      session_id=self.session_id, settings=self.settings,
                      trace_writer=self.trace_writer,
                      approve=self.approval.approver(self._approve, yes=self.approve_all))
        try:
            if planner is not None:
                _ = agent.planner
            if model is not None:
                _ = agent.model
        except BaseException:
            agent.close()
            raise
        return agent

    def _switch(self, planner: str | None, model: str | None) -> None:
        new = self._build(planner, model)
        self.agent.close()
        self.agent, self.planner_name, self.model_id = new, planner, model

    # The loop -----------------------------------------------------------------------------
    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, not main thread
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)  # Ctrl-C during a run
        try:
            self._banner()
            while True:
                try:
                    line = (await self.reader.read("agent> ", history=True)).strip()
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if line.startswith("/"):
                    if not await self._command(line):
                        break
                elif line:
                    await self._run_turn(line)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
            self.agent.close()
            self.store.close()
        return 0

    def _banner(self) -> None:
        try:
            _ = self.agent.planner
            note = ""
        except AgentError as exc:
            note = f"\n[yellow]warning:[/] {escape(str(exc))}: choose one with /planner NAME"
        self.console.print(
            f"[bold]agent chat[/] · session {self.session_id[:12]} · planner "
            f"{escape(self.planner_name or DEFAULT_PLANNER)} · {len(self.agent.tools)} tools"
            f"\n[dim]/help for commands, Ctrl-C cancels a run, Ctrl-D leaves[/]{note}")

    def _on_sigint(self) -> None:
        if self._turn is not None and not self._turn.done() and sys.stdin.isatty():
            self.console.print()  # past the ^C the terminal echoed
        self._interrupt()

    def _interrupt(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()

    async def _run_turn(self, query: str) -> None:
        before = self.agent.last_run
        self._turn = asyncio.ensure_future(self._stream(query))
        try:
            await self._turn
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            run = self.agent.last_run
            if run is not None and run is not before:
                self._status_line(run)
            else:
                self.console.print("[yellow]cancelled[/]")
        except KeyboardInterrupt:
            self.console.print("[yellow]cancelled[/]")
        except Exception as exc:
            self._error(exc)
        finally:
            self._turn = None
            if self.agent.last_run is not None and self.agent.last_run is not before:
                self.last_run_id = self.agent.last_run.id  # for /trace, whatever happened

    async def _stream(self, query: str) -> None:
        async for event in self.agent.stream(query):
            self._show(event)
        run = self.agent.last_run
        if run is None:
            return
        if run.status == "ok" and run.answer:
            self.console.print(f"[bold]{escape(run.answer)}[/]")
        elif run.status == "needs_input":
            missing = f" (missing: {', '.join(run.missing)})" if run.missing else ""
            self.console.print(f"[yellow]needs input:[/] {escape(run.error or '')}{missing}")
        elif run.status in ("error", "max_steps"):
            self.console.print(f"[red]{run.status}:[/] {escape(run.error or run.answer or '')}")
        elif run.answer:
            self.console.print(escape(run.answer))
        self._status_line(run)

    def _show(self, event: Event) -> None:
        if event.type == "tool_started" and event.call is not None:
            call = event.call
            args = ", ".join(f"{k}={preview(v, 40)}" for k, v in (call.get("args") or {}).items())
            self.console.print(f"[dim]▶ {escape(str(call.get('id')))}[/] "
                               f"[bold]{escape(call['name'])}[/]({escape(args)}) …")
        elif event.type == "tool_finished" and event.result is not None:
            self.console.print(f"[dim]◀ {escape(event.result.call_id)}[/] "
                               f"{result_line(event.result)}")
        elif event.type == "step_finished" and event.step and event.step.kind == "model":
            step = event.step
            self.console.print(f"[dim]model {escape(step.name or '')} {status(step.status)} "
                               f"{ms(step.duration_ms)} · {step.tokens_in}→{step.tokens_out} "
                               "tokens[/]")

    def _status_line(self, run: Run) -> None:
        self.console.print(f"[dim]run {short_id(run.id)}[/] {status(run.status)} "
                           f"[dim]in {ms(run.duration_ms)} · /trace to see the steps[/]")

    # Questions and approvals (called by the runtime, inside the run) -----------------------
    async def _ask(self, question: str, schema: dict[str, Any] | None) -> Any:
        """Ask the planner's question; empty input or Ctrl-C cancels the run."""
        self.console.print(f"[bold yellow]?[/] {escape(question)}")
        props = (schema or {}).get("properties")
        if not isinstance(props, dict) or not props:
            text = await self._answer("> ")
            return text if schema is None else convert(text, schema)
        required = set((schema or {}).get("required", props))
        answer: dict[str, Any] = {}
        for name, prop in props.items():
            said = prop.get("description") and str(prop["description"]) in question
            label = field_label(name, {**prop, "description": None} if said else prop)
            text = await self._answer(f"  {label}> ", optional=name not in required)
            if text:
                answer[name] = convert(text, prop)
        return answer

    async def _answer(self, label: str, *, optional: bool = False) -> str:
        try:
            text = (await self.reader.read(label)).strip()
        except (KeyboardInterrupt, EOFError):
            text = ""
        if not text and not optional:
            self._interrupt()
            raise asyncio.CancelledError
        return text

    async def _approve(self, call: dict[str, Any], tool: Tool) -> bool:
        shown = json.dumps(call.get("args", {}), ensure_ascii=False, default=str)
        try:
            text = await self.reader.read(f"run {tool.name} with {shown}? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            self._interrupt()
            raise asyncio.CancelledError from None
        return text.strip().lower() in ("y", "yes")

    # Slash commands -------------------------------------------------------------------------
    async def _command(self, line: str) -> bool:
        """Run one slash command; False means leave."""
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name in ("quit", "exit", "q"):
            return False
        handlers: dict[str, Callable[[str], Any]] = {
            "help": lambda _: self.console.print(HELP, markup=False),
            "tools": self._tools, "planner": self._planner, "model": self._model,
            "trace": self._trace,
        }
        handler = handlers.get(name)
        if handler is None:
            self.console.print(f"unknown command /{escape(name)} (try /help)")
            return True
        try:
            out = handler(arg)
            if asyncio.iscoroutine(out):
                await out
        except Exception as exc:
            self._error(exc)
        return True

    def _error(self, exc: Exception) -> None:
        """One line: the library's errors as they are; a bug, with its type, never ends the loop."""
        if isinstance(exc, AgentError | StoreError):
            self.console.print(f"[red]error:[/] {escape(str(exc))}")
        else:
            self.console.print(f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}")

    def _tools(self, query: str) -> None:
        tools = search_tools(self.agent, query) if query else sorted(
            self.agent.tools.values(), key=lambda t: t.name)
        if not tools:
            self.console.print(f"no tool matches {query!r}")
            return
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("tool", style="bold cyan", no_wrap=True)
        table.add_column("arguments", style="green")
        table.add_column("description")
        for t in tools:
            props = t.parameters.get("properties", {})
            required = set(t.parameters.get("required", []))
            sig = ", ".join(p if p in required else f"[{p}]" for p in props)
            flag = " [yellow](side effects)[/]" if t.side_effects else ""
            table.add_row(t.name, escape(sig), escape(preview(t.description or "", 80)) + flag)
        self.console.print(table)

    def _planner(self, name: str) -> None:
        known = ", ".join(sorted(self.registry.planners)) or "none installed"
        if not name:
            current = self.planner_name or DEFAULT_PLANNER
            self.console.print(f"planner: {escape(current)} (available: {escape(known)})")
            return
        self._switch(name, self.model_id)
        self.console.print(f"planner: {escape(name)}")

    def _model(self, model_id: str) -> None:
        if not model_id:
            known = ", ".join(sorted(self.registry.models)) or "none installed"
            self.console.print(f"model: {escape(self.model_id or 'none')} "
                               f"(available: {escape(known)})")
            return
        self._switch(self.planner_name, model_id)
        self.console.print(f"model: {escape(model_id)}")

    async def _trace(self, run_id: str) -> None:
        run_id = run_id or self.last_run_id or ""
        if not run_id:
            self.console.print("no run yet in this session")
            return
        await self.agent.aflush()
        self.console.print(trace_tree(self.store.get_run(run_id)))


# Helpers --------------------------------------------------------------------------------------
def search_tools(agent: Agent, query: str, k: int = 10) -> list[Tool]:
    """The tools best matching ``query``: the agent's retriever, else BM25 (``agent.retrieval``),
    else plain substring matches."""
    if agent.retriever is not None:
        return list(agent.retriever(query, k))
    try:
        from agent.retrieval import retriever_for
    except ImportError:
        words = query.lower().split()
        return [t for t in sorted(agent.tools.values(), key=lambda t: t.name)
                if all(w in f"{t.name} {t.description}".lower() for w in words)][:k]
    retriever = retriever_for(agent.tools, registry=agent.registry)
    return [hit.tool for hit in retriever.search(query, k)]


def field_label(name: str, prop: dict[str, Any]) -> str:
    """``name (description; type; one of a, b)`` for a question's input prompt."""
    parts = []
    if prop.get("description"):
        parts.append(str(prop["description"]))
    kind = prop.get("type")
    if kind and kind != "string":
        parts.append(kind if isinstance(kind, str) else " or ".join(map(str, kind)))
    if prop.get("enum"):
        parts.append("one of " + ", ".join(map(str, prop["enum"])))
    return f"{name} ({'; '.join(parts)})" if parts else name


_BOOLS = {"y": True, "yes": True, "true": True, "1": True,
          "n": False, "no": False, "false": False, "0": False}
_PARSE: dict[str, Callable[[str], Any]] = {
    "integer": int, "number": lambda t: float(t) if "." in t or "e" in t.lower() else int(t),
    "boolean": lambda t: _BOOLS[t.lower()], "object": json.loads, "string": str,
    "null": lambda t: {"null": None, "none": None}[t.lower()],
}


def convert(text: str, schema: dict[str, Any]) -> Any:
    """Typed text -> the JSON type ``schema`` asks for; text that fits none is returned as is
    (the environment's validation then says what is wrong and asks again)."""
    for value in schema.get("enum") or ():
        if str(value).lower() == text.lower():
            return value
    kinds = schema.get("type") or "string"
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        if kind == "array":
            try:
                return json.loads(text)
            except ValueError:
                return [convert(part.strip(), schema.get("items") or {})
                        for part in text.split(",")]
        try:
            return _PARSE[kind](text)
        except (KeyError, ValueError):  # JSONDecodeError is a ValueError
            continue
    return text


def run_repl(*, planner: str | None = None, model: str | None = None, approve_all: bool = False,
             db: str | None = None, approval: ApprovalPolicy | None = None,
             settings: dict[str, Any] | None = None, trace_writer: str | None = None,
             planner_options: dict[str, dict[str, Any]] | None = None) -> int:
    """Start a chat session; returns the exit code (0 when the user leaves)."""
    repl = Repl(planner=planner, model=model, approve_all=approve_all, db=db,
                approval=approval, settings=settings, trace_writer=trace_writer,
                planner_options=planner_options)
    return asyncio.run(repl.main())
