"""``agent export``: recorded runs as training data (OpenAI JSONL, ShareGPT, Parquet, HF)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.store import TraceStore
from agent.store.scan import RunFilter


def filter_from_args(args: argparse.Namespace) -> RunFilter:
    """The run filter the shared flags describe (``--status``, ``--tool``, ...)."""
    from agent.export import build_filter

    return build_filter(status=args.status, source=args.source, label=args.label,
                        tool=args.tool, since=args.since, until=args.until, limit=args.limit)


def export(args: argparse.Namespace) -> int:
    from agent.export import export_runs, parse_split
    from agent.registry import exporter_registry

    run_filter = filter_from_args(args)
    split = parse_split(args.split, args.split_by, args.seed) if args.split else None
    exporter = exporter_registry().exporter(args.format)
    output = None if args.output in (None, "-") else Path(args.output)
    with TraceStore(args.db) as store:
        result = export_runs(store, exporter, run_filter, output, split)
    parts = []
    for name, count in result.counts.items():
        if name in result.empty:
            continue
        where = result.paths[name]
        target = "stdout" if where is None else str(where)
        parts.append(f"{count} -> {target}" if name == "all" else f"{name}: {count} -> {target}")
    runs = "run" if result.total == 1 else "runs"
    print(f"exported {result.total} {runs} as {args.format} ({'; '.join(parts)})",
          file=sys.stderr)
    if result.skipped:
        print(f"skipped {result.skipped} runs without a transcript", file=sys.stderr)
    for name in result.empty:
        print(f"warning: split {name!r} came out empty and was not written (too few "
              f"distinct {split.by if split else 'key'} values for its fraction)",
              file=sys.stderr)
    return 0
