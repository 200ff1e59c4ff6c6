"""``Agent``: a planner, tools, a model and a trace store, put together.

``run`` answers a query through a planner; ``execute`` runs an explicit plan. Both are traced
as runs. A failing tool, a planner bug or a cancellation ends the run with a status; nothing
already recorded is lost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from agent.environment import AskCallback, Environment, StepLimitReached, new_id
from agent.errors import AgentError, NeedsInput
from agent.executor import Approver, Executor
from agent.plugin_manager import PluginSet
from agent.recorder import TraceRecorder
from agent.registry import Registry, build_registry, collect_tools
from agent.replay.options import run_metadata
from agent.types import Answer, Event, Run, Task, Tool, ToolBatch, ToolResult
from agent.writer_choice import writer_choice

log = logging.getLogger("agent")
DEFAULT_PLANNER = "dataflow"


class _Hooks:
    """Run-time hooks from plugins, each isolated: a raising hook is logged, not fatal."""

    def __init__(self, plugins: PluginSet | None) -> None:
        self.plugins = plugins
        get = plugins.impls if plugins is not None else (lambda name: [])
        self.before_tool_call = get("before_tool_call")
        self.after_tool_call = get("after_tool_call")
        self._on_step = get("on_step")
        self._on_run_end = get("on_run_end")
        self._pending: list[asyncio.Future[Any]] = []

    def error(self, hook: Callable[..., Any], exc: BaseException) -> None:
        log.warning("plugin hook %s failed: %s: %s", getattr(hook, "__qualname__", hook),
                    type(exc).__name__, exc)

    def _call(self, hooks: list[Callable[..., Any]], **kwargs: Any) -> None:
        for hook in hooks:
            try:
                out = hook(**kwargs)
            except Exception as exc:
                self.error(hook, exc)
                continue
            if asyncio.iscoroutine(out) or isinstance(out, asyncio.Future):
                self._pending.append(asyncio.ensure_future(out))

    def on_step(self, **kwargs: Any) -> None:
        if self._on_step:
            self._call(self._on_step, **kwargs)

    def on_run_end(self, **kwargs: Any) -> None:
        if self._on_run_end:
            self._call(self._on_run_end, **kwargs)

    async def settle(self) -> None:
        """Await the awaitables hooks returned; their failures are logged."""
        pending, self._pending = self._pending, []
        for out in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(out, Exception):
                log.warning("plugin hook failed: %s: %s", type(out).__name__, out)


@functools.cache
def _hostname() -> str:
    """This host's name, asked once (a system call per run otherwise)."""
    return socket.gethostname()


class Agent:
    """Answer queries with tools, through a planner, keeping every run as a trace.

    tools: functions, ``Tool``s, LangChain tools, lists from ``tools_from_object``, or names of
        registered tools; ``None`` offers every tool the installed plugins register.
    planner: a planner object or a registered name (default ``"dataflow"``).
    planner_options: options for planners given by name, per name: ``{"react":
        {"first_tool_choice": None}}`` (agent.toml's ``[planners.NAME]`` tables).
    model: a langchain-core chat model or a registered model id (planners that need one).
    store: ``None`` for the default trace store, a path, a ``TraceStore``, or ``False``.
    approve: approves calls to tools with side effects: a callable ``(call, tool) -> bool``
        (sync or async), or ``True`` to approve all. Without it such calls are refused.
    ask: answers the planner's questions ``(question, schema) -> answer``; without it a run
        that needs information ends with status ``needs_input``.
    trace_writer: who writes the trace: ``"thread"`` (a thread of this process),
        ``"process"`` (a child process, beside the event loop instead of taking turns with
        it), or ``"auto"`` (the default: the thread, then a process once records come faster
        than 2,000 a second); ``from_config`` takes agent.toml's or ``$AGENT_TRACE_WRITER``.
    """

    def __init__(
        self,
        tools: Iterable[Any] | None = None,
        *,
        planner: Any = None,
        planner_options: Mapping[str, Mapping[str, Any]] | None = None,
        model: Any = None,
        store: Any = None,
        approve: Approver | bool | None = None,
        ask: AskCallback | None = None,
        settings: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = 60.0,
        retries: int = 0,
        max_steps: int = 50,
        plugins: PluginSet | None = None,
        registry: Registry | None = None,
        retriever: Callable[[str, int], Iterable[Tool]] | None = None,
        session_id: str | None = None,
        trace_writer: str | None = None,
    ) -> None:
        self._registry = registry
        self._plugins = plugins if plugins is not None else (registry.plugins if registry else None)
        if tools is None:
            self.tools = dict(self.registry.tools)
        else:
            self.tools = collect_tools(tools, lambda: self.registry)
        self._planner = planner
        self.planner_options = {name: dict(options)
                                for name, options in (planner_options or {}).items()}
        self._model = model
        self._model_label: tuple[Any, str] | None = None  # (model, its steps' name)
        self.ask = ask
        self.max_steps = max_steps
        if retriever is None:  # BM25 over the agent's tools, built on the first query
            from agent.retrieval import lazy_retriever

            retriever = lazy_retriever(self.tools, registry=self._registry)
        self.retriever = retriever
        self.session_id = session_id
        self.settings = dict(settings or {})
        self.last_run: Run | None = None
        self._store_arg = store
        self._store: Any = None
        self._trace: TraceRecorder | None = None
        self._trace_writer = writer_choice(trace_writer)
        self._hooks = _Hooks(self._plugins)
        approver = (lambda call, tool: True) if approve is True else (approve or None)
        self._executor = Executor(
            self.tools,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retries=retries,
            approve=approver,
            settings=self.settings,
            before_hooks=self._hooks.before_tool_call,
            after_hooks=self._hooks.after_tool_call,
            on_hook_error=self._hooks.error,
        )

    @classmethod
    def from_config(cls, config: Any = None, **options: Any) -> Agent:
        """An agent with ``agent.toml``'s settings: model, planner, approval, HTTP allow-list,
        trace writer.

        ``config`` is an ``agent.config.Config`` (default: ``load_config()``, which reads the
        files and ``AGENT_*`` variables). Options given here win over the config's. Under the
        file's approval policy, ``approve=callable`` is who is asked (allow-listed tools are
        not asked about) and ``approve=True`` approves everything. ``Agent(...)`` itself never
        reads the config: an embedding application opts in by calling this.
        """
        from agent.config import load_config, merged_options

        config = config if config is not None else load_config()
        approve = options.pop("approve", None)
        options.setdefault("planner", config.planner)
        options["planner_options"] = merged_options(config.planner_options(),
                                                    options.get("planner_options"))
        options.setdefault("model", config.model)
        options.setdefault("trace_writer", config.trace_writer)
        options["settings"] = {**config.tool_settings(), **(options.get("settings") or {})}
        options["approve"] = config.approval().approver(approve if callable(approve) else None,
                                                        yes=approve is True)
        return cls(**options)

    # Parts resolved on first use ----------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = build_registry(self._plugins)
        return self._registry

    @property
    def planner(self) -> Any:
        if self._planner is None or isinstance(self._planner, str):
            name = self._planner or DEFAULT_PLANNER
            self._planner = self.registry.planner(name, **self.planner_options.get(name, {}))
        return self._planner

    @property
    def model(self) -> Any:
        if isinstance(self._model, str):
            self._model = self.registry.model(self._model)
        return self._model

    def _model_step_name(self, model: Any) -> str:
        """The name ``model`` steps carry, looked up once per model object: asking a
        pydantic model for an attribute it lacks (``model_name``) raises and catches an
        AttributeError, ~2 us, and a run asks at every model call."""
        cached = self._model_label
        if cached is None or cached[0] is not model:
            cached = self._model_label = (
                model, getattr(model, "model_name", None) or type(model).__name__)
        return cached[1]

    @property
    def store(self) -> Any:
        """The ``TraceStore`` runs are written to, or ``None`` when tracing is off."""
        if self._store is None and self._store_arg is not False:
            from agent.store import TraceStore

            arg = self._store_arg
            self._store = arg if isinstance(arg, TraceStore) else TraceStore(arg)
        return self._store

    def _recorder(self) -> TraceRecorder | None:
        if self._trace is None and self.store is not None:
            self._trace = TraceRecorder(self.store, writer=self._trace_writer)
        return self._trace

    # Running ------------------------------------------------------------------------------
    async def run(
        self,
        query: str,
        *,
        answers: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        emit: Callable[[Event], None] | None = None,
    ) -> Run:
        """Answer ``query`` with the planner; returns the finished ``Run``."""
        planner = self.planner
        run = self._new_run(query, _name_of(planner) or "planner", parent_id,
                            run_metadata(planner, answers))
        env = Environment(self, run, emit=emit, ask=self.ask, answers=answers)
        return await self._drive(run, env, lambda: planner.run(Task(query, run.id), env))

    async def stream(self, query: str, **kwargs: Any) -> AsyncIterator[Event]:
        """Yield the run's events as they happen; the last one is ``run_finished``."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.run(query, emit=queue.put_nowait, **kwargs))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def run_sync(self, query: str, **kwargs: Any) -> Run:
        """``run`` for code without an event loop."""
        return asyncio.run(self._run_and_close(query, **kwargs))

    async def _run_and_close(self, query: str, **kwargs: Any) -> Run:
        try:
            return await self.run(query, **kwargs)
        finally:
            await self.aflush()

    async def execute(self, calls: Iterable[Any], *, query: str | None = None) -> list[ToolResult]:
        """Run an explicit plan (see ``agent.refs`` for references); results in call order."""
        run = await self.run_plan(calls, query=query)
        return run.results

    def check_call(self, name: str, args: Mapping[str, Any]) -> Tool:
        """Raise ``ToolNotFoundError`` or ``InvalidArgumentsError``; nothing runs."""
        return self._executor.check(name, args)

    async def run_plan(self, calls: Iterable[Any], *, query: str | None = None,
                       emit: Callable[[Event], None] | None = None) -> Run:
        """``execute``, returning the traced ``Run`` instead of just the results."""
        from agent.refs import normalize_calls

        plan = normalize_calls(calls)  # a malformed plan raises before a run is recorded
        run = self._new_run(query or "(explicit plan)", "plan", None)
        env = Environment(self, run, emit=emit, ask=self.ask)  # MCP servers may ask too
        planner = ExplicitPlan(plan)
        return await self._drive(run, env, lambda: planner.run(Task(run.query, run.id), env))

    def _new_run(self, query: str, planner: str, parent_id: str | None,
                 metadata: dict[str, Any] | None = None, model: str | None = None) -> Run:
        run = Run(new_id(), query, planner=planner, model=model or _name_of(self._model),
                  session_id=self.session_id, parent_id=parent_id, started_at=time.time(),
                  metadata=metadata or {})
        seq = run.add_message({"type": "human", "data": {"content": query, "type": "human"}})
        self.last_run = run
        recorder = self._recorder()
        if recorder is not None:
            recorder.put("start_run", {
                "id": run.id, "query": query, "planner": planner, "model": run.model,
                "session_id": run.session_id, "parent_id": parent_id,
                "started_at": run.started_at, "status": "running", "source": "agent",
                "pid": os.getpid(), "host": _hostname(),
                **({"metadata": run.metadata} if run.metadata else {}),
            }, [{"name": t.name, "description": t.description, "parameters": t.parameters,
                 "plugin": t.plugin} for t in self.tools.values()])
            recorder.put("record_messages", run.id, run.transcript[seq:], start_seq=seq)
        return run

    async def _drive(self, run: Run, env: Environment, body: Callable[[], Any]) -> Run:
        try:
            answer = await body()
            if isinstance(answer, str):
                answer = Answer(answer)
            run.answer, run.data, run.status = answer.text, answer.data, answer.status
            if answer.text and not _already_said(run, answer.text):
                seq = run.add_message({"type": "ai", "data": {"content": answer.text,
                                                              "type": "ai"}})
                if self._trace is not None:
                    self._trace.put("record_messages", run.id, run.transcript[-1:],
                                    start_seq=seq)
        except NeedsInput as exc:
            run.status, run.error, run.missing = "needs_input", exc.question, dict(exc.fields)
        except StepLimitReached:
            run.status, run.error = "max_steps", f"stopped after {self.max_steps} steps"
        except asyncio.CancelledError:
            run.status, run.error = "cancelled", "cancelled by the user"
            self._finish(run)
            if self._trace is not None:
                self._trace.flush_sync()  # a second cancel must not lose the record
            raise
        except AgentError:
            run.status = "error"
            self._finish(run)
            raise
        except Exception as exc:  # a planner bug ends the run, it does not crash the caller
            log.exception("planner failed")
            run.status, run.error = "error", f"{type(exc).__name__}: {exc}"
        self._finish(run)
        if self._trace is not None:
            self._trace.kick()  # committed in the background; aflush() waits for it
            await self._trace.keep_up()  # unless the writer is far behind
        await self._hooks.settle()
        return run

    def _finish(self, run: Run) -> None:
        run.ended_at = time.time()
        run.duration_ms = (run.ended_at - run.started_at) * 1000
        if self._trace is not None:
            self._trace.put("finish_run", run.id, status=run.status, answer=run.answer,
                            error=run.error, ended_at=run.ended_at, duration_ms=run.duration_ms,
                            tokens_in=run.tokens_in, tokens_out=run.tokens_out,
                            **({"metadata": {**run.metadata, "missing": run.missing}}
                               if run.missing else {}))
        self._hooks.on_run_end(run=run)

    async def aflush(self) -> None:
        """Wait until every trace record so far is committed."""
        if self._trace is not None:
            await self._trace.flush()

    def close(self) -> None:
        """Commit what is pending and close the store (if the agent opened it)."""
        if self._trace is not None:
            self._trace.close()
            self._trace = None
        if self._store is not None and self._store is not self._store_arg:
            self._store.close()
        self._store = None

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ExplicitPlan:
    """The "planner" of ``run_plan``: one step running the given calls (replay reuses it)."""

    name = "plan"

    def __init__(self, plan: list[dict[str, Any]]) -> None:
        self.plan = plan

    async def run(self, task: Task, env: Environment) -> Answer:
        results = await env.call_tools(self.plan)
        failed = [r for r in results if not r.ok]
        if failed:
            return Answer(f"{len(failed)} of {len(results)} calls failed", status="error")
        return Answer(results[-1].text() if results else "",
                      data=results[-1].content if results else None)


def _already_said(run: Run, text: str) -> bool:
    """The model's last reply is the answer itself (react): the transcript keeps it once."""
    last = run.transcript[-1] if run.transcript else None
    if last is None or isinstance(last, ToolBatch):
        return False
    if isinstance(last, dict):
        if last.get("type") not in ("ai", "AIMessageChunk"):
            return False
        data = last.get("data") or {}
        calls, content = data.get("tool_calls"), data.get("content", "")
    else:  # a model's reply, as it came
        if getattr(last, "type", None) not in ("ai", "AIMessageChunk"):
            return False
        calls, content = getattr(last, "tool_calls", None), last.content
    return not calls and str(content).strip() == text.strip()


def _name_of(obj: Any) -> str | None:
    if obj is None or isinstance(obj, str):
        return obj
    return getattr(obj, "name", None) or getattr(obj, "model_name", None) or type(obj).__name__

