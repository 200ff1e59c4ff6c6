"""TraceStore: the one object the runtime, CLI and exporters use to reach the trace file."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import fts, queries
from .batch import Batch
from .bulk import BulkRows, UnfinishedSteps
from .connection import connect, translate_errors
from .errors import RunNotFoundError, StoreError
from .migrations import migrate
from .paths import default_db_path
from .redact import redact_text, refresh_env_secrets
from .rows import ToolRows, finish_fields, run_row
from .transaction import immediate
from .writes import delete_run_rows, mark_interrupted

if TYPE_CHECKING:
    from sqlite_utils import Database

    from .scan import RunFilter

#: Methods `apply()` may run; everything else is refused so a batch cannot do surprises.
WRITE_OPS = frozenset(
    {
        "start_run",
        "record_step",
        "record_tool_calls",
        "record_messages",
        "finish_run",
        "set_label",
        "delete_run",
    }
)

#: Ops that write neither steps, tool calls nor messages, and read nothing.
_OTHER_TABLES = frozenset({"start_run", "finish_run"})

Op = tuple[str, Sequence[Any], dict[str, Any]]
T = TypeVar("T")


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0 checks, sends nothing)."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there; assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class TraceStore:
    """A SQLite trace store: one connection, WAL mode, one transaction per write.

    Usable from one thread at a time, from any thread (a background writer may own it).
    Every write method is a single transaction; `apply()` runs many of them as one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 10.0,
        max_content_bytes: int = 65536,
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path(create=False)
        if str(self.path) != ":memory:":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory of trace store {self.path} ({exc.strerror}): "
                    "set AGENT_HOME to a writable directory"
                ) from exc
        self.busy_timeout = busy_timeout
        self.max_content_bytes = max_content_bytes
        refresh_env_secrets()  # the secrets the environment holds now are never written
        self._lock = threading.RLock()
        self._db: Database | None = None
        self._batch: Batch | None = None
        self._tool_row = ToolRows()
        self._unfinished = UnfinishedSteps()  # steps written before they ended (bulk.py)
        #: Ids of runs found `running` with a dead process, marked `interrupted` on open.
        self.interrupted_runs: list[str] = []
        with translate_errors(self.path, busy_timeout):
            db = connect(self.path, busy_timeout)
            try:
                migrate(db, str(self.path))
                self.interrupted_runs = mark_interrupted(
                    db.conn, socket.gethostname(), pid_alive
                )
            except BaseException:
                db.close()
                raise
        self._db = db

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The sqlite-utils Database (for exporters and ad-hoc reads)."""
        if self._db is None:
            raise StoreError(f"trace store {self.path} is closed: open a new TraceStore")
        return self._db

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> TraceStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TraceStore({str(self.path)!r})"

    @contextmanager
    def _reading(self) -> Iterator[Database]:
        with self._lock, translate_errors(self.path, self.busy_timeout):
            yield self.db

    def _write(self, op: Callable[[Batch], T]) -> T:
        """Run `op` in a write transaction, or queue it into the one `apply()` holds open."""
        with self._lock:
            if self._batch is not None:
                return op(self._batch)
            with translate_errors(self.path, self.busy_timeout):
                conn = self.db.conn
                self._batch = batch = Batch(conn, str(self.path))
                try:
                    with immediate(conn):
                        result = op(batch)
                        batch.flush()
                finally:
                    self._batch = None
                return result

    # -- writes ----------------------------------------------------------------------------

    def start_run(self, run: dict[str, Any], tools: Iterable[Any] = (),
                  tool_rows: Iterable[dict[str, Any]] = ()) -> str:
        """Insert (or update) a run and the tools offered to it; returns the run id.

        `status` defaults to 'running' and `pid`/`host` to this process, which is how a
        later open tells a crashed run from a live one. `tool_rows`: tools as
        `agent.store.rows.tool_row` builds them (the writer process is sent them built: its
        own cache would miss every run, the schemas arriving as new objects each time).
        """
        row = run_row(run)
        tool_rows = [*map(self._tool_row, tools), *tool_rows]
        links = [{"run_id": row["id"], "tool_hash": t["hash"]} for t in tool_rows]

        def op(batch: Batch) -> None:
            batch.upsert("runs", [row])
            batch.upsert("tools", tool_rows)
            batch.upsert("run_tools", links)

        self._write(op)
        return str(row["id"])

    def record_step(self, step: Any) -> None:
        """Insert a step, or update only the columns given if its id exists.

        `step` is a dict of columns, or an object with every column as an attribute (an
        `agent.types.Step`), which writes them all.
        """
        self._write(lambda batch: self._build(batch, "add_step", step))

    def record_tool_calls(self, rows: Iterable[dict[str, Any]]) -> None:
        """Upsert tool calls; `args` and `content` may be any JSON-able value."""
        self._write(lambda batch: self._build(batch, "add_tool_calls", rows))

    def record_messages(self, run_id: str, messages: Iterable[Any], start_seq: int = 0) -> None:
        """Store transcript messages at seq start_seq, start_seq+1, ... (upsert by seq).

        Messages may be langchain-core BaseMessages or their `message_to_dict` form.
        """
        self._write(lambda batch: self._build(batch, "add_messages", run_id, messages,
                                              start_seq))

    def _build(self, batch: Batch, add: str, *args: Any) -> None:
        bulk = BulkRows(self.max_content_bytes, self._unfinished)
        getattr(bulk, add)(*args)
        bulk.queue(batch)

    def finish_run(self, run_id: str, **fields: Any) -> None:
        """Set a run's outcome: status (default 'ok', or 'error' if `error` is given),
        answer, error, ended_at (default now), duration_ms (default from started_at), tokens.
        """
        values = finish_fields(fields)
        self._write(lambda batch: batch.update_run(run_id, values))

    def set_label(self, run_id: str, key: str, value: Any) -> None:
        """Attach or replace a `key=value` label on a run."""
        text = None if value is None else redact_text(str(value))

        def op(batch: Batch) -> None:
            batch.flush()  # the run may be queued in this very batch
            if not batch.conn.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone():
                raise self._not_found(run_id)
            batch.upsert("labels", [{"run_id": run_id, "key": key, "value": text}])

        self._write(op)

    def delete_run(self, id_or_prefix: str) -> str:
        """Delete a run and all its rows in one transaction; returns the full id."""

        def op(batch: Batch) -> str:
            batch.flush()
            run_id = queries.resolve_run_id(self.db, self.path, id_or_prefix)
            delete_run_rows(batch.conn, run_id)
            return run_id

        return self._write(op)

    def apply(self, ops: Iterable[Op]) -> None:
        """Run many write ops as ONE transaction: all are stored, or none.

        Each op is `(method_name, args, kwargs)`, e.g. `("record_step", (step,), {})`.
        A background writer batches events this way: one commit per batch instead of one
        per event, and rows of the same table go to SQLite together. The steps, tool calls
        and messages of the batch are built together (`agent.store.bulk`), before any op
        that reads or flushes the batch.
        """

        def op(batch: Batch) -> None:
            bulk = BulkRows(self.max_content_bytes, self._unfinished)
            adders: dict[str, Callable[..., None]] = {
                "record_step": bulk.add_step, "record_tool_calls": bulk.add_tool_calls,
                "record_messages": bulk.add_messages}
            for name, args, kwargs in ops:
                add = adders.get(name)
                if add is not None and (not kwargs or name == "record_messages"):
                    add(*args, **kwargs)
                elif name in _OTHER_TABLES:  # runs and tools only: no need to build first
                    getattr(self, name)(*args, **kwargs)
                elif name in WRITE_OPS:
                    bulk.queue(batch)
                    getattr(self, name)(*args, **kwargs)
                else:
                    raise ValueError(
                        f"apply() cannot run {name!r}: use one of {sorted(WRITE_OPS)}"
                    )
            bulk.queue(batch)

        self._write(op)

    def apply_each(self, ops: Iterable[Op]) -> list[str]:
        """Run ops one by one, each stored or undone alone (inside an open transaction, under
        a savepoint): after ``apply()`` refused a batch, what can be stored of it is.
        Returns one line per op refused."""
        refused: list[str] = []
        for op in ops:
            with self._lock:
                conn = self.db.conn
                nested = conn.in_transaction
                if nested:
                    conn.execute("SAVEPOINT apply_each")
                try:
                    self.apply([op])
                except Exception as exc:
                    if nested:
                        conn.execute("ROLLBACK TO apply_each")
                    refused.append(f"{op[0]}: {type(exc).__name__}: {exc}")
                finally:
                    if nested:
                        conn.execute("RELEASE apply_each")
        return refused

    def import_runs(self, runs: Iterable[tuple[Iterable[Sequence[Any]], dict[str, Any]]],
                    source: str) -> None:
        """Store finished runs made elsewhere, each `(captured ops, labels)`, in ONE
        transaction: a killed writer leaves whole runs or none (see `agent.store.imports`)."""
        from .imports import run_ops

        self.apply([op for ops, labels in runs for op in run_ops(ops, source, labels)])

    def labelled_runs(self, key: str, value: str) -> list[dict[str, Any]]:
        """Runs labelled `key=value`, each with id, query, status and a `labels` dict."""
        from .imports import labelled_runs

        with self._reading() as db:
            return labelled_runs(db, key, value)

    # -- reads -----------------------------------------------------------------------------

    def resolve_run_id(self, id_or_prefix: str) -> str:
        """The full id for an id or unique prefix (>= 4 chars)."""
        with self._reading() as db:
            return queries.resolve_run_id(db, self.path, id_or_prefix)

    def get_run(self, id_or_prefix: str) -> dict[str, Any]:
        """The run row plus `steps`, `tool_calls`, `messages`, `labels` and `tools` lists."""
        with self._reading() as db:
            run_id = queries.resolve_run_id(db, self.path, id_or_prefix)
            return queries.get_run(db, run_id)

    def list_runs(
        self, limit: int = 20, status: str | None = None, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest runs first, each with a `tool_call_count`."""
        with self._reading() as db:
            return queries.list_runs(db, limit, status, session_id)

    def search(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Runs whose messages match `text` (full-text) or whose query contains it.

        Messages written since the last search are indexed first (`agent.store.fts`)."""
        self.index_messages()
        with self._reading() as db:
            return queries.search(db, text, limit)

    def index_messages(self) -> int:
        """Bring the full-text index up to date; returns how many messages it took in."""
        with self._reading() as db:
            if not fts.has_unindexed(db.conn):
                return 0
        return self._write(lambda batch: fts.index_unindexed(batch.conn))

    def iter_tool_calls(self, id_or_prefix: str) -> Iterator[dict[str, Any]]:
        """Tool calls of one run in order (decoded). Materialised under the lock."""
        with self._reading() as db:
            run_id = queries.resolve_run_id(db, self.path, id_or_prefix)
            rows = list(queries.iter_tool_calls(db, run_id))
        return iter(rows)

    def scan(
        self, run_filter: RunFilter | None = None, *, chunk_size: int = 500
    ) -> Generator[dict[str, Any], None, None]:
        """Stream the matching runs with transcripts, offered tools and labels, in id order,
        one chunk in memory at a time (see `agent.store.scan`). Default: runs with status ok.
        """
        from .scan import RunFilter, iter_runs

        with translate_errors(self.path, self.busy_timeout):
            yield from iter_runs(self.db, run_filter or RunFilter(), chunk_size)

    def count_runs(self, run_filter: RunFilter | None = None) -> int:
        """How many runs match `run_filter` (every run without one)."""
        from .scan import count_runs

        with self._reading() as db:
            return count_runs(db, run_filter)

    def _not_found(self, run_id: str) -> RunNotFoundError:
        return RunNotFoundError(f"no run '{run_id}' in {self.path}: see `agent traces list`")
