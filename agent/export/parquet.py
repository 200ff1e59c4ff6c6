"""Parquet exporters: one Parquet file, or a Hugging Face dataset directory.

Rows are written in row groups of ``BATCH_ROWS`` as they come, so memory holds one batch.
Both outputs open with ``datasets.load_dataset``: ``load_dataset("parquet",
data_files=...)`` for a file, ``load_dataset(DIR)`` for a directory (the ``hf`` format
writes ``data/SPLIT-00000-of-00001-ID.parquet`` and a dataset card naming the splits; the
``parquet`` format with ``--split`` writes ``DIR/SPLIT.parquet``, which ``datasets`` also
recognises by name).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.store.scan import run_source

from .base import Exporter
from .errors import ExportError
from .openai import called_tools, offered_tools_json, openai_messages

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 1000
INSTALL_HINT = "pip install 'agent[data]'"

#: Row fields and what they hold (also written into the dataset card).
FIELDS = {
    "id": "the run id",
    "query": "the user's query",
    "source": "where the run came from: its source label (synthetic for agent generate), "
              "else what recorded it (agent)",
    "status": "how the run ended (ok, error, needs_input, ...)",
    "planner": "the planner that ran it",
    "model": "the chat model it used, if any",
    "started_at": "start time, Unix seconds",
    "messages": "OpenAI chat messages: role, content, tool_calls (function.arguments is a "
                "JSON string), tool_call_id; tool messages also carry the tool name and "
                "status (success or error)",
    "tools": "the OpenAI function specs of the tools offered, as a JSON string",
    "tools_called": "the names of the tools called, in call order",
    "labels": "the run's labels as a JSON object string",
}


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError as exc:
        raise ExportError(
            f"Parquet export needs pyarrow, which cannot be imported ({exc}): {INSTALL_HINT}"
        ) from None
    return pa


def row_schema(pa: Any) -> pa.Schema:
    function = pa.struct([("name", pa.string()), ("arguments", pa.string())])
    call = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", function)])
    message = pa.struct([
        ("role", pa.string()), ("content", pa.string()), ("tool_calls", pa.list_(call)),
        ("tool_call_id", pa.string()), ("name", pa.string()), ("status", pa.string()),
    ])
    return pa.schema([
        ("id", pa.string()), ("query", pa.string()), ("source", pa.string()),
        ("status", pa.string()), ("planner", pa.string()), ("model", pa.string()),
        ("started_at", pa.float64()), ("messages", pa.list_(message)),
        ("tools", pa.string()), ("tools_called", pa.list_(pa.string())),
        ("labels", pa.string()),
    ])


def dataset_row(run: dict[str, Any]) -> dict[str, Any] | None:
    """One dataset row: the run's OpenAI-shaped messages plus what it is and where from."""
    messages = openai_messages(run.get("messages") or (), detail=True)
    if not messages:
        return None
    return {
        "id": run.get("id"), "query": run.get("query"), "source": run_source(run),
        "status": run.get("status"), "planner": run.get("planner"), "model": run.get("model"),
        "started_at": run.get("started_at"), "messages": messages,
        "tools": offered_tools_json(run),
        "tools_called": called_tools(run.get("messages") or ()),
        "labels": json.dumps(run.get("labels") or {}, ensure_ascii=False),
    }


class ParquetSink:
    """Rows batched into row groups of one Parquet file (zstd-compressed)."""

    def __init__(self, path: Path) -> None:
        pa = _pyarrow()
        self._pa = pa
        self._schema = row_schema(pa)
        self._writer = pa.parquet.ParquetWriter(str(path), self._schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        if len(self._rows) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
            self._writer.write_table(table)
            self._rows = []

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._writer.close()


class ParquetExporter(Exporter):
    """One Parquet file (per split with ``--split``)."""

    name = "parquet"
    description = "a Parquet file of OpenAI-shaped examples (needs pyarrow)"
    suffix = ".parquet"

    def __init__(self) -> None:
        _pyarrow()  # fail before reading the store, with the install hint

    def record(self, run: dict[str, Any]) -> dict[str, Any] | None:
        return dataset_row(run)

    def open(self, path: Path | None) -> ParquetSink:
        if path is None:
            raise ExportError("Parquet cannot go to standard output: give -o PATH")
        return ParquetSink(path)


class HFDatasetExporter(ParquetExporter):
    """A directory ``datasets.load_dataset(DIR)`` opens, splits by name.

    Each export's files carry its own id (``data/train-00000-of-00001-<id>.parquet``) and
    the card names them exactly: ``datasets`` keys its cache on the card's file patterns
    (not on file times), so a fixed name would load a stale copy after a re-export. Files
    of earlier exports into the same directory are removed once the new card is written.
    """

    name = "hf"
    description = "a Hugging Face datasets directory: data/SPLIT-*.parquet + README.md card"
    directory = True

    def __init__(self) -> None:
        super().__init__()
        self.export_id = secrets.token_hex(4)

    def split_path(self, directory: Path, split: str) -> Path:
        return directory / "data" / f"{split}-00000-of-00001-{self.export_id}.parquet"

    def finish(self, directory: Path, counts: dict[str, int]) -> None:
        files = {split: self.split_path(directory, split) for split in counts}
        card = dataset_card(directory.name, counts,
                            {s: p.relative_to(directory).as_posix() for s, p in files.items()})
        (directory / "README.md").write_text(card, encoding="utf-8")
        for old in (directory / "data").glob("*-00000-of-00001-*.parquet"):
            if old not in files.values() and _EXPORTED.match(old.name):
                old.unlink()


_EXPORTED = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-00000-of-00001-[0-9a-f]{8}\.parquet$")


def dataset_card(name: str, counts: dict[str, int], paths: dict[str, str]) -> str:
    """A README.md whose YAML header tells ``datasets`` which file makes which split."""
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in counts:
        lines += [f"  - split: {split}", f"    path: {paths[split]}"]
    lines += ["task_categories:", "- text-generation", "tags:", "- tool-use",
              "- function-calling", "---", "", f"# {name}", "",
              f"Tool-use examples exported by `agent export --format hf` on "
              f"{datetime.now(UTC).date().isoformat()}, one row per recorded run.", "",
              "| split | rows |", "|---|---|"]
    lines += [f"| {split} | {count} |" for split, count in counts.items()]
    lines += ["", "| field | what it holds |", "|---|---|"]
    lines += [f"| `{field}` | {what} |" for field, what in FIELDS.items()]
    lines += ["", "```python", "from datasets import load_dataset", "",
              f'ds = load_dataset("path/to/{name}")  # this directory',
              "```", ""]
    return "\n".join(lines)
