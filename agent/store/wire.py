"""Trace records as bytes, for the writer process (``agent.store.child``).

Why: encoding is what the event loop's thread pays per record when a child process writes
the trace, so it copies fields out of the objects and hands them to ``marshal`` (C, about
ten times faster than pickling the objects): a step becomes its 13 column values, a tool
call its ``tool_call_fields()``, a langchain-core message the JSON text pydantic-core gives
it (the text the store keeps), its content and its calls, a batch's tool messages their
``ToolBatch.result_fields()``. (Until session 14 a message of langchain-core's own classes
went as its ``__dict__``, rebuilt by the child: 2 us less for the loop a message, but 7 more
for the child, which is now the busier of the two.) In the rare entry ``marshal`` cannot
carry, ``str``/``int``/``float`` subclasses are made plain, and any other object (a
``datetime`` or a model in a tool result) becomes the JSON value its stored text is made
of: not pickled, since the child could not import a class of the caller's ``__main__``.
Decoding gives ops that ``TraceStore.apply`` builds into the rows it builds from the
original objects (the same rows, but for such objects inside a call's arguments, which the
store writes with ``str()`` and here are written as their JSON).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable, Sequence
from typing import Any

from agent.types import ToolBatch

from .rows import STEP_COLUMNS, STEP_FIELDS, ToolRows, langchain_messages

Op = tuple[str, Sequence[Any], dict[str, Any]]
_NO_KWARGS: dict[str, Any] = {}


class StepValues:
    """A step as its column values (``values``, read as they are by ``agent.store.bulk``),
    each also an attribute, as on a ``Step``."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = tuple(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[_STEP_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None


_STEP_INDEX = {name: i for i, name in enumerate(STEP_COLUMNS)}


class CallFields:
    """A tool call as its ``tool_call_fields()`` (what ``agent.store.bulk`` reads)."""

    __slots__ = ("fields",)

    def __init__(self, fields: Sequence[Any]) -> None:
        self.fields = tuple(fields)

    def tool_call_fields(self) -> tuple[Any, ...]:
        return self.fields


class EncodedMessage:
    """A langchain-core message as pydantic-core's JSON of it (``data_json``), with the
    content and tool calls the store's search text is made of."""

    __slots__ = ("content", "data_json", "tool_calls", "type")

    def __init__(self, type: str, data_json: str, content: Any, tool_calls: Any) -> None:
        self.type, self.data_json = type, data_json
        self.content, self.tool_calls = content, tool_calls

    def as_dict(self) -> dict[str, Any]:
        """The ``message_to_dict`` form (for the row-by-row way: redaction, cutting)."""
        return {"type": self.type, "data": json.loads(self.data_json)}


class SentToolBatch(ToolBatch):
    """A ``ToolBatch`` as the writer process gets it: its results as their fields."""

    __slots__ = ()

    def result_fields(self) -> list[tuple[str, str, str, bool]]:
        return self.results  # type: ignore[return-value]


def encode(ops: Iterable[Any]) -> bytes:
    """Queued records (``TraceRecorder`` entries or ops) as one ``decode``-able blob."""
    entries = [_entry(op) for op in ops]
    try:
        return b"m" + marshal.dumps(entries)
    except ValueError:  # something marshal has no format for: make just that entry plain
        return b"m" + marshal.dumps([_portable(e) for e in entries])


def decode(blob: bytes) -> list[Op]:
    """The ops ``encode`` was given, for ``TraceStore.apply``."""
    if blob[:1] != b"m":
        raise ValueError("not a trace records blob")
    return [_op(e) for e in marshal.loads(blob[1:])]


def _entry(op: Any) -> tuple[Any, ...]:
    """One record as plain values: ("s", step values), ("c", call fields), ("m", run id,
    first seq, messages), or ("o", op name, args, kwargs)."""
    kind = type(op)
    if kind is not tuple:  # a queued step or tool-call row object
        shape = _SHAPES.get(kind)
        if shape is None:
            shape = _SHAPES.setdefault(kind, "c" if hasattr(kind, "tool_call_fields") else
                                       "s" if hasattr(op, "run_id") else "rows")
        if shape == "c":
            return ("c", op.tool_call_fields())
        if shape == "s":
            return ("s", STEP_FIELDS(op))
        return ("o", "record_tool_calls", ([dict(row) for row in op],), _NO_KWARGS)
    name, args, kwargs = op
    if name == "record_step" and not kwargs and not isinstance(args[0], dict):
        return ("s", STEP_FIELDS(args[0]))
    if name == "record_tool_calls" and not kwargs and hasattr(args[0], "tool_call_fields"):
        return ("c", args[0].tool_call_fields())
    if name == "record_messages":
        run_id, messages, *rest = args
        start = rest[0] if rest else kwargs.get("start_seq", 0)
        if type(messages) is ToolBatch:
            calls = [(c["name"], c["args"], c["id"]) for c in messages.calls] \
                if messages.with_calls else []
            return ("b", run_id, start, messages.with_calls, calls, messages.result_fields())
        return ("m", run_id, start, [_encoded(m) for m in messages])
    if name == "record_tool_calls":
        return ("o", name, ([dict(row) for row in args[0]],), kwargs)
    if name == "start_run" and len(args) == 2 and not kwargs:
        run, tools = args  # the tools' rows, built once per schema object here
        return ("o", name, (_shallow(run),), {"tool_rows": [_TOOL_ROWS(t) for t in tools]})
    return ("o", name, tuple(args), _shallow(kwargs))


#: The ``tools`` rows of the tools runs offer, by schema object (every run offers them again).
_TOOL_ROWS = ToolRows()
#: How a queued object is sent, by its class: "c" a tool call, "s" a step, "rows" dicts.
_SHAPES: dict[type, str] = {}


def _encoded(message: Any) -> Any:
    """A message as the JSON text the store keeps of it (with its content and calls); a dict
    as it is."""
    if type(message) is dict:
        return message
    base = langchain_messages()[0]
    if isinstance(message, base):
        m: Any = message
        try:
            text = m.__pydantic_serializer__.to_json(m, fallback=str, warnings=False).decode()
        except Exception:  # the row-by-row way, from the message's dict form
            from .rows import message_dict

            return message_dict(m)
        return ("e", m.type, text, m.content, getattr(m, "tool_calls", None))
    return message


def _op(entry: Sequence[Any]) -> Op:
    kind = entry[0]
    if kind == "s":
        return ("record_step", (StepValues(entry[1]),), _NO_KWARGS)
    if kind == "c":
        return ("record_tool_calls", (CallFields(entry[1]),), _NO_KWARGS)
    if kind == "m":
        messages = [_unmessage(m) for m in entry[3]]
        return ("record_messages", (entry[1], messages, entry[2]), _NO_KWARGS)
    if kind == "b":
        _, run_id, start, with_calls, calls, fields = entry
        batch = SentToolBatch([{"name": n, "args": a, "id": i} for n, a, i in calls],
                              list(fields), with_calls=with_calls)
        return ("record_messages", (run_id, batch, start), _NO_KWARGS)
    return (entry[1], tuple(entry[2]), dict(entry[3]))


def _unmessage(message: Any) -> Any:
    if type(message) is tuple and message[0] == "e":
        return EncodedMessage(*message[1:])
    return message


def _portable(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    """An entry marshal can carry: as it is, with ``str``/``int``/``float`` subclasses made
    plain, or with any other object as the JSON value the store would write for it."""
    for candidate in (entry, _plain(entry)):
        try:
            marshal.dumps(candidate)
            return candidate
        except ValueError:
            pass
    result: tuple[Any, ...] = _plain(entry, json_only=True)
    return result


_SIMPLE = frozenset({str, int, float, bool, type(None)})


def _shallow(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with its values made plain where needed (a run's answer is a ``str``
    subclass: langchain-core's ``AIMessage.text``); usually as it is, looked at once. A
    nested value (a run's ``metadata``) is left as it is if ``marshal`` takes it (it takes
    only exact types): a trial ``dumps`` costs ~1 us, walking it with ``_plain`` ~6."""
    simple = _SIMPLE
    nested = [v for v in values.values() if type(v) not in simple]
    if not nested:
        return values
    try:
        marshal.dumps(nested)
    except ValueError:
        return {k: v if type(v) in simple else _plain(v) for k, v in values.items()}
    return values


def _plain(value: Any, json_only: bool = False) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool, bytes) or value is None:
        return value
    if kind is dict:
        return {_plain(k, json_only): _plain(v, json_only) for k, v in value.items()}
    if kind in (list, tuple):
        return kind(_plain(v, json_only) for v in value)
    for base in (str, int, float):
        if isinstance(value, base) and not isinstance(value, bool):
            return base(value)
    if json_only:
        from .redact import dumps

        return json.loads(dumps(value))
    return value
