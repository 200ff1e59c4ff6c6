"""The core value types: Tool, ToolContext, ToolResult, Step, Run, Answer, Event.

JSON Schema is the lingua franca: a tool's ``parameters`` is a JSON Schema object, whatever
the tool was made from (a Python function, a raw schema, a LangChain tool, an object).
Reflection (signatures, type hints, schema compilation) happens once, when the tool is made;
the executor only looks at the finished ``Tool``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agent.store.jsontext import text_encoder

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from langchain_core.messages import BaseMessage, ToolMessage

_as_json = text_encoder()  # what json.dumps(ensure_ascii=False, default=str) gives, faster

ToolStatus = Literal["success", "error", "cancelled"]
RunStatus = Literal[
    "running", "ok", "error", "needs_input", "cancelled", "max_steps", "interrupted"
]


@dataclass
class ToolContext:
    """Handed to a tool that declares a parameter annotated ``ToolContext``.

    That parameter never appears in the tool's schema. It carries the run and call ids and the
    agent's settings (for example ``files_root``), so tools need no globals.
    """

    run_id: str | None = None
    call_id: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Tool:
    """A callable with a name, a description and a JSON Schema for its arguments.

    ``fn`` is called as ``fn(**args)`` (plus the context keyword, if the tool declares one);
    it may be sync (run in a worker thread) or async. ``state_key`` groups tools that share
    mutable state (one object's methods): the executor keeps their calls in the given order,
    as it does for all tools with ``side_effects``.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    output_schema: dict[str, Any] | None = None
    plugin: str | None = None
    tags: tuple[str, ...] = ()
    side_effects: bool = False
    timeout: float | None = None
    retries: int | None = None
    state_key: str | None = None
    context_param: str | None = None
    examples: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    is_async: bool = field(init=False)
    _validator: list[Validator] = field(init=False, repr=False, default_factory=list)
    _fast: list[Callable[[Any], bool] | None] = field(init=False, repr=False,
                                                     default_factory=list)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            from agent.errors import ToolDefinitionError

            raise ToolDefinitionError(f"a tool needs a non-empty string name, got {self.name!r}")
        fn = self.fn
        is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )
        object.__setattr__(self, "is_async", is_async)

    # Construction -------------------------------------------------------------------------
    @classmethod
    def from_function(cls, fn: Callable[..., Any], **options: Any) -> Tool:
        """Make a tool from a typed, Google-docstring'd function (sync or async)."""
        from agent.schema import tool_from_function

        return tool_from_function(fn, **options)

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        fn: Callable[..., Any],
        **options: Any,
    ) -> Tool:
        """Make a tool from a raw JSON Schema (OpenAPI, MCP, BFCL-style function docs)."""
        from agent.schema import tool_from_schema

        return tool_from_schema(name, description, parameters, fn, **options)

    @classmethod
    def coerce(cls, obj: Any, **options: Any) -> Tool:
        """Accept a Tool, a decorated or plain function, or a LangChain ``BaseTool``."""
        from agent.schema import as_tool

        return as_tool(obj, **options)

    # Validation ---------------------------------------------------------------------------
    @property
    def validator(self) -> Validator:
        """The compiled jsonschema validator, built on first use and then cached."""
        if not self._validator:
            from agent.schema import compile_validator

            self._validator.append(compile_validator(self.parameters, self.name))
        return self._validator[0]

    def is_valid(self, args: Any) -> bool:
        """Do ``args`` validate? A quick check for simple schemas, jsonschema otherwise."""
        if not self._fast:
            from agent.schema import fast_check

            self._fast.append(fast_check(self.parameters))
        fast = self._fast[0]
        if fast is not None and fast(args):
            return True
        return bool(self.validator.is_valid(args))

    def spec(self) -> dict[str, Any]:
        """The OpenAI-style function spec (what models and exporters see)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(slots=True)
class ToolResult:
    """What one tool call produced. Errors are results too: the planner sees them."""

    call_id: str
    name: str
    status: ToolStatus
    content: Any = None
    error: str | None = None
    artifact: Any = None
    args: dict[str, Any] | None = None
    duration_ms: float = 0.0
    started_at: float = 0.0
    attempts: int = 1
    #: ``text()`` of ``content``, kept: the model's tool message and the trace's both ask.
    _text: tuple[Any, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def text(self) -> str:
        """The content as text: strings as they are, anything else as JSON (made once per
        content object: change ``content`` by assigning it, not in place)."""
        if self.status != "success":
            return f"Error: {self.error}"
        content = self.content
        if isinstance(content, str):
            return content
        kept = self._text
        if kept is not None and kept[0] is content:
            return kept[1]
        text = _as_json(content)
        self._text = (content, text)
        return text

    def to_message(self) -> ToolMessage:
        """The langchain-core ``ToolMessage`` for a model's transcript."""
        from langchain_core.messages import ToolMessage

        return ToolMessage(
            content=self.text(),
            tool_call_id=self.call_id,
            name=self.name,
            status="success" if self.status == "success" else "error",
            artifact=self.artifact,
        )


@dataclass(slots=True)
class Step:
    """One thing a planner did: a batch of tool calls, a model call, a question, the answer.

    ``parent_id`` makes the steps a tree, so a search planner's backtracking is kept.
    """

    id: str
    run_id: str
    seq: int
    kind: str
    name: str | None = None
    parent_id: str | None = None
    status: str = "running"
    started_at: float = 0.0
    ended_at: float | None = None
    duration_ms: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "parent_id": self.parent_id,
            "seq": self.seq,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": self.duration_ms,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Task:
    """What a planner is asked to do."""

    query: str
    run_id: str


@dataclass(slots=True)
class Answer:
    """A planner's final answer: text for people, ``data`` for programs."""

    text: str
    data: Any = None
    status: RunStatus = "ok"


@dataclass(slots=True)
class Run:
    """One query and everything that happened while answering it."""

    id: str
    query: str
    status: RunStatus = "running"
    answer: str | None = None
    data: Any = None
    error: str | None = None
    planner: str | None = None
    model: str | None = None
    session_id: str | None = None
    parent_id: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    duration_ms: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    steps: list[Step] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    #: Message dicts (langchain-core ``message_to_dict`` form), model replies as they came
    #: (converted when read) and ``ToolBatch``es; ``message_dicts`` gives them all as dicts.
    transcript: list[Any] = field(default_factory=list)
    #: How many messages ``transcript`` holds (a tool batch is several): the next seq.
    message_count: int = 0
    missing: dict[str, Any] = field(default_factory=dict)
    #: What replay needs to run it again: ``planner_options``, ``answers`` given up front.
    metadata: dict[str, Any] = field(default_factory=dict)

    def add_message(self, message: Any) -> int:
        """Append one message, a dict in ``message_to_dict`` form or a ``BaseMessage`` (kept
        as it is: converting costs more than the rest of a step); returns its seq."""
        seq = self.message_count
        self.transcript.append(message)
        self.message_count = seq + 1
        return seq

    def add_tool_batch(self, calls: list[dict[str, Any]],
                       results: list[ToolResult]) -> tuple[int, ToolBatch]:
        """Record a batch of calls and its results; returns the seq of its first message and
        the batch (its messages are only built when someone reads them)."""
        last = self.transcript[-1] if self.transcript else None
        said = _call_ids(last) == [c["id"] for c in calls]
        batch = ToolBatch(calls, results, with_calls=not said)
        seq = self.message_count
        self.transcript.append(batch)
        self.message_count = seq + len(batch)
        return seq, batch

    @property
    def message_dicts(self) -> list[dict[str, Any]]:
        """The transcript in langchain-core's dict form."""
        out: list[dict[str, Any]] = []
        for entry in self.transcript:
            if isinstance(entry, dict):
                out.append(entry)
            elif isinstance(entry, ToolBatch):
                out.extend(entry)
            else:
                out.append(message_to_dict(entry))
        return out

    @property
    def messages(self) -> list[BaseMessage]:
        """The transcript as langchain-core messages."""
        from langchain_core.messages import messages_from_dict

        return messages_from_dict(self.message_dicts)


def message_to_dict(message: Any) -> dict[str, Any]:
    """langchain-core's dict form of a message (a dict is taken as already converted)."""
    if isinstance(message, dict):
        return message
    from langchain_core.messages import message_to_dict as convert

    return convert(message)


def _call_ids(message: Any) -> list[str] | None:
    """The ids of the tool calls an AI message makes (None for any other message)."""
    if message is None or isinstance(message, ToolBatch):
        return None
    if isinstance(message, dict):
        if message.get("type") != "ai":
            return None
        return [tc["id"] for tc in message["data"].get("tool_calls") or ()]
    if getattr(message, "type", None) != "ai":
        return None
    return [tc["id"] for tc in message.tool_calls]


class ToolBatch:
    """A batch of calls and its results as transcript messages: an AI message with the calls
    (unless the model's own message just said them), then one tool message per result."""

    __slots__ = ("calls", "results", "with_calls")

    def __init__(self, calls: list[dict[str, Any]], results: list[ToolResult], *,
                 with_calls: bool) -> None:
        self.calls, self.results, self.with_calls = calls, results, with_calls

    def __len__(self) -> int:
        return len(self.results) + self.with_calls

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.with_calls:
            yield {"type": "ai", "data": {
                "content": "", "type": "ai", "invalid_tool_calls": [], "additional_kwargs": {},
                "response_metadata": {}, "tool_calls": [
                    {"name": c["name"], "args": c["args"], "id": c["id"], "type": "tool_call"}
                    for c in self.calls]}}
        for text, call_id, name, ok in self.result_fields():
            yield {"type": "tool", "data": {
                "content": text, "tool_call_id": call_id, "name": name,
                "status": "success" if ok else "error", "type": "tool"}}

    def result_fields(self) -> list[tuple[str, str, str, bool]]:
        """Each result's tool message as (text, call id, tool name, ok): all the trace
        writer process is sent of it (``agent.store.wire``)."""
        return [(r.text(), r.call_id, r.name, r.ok) for r in self.results]


EventType = Literal[
    "run_started", "step_started", "tool_started", "tool_finished", "step_finished",
    "question", "run_finished",
]


@dataclass(slots=True)
class Event:
    """What ``Agent.stream`` yields, in the order things happen."""

    type: EventType
    run: Run
    step: Step | None = None
    call: dict[str, Any] | None = None
    result: ToolResult | None = None


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable: callbacks and hooks may be sync or async."""
    if inspect.isawaitable(value):
        return await value
    return value

