"""``agent eval QUERIES.jsonl``: pass rate per group, the way the dataflow paper reports it."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agent.cli import print_json
from agent.config import load_config
from agent.errors import PlannerOptionError, UsageError
from agent.evaluation import EvalReport, QueryResult, evaluate, load_queries
from agent.registry import build_registry
from agent.render import default_console
from agent.runtime import Agent


def eval_queries(args: argparse.Namespace) -> int:
    queries = load_queries(args.file)
    if not queries:
        raise UsageError(f"{args.file} holds no queries")
    registry = build_registry()
    config = load_config()
    agents: list[Agent] = []

    planner = args.planner or config.planner
    planner_options = config.options_with(planner, args.planner_option)
    try:  # a bad planner option is one line now, not every query failing with it
        registry.planner(planner, **planner_options.get(planner, {}))
    except PlannerOptionError as exc:
        raise config.located(exc, planner, args.planner_option) from None

    def make_agent(answers: Any) -> Agent:
        # The previous query's agent is done: commit its trace before the next one writes.
        for old in agents:
            old.close()
        agents.clear()
        agent = Agent(registry=registry, planner=planner, approve=True,
                      planner_options=planner_options,
                      model=config.model, settings=config.tool_settings(),
                      store=False if args.no_trace else args.db,
                      trace_writer=config.trace_writer)
        agents.append(agent)
        return agent

    console = default_console()
    done = [0]

    def progress(result: QueryResult) -> None:
        done[0] += 1
        if args.verbose or not result.passed:
            mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
            why = f" · {result.reason}" if result.reason else ""
            console.print(f"{mark} {result.id} [dim]({result.group})[/]{why}", highlight=False)

    try:
        report: EvalReport = asyncio.run(evaluate(make_agent, queries, on_result=progress))
    finally:
        for agent in agents:
            agent.close()
    if args.json:
        print_json(report.to_dict())
    else:
        console.print(report.summary(), highlight=False)
    if args.fail_under is not None and report.pass_rate() * 100 < args.fail_under:
        return 1
    return 0
