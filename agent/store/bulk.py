"""The rows of a whole write batch at once, with one secret check for all of them.

Why: a traced step becomes five rows (a model step, a tool step, a tool call, two
transcript messages). Built one by one, each row cost a few Python calls, its own secret
scan and its own checks: more than SQLite's insert of it. Here each table's rows are built
in one loop that calls nothing but the encoders, and the secret pre-check runs once, over
the texts of the whole batch joined by NUL. That is exact: no pattern of
``agent.store.redact`` contains a NUL, so nothing matches across two texts, and its token
count adds up text by text. Where it finds something, the rows whose own texts it finds
something in are built again the row-by-row way (``agent.store.rows``), which redacts; so
is a whole table's share of a batch holding anything but the common shapes below. Either
way gives the very same rows, so what is stored never depends on the way taken.

The common shapes: steps as objects with every step column as an attribute
(``agent.types.Step``); tool calls as objects with a ``tool_call_fields()`` method
(``TOOL_CALL_FIELDS``); messages as langchain-core messages, ``{"type", "data"}`` dicts or
the writer process's ``agent.store.wire.EncodedMessage``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from .encode import canonical_json, sha256_hex, truncate_text
from .redact import dumps, might_hold_secret
from .rows import (
    MESSAGE_COLUMNS,
    STEP_COLUMNS,
    STEP_FIELDS,
    TOOL_CALL_STATUSES,
    langchain_messages,
    message_row,
    plain_text,
    step_row,
    step_values,
    tool_call_row,
)
from .wire import EncodedMessage, StepValues

if TYPE_CHECKING:
    from .batch import Batch

#: What a fast tool-call object's ``tool_call_fields()`` returns, in this order.
TOOL_CALL_FIELDS = (
    "id", "run_id", "step_id", "call_id", "seq", "tool_name", "args", "status", "content",
    "error", "started_at", "duration_ms", "attempts",
)
#: The columns ``tool_call_row`` gives such a call (its dict, then what it adds).
_CALL_COLUMNS = (*TOOL_CALL_FIELDS, "args_hash", "truncated")

Row = tuple[Any, ...]


class _Texts:
    """The texts a batch's rows would store unredacted, and which row each belongs to."""

    __slots__ = ("owners", "texts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.owners: list[int] = []

    def add(self, row: int, text: str) -> None:
        self.texts.append(text)
        self.owners.append(row)

    def suspects(self) -> set[int]:
        """The rows some text of which might hold a secret (none, in one scan, usually)."""
        if not might_hold_secret("\x00".join(self.texts)):
            return set()
        return {self.owners[i] for i, text in enumerate(self.texts) if might_hold_secret(text)}


#: Where a step row says whether the step has ended.
_ENDED_AT = STEP_COLUMNS.index("ended_at")
#: Unfinished steps remembered at most (``UnfinishedSteps``); past it they are forgotten.
MAX_UNFINISHED = 4096


class UnfinishedSteps(set[str]):
    """Ids of the steps a store wrote before they ended: each comes again when it ends.

    Why: a step is written as it is when the writer takes it, so one in flight then (a
    model step whose reply is still coming, the step of a long tool call) is stored twice.
    Inserted with the rows that are new, its second row made the INSERT of its whole group
    fail, and the group was redone as an upsert: in runs of 200 steps most frames the
    writer process gets, ~7 us a step of its ~43 (the redone upserts alone, recorded frames
    one at a time). Rows of these ids go straight to the upsert instead. A hint only: a row
    it misses still fails the INSERT and is upserted, one it keeps wrongly is upserted
    (an upsert of a new row inserts it)."""

    def note(self, rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]],
                                                          list[tuple[Any, ...]]]:
        """``rows`` split into (new, known), in order within each; remembers those unfinished
        and forgets those that ended. The new rows must be written first: a step's later
        row is always among the known."""
        new: list[tuple[Any, ...]] = []
        known: list[tuple[Any, ...]] = []
        for row in rows:
            if row[0] in self:
                known.append(row)
                if row[_ENDED_AT] is not None:
                    self.discard(row[0])
            else:
                new.append(row)
                if row[_ENDED_AT] is None:
                    if len(self) >= MAX_UNFINISHED:  # steps that never ended: forget them
                        self.clear()
                    self.add(row[0])
        return new, known


class BulkRows:
    """Steps, tool calls and messages of one transaction, queued into its batch together.
    ``unfinished``: the store's ``UnfinishedSteps`` (kept from one transaction to the next)."""

    def __init__(self, max_content_bytes: int,
                 unfinished: UnfinishedSteps | None = None) -> None:
        self.limit = max_content_bytes
        self.unfinished = UnfinishedSteps() if unfinished is None else unfinished
        self._steps: list[Any] = []
        self._calls: list[Any] = []  # each: an iterable of row dicts, or a fast call object
        self._messages: list[tuple[str, int, Iterable[Any]]] = []
        #: Same arguments as ``TraceStore.record_step`` / ``record_tool_calls``.
        self.add_step: Callable[[Any], None] = self._steps.append
        self.add_tool_calls: Callable[[Any], None] = self._calls.append

    def add_messages(self, run_id: str, messages: Iterable[Any], start_seq: int = 0) -> None:
        self._messages.append((run_id, start_seq, messages))

    def queue(self, batch: Batch) -> None:
        """Build what was added, queue it into ``batch`` in the order it came, forget it."""
        limit = self.limit
        if self._steps:
            steps = self._steps[:]
            self._steps.clear()
            rows = _fast_steps(steps)
            if rows is not None:
                new, known = self.unfinished.note(rows)
                if new:
                    batch.upsert_many("steps", STEP_COLUMNS, new)
                if known:
                    batch.upsert_many("steps", STEP_COLUMNS, known, known=True)
            else:
                for step in steps:
                    values = step_values(step)
                    if values is None:
                        batch.upsert("steps", [step_row(step)])
                    else:
                        batch.upsert_many("steps", STEP_COLUMNS, [values])
        if self._calls:
            calls = self._calls[:]
            self._calls.clear()
            rows = _fast_calls(calls, limit)
            if rows is not None:
                batch.upsert_many("tool_calls", _CALL_COLUMNS, rows)
            else:
                for entry in calls:
                    batch.upsert("tool_calls", [tool_call_row(r, limit)
                                                for r in _call_dicts(entry)])
        if self._messages:
            groups, self._messages = self._messages, []
            items = [(run_id, seq, m) for run_id, start, messages in groups
                     for seq, m in enumerate(messages, start)]
            rows = _fast_messages(items, limit)
            if rows is not None:
                batch.upsert_many("messages", MESSAGE_COLUMNS, rows)
            else:
                batch.upsert("messages", [message_row(run_id, seq, m, limit)
                                          for run_id, seq, m in items])


def _fast_steps(steps: list[Any]) -> list[Row] | None:
    """What ``step_values`` gives each step, or None to go step by step."""
    if any(issubclass(kind, Mapping) for kind in set(map(type, steps))):
        return None  # step_values decides what a mapping means
    try:
        values = [s.values if type(s) is StepValues else STEP_FIELDS(s) for s in steps]
    except AttributeError:  # not a step: step_values raises the error
        return None
    texts = _Texts()
    rows: list[Row] = []
    for v in values:
        if not v[0] or not v[1]:
            return None  # step_values raises the error
        if type(v[5]) is str:
            texts.add(len(rows), v[5])  # the name
        data = v[12]
        if data is None:
            rows.append(v)
            continue
        text = dumps(data)
        texts.add(len(rows), text)
        rows.append((*v[:12], text))
    for i in texts.suspects():
        rows[i] = cast(Row, step_values(steps[i]))  # an object's values: never None
    return rows


def _fast_calls(calls: list[Any], limit: int) -> list[Row] | None:
    """What ``tool_call_row`` gives each call, or None to go call by call."""
    texts = _Texts()
    rows: list[Row] = []
    for call in calls:
        fields: Callable[[], Row] | None = getattr(call, "tool_call_fields", None)
        if fields is None:
            return None
        (id_, run_id, step_id, call_id, seq, tool_name, args, status, content, error,
         started_at, duration_ms, attempts) = fields()
        if not id_ or not run_id or (status is not None and status not in TOOL_CALL_STATUSES):
            return None  # tool_call_row raises the error
        row = len(rows)
        args_text = canonical_json(args)
        texts.add(row, args_text)
        if type(error) is str:
            texts.add(row, error)
        cut = 0
        if content is not None:
            content = dumps(content)
            texts.add(row, content)
            if len(content) * 4 > limit:
                content, was_cut = truncate_text(content, limit)
                cut = int(was_cut)
        rows.append((id_, run_id, step_id, call_id, seq, tool_name, args_text, status,
                     content, error, started_at, duration_ms, attempts,
                     sha256_hex(args_text), cut))
    for i in texts.suspects():
        (redone,) = [tool_call_row(r, limit) for r in _call_dicts(calls[i])]
        rows[i] = tuple(redone.values())
    return rows


def _call_dicts(entry: Any) -> Iterable[Mapping[str, Any]]:
    """A ``record_tool_calls`` argument as row dicts."""
    fields = getattr(entry, "tool_call_fields", None)
    if callable(fields):
        return [dict(zip(TOOL_CALL_FIELDS, fields(), strict=True))]
    return cast(Iterable[Mapping[str, Any]], entry)


def _fast_messages(items: list[tuple[str, int, Any]], limit: int) -> list[Row] | None:
    """What ``message_row`` gives each message, or None to go message by message."""
    base = langchain_messages()[0]
    texts = _Texts()
    rows: list[Row] = []
    for run_id, seq, message in items:
        if type(message) is dict:
            data = message.get("data")
            kind = message.get("type")
            if kind is None or (type(data) is not dict and not isinstance(data, Mapping)):
                return None
            text = dumps(message)
            content = data.get("content")
            calls = data.get("tool_calls")
        elif type(message) is EncodedMessage:  # from the writer process's wire
            kind = message.type
            text = f'{_prefix(kind)}{message.data_json}}}'
            content = message.content
            calls = message.tool_calls
        elif isinstance(message, base):
            message = cast(Any, message)  # a BaseMessage (mypy sees `base` as a plain type)
            try:
                encoded = message.__pydantic_serializer__.to_json(
                    message, fallback=str, warnings=False)
            except Exception:
                return None
            kind = message.type
            text = f'{_prefix(kind)}{encoded.decode()}}}'
            content = message.content
            calls = getattr(message, "tool_calls", None)
        else:
            return None
        if type(content) is str:
            if len(content) * 4 > limit:
                return None  # message_row cuts it
            plain = _with_calls(content, calls, limit) if calls else content
        else:
            if isinstance(content, str) and len(content) * 4 > limit:
                return None
            plain = truncate_text(plain_text({"content": content, "tool_calls": calls}),
                                  limit)[0]
        texts.add(len(rows), text)
        rows.append((run_id, seq, kind, text, plain))
    for i in texts.suspects():
        rows[i] = tuple(message_row(*items[i], limit).values())
    return rows


@cache
def _prefix(kind: str) -> str:
    """The start of a message's stored JSON, up to its data."""
    return f'{{"type":{dumps(kind)},"data":'


def _with_calls(content: str, calls: Iterable[Any], limit: int) -> str:
    """``plain_text`` of a text message that makes tool calls (the content is short)."""
    parts = [content] if content else []
    for call in calls:
        if type(call) is dict or isinstance(call, Mapping):
            parts.append(f"{call.get('name', '')} {dumps(call.get('args'))}")
    return truncate_text("\n".join(parts), limit)[0]
