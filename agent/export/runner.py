"""Stream the runs a filter matches through an exporter into files (one per split) or stdout.

Nothing is held but the store's current chunk and the exporter's current batch. Files are
written as ``NAME.partial`` and renamed when the export succeeds, so a failed or
interrupted export never leaves a truncated file under the real name.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import UsageError

from .errors import ExportError, NothingToExportError
from .splits import SplitSpec

if TYPE_CHECKING:
    from agent.store import TraceStore
    from agent.store.scan import RunFilter

UNSPLIT = "all"
DEFAULT_SPLIT = "train"  # the one split of a dataset directory exported without --split


@dataclass
class ExportResult:
    """What was written: records per split, and where each split went (None: stdout, or
    not written because the split came out empty: see ``empty``)."""

    format: str
    counts: dict[str, int]
    paths: dict[str, Path | None]
    skipped: int = 0
    runs: int = 0
    empty: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def plan_outputs(exporter: Any, output: Path | None,
                 split: SplitSpec | None) -> dict[str, Path | None]:
    """Where each split goes; ``UsageError`` when the output cannot hold the format."""
    fmt = getattr(exporter, "name", "") or "this format"
    if getattr(exporter, "directory", False):
        if output is None:
            raise UsageError(f"--format {fmt} writes a directory: give -o DIRECTORY")
        if output.exists() and not output.is_dir():
            raise UsageError(f"--format {fmt} writes a directory, and {output} is a file: "
                             "give -o a new or existing directory")
        names = split.names if split is not None else [DEFAULT_SPLIT]
        return {name: _split_path(exporter, output, name) for name in names}
    if split is not None:
        if output is None:
            raise UsageError("--split writes one file per split: give -o DIRECTORY")
        if output.exists() and not output.is_dir():
            raise UsageError(f"--split writes one file per split into a directory, and "
                             f"{output} is a file: give -o a directory")
        return {name: _split_path(exporter, output, name) for name in split.names}
    if output is None:
        if not getattr(exporter, "stdout", False):
            raise UsageError(f"--format {fmt} writes a file: give -o PATH")
        return {UNSPLIT: None}
    if output.is_dir():
        raise UsageError(f"{output} is a directory: give -o a file name for --format {fmt}")
    return {UNSPLIT: output}


def _split_path(exporter: Any, directory: Path, split: str) -> Path:
    split_path = getattr(exporter, "split_path", None)
    if split_path is not None:
        return Path(split_path(directory, split))
    return directory / f"{split}{getattr(exporter, 'suffix', '')}"


def _open(exporter: Any, path: Path | None) -> Any:
    """The exporter's sink for `path`; an unwritable place is one line saying so."""
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return exporter.open(path)
    except OSError as exc:
        where = path.parent if path is not None else "standard output"
        raise ExportError(f"cannot write to {where} ({exc.strerror or exc}): choose another "
                          "-o") from exc


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def export_runs(store: TraceStore, exporter: Any, run_filter: RunFilter,
                output: Path | None = None, split: SplitSpec | None = None) -> ExportResult:
    """Export every matching run; ``NothingToExportError`` (and no file) when none match."""
    targets = plan_outputs(exporter, output, split)
    runs = store.scan(run_filter)
    first = next(runs, None)
    if first is None:
        total = store.count_runs()
        raise NothingToExportError(
            f"no runs match {run_filter.describe()} in {store.path} ({total} runs in all): "
            "loosen the filters (e.g. --status any), or see `agent traces list`"
        )
    result = ExportResult(getattr(exporter, "name", ""), dict.fromkeys(targets, 0), targets)
    sinks: dict[str, Any] = {}
    done = False
    try:
        for name, path in targets.items():
            sinks[name] = _open(exporter, None if path is None else _partial(path))
        counts = result.counts
        for run in _chain(first, runs):
            result.runs += 1
            record = exporter.record(run)
            if record is None:
                result.skipped += 1
                continue
            name = split.assign(run) if split is not None else next(iter(targets))
            sinks[name].write(record)
            counts[name] += 1
        for name in list(sinks):
            sinks.pop(name).close()
        if result.total == 0:
            raise NothingToExportError(
                f"the {result.runs} runs matching {run_filter.describe()} have no transcript "
                "to export: nothing was written"
            )
        for name, path in targets.items():
            if path is None:
                continue
            if counts[name] or split is None:
                os.replace(_partial(path), path)
            else:  # an empty split is not written: `datasets` refuses splits without rows
                _partial(path).unlink()
        done = True
    finally:
        runs.close()
        if not done:
            for sink in sinks.values():
                with contextlib.suppress(Exception):
                    sink.close()
            for path in targets.values():
                if path is not None:
                    with contextlib.suppress(OSError):
                        _partial(path).unlink()
    result.empty = [name for name, n in result.counts.items() if n == 0]
    for name in result.empty:
        result.paths[name] = None
    finish = getattr(exporter, "finish", None)
    if getattr(exporter, "directory", False) and output is not None and finish is not None:
        finish(output, {name: n for name, n in result.counts.items() if n})
    return result


def _chain(first: dict[str, Any], rest: Any) -> Any:
    yield first
    yield from rest
