"""Replay a recorded run: ``cached``, ``live`` or ``fork``; the new run links to its parent.

``Replayer`` keeps what many replays share (the registry, planners, agents, the store), so
replaying a thousand runs costs about as much as recording them did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.errors import ModelNotFoundError, PlannerNotFoundError, UsageError
from agent.executor import Approver
from agent.registry import Registry, build_registry, collect_tools
from agent.runtime import Agent, ExplicitPlan, _name_of
from agent.store import TraceStore
from agent.store.encode import tool_hash
from agent.store.rows import message_row
from agent.types import Event, Run, Task, Tool

from .diff import RunDiff, changes, diff_runs, stored_calls
from .errors import ReplayMissing, ReplayStepNotFound
from .model import replay_model
from .options import planner_options, restore_options
from .recording import Recording, load_recording
from .session import CURRENT, Cursor, ReplayEnvironment

MODES = ("cached", "live", "fork")
DEFAULT_MAX_STEPS = 50


@dataclass
class ReplayResult:
    """A replay's new run and how it compares with the original."""

    mode: str
    original: Recording
    run: Run
    diff: RunDiff
    fork_step: int | None = None
    live_from: int | None = None
    served: int = 0
    identical: bool | None = None
    first_difference: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "original": self.original.id, "run_id": self.run.id,
            "parent_id": self.run.parent_id, "status": self.run.status,
            "answer": self.run.answer, "error": self.run.error,
            "fork_step": self.fork_step, "live_from": self.live_from,
            "served_from_recording": self.served, "identical": self.identical,
            "first_difference": self.first_difference, "notes": self.notes,
            "diff": self.diff.to_json(),
        }


class Replayer:
    """Replays runs of ``store``; new runs are written to the same store.

    tools: the tools to replay with (default: the installed ones the run was offered).
    registry: where planners, models and installed tools come from (built on first use).
    model: the live model for ``live`` and ``fork`` (an object or a model id; default: the
        run's own model id, if it is installed).
    approve / ask: as for ``Agent``: approval of side-effect tools that run live, and the
        user to ask when a live run asks something the recording has no answer for.
    """

    def __init__(self, store: TraceStore | str | None = None, *,
                 tools: Iterable[Any] | None = None, registry: Registry | None = None,
                 model: Any = None, approve: Approver | bool | None = None,
                 ask: Any = None, settings: dict[str, Any] | None = None) -> None:
        self._own_store = not isinstance(store, TraceStore)
        self.store = store if isinstance(store, TraceStore) else TraceStore(store)
        self._registry = registry
        self._tools = collect_tools(tools, lambda: self.registry) if tools is not None else None
        self.model = model
        self.approve = approve
        self.ask = ask
        self.settings = settings
        self._planners: dict[str, Any] = {}
        self._agents: dict[tuple[Any, ...], Agent] = {}
        self._reader: TraceStore | None = None
        self._written: set[str] = set()

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = build_registry()
        return self._registry

    # The replay ---------------------------------------------------------------------------
    async def replay(self, run_id: str, mode: str = "cached", *, fork_step: int | None = None,
                     planner: Any = None, model: Any = None,
                     emit: Callable[[Event], None] | None = None) -> ReplayResult:
        """Replay ``run_id`` (an id or unique prefix). Raises ``RunNotFoundError``,
        ``ReplayStepNotFound``, ``ReplayMissing``, or ``ReplayDivergence`` (cached)."""
        if mode not in MODES:
            raise UsageError(f"unknown replay mode {mode!r}: use one of {', '.join(MODES)}")
        rec = await self._load(run_id)
        if mode == "fork":
            _check_step(rec, fork_step)
        elif fork_step is not None:
            raise UsageError("a step is only given with mode 'fork'")
        planner_obj, planner_name = self._planner(rec, planner, mode)
        same_planner = planner_name == rec.planner
        tools, notes = self._tools_for(rec)
        live_model, run_model = (None, rec.model) if mode == "cached" else \
            self._live_model(rec, model, mode, fork_step, same_planner)
        if mode == "live" or not (same_planner and rec.model_steps):
            agent_model = live_model
        else:
            agent_model = replay_model(rec.native_tools, live_model)
        agent = self._agent(tools, planner_obj, agent_model, rec, mode)
        cursor = Cursor(rec, mode, fork_step, same_planner=same_planner,
                        live_model_name=_model_name(live_model))
        if rec.truncated_calls:
            notes.append(f"{rec.truncated_calls} recorded tool result(s) were truncated in "
                         "the store (over its size limit): they replay as stored")
        run = await self._run(agent, rec, cursor, planner_obj, planner_name, run_model, emit)
        self._written.add(run.id)
        result = ReplayResult(mode, rec, run, self._diff(rec, run), fork_step,
                              cursor.live_from, cursor.served, notes=notes)
        if mode == "cached":
            _compare(result, rec, run, cursor, self.store.max_content_bytes)
        return result

    async def _run(self, agent: Agent, rec: Recording, cursor: Cursor, planner: Any,
                   planner_name: str, run_model: str | None,
                   emit: Callable[[Event], None] | None) -> Run:
        meta: dict[str, Any] = {"replay": {"mode": cursor.mode, "of": rec.id}}
        options = planner_options(planner) if not isinstance(planner, ExplicitPlan) else {}
        if options:
            meta["planner_options"] = options
        if rec.answers:
            meta["answers"] = rec.answers
        if cursor.fork_step is not None:
            meta["replay"]["fork_step"] = cursor.fork_step
        run = agent._new_run(rec.query, planner_name, rec.id, meta, model=run_model)
        recorder = agent._recorder()
        if recorder is not None:
            recorder.put("set_label", run.id, "replay", cursor.mode)
        env = ReplayEnvironment(agent, run, cursor, emit=emit, ask=self.ask,
                                answers=rec.answers)
        token = CURRENT.set(cursor)
        try:
            return await agent._drive(run, env, lambda: planner.run(Task(rec.query, run.id),
                                                                    env))
        finally:
            CURRENT.reset(token)

    async def _load(self, run_id: str) -> Recording:
        """Read through a connection of its own: the trace writer of the replays holds the
        store's lock while it commits, and WAL lets a reader go on meanwhile."""
        if any(w.startswith(run_id) for w in self._written):
            await self.aflush()  # a replay of a replay made here: let it be committed first
        if self._reader is None:
            memory = str(self.store.path) == ":memory:"
            self._reader = self.store if memory else TraceStore(self.store.path)
        return load_recording(self._reader, run_id)

    # What a replay runs with --------------------------------------------------------------
    def _planner(self, rec: Recording, planner: Any, mode: str) -> tuple[Any, str]:
        if planner is not None and not isinstance(planner, str):
            return planner, _name_of(planner) or type(planner).__name__
        name = planner or rec.planner
        if name == "plan" and rec.planner == "plan":
            return ExplicitPlan(rec.plan_calls()), "plan"
        if not name:
            raise ReplayMissing(f"run {rec.id[:16]} records no planner: pass --planner NAME")
        options = rec.planner_options if name == rec.planner else {}
        key = f"{name}\x00{json.dumps(options, sort_keys=True)}"
        if key not in self._planners:
            try:
                self._planners[key] = self.registry.planner(name, **restore_options(options))
            except PlannerNotFoundError:
                if planner:  # the user's own --planner: the registry's message says it all
                    raise
                hint = ("--live or --fork STEP with --planner NAME" if mode == "cached"
                        else "--planner NAME")
                known = ", ".join(sorted(self.registry.planners)) or "none"
                raise ReplayMissing(f"run {rec.id[:16]} was made by planner {name!r}, which "
                                    f"is not installed (installed: {known}): install its "
                                    f"plugin, or replay with {hint}") from None
        return self._planners[key], name

    def _tools_for(self, rec: Recording) -> tuple[list[Tool], list[str]]:
        available = self._tools if self._tools is not None else self.registry.tools
        wanted = set(rec.tool_names)
        missing = sorted(wanted.difference(available))
        if missing:
            where = ("the tools given" if self._tools is not None
                     else "the installed plugins (see `agent tools`)")
            raise ReplayMissing(f"run {rec.id[:16]} was offered tools that {where} do not "
                                f"have: {', '.join(missing)}; install what provides them")
        tools = [t for name, t in available.items() if name in wanted]
        recorded = {t["name"]: t.get("hash") for t in rec.tools}
        changed = [t.name for t in tools
                   if tool_hash(t.name, t.description, t.parameters) != recorded[t.name]]
        notes = ([f"tools changed since the run (description or arguments): "
                  f"{', '.join(changed)}"] if changed else [])
        return tools, notes

    def _live_model(self, rec: Recording, model: Any, mode: str, fork_step: int | None,
                    same_planner: bool) -> tuple[Any, str | None]:
        """The model that answers live, and the model id the new run records."""
        given = model if model is not None else self.model
        if given is not None:
            if isinstance(given, str):
                return self.registry.model(given), given
            return given, _name_of(given)
        if not rec.model:
            return None, None
        # Another planner may need no model at all (if it does, it says so when it asks).
        needed = [m for m in rec.model_steps
                  if same_planner and (mode == "live" or m.seq >= (fork_step or 0))]
        try:
            return self.registry.model(rec.model), rec.model
        except ModelNotFoundError:
            if needed:
                raise ReplayMissing(
                    f"run {rec.id[:16]} used model {rec.model!r}, which is not installed: "
                    "pass --model ID (see `agent models`)") from None
            return None, None

    def _agent(self, tools: list[Tool], planner: Any, model: Any, rec: Recording,
               mode: str) -> Agent:
        max_steps = (len(rec.steps) if rec.status == "max_steps"
                     else max(DEFAULT_MAX_STEPS, len(rec.steps) + 1))
        key = (tuple(t.name for t in tools), id(planner), id(model), max_steps, mode)
        agent = self._agents.get(key)
        if agent is None:
            agent = Agent(tools, planner=planner, model=model, store=self.store,
                          registry=self._registry, max_steps=max_steps,
                          approve=None if mode == "cached" else self.approve,
                          ask=self.ask, settings=self.settings)
            self._agents[key] = agent
        return agent

    def _diff(self, rec: Recording, run: Run) -> RunDiff:
        before = [r for s in rec.tool_steps for r in s.rows]
        return diff_runs(rec.row, before, run, stored_calls(run, self.store.max_content_bytes))

    # Lifecycle ----------------------------------------------------------------------------
    async def aflush(self) -> None:
        for agent in self._agents.values():
            await agent.aflush()

    def close(self) -> None:
        for agent in self._agents.values():
            agent.close()
        self._agents.clear()
        if self._reader is not None and self._reader is not self.store:
            self._reader.close()
        self._reader = None
        if self._own_store:
            self.store.close()

    async def __aenter__(self) -> Replayer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aflush()
        self.close()


async def replay(store: TraceStore | str | None, run_id: str, mode: str = "cached", *,
                 fork_step: int | None = None, planner: Any = None, model: Any = None,
                 **options: Any) -> ReplayResult:
    """Replay one run (see ``Replayer`` for ``options``); written when this returns."""
    async with Replayer(store, **options) as replayer:
        return await replayer.replay(run_id, mode, fork_step=fork_step, planner=planner,
                                     model=model)


def _check_step(rec: Recording, step: int | None) -> None:
    numbers = rec.step_numbers
    if step is not None and step in numbers:
        return
    have = ("it has no steps" if not numbers else f"it has only step {numbers[0]}"
            if len(numbers) == 1 else f"its steps are {min(numbers)}-{max(numbers)}")
    raise ReplayStepNotFound(f"run {rec.id[:16]} has no step {step}: {have} "
                             f"(see `agent traces show {rec.id[:16]}`)")


def _model_name(model: Any) -> str | None:
    if model is None:
        return None
    return getattr(model, "model_name", None) or type(model).__name__


def _compare(result: ReplayResult, rec: Recording, run: Run, cursor: Cursor,
             max_bytes: int) -> None:
    """Cached replay: is the new transcript the original's, message by message?"""
    before = rec.transcript()
    after = [json.loads(message_row(run.id, i, m, max_bytes)["data"])
             for i, m in enumerate(run.message_dicts)]
    leftover = cursor.leftover()
    if leftover:
        result.notes.append("the replay did not use recorded step(s) "
                            + ", ".join(map(str, leftover)))
    if not before:
        result.notes.append(f"run {rec.id[:16]} has no stored transcript (status "
                            f"{rec.status}): nothing to compare with")
        return
    result.identical = before == after and not leftover
    for i, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            where = "; ".join(f"{c.path}: {_brief(c.before)} -> {_brief(c.after)}"
                              for c in changes(a, b)[:3])
            result.first_difference = f"message {i + 1} ({a.get('type')}): {where}"
            return
    if len(before) != len(after):
        result.first_difference = (f"the original has {len(before)} messages, the replay "
                                   f"{len(after)}")


def _brief(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
