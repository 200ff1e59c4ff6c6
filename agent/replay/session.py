"""One replay in progress: which recorded step answers the planner's next request, and the
environment that asks it.

``Cursor`` decides, request by request, whether the recording serves it (cached) or it runs
for real (live). Cached replay serves everything and calls a request the recording does not
hold a divergence; live replay re-executes tools and the model and only takes the user's
answers from the recording; a fork serves the recording before its step and is live from
there (or from the first request that no longer matches, whichever comes first).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from agent.environment import AskCallback, Environment
from agent.refs import has_nested, substitute
from agent.store.encode import args_hash
from agent.types import Run, Step, ToolResult, ToolStatus

from .errors import ReplayDivergence
from .recording import AskStep, ModelStep, Recording, ToolStep

#: The cursor of the replay running in this context (read by the replay chat model).
CURRENT: ContextVar[Cursor | None] = ContextVar("agent_replay_cursor", default=None)


#: How long a served step waits for the steps that ended before it in the original run
#: (their order is the transcript's order) before it gives up waiting and goes on.
ORDER_WAIT = 2.0


class ReplayedModelError(RuntimeError):
    """The recorded model call failed; a cached replay fails the same way."""


class EndOrder:
    """Served steps end in the order the original steps ended.

    A run's transcript is the order in which its steps ended, and with concurrency (the
    compiler starts tools while the plan streams, and runs tasks in parallel) that order
    came from real durations. Served steps take no time, so each one waits until the steps
    that ended before it in the original have ended in the replay. Sequential planners
    never wait: their steps end in order anyway.
    """

    def __init__(self, rec: Recording | None) -> None:
        """``rec=None``: no order to keep (another planner, whose steps are its own)."""
        kinds = ("model", "tool_calls")
        steps = [s for s in rec.steps if s.get("kind") in kinds] if rec is not None else []
        steps.sort(key=lambda s: (s.get("ended_at") or float("inf"), s["seq"]))
        self.rank = {int(s["seq"]): i for i, s in enumerate(steps)}
        self.done = [False] * len(steps)
        self.upto = 0  # every rank below this has ended
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def turn(self, seq: int) -> None:
        rank = self.rank.get(seq)
        if rank is None or rank <= self.upto:
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((rank, future))
        with contextlib.suppress(TimeoutError):  # an earlier step never came: go on
            await asyncio.wait_for(asyncio.shield(future), ORDER_WAIT)

    def ended(self, seq: int) -> None:
        rank = self.rank.get(seq)
        if rank is None:
            return
        self.done[rank] = True
        while self.upto < len(self.done) and self.done[self.upto]:
            self.upto += 1
        self._wake()

    def release(self) -> None:
        """Nothing recorded is served any more (a fork went live): stop waiting."""
        self.upto = len(self.done)
        self._wake()

    def _wake(self) -> None:
        keep = []
        for rank, future in self.waiters:
            if rank <= self.upto:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((rank, future))
        self.waiters = keep


class Cursor:
    """Hands out recorded steps in order; ``mode`` is ``cached``, ``live`` or ``fork``."""

    def __init__(self, rec: Recording, mode: str, fork_step: int | None = None, *,
                 same_planner: bool = True, live_model_name: str | None = None) -> None:
        self.rec = rec
        self.mode = mode
        self.fork_step = fork_step
        self.live = mode == "live"
        self.live_from: int | None = None  # the step a fork went live at
        self.live_reason = ""
        self.models: deque[ModelStep] = deque(rec.model_steps if same_planner else ())
        self.tools: list[ToolStep] = list(rec.tool_steps)
        self.asks: list[AskStep] = list(rec.ask_steps)
        self.live_model_name = live_model_name
        # A fork with another planner: its steps are its own (numbered its own way); it gets
        # the recorded result of any call the recording has before the fork step, and
        # everything else runs live.
        self.reuse_only = mode == "fork" and not same_planner
        self.served = 0
        self.run: Run | None = None
        self.order = EndOrder(rec if same_planner and mode != "live" else None)
        self._serving: dict[str, int] = {}  # replay step id -> the recorded step it serves

    # Decisions ----------------------------------------------------------------------------
    def _cached(self, seq: int) -> bool:
        if self.mode == "cached":
            return True
        if self.live:
            return False
        if not self.reuse_only and self.fork_step is not None and seq >= self.fork_step:
            self._go_live(seq, f"the fork starts at step {self.fork_step}")
            return False
        return True

    def _go_live(self, seq: int, reason: str) -> None:
        self.live, self.live_from, self.live_reason = True, seq, reason
        self.order.release()

    def step_ended(self, step: Step) -> None:
        seq = self._serving.pop(step.id, None)
        if seq is not None:
            self.order.ended(seq)

    def _diverge(self, seq: int, what: str, why: str) -> None:
        """Cached: a divergence error naming the step. Fork: go live from here."""
        if self.mode != "cached":
            self._go_live(seq, why)
            return
        cause = (f"the original run ended {self.rec.status}, so its recording stops early"
                 if self.rec.status in ("running", "interrupted", "cancelled") else
                 "the planner or its tools no longer do what they did (try --live to see "
                 "the difference)")
        message = (f"cached replay of run {self.rec.id[:16]} diverged at step {seq} ({what}): "
                   f"{why}; {cause}")
        if self.run is not None:
            self.run.error = message
        raise ReplayDivergence(message)

    # Tools --------------------------------------------------------------------------------
    def tool_results(self, step: Step, plan: list[dict[str, Any]]
                     ) -> tuple[list[ToolResult], int] | None:
        """The recorded results for this batch and the recorded step's number, or
        ``None``: run it for real."""
        if not self._cached(step.seq):
            return None
        limit = self.fork_step if self.mode == "fork" else None
        for i, rec in enumerate(self.tools):
            if limit is not None and rec.seq >= limit:
                break
            results = _match(plan, rec)
            if results is not None:
                del self.tools[i]
                self.served += 1
                self._serving[step.id] = rec.seq
                return results, rec.seq
        if self.reuse_only:
            return None
        expected = self.tools[0] if self.tools else None
        why = (f"the recording has {_describe_rows(expected.rows)} at step {expected.seq}, "
               f"the planner called {_describe_calls(plan)}" if expected else
               f"the planner called {_describe_calls(plan)}, but the recording has no more "
               "tool calls")
        self._diverge(step.seq, f"tool calls {step.name}", why)
        return None

    # The model ----------------------------------------------------------------------------
    def will_serve_model(self) -> bool:
        seq = len(self.run.steps) + 1 if self.run is not None else 1
        if self.mode == "live" or self.live or not self.models:
            return False
        return self.mode == "cached" or self.fork_step is None or seq < self.fork_step

    def model_name(self) -> str | None:
        """The name of the model the next model step will use (its step's name)."""
        if self.will_serve_model():
            return self.models[0].name
        return self.live_model_name

    def model_reply(self) -> tuple[dict[str, Any], int] | None:
        """The recorded reply for the model step in flight and the recorded step's number,
        or ``None``: ask the live model."""
        if self.reuse_only:
            return None
        step = self._current_step("model")
        seq = step.seq if step is not None else len(self.run.steps) if self.run else 0
        if not self._cached(seq):
            return None
        if not self.models:
            self._diverge(seq, "model", "the planner asked the model again, but the recording "
                          "has no more model replies")
            return None
        rec = self.models.popleft()
        self.served += 1
        if step is not None:
            self._serving[step.id] = rec.seq
        if rec.status != "ok":
            raise ReplayedModelError(rec.error or f"the recorded model call ended {rec.status}")
        if rec.reply is None:
            self._diverge(seq, "model", f"step {rec.seq} of the recording kept no reply")
            return None
        return rec.reply, rec.seq

    # The user -----------------------------------------------------------------------------
    def answer(self, question: str, schema: dict[str, Any] | None) -> tuple[str, Any]:
        """``("answer", value)``, ``("needs_input", None)`` or ``("live", None)``: ask the
        live callback (if any)."""
        seq = len(self.run.steps) + 1 if self.run is not None else 1
        if not self.reuse_only and self._cached(seq):
            rec = self.asks[0] if self.asks else None
            if rec is not None and rec.question == question:
                self.asks.pop(0)
                self.served += 1
                return ("answer", rec.answer) if rec.status == "ok" else ("needs_input", None)
            why = (f"the planner asked {question!r}, the recording asked {rec.question!r}"
                   if rec else f"the planner asked {question!r}, which the recording never did")
            self._diverge(seq, "ask", why)
        fields = set((schema or {}).get("properties") or {})
        for i, rec in enumerate(self.asks):  # live: the user's answer to the same question
            if rec.status == "ok" and (rec.question == question or (
                    fields and isinstance(rec.answer, dict) and fields <= set(rec.answer))):
                del self.asks[i]
                return "answer", rec.answer
        return "live", None

    # Helpers ------------------------------------------------------------------------------
    def _current_step(self, kind: str) -> Step | None:
        if self.run is not None:
            for step in reversed(self.run.steps):
                if step.kind == kind and step.status == "running":
                    return step
        return None

    def leftover(self) -> list[int]:
        """Recorded steps a cached replay never asked for (the run did less than before)."""
        return sorted([m.seq for m in self.models] + [t.seq for t in self.tools]
                      + [a.seq for a in self.asks])


class ReplayEnvironment(Environment):
    """An environment whose tool calls, model replies and answers come from a ``Cursor``
    while it says so, and from the real tools, model and user otherwise."""

    def __init__(self, agent: Any, run: Run, cursor: Cursor, *,
                 emit: Callable[..., None] | None = None, ask: AskCallback | None = None,
                 answers: dict[str, Any] | None = None) -> None:
        super().__init__(agent, run, emit=emit, ask=ask, answers=answers)
        self.cursor = cursor
        cursor.run = run
        self._live_ask = ask

    async def _execute(self, step: Step, plan: list[dict[str, Any]],
                       on_start: Callable[[dict[str, Any]], None],
                       on_result: Callable[[ToolResult], None]) -> list[ToolResult]:
        served = self.cursor.tool_results(step, plan)
        if served is None:
            return await super()._execute(step, plan, on_start, on_result)
        results, seq = served
        await self.cursor.order.turn(seq)
        for call, result in zip(plan, results, strict=True):
            on_start(call)
            on_result(result)
        return results

    def end_step(self, step: Step, status: str = "ok", **data: Any) -> None:
        super().end_step(step, status, **data)
        self.cursor.step_ended(step)

    async def ask(self, question: str, schema: dict[str, Any] | None = None) -> Any:
        fields = (schema or {}).get("properties", {})
        if fields and all(f in self.answers for f in fields):  # answered up front: no step
            return await super().ask(question, schema)
        kind, value = self.cursor.answer(question, schema)
        if kind == "answer":
            self.ask_callback = lambda _question, _schema: value
        else:
            self.ask_callback = None if kind == "needs_input" else self._live_ask
        return await super().ask(question, schema)


def _match(plan: list[dict[str, Any]], rec: ToolStep) -> list[ToolResult] | None:
    """The recorded results if ``rec`` holds exactly these calls (name and arguments, by
    position), else ``None``. Arguments are compared as the store keeps them: canonical,
    redacted, with references resolved from the recorded outputs."""
    if len(plan) != len(rec.rows):
        return None
    outputs = {c["id"]: r.get("content") for c, r in zip(plan, rec.rows, strict=True)}
    now = time.time()
    results = []
    for call, row in zip(plan, rec.rows, strict=True):
        if call["name"] != row.get("tool_name"):
            return None
        args = call["args"]
        want = row.get("args_hash")
        if args_hash(args) != want:
            if not has_nested(args):
                return None
            try:
                args = substitute(args, outputs)
            except (LookupError, KeyError, TypeError):
                return None
            if args_hash(args) != want:
                return None
        status: ToolStatus = row.get("status") or "error"
        results.append(ToolResult(
            call["id"], call["name"], status,
            content=row.get("content") if status == "success" else None,
            error=row.get("error"), args=args, duration_ms=0.0, started_at=now,
            attempts=int(row.get("attempts") or 1)))
    return results


def _describe_calls(plan: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['name']}({_short(c['args'])})" for c in plan) or "nothing"


def _describe_rows(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r.get('tool_name')}({_short(r.get('args'))})" for r in rows) or "nothing"


def _short(args: Any, limit: int = 60) -> str:
    text = json.dumps(args, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
