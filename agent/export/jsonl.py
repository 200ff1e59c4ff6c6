"""JSON Lines exporters: OpenAI chat fine-tuning and ToolBench-style ShareGPT."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from .base import Exporter
from .openai import openai_record
from .sharegpt import sharegpt_record


class JsonlSink:
    """One JSON object per line, UTF-8, written as it comes (stdout when no path)."""

    def __init__(self, path: Path | None) -> None:
        self._own = path is not None
        self._file: IO[str] = (open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
                               if path is not None else sys.stdout)
        self._dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(self._dumps(record) + "\n")

    def close(self) -> None:
        if self._own:
            self._file.close()
        else:
            self._file.flush()


class JsonlExporter(Exporter):
    suffix = ".jsonl"
    stdout = True

    def open(self, path: Path | None) -> JsonlSink:
        return JsonlSink(path)


class OpenAIExporter(JsonlExporter):
    """``{"messages": [...], "tools": [...]}`` per line: OpenAI chat fine-tuning files."""

    name = "openai"
    description = "OpenAI chat fine-tuning JSONL: messages with tool_calls, tool messages, tools"

    def record(self, run: dict[str, Any]) -> dict[str, Any] | None:
        return openai_record(run)


class ShareGPTExporter(JsonlExporter):
    """``{"id", "query", "conversations": [{"from", "value"}]}`` per line (ToolBench style)."""

    name = "sharegpt"
    description = "ToolBench-style ShareGPT JSONL: Thought/Action/Action Input turns, Finish"

    def record(self, run: dict[str, Any]) -> dict[str, Any] | None:
        return sharegpt_record(run)
