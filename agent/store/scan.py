"""Stream many runs out of the store, filtered, with their transcripts: for export and stats.

One query walks the matching runs in id order through a single cursor, read a chunk at a
time; each chunk's messages, offered tools and labels come in three more queries keyed by
the chunk's run ids. Memory holds one chunk, however large the store, and the open cursor
keeps one read snapshot for the whole walk (WAL: writers are not blocked).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

#: Columns of `runs` every scanned run carries.
RUN_FIELDS = (
    "id", "query", "status", "source", "planner", "model", "session_id", "parent_id",
    "started_at", "duration_ms", "tokens_in", "tokens_out", "answer", "error",
)
#: Decoded tool specs kept between chunks (runs offer the same tools again and again).
_TOOL_CACHE_SIZE = 4096


@dataclass(frozen=True)
class RunFilter:
    """Which runs to read. Every given criterion must hold (AND).

    statuses: any of these statuses (empty: any status).
    sources: any of these sources (empty: any); a run's source is its `source` label if it
        has one (`agent generate` sets `source=synthetic`), else the `runs.source` column.
    labels: `(key, value)` pairs that must all be set; value `None` means any value.
    tools: the run called at least one of these tools.
    since / until: `started_at` in [since, until) (Unix seconds).
    limit: at most this many runs (the first ones in id, i.e. creation, order).
    """

    statuses: tuple[str, ...] = ("ok",)
    sources: tuple[str, ...] = ()
    labels: tuple[tuple[str, str | None], ...] = ()
    tools: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    limit: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL `WHERE` clause (possibly empty) and its parameters."""
        terms: list[str] = []
        params: list[Any] = []
        if self.statuses:
            terms.append(f"status IN ({_marks(self.statuses)})")
            params.extend(self.statuses)
        if self.sources:
            terms.append("coalesce((SELECT value FROM labels WHERE run_id = runs.id AND "
                         f"key = 'source'), source) IN ({_marks(self.sources)})")
            params.extend(self.sources)
        for key, value in self.labels:
            if value is None:
                terms.append("EXISTS (SELECT 1 FROM labels WHERE run_id = runs.id AND key = ?)")
                params.append(key)
            else:
                terms.append("EXISTS (SELECT 1 FROM labels WHERE run_id = runs.id "
                             "AND key = ? AND value = ?)")
                params.extend((key, value))
        if self.tools:
            terms.append("EXISTS (SELECT 1 FROM tool_calls WHERE run_id = runs.id "
                         f"AND tool_name IN ({_marks(self.tools)}))")
            params.extend(self.tools)
        if self.since is not None:
            terms.append("started_at >= ?")
            params.append(self.since)
        if self.until is not None:
            terms.append("started_at < ?")
            params.append(self.until)
        return (f"WHERE {' AND '.join(terms)}" if terms else ""), params

    def describe(self) -> str:
        """The criteria in the words of the CLI flags, for messages."""
        parts = [f"status={','.join(self.statuses)}" if self.statuses else "status=any"]
        if self.sources:
            parts.append(f"source={','.join(self.sources)}")
        parts.extend(f"label={k}" + ("" if v is None else f"={v}") for k, v in self.labels)
        if self.tools:
            parts.append(f"tool={','.join(self.tools)}")
        if self.since is not None:
            parts.append(f"since={_iso(self.since)}")
        if self.until is not None:
            parts.append(f"until={_iso(self.until)}")
        return ", ".join(parts)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _iso(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def run_source(run: Mapping[str, Any]) -> str | None:
    """A scanned run's source: its `source` label, else the `runs.source` column."""
    return (run.get("labels") or {}).get("source") or run.get("source")


def count_runs(db: Database, run_filter: RunFilter | None = None) -> int:
    """How many runs match (all runs without a filter)."""
    where, params = (run_filter or RunFilter(statuses=())).where()
    return int(db.execute(f"SELECT count(*) FROM runs {where}", params).fetchone()[0])


def iter_runs(
    db: Database, run_filter: RunFilter, chunk_size: int = 500
) -> Iterator[dict[str, Any]]:
    """Matching runs in id order, each a dict of `RUN_FIELDS` plus

    - `messages`: the transcript in langchain-core `message_to_dict` form, in order;
    - `tools`: the tools offered, `{name, description, parameters, hash}`, by name;
    - `labels`: `{key: value}`.

    The tool dicts are shared between runs (cached): treat them as read-only.
    """
    where, params = run_filter.where()
    limit = ""
    if run_filter.limit is not None:
        limit = " LIMIT ?"
        params.append(run_filter.limit)
    cursor = db.conn.execute(
        f"SELECT {', '.join(RUN_FIELDS)} FROM runs {where} ORDER BY id{limit}", params
    )
    tool_cache: dict[str, dict[str, Any]] = {}
    try:
        while rows := cursor.fetchmany(chunk_size):
            runs = [dict(zip(RUN_FIELDS, row, strict=True)) for row in rows]
            _attach(db, runs, tool_cache)
            yield from runs
    finally:
        cursor.close()


def _attach(db: Database, runs: list[dict[str, Any]], cache: dict[str, dict[str, Any]]) -> None:
    """Fill `messages`, `tools` and `labels` of one chunk of runs (four queries)."""
    by_id = {run["id"]: run for run in runs}
    for run in runs:
        run["messages"], run["tools"], run["labels"] = [], [], {}
    ids = list(by_id)
    marks = _marks(ids)
    for run_id, data in db.execute(
        f"SELECT run_id, data FROM messages WHERE run_id IN ({marks}) ORDER BY run_id, seq", ids
    ):
        by_id[run_id]["messages"].append(json.loads(data))
    links = db.execute(
        f"SELECT run_id, tool_hash FROM run_tools WHERE run_id IN ({marks})", ids
    ).fetchall()
    missing = list({h for _, h in links if h not in cache})
    if len(cache) + len(missing) > _TOOL_CACHE_SIZE:
        cache.clear()
        missing = list({h for _, h in links})
    for start in range(0, len(missing), 500):
        part = missing[start:start + 500]
        for hash_, name, description, parameters in db.execute(
            "SELECT hash, name, description, parameters FROM tools "
            f"WHERE hash IN ({_marks(part)})", part
        ):
            cache[hash_] = {"name": name, "description": description or "",
                            "parameters": json.loads(parameters) if parameters else {},
                            "hash": hash_}
    for run_id, hash_ in links:
        spec = cache.get(hash_)
        if spec is not None:
            by_id[run_id]["tools"].append(spec)
    for run in runs:
        run["tools"].sort(key=lambda t: (t["name"], t["hash"]))
    for run_id, key, value in db.execute(
        f"SELECT run_id, key, value FROM labels WHERE run_id IN ({marks}) ORDER BY key", ids
    ):
        by_id[run_id]["labels"][key] = value
