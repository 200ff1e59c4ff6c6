"""``agent chat``: the interactive REPL (see ``agent.repl``)."""

from __future__ import annotations

import argparse


def chat(args: argparse.Namespace) -> int:
    from agent.models import default_model_id
    from agent.repl import run_repl

    return run_repl(planner=args.planner, model=args.model or default_model_id(),
                    approve_all=args.yes, db=args.db)
