"""``agent call`` and ``agent plan run``: one call or an explicit plan, through the runtime."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from agent.cli import print_json
from agent.config import Config, load_config
from agent.errors import PlannerOptionError, UsageError
from agent.runtime import Agent
from agent.types import Run, Tool


def parse_pairs(tool: Tool, pairs: list[str]) -> dict[str, Any]:
    """``key=value`` words -> arguments; values are JSON unless the parameter is a string."""
    props = tool.parameters.get("properties", {})
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{tool.name}: expected key=value, got {pair!r}")
        if key in args:
            raise UsageError(f"{tool.name}: argument {key!r} given twice")
        if props and key not in props:
            from agent.registry import close_names

            hint = close_names(key, props)
            known = f"did you mean {hint[0]!r}?" if hint else f"expected one of {', '.join(props)}"
            raise UsageError(f"{tool.name}: unknown argument {key!r}; {known}")
        kind = props.get(key, {}).get("type")
        if kind == "string" or (isinstance(kind, list) and "string" in kind and raw[:1] not in
                                '{["'):
            args[key] = raw
            continue
        try:
            args[key] = json.loads(raw)
        except json.JSONDecodeError:
            args[key] = raw  # validation names the field and what was expected
    return args


def _ask_approval(call: dict[str, Any], tool: Tool) -> bool:
    shown = json.dumps(call["args"], ensure_ascii=False)
    answer = input(f"{tool.name} has side effects. Run it with {shown}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _approver(args: argparse.Namespace, config: Config) -> Any:
    """``--yes``, else agent.toml's approval policy; without a terminal nobody is asked."""
    prompt = _ask_approval if sys.stdin.isatty() else None
    return config.approval().approver(prompt, yes=args.yes)


def _agent(args: argparse.Namespace) -> Agent:
    config = load_config()
    store = False if args.no_trace else args.db
    return Agent(store=store, approve=_approver(args, config), settings=config.tool_settings(),
                 trace_writer=config.trace_writer)


def call(args: argparse.Namespace) -> int:
    with _agent(args) as agent:
        tool = agent.registry.tool(args.tool)
        call_args = parse_pairs(tool, args.args)
        agent.check_call(tool.name, call_args)
        run = asyncio.run(agent.run_plan([{"name": tool.name, "args": call_args, "id": "1"}],
                                         query=f"agent call {tool.name}"))
    return _report(run, args)


def load_plan(source: str) -> tuple[list[Any], str | None]:
    """Read a plan file: a list of calls, or {"query": ..., "calls": [...]}."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read plan {source}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"plan {source} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}") from None
    if isinstance(doc, dict) and isinstance(doc.get("calls"), list):
        return doc["calls"], doc.get("query")
    if isinstance(doc, list):
        return doc, None
    raise UsageError(f"plan {source}: expected a list of calls or an object with 'calls'")


def plan_run(args: argparse.Namespace) -> int:
    calls, query = load_plan(args.file)
    with _agent(args) as agent:
        run = asyncio.run(agent.run_plan(calls, query=query or f"agent plan run {args.file}"))
    return _report(run, args)


def _report(run: Run, args: argparse.Namespace) -> int:
    if args.json:
        print_json({"run_id": run.id, "status": run.status, "results": [
            {"id": r.call_id, "name": r.name, "status": r.status, "content": r.content,
             "error": r.error, "duration_ms": round(r.duration_ms, 3)} for r in run.results]})
    else:
        from agent.render import print_results

        print_results(run, traced=not args.no_trace)
    return 0 if run.status == "ok" else 1


def _ask_inline(question: str, schema: dict[str, Any] | None) -> Any:
    """Ask at the terminal, one field at a time (``agent run`` with a terminal)."""
    print(question)
    props = (schema or {}).get("properties") or {}
    if not props:
        return input("> ")
    answer: dict[str, Any] = {}
    for name, prop in props.items():
        raw = input(f"{name}: ").strip()
        answer[name] = _typed(raw, prop)
    return answer


def _typed(raw: str, prop: dict[str, Any]) -> Any:
    if prop.get("type") in ("number", "integer", "boolean", "array", "object"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def run_query(args: argparse.Namespace) -> int:
    """``agent run "query"`` and ``agent run --resume RUN_ID field=value ...``."""
    answers: dict[str, Any] = {}
    parent_id = None
    if args.resume:
        from agent.store import TraceStore

        with TraceStore(args.db) as store:
            previous = store.get_run(args.resume)
        missing = (previous.get("metadata") or {}).get("missing") or {}
        for pair in args.query:
            key, sep, raw = pair.partition("=")
            if not sep:
                raise UsageError(f"--resume takes field=value answers, got {pair!r}")
            answers[key] = _typed(raw, missing.get(key, {}))
        query, parent_id = previous["query"], previous["id"]
        planner = args.planner or (previous.get("planner") if previous.get("planner") != "plan"
                                   else None)
    else:
        query = " ".join(args.query).strip()
        planner = args.planner
        if not query:
            raise UsageError('the query is empty: agent run "what you want done"')
    interactive = sys.stdin.isatty() and not args.no_input
    config = load_config()
    planner = planner or config.planner
    agent = Agent(store=False if args.no_trace else args.db, approve=_approver(args, config),
                  planner=planner, model=args.model or config.model,
                  planner_options=config.options_with(planner, args.planner_option),
                  ask=_ask_inline if interactive else None, settings=config.tool_settings(),
                  trace_writer=config.trace_writer)
    with agent:
        try:
            _ = agent.planner  # now: a bad planner option is one line, before the run
        except PlannerOptionError as exc:
            raise config.located(exc, planner, args.planner_option) from None
        run = asyncio.run(agent.run(query, answers=answers, parent_id=parent_id))
    if args.json:
        print_json({"run_id": run.id, "status": run.status, "answer": run.answer,
                    "data": run.data, "error": run.error, "missing": run.missing,
                    "calls": [{"name": r.name, "args": r.args, "status": r.status,
                               "content": r.content, "error": r.error} for r in run.results]})
    else:
        from agent.render import print_run

        print_run(run, traced=not args.no_trace)
    return {"ok": 0, "needs_input": 3}.get(run.status, 1)
