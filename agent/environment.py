"""What a planner acts through: tools, the model, the user, the retriever, all traced.

A planner never calls a tool, a model or the user directly; it goes through its
``Environment`` so every planner is recorded, replayable and exportable the same way.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from agent.errors import NeedsInput
from agent.refs import normalize_calls
from agent.types import Event, Run, Step, Tool, ToolBatch, ToolResult, maybe_await

if TYPE_CHECKING:
    from agent.runtime import Agent

AskCallback = Callable[[str, dict[str, Any] | None], Any | Awaitable[Any]]


class StepLimitReached(Exception):
    """Internal: the planner used up ``max_steps``; the run ends ``max_steps``."""


_CURRENT: ContextVar[Environment | None] = ContextVar("agent_environment", default=None)


def current_environment() -> Environment | None:
    """The environment whose tool calls are running in this context, if any.

    Set around ``call_tools``, so a tool (or a bridge such as MCP elicitation) can reach the
    run's ``ask`` without a global and without every tool taking a context parameter.
    """
    return _CURRENT.get()


_PROCESS = secrets.token_hex(3)  # tells processes apart
_COUNTER = itertools.count()


def new_id() -> str:
    """Time-ordered unique id (sortable by creation): time in ns, process, counter."""
    return f"{time.time_ns():016x}{_PROCESS}{next(_COUNTER) & 0xFFFFFF:06x}"


class Environment:
    def __init__(
        self,
        agent: Agent,
        run: Run,
        *,
        emit: Callable[[Event], None] | None = None,
        ask: AskCallback | None = None,
        answers: Mapping[str, Any] | None = None,
    ) -> None:
        self.agent = agent
        self.run = run
        self.emit = emit
        self.ask_callback = ask
        self.answers = dict(answers or {})
        self._seq = 0
        self._recorder = agent._recorder()
        # (tools as given, model, tool ids, bound model, tool names): see _bind
        self._bound: tuple[Any, Any, tuple[int, ...], Any, list[str]] | None = None

    @property
    def tools(self) -> dict[str, Tool]:
        return self.agent.tools

    # Steps -------------------------------------------------------------------------------
    def begin_step(self, kind: str, name: str | None = None, parent_id: str | None = None) -> Step:
        if len(self.run.steps) >= self.agent.max_steps:
            raise StepLimitReached
        self._seq += 1
        step = Step(new_id(), self.run.id, self._seq, kind, name, parent_id,
                    started_at=time.time())
        self.run.steps.append(step)
        if self._recorder is not None:  # its tool calls refer to it before it ends
            self._recorder.put_step(step)
        if self.emit is not None:
            self.emit(Event("step_started", self.run, step=step))
        return step

    def end_step(self, step: Step, status: str = "ok", **data: Any) -> None:
        step.ended_at = time.time()
        step.duration_ms = (step.ended_at - step.started_at) * 1000
        step.status = status
        if data:  # a new dict: the trace writer may be reading the old one
            step.data = {**step.data, **data}
        if self._recorder is not None:
            self._recorder.put_step(step)
        self.agent._hooks.on_step(run=self.run, step=step)
        if self.emit is not None:
            self.emit(Event("step_finished", self.run, step=step))

    # Tools -------------------------------------------------------------------------------
    async def call_tools(
        self, calls: Iterable[Any], *, name: str | None = None, parent_id: str | None = None
    ) -> list[ToolResult]:
        """Run a batch of calls (a plan; references allowed) as one step."""
        plan = normalize_calls(calls)
        step = self.begin_step("tool_calls", name or _names(plan), parent_id)
        recorder, emit, run = self._recorder, self.emit, self.run
        seq0 = len(run.results)
        order = {c["id"]: i for i, c in enumerate(plan)} if len(plan) > 1 else None

        def on_start(call: dict[str, Any]) -> None:
            if emit is not None:
                emit(Event("tool_started", run, step=step, call=call))

        def on_result(result: ToolResult) -> None:
            if recorder is not None:
                seq = seq0 + order[result.call_id] if order is not None else seq0
                recorder.put_tool_calls(ToolCallRow(result, step, seq))
            if emit is not None:
                emit(Event("tool_finished", run, step=step, result=result))

        token = _CURRENT.set(self)
        try:
            results = await self._execute(step, plan, on_start, on_result)
        except BaseException:
            self.end_step(step, "cancelled")
            raise
        finally:
            _CURRENT.reset(token)
        run.results.extend(results)
        self._record_messages(*run.add_tool_batch(plan, results))
        failed = sum(not r.ok for r in results)
        self.end_step(step, "ok" if not failed else "error", calls=len(plan), failed=failed)
        return results

    async def _execute(self, step: Step, plan: list[dict[str, Any]],
                       on_start: Callable[[dict[str, Any]], None],
                       on_result: Callable[[ToolResult], None]) -> list[ToolResult]:
        """Run one step's calls; a replay serves recorded results here instead."""
        return await self.agent._executor.execute(
            plan, run_id=self.run.id, on_start=on_start, on_result=on_result
        )

    # Models ------------------------------------------------------------------------------
    async def call_model(
        self, messages: list[Any], tools: Iterable[Tool] | None = None, *,
        parent_id: str | None = None, **kwargs: Any,
    ) -> Any:
        """Ask the agent's chat model; the step records tokens and time."""
        model, step = self.begin_model_step(parent_id)
        bound, names = self._bind(model, tools) if tools else (model, None)
        try:
            reply = await bound.ainvoke(messages, **kwargs)
        except BaseException as exc:
            self.end_step(step, "error", error=f"{type(exc).__name__}: {exc}")
            raise
        self.end_model_step(step, reply, **({"tools": names} if names else {}))
        return reply

    def _bind(self, model: Any, tools: Iterable[Tool]) -> tuple[Any, list[str] | None]:
        """``model.bind_tools`` for these tools and their names, reused while the model and
        the tools stay the same (a planner offers the same tools step after step; binding
        converts every schema again)."""
        cached = self._bound
        if (cached is not None and cached[0] is tools and cached[1] is model
                and type(tools) is tuple):  # the same tuple again: nothing to compare
            return cached[3], cached[4]
        offered = list(tools)
        if not offered:
            return model, None
        key = tuple(map(id, offered))
        if cached is None or cached[1] is not model or cached[2] != key:
            bound = model.bind_tools([t.spec() for t in offered])
            cached = (tools, model, key, bound, [t.name for t in offered])
        else:
            cached = (tools, *cached[1:])
        self._bound = cached
        return cached[3], cached[4]

    def begin_model_step(self, parent_id: str | None = None) -> tuple[Any, Step]:
        """The agent's chat model and a new ``model`` step (planners that stream use these
        two and ``end_model_step`` directly)."""
        model = self.agent.model
        if model is None:
            from agent.errors import ModelNotFoundError

            raise ModelNotFoundError(
                "this planner needs a chat model: pass --model ID (`agent models` lists "
                "them) or set $AGENT_MODEL; in code, Agent(model=...)"
            )
        return model, self.begin_step("model", self.agent._model_step_name(model), parent_id)

    def end_model_step(self, step: Step, reply: Any, **data: Any) -> None:
        """Count the reply's tokens and add it to the transcript; the step keeps the reply's
        place there (``message``: its seq), which is where replay serves it from."""
        usage = getattr(reply, "usage_metadata", None) or {}
        step.tokens_in = int(usage.get("input_tokens", 0))
        step.tokens_out = int(usage.get("output_tokens", 0))
        self.run.tokens_in += step.tokens_in
        self.run.tokens_out += step.tokens_out
        seq = self.run.add_message(reply)
        self._record_messages(seq, (reply,))
        self.end_step(step, "ok", message=seq, **data)

    def _record_messages(self, seq: int, messages: tuple[Any, ...] | ToolBatch) -> None:
        """Store transcript messages as they come (the writer converts them), so a run that
        dies keeps what it said so far."""
        if self._recorder is not None and len(messages):
            self._recorder.put("record_messages", self.run.id, messages, seq)

    # The user ----------------------------------------------------------------------------
    async def ask(self, question: str, schema: dict[str, Any] | None = None) -> Any:
        """The paper's get_info: ask the user for what the query left out.

        With ``schema`` (a JSON Schema object) the answer is validated and asked again with
        the reason when it does not fit. Answers given up front (``answers``, or a resumed
        run) are used without asking. With nobody to ask, the run ends ``needs_input``.
        """
        fields = (schema or {}).get("properties", {})
        if fields and all(f in self.answers for f in fields):
            return {f: self.answers[f] for f in fields}
        step = self.begin_step("ask", question)
        if self.emit is not None:
            self.emit(Event("question", self.run, step=step))
        if self.ask_callback is None:
            missing = {f: s for f, s in fields.items() if f not in self.answers}
            self.end_step(step, "needs_input", question=question, missing=missing)
            raise NeedsInput(question, missing)
        prompt = question
        for _ in range(3):
            try:
                answer = await maybe_await(self.ask_callback(prompt, schema))
            except BaseException:  # the user cancelled at the question
                self.end_step(step, "cancelled", question=question)
                raise
            problem = _check_answer(answer, schema)
            if problem is None:
                self.end_step(step, "ok", question=question, answer=answer)
                if isinstance(answer, dict):
                    self.answers.update(answer)
                return answer
            prompt = f"{question} ({problem})"
        self.end_step(step, "error", question=question, error=problem)
        raise NeedsInput(f"{question} ({problem})", fields)

    # Retrieval ---------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 10) -> list[Tool]:
        """Candidate tools for ``query``: the agent's retriever, or every tool."""
        retriever = self.agent.retriever
        if retriever is None:
            return list(self.tools.values())[:k] if k else list(self.tools.values())
        return list(retriever(query, k))


def _check_answer(answer: Any, schema: dict[str, Any] | None) -> str | None:
    if schema is None:
        return None if answer not in (None, "") else "an answer is needed"
    from agent.schema import compile_validator, explain

    validator = compile_validator(schema, "answer")
    if validator.is_valid(answer):
        return None
    field, message = explain(validator, answer)
    return f"{field}: {message}" if field else message


def _names(plan: list[dict[str, Any]]) -> str:
    if len(plan) == 1:
        return str(plan[0]["name"])
    names = list(dict.fromkeys(c["name"] for c in plan))
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


class ToolCallRow:
    """One call's ``tool_calls`` row, built when the trace writer reads it (off the event
    loop): ``record_tool_calls`` takes any iterable of rows, and reads an object with
    ``tool_call_fields()`` without a dict (``agent.store.bulk.TOOL_CALL_FIELDS``)."""

    __slots__ = ("result", "seq", "step")

    def __init__(self, result: ToolResult, step: Step, seq: int) -> None:
        self.result, self.step, self.seq = result, step, seq

    def tool_call_fields(self) -> tuple[Any, ...]:
        result, step = self.result, self.step
        return (f"{step.id}-{self.seq}", step.run_id, step.id, result.call_id, self.seq,
                result.name, result.args, result.status, result.content, result.error,
                result.started_at, result.duration_ms, result.attempts)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from agent.store.bulk import TOOL_CALL_FIELDS  # the store: imported when it writes

        yield dict(zip(TOOL_CALL_FIELDS, self.tool_call_fields(), strict=True))
