"""Run tool calls: validated, ordered by their references, independent ones concurrently.

Every failure of a single call (unknown tool, invalid arguments, refused approval, exception,
timeout) becomes an error ``ToolResult``; ``execute`` itself only raises for a malformed plan
(``PlanError``) and re-raises cancellation after recording the calls it stopped.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from agent.contextrun import detached, run_in_context
from agent.errors import ApprovalDenied, InvalidArgumentsError, ToolError, ToolNotFoundError
from agent.refs import call_refs, has_nested, normalize_calls, plan_order, substitute
from agent.registry import close_names
from agent.types import Tool, ToolContext, ToolResult, maybe_await

Approver = Callable[[dict[str, Any], Tool], bool | Awaitable[bool]]
ResultCallback = Callable[[ToolResult], None]
StartCallback = Callable[[dict[str, Any]], None]
SIDE_EFFECTS_GROUP = "\x00side-effects"


class Executor:
    """Executes explicit plans against a fixed set of tools.

    ``timeout`` and ``retries`` are defaults that a tool's own settings override;
    ``max_concurrency`` bounds how many tools run at once (``None``: no bound).
    """

    def __init__(
        self,
        tools: Mapping[str, Tool],
        *,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retries: int = 0,
        backoff: float = 0.5,
        approve: Approver | None = None,
        settings: Mapping[str, Any] | None = None,
        before_hooks: Iterable[Callable[..., Any]] = (),
        after_hooks: Iterable[Callable[..., Any]] = (),
        on_hook_error: Callable[[Callable[..., Any], BaseException], None] | None = None,
    ) -> None:
        self.tools = tools
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.approve = approve
        self.settings = settings or {}
        self.before_hooks = list(before_hooks)
        self.after_hooks = list(after_hooks)
        self.on_hook_error = on_hook_error
        self._limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._deadlines: Deadlines | None = None

    async def execute(
        self,
        calls: Iterable[Any],
        *,
        run_id: str | None = None,
        on_start: StartCallback | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[ToolResult]:
        """Run ``calls`` (a plan) and return their results in call order."""
        plan = normalize_calls(calls)
        loop = self._deadlines_here().loop
        outputs: dict[str, ToolResult] = {}
        if len(plan) == 1 and not call_refs(plan[0]):
            return [await self._run_inline(plan[0], outputs, run_id, on_start, on_result)]
        groups = [self._serial_group(c["name"]) for c in plan]
        deps = plan_order(plan, groups)
        tasks: list[asyncio.Task[ToolResult]] = []
        create = loop.create_task
        for i, call in enumerate(plan):
            need = [tasks[d] if d < i else None for d in deps[i]]
            if deps[i] and (any(t is None for t in need)):
                # A reference to a later call: wait on it by index once all tasks exist.
                coro = self._after_indices(deps[i], tasks, call, outputs, run_id, on_start,
                                           on_result)
            elif need:
                coro = self._after(need, call, outputs, run_id, on_start, on_result)  # type: ignore[arg-type]
            else:
                coro = self._run(call, outputs, run_id, on_start, on_result)
            tasks.append(create(coro))
        try:
            return list(await asyncio.gather(*tasks))
        except asyncio.CancelledError:
            await self._cancel(plan, tasks, on_result)
            raise

    def check(self, name: str, args: Mapping[str, Any]) -> Tool:
        """Raise ``ToolNotFoundError`` / ``InvalidArgumentsError`` before a call is made."""
        tool = self.tools.get(name)
        if tool is None:
            raise ToolNotFoundError(name, close_names(name, self.tools))
        if not tool.is_valid(args):
            from agent.schema import explain

            field, message = explain(tool.validator, args)
            raise InvalidArgumentsError(name, message, field)
        return tool

    # Internals ----------------------------------------------------------------------------
    def _serial_group(self, name: str) -> str | None:
        tool = self.tools.get(name)
        if tool is None:
            return None
        if tool.side_effects:
            return SIDE_EFFECTS_GROUP
        return tool.state_key

    async def _cancel(
        self,
        plan: list[dict[str, Any]],
        tasks: list[asyncio.Task[ToolResult]],
        on_result: ResultCallback | None,
    ) -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for call, t in zip(plan, tasks, strict=True):
            if t.cancelled() and on_result is not None:
                on_result(ToolResult(call["id"], call["name"], "cancelled",
                                     error="cancelled before it finished", args=call["args"]))

    async def _run_inline(self, call: dict[str, Any], outputs: dict[str, ToolResult],
                          run_id: str | None, on_start: StartCallback | None,
                          on_result: ResultCallback | None) -> ToolResult:
        """A plan of one call runs in the caller's task: no task to create and no event-loop
        turn to wait for, which is most of what a step of a one-call-per-turn planner
        (react) would cost. Timeouts, cancellation and context variables behave as in a task
        of its own."""
        try:
            return await run_in_context(self._run(call, outputs, run_id, on_start, on_result))
        except asyncio.CancelledError:
            if on_result is not None and call["id"] not in outputs:
                on_result(ToolResult(call["id"], call["name"], "cancelled",
                                     error="cancelled before it finished", args=call["args"]))
            raise

    async def _after(self, need: list[asyncio.Task[ToolResult]], *rest: Any) -> ToolResult:
        for t in need:
            await t
        return await self._run(*rest)

    async def _after_indices(
        self, indices: list[int], tasks: list[asyncio.Task[ToolResult]], *rest: Any
    ) -> ToolResult:
        for i in indices:
            await tasks[i]
        return await self._run(*rest)

    async def _run(
        self,
        call: dict[str, Any],
        outputs: dict[str, ToolResult],
        run_id: str | None,
        on_start: StartCallback | None,
        on_result: ResultCallback | None,
    ) -> ToolResult:
        if on_start is not None:
            on_start(call)
        result = await self._call(call, outputs, run_id)
        outputs[call["id"]] = result
        if on_result is not None:
            on_result(result)
        return result

    async def _call(
        self, call: dict[str, Any], outputs: dict[str, ToolResult], run_id: str | None
    ) -> ToolResult:
        name, call_id, args = call["name"], call["id"], call["args"]
        started = time.time()
        tool = self.tools.get(name)
        if tool is None:
            hint = close_names(name, self.tools)
            more = f"; did you mean {', '.join(hint)}?" if hint else ""
            return ToolResult(call_id, name, "error", error=f"unknown tool {name!r}{more}",
                              args=args, started_at=started)
        if has_nested(args):  # references or $literal escapes to resolve
            refs = call_refs(call)
            failed = [r for r in refs if not outputs[r].ok]
            if failed:
                return ToolResult(call_id, name, "error", args=args, started_at=started,
                                  error=f"not run: call {failed[0]!r} it depends on failed")
            try:
                args = substitute(args, {r: outputs[r].content for r in refs})
            except LookupError as exc:
                return ToolResult(call_id, name, "error", error=str(exc), args=args,
                                  started_at=started)
        if not tool.is_valid(args):
            where, message = _invalid(tool, args)
            return ToolResult(call_id, name, "error", error=f"invalid {where}: {message}",
                              args=args, started_at=started)
        if tool.side_effects:
            refusal = await self._approval(call, tool)
            if refusal:
                return ToolResult(call_id, name, "error", error=refusal, args=args,
                                  started_at=started)
        context = None
        if self.before_hooks or tool.context_param:
            context = ToolContext(run_id, call_id, self.settings)
            if self.before_hooks:
                await self._hooks(self.before_hooks, call=call, tool=tool, context=context)
        t0 = time.perf_counter()
        if self._limit is not None:
            async with self._limit:
                result = await self._attempts(tool, call_id, args, context)
        else:
            result = await self._attempts(tool, call_id, args, context)
        result.duration_ms = (time.perf_counter() - t0) * 1000
        result.started_at = started
        if self.after_hooks:
            await self._hooks(self.after_hooks, call=call, tool=tool, result=result,
                              context=context)
        return result

    async def _attempts(
        self, tool: Tool, call_id: str, args: dict[str, Any], context: ToolContext | None
    ) -> ToolResult:
        retries = self.retries if tool.retries is None else tool.retries
        timeout = self.timeout if tool.timeout is None else tool.timeout
        kwargs = {**args, tool.context_param: context} if tool.context_param else args
        attempt = 0
        while True:
            attempt += 1
            try:
                if timeout is None:
                    content = await (tool.fn(**kwargs) if tool.is_async
                                     else asyncio.to_thread(tool.fn, **kwargs))
                else:
                    content = await self._with_deadline(tool, kwargs, timeout)
                return ToolResult(call_id, tool.name, "success", content=content, args=args,
                                  attempts=attempt)
            except ToolError as exc:
                error, retryable = str(exc), False
            except TimeoutError:
                error, retryable = f"timed out after {timeout:g} s", True
            except Exception as exc:
                error, retryable = f"{type(exc).__name__}: {exc}", True
            if not retryable or attempt > retries:
                return ToolResult(call_id, tool.name, "error", error=error, args=args,
                                  attempts=attempt)
            delay = self.backoff * 2 ** (attempt - 1)
            await asyncio.sleep(delay * (1 + random.random() / 4))

    async def _with_deadline(self, tool: Tool, kwargs: dict[str, Any], timeout: float) -> Any:
        """Call the tool; past ``timeout`` it is cancelled and ``TimeoutError`` is raised."""
        deadlines = self._deadlines_here()
        task = asyncio.current_task(deadlines.loop)
        assert task is not None
        deadlines.add(task, timeout)
        try:
            if tool.is_async:
                return await tool.fn(**kwargs)
            return await asyncio.to_thread(tool.fn, **kwargs)
        except asyncio.CancelledError:
            # Ours alone: a timeout. Cancelled by someone else too (the run's caller, when
            # the call runs in the run's own task): the cancellation wins.
            if deadlines.expired(task) and task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            deadlines.remove(task)

    def _deadlines_here(self) -> Deadlines:
        """The deadlines of the loop running in this thread (made for it if need be)."""
        deadlines = self._deadlines
        if deadlines is None or not deadlines.here():
            deadlines = self._deadlines = Deadlines(asyncio.get_running_loop())
        return deadlines

    async def _approval(self, call: dict[str, Any], tool: Tool) -> str | None:
        """None if approved, else the refusal the planner will see."""
        if self.approve is None:
            return (f"tool {tool.name!r} has side effects and needs approval; none was given "
                    "(embedding: pass approve=...; CLI: answer the prompt or use --yes)")
        try:
            ok = await maybe_await(self.approve(call, tool))
        except ApprovalDenied as exc:  # a policy's refusal says why in its own words
            return str(exc)
        except Exception as exc:
            return f"approval failed: {type(exc).__name__}: {exc}"
        return None if ok else f"the user did not approve calling {tool.name!r}"

    async def _hooks(self, hooks: list[Callable[..., Any]], **kwargs: Any) -> None:
        for hook in hooks:
            try:
                await maybe_await(hook(**kwargs))
            except Exception as exc:
                if self.on_hook_error is not None:
                    self.on_hook_error(hook, exc)


def _invalid(tool: Tool, args: Any) -> tuple[str, str]:
    from agent.schema import explain

    field, message = explain(tool.validator, args)
    return (f"argument {field!r}" if field else "arguments"), message


class Deadlines:
    """Per-call timeouts with one timer for all calls, not one per call.

    ``asyncio.timeout`` arms a timer for every call; with thousands of short calls that costs
    more than the calls. Here each call only registers its deadline; a single timer wakes at
    the earliest one and cancels the calls that are past theirs. The timer stays armed when
    the calls finish: calls one after another (a planner's steps) then arm none at all, and
    a timer with nothing due when it fires only sets itself for the next deadline.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._thread = threading.get_ident()
        self._due: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._wake_at = float("inf")

    def here(self) -> bool:
        """Whether this is the loop running in this thread, without asking asyncio (its
        ``get_running_loop()`` costs a getpid() system call; this runs for every call): a
        thread runs one loop at a time, so a loop made here that still runs is that one."""
        return self._thread == threading.get_ident() and self.loop.is_running()

    def add(self, task: asyncio.Task[Any], timeout: float) -> None:
        due = self.loop.time() + timeout
        self._due[task] = due
        if due < self._wake_at:
            self._arm(due)

    def remove(self, task: asyncio.Task[Any]) -> None:
        self._due.pop(task, None)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._wake_at = when
        self._timer = self.loop.call_at(when, self._fire, context=detached())

    def _fire(self) -> None:
        self._timer, self._wake_at = None, float("inf")
        now = self.loop.time()
        for task, due in list(self._due.items()):
            if due <= now:
                del self._due[task]
                self._expired.add(task)
                task.cancel()
        if self._due:
            self._arm(min(self._due.values()))
