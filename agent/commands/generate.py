"""``agent generate``: synthetic tool-use examples into the trace store (source=synthetic)."""

from __future__ import annotations

import argparse
import sys

from rich.markup import escape
from rich.table import Table

from agent.cli import print_json
from agent.render import default_console
from agent.store import TraceStore


def _patterns(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def generate(args: argparse.Namespace) -> int:
    from agent.generation.engines import get_engine
    from agent.generation.job import GenerateOptions, Job
    from agent.generation.job import generate as run_job
    from agent.generation.progress import RichProgress

    options = GenerateOptions(
        n=args.n, seed=args.seed, mode=args.mode, tools=_patterns(args.tools), job=args.job,
        model=args.model, planner=args.planner, side_effects=args.side_effects,
        plugins=_patterns(args.plugin), dedupe_threshold=args.dedupe_threshold,
        max_attempts=args.max_attempts)
    job = Job(options)
    print(f"job {job.id}: {options.n} {options.mode} examples over {len(job.names)} tools, "
          f"seed {options.seed}, engine {args.engine} (rerun the same command, or pass "
          f"--job {job.id}, to resume)", file=sys.stderr)
    engine = get_engine(args.engine, address=args.ray_address, workers=args.workers)
    try:
        with TraceStore(args.db) as store:
            report = run_job(options, store, engine=engine, job=job,
                             progress=RichProgress(job.id, enabled=None if not args.no_progress
                                                   else False))
    finally:
        engine.close()
    if args.json:
        print_json(report.as_dict())
    else:
        _print(report)
    if not report.complete:
        print(f"error: only {report.total} of {report.requested} examples after "
              f"{report.attempts} attempts; see the drop reasons above (more tools, templates "
              "or --max-attempts may help)", file=sys.stderr)
        return 1
    return 0


def _print(report: object) -> None:
    from agent.generation.job import Report

    assert isinstance(report, Report)
    console = default_console()
    table = Table(box=None, pad_edge=False, show_edge=False, title=None)
    for col in ("tool", "examples", "calls", "failed", "invalid", "duplicates"):
        table.add_column(col, justify="left" if col == "tool" else "right", no_wrap=True)
    for name, row in report.tools.items():
        table.add_row(escape(name), *(str(row[k]) for k in
                                      ("examples", "calls", "failed", "invalid", "duplicates")))
    console.print(table)
    for name, why in report.skipped_tools.items():
        console.print(f"skipped {escape(name)}: {escape(why)}")
    for reason, count in report.reasons.items():
        console.print(f"dropped x{count}: {escape(reason)}")
    new = report.total - report.resumed
    resumed = f" ({report.resumed} from before)" if report.resumed else ""
    drops = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.dropped.items() if v)
    console.print(f"job {escape(report.job)}: {report.total}/{report.requested} examples"
                  f"{resumed}; {new} new in {report.seconds:.1f}s ({report.rate}/s); "
                  f"dropped: {drops or 'none'}")
