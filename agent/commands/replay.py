"""``agent replay RUN_ID --cached | --live | --fork STEP``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from agent.cli import print_json
from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.replay import Replayer, ReplayResult


def replay_run(args: argparse.Namespace) -> int:
    from agent.commands.run import _approver, _ask_inline
    from agent.config import load_config
    from agent.replay import Replayer
    from agent.store import TraceStore

    mode = "cached" if args.cached else "live" if args.live else "fork"
    if mode == "cached" and (args.planner or args.model):
        raise UsageError("--cached replays the recorded planner and model: to change them, "
                         "use --fork STEP or --live")
    config = load_config()
    interactive = sys.stdin.isatty() and not args.no_input
    with TraceStore(args.db) as store:
        replayer = Replayer(store, approve=_approver(args, config),
                            ask=_ask_inline if interactive else None,
                            settings=config.tool_settings())
        try:
            result = asyncio.run(_replay(replayer, args, mode))
        finally:
            replayer.close()
    if args.json:
        print_json(result.to_json())
    else:
        from agent.render import default_console
        from agent.replay.report import report_lines

        console = default_console()
        for line in report_lines(result):
            console.print(line, highlight=False)
    # A replay that ran is a success whatever the run's status (it may replay a failure);
    # a cached replay must also reproduce the transcript.
    return 1 if mode == "cached" and result.identical is False else 0


async def _replay(replayer: Replayer, args: argparse.Namespace, mode: str) -> ReplayResult:
    try:
        return await replayer.replay(args.run_id, mode, fork_step=args.fork,
                                     planner=args.planner, model=args.model)
    finally:
        await replayer.aflush()
