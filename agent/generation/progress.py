"""The progress bar of ``agent generate``: kept examples of n, rate, ETA, drops (stderr)."""

from __future__ import annotations

import sys
from typing import Any

from .job import Progress


class RichProgress(Progress):
    """A rich progress bar on stderr; nothing at all when stderr is not a terminal."""

    def __init__(self, job: str, enabled: bool | None = None) -> None:
        self.job = job
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int, done: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("dropped {task.fields[dropped]}"),
            console=Console(stderr=True), transient=False)
        self._bar.start()
        self._task = self._bar.add_task(self.job, total=total, completed=done,
                                        rate="-", dropped=0)

    def update(self, done: int, dropped: int) -> None:
        if self._bar is None:
            return
        task = self._bar.tasks[0]
        speed = task.speed
        self._bar.update(self._task, completed=done, dropped=dropped,
                         rate=f"{speed:.1f}" if speed else "-")

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
