"""``agent chat``: the interactive REPL (see ``agent.repl``)."""

from __future__ import annotations

import argparse


def chat(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.errors import PlannerOptionError
    from agent.repl import run_repl

    config = load_config()  # flags > AGENT_* variables > ./agent.toml > home agent.toml
    planner = args.planner or config.planner
    try:
        return run_repl(planner=planner, model=args.model or config.model,
                        approve_all=args.yes, db=args.db, approval=config.approval(),
                        settings=config.tool_settings(), trace_writer=config.trace_writer,
                        planner_options=config.options_with(planner, args.planner_option))
    except PlannerOptionError as exc:  # the first planner's, before the first prompt
        raise config.located(exc, planner, args.planner_option) from None
