"""The built-in export formats, registered like any plugin's (``register_exporters``).

Importing this module is cheap: pyarrow loads only when a Parquet export starts.
"""

from __future__ import annotations

from typing import Any

from agent.hookspecs import hookimpl


@hookimpl
def register_exporters(register: Any) -> None:
    from .jsonl import OpenAIExporter, ShareGPTExporter
    from .parquet import HFDatasetExporter, ParquetExporter

    for cls in (OpenAIExporter, ShareGPTExporter, ParquetExporter, HFDatasetExporter):
        register(cls.name, cls, cls.description)
