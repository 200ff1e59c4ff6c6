"""Turn recorded runs into tool-use training data, streaming: ``agent export``, ``agent datasets``.

``export_runs`` writes the runs a ``RunFilter`` matches through an exporter (a plugin, see
the ``register_exporters`` hook), optionally split by query or tool set; ``dataset_stats``
summarises the same runs. Importing this package is cheap; the parts load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ExportError, NothingToExportError
    from .filters import build_filter
    from .runner import ExportResult, export_runs
    from .splits import SplitSpec, parse_split
    from .stats import dataset_stats

__all__ = [
    "ExportError",
    "ExportResult",
    "NothingToExportError",
    "SplitSpec",
    "build_filter",
    "dataset_stats",
    "export_runs",
    "parse_split",
]

_LAZY = {
    "ExportError": "errors", "NothingToExportError": "errors", "build_filter": "filters",
    "ExportResult": "runner", "export_runs": "runner", "SplitSpec": "splits",
    "parse_split": "splits", "dataset_stats": "stats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
