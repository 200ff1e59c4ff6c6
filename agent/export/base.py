"""The exporter interface (see the ``register_exporters`` hook) with its defaults.

Plugin exporters need not subclass ``Exporter``; any object with these attributes works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Sink(Protocol):
    """Where one output file's records go, one at a time."""

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class Exporter:
    """Defaults: a file format that cannot stream to stdout and keeps every run."""

    name = ""
    description = ""
    suffix = ""
    stdout = False
    directory = False

    def record(self, run: dict[str, Any]) -> dict[str, Any] | None:
        """One example from one scanned run; ``None`` skips the run."""
        raise NotImplementedError

    def open(self, path: Path | None) -> Sink:
        """A sink writing to ``path`` (``None``: standard output)."""
        raise NotImplementedError

    def split_path(self, directory: Path, split: str) -> Path:
        """The file of one split inside an output directory."""
        return directory / f"{split}{self.suffix}"

    def finish(self, directory: Path, counts: dict[str, int]) -> None:
        """Called last for ``directory`` formats, with the record count per split."""
