"""``agent chat``: the interactive REPL (see ``agent.repl``)."""

from __future__ import annotations

import argparse


def chat(args: argparse.Namespace) -> int:
    from agent.repl import run_repl

    return run_repl(planner=args.planner, model=args.model, approve_all=args.yes, db=args.db)
