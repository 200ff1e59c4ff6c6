"""Await a coroutine in a copy of the current context, in the caller's own task.

A task runs in a copy of the context it was created in, so what a tool sets in a
``ContextVar`` stays with its call. The executor runs a one-call plan without a task (a task
and its event-loop turn are most of a ReAct step's cost); this keeps that call as isolated
as the calls of a bigger plan, each in a task of its own.
"""

from __future__ import annotations

import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def detached() -> contextvars.Context:
    """An empty context for one of the framework's own timers (trace wake-ups, call
    deadlines). asyncio would run the timer in a copy of the context that set it, which holds
    the running agent's environment and through it the whole run: a timer set during a run
    kept that run alive until it fired, and a loop that never yields (a scripted model,
    instant tools) piled up runs for the garbage collector to walk again and again. A new one
    each time: a context can be entered by one thread at a time, and two threads' event loops
    may fire such timers at once."""
    return contextvars.Context()


@types.coroutine
def _suspend(awaited: Any) -> Generator[Any, Any, Any]:
    """Hand what the inner coroutine waits on to the running task, and its answer back."""
    return (yield awaited)


async def run_in_context(coro: Coroutine[Any, Any, T],
                         context: contextvars.Context | None = None) -> T:
    """``await coro``, each of its steps run in ``context`` (default: a copy of the current
    one), the way a task drives a coroutine. Cancellation and errors pass through."""
    ctx = contextvars.copy_context() if context is None else context
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            if error is None:
                awaited = ctx.run(coro.send, value)
            else:
                awaited, error = ctx.run(coro.throw, error), None
        except StopIteration as stop:
            return stop.value
        try:
            value = await _suspend(awaited)
        except BaseException as exc:  # cancellation (or a timeout) of the task: pass it in
            value, error = None, exc
