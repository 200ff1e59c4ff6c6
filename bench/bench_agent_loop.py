"""Agent loop overhead per step: a scripted model, a trivial tool, traces on.

What it measures
----------------
One "step" is one ReAct turn: the model replies with one call of ``echo(query: str,
limit: int)`` (an ``async def`` returning its arguments as a dict: the peer script's tool
and arguments), the tool runs, its result goes back to the model. A
run of K steps ends with a text answer (K + 1 model calls). The timed region is one whole
run (at K = 10, several runs per sample, ``--min-steps``); the figure is microseconds per
step (run time / K), at K = 10 and K = 200, so the
``flatness`` line (us/step at 200 / us/step at 10) shows whether the cost grows with the
history. Variants, interleaved round by round in a shuffled order, in one process:

  floor_validated    the peer script's floor (shared/peer-bench/bench_agent_loop.py),
                     copied: dict messages, an async function as the model, each call
                     validated by a jsonschema validator, its result ``json.dumps``-ed, a
                     trace dict per step in memory. The issue's "about 23 us/step" is this
                     loop on the issue's machine (fast model only: it has its own).
  handwritten        the same with langchain-core messages: ``model.ainvoke(messages)``,
                     each call's args checked by a cached jsonschema validator,
                     ``await echo(**args)``, a ``ToolMessage`` appended; no trace.
  agent_react        ``Agent(tools=[echo], planner=ReactPlanner(), store=<temp file>)``: the
                     framework's react planner, traced to SQLite (steps, tool calls,
                     transcript). Each sample ends with ``aflush()``, which waits until
                     everything the sample's runs recorded is committed, so all of the trace
                     writer's work is inside the timed region (the writer commits every few
                     milliseconds, several short runs per transaction, as it does in an
                     application; ``commit_each_run`` below waits for each run's commit).
  agent_react_commit_each_run  the same (an agent of its own), awaiting ``aflush()`` after
                     every run (a commit per run): what a caller pays that waits for each
                     run to be durable (``auto`` keeps the writer thread for such a caller).
  agent_react_thread_writer  the same with ``trace_writer="thread"``: the trace written by a
                     thread of this process, as before the writer process (``agent_react``
                     uses the default, ``auto``, which hands a trace this busy to a writer
                     process during the warm-up; a ``trace_writer`` line says which one it
                     measured).
  agent_react_untraced  the same with ``store=False``: what tracing costs is the difference.
  langgraph_react    LangGraph's ``create_react_agent(model, [echo])`` (peer; only when
                     langgraph is importable, otherwise a ``skipped`` line), no checkpointer.

Two models, each replying from a prebuilt list (nothing is recorded, so the model itself
does not grow with the history):
  lc     a langchain-core ``BaseChatModel`` subclass. Every ``ainvoke`` of such a model costs
         a few hundred microseconds of langchain-core callback machinery by itself, and
         more the more messages it is sent (it walks them all, every call); the
         ``model_floor`` line measures that cost alone (one ``ainvoke`` per step with the
         history a run sends: the replies and, after each, its tool message, made before
         the timing; nothing else), and each variant's ``overhead_us_per_step`` subtracts
         it. (Until session 16 the floor sent the first message only, so the ``lc`` lines'
         overhead held langchain-core's walk over the history too: the hand-written loop's
         was 72-124 us/step.)
  fast   a duck-typed model (``bind_tools`` returns itself, ``ainvoke`` returns the next
         reply): what the loop itself costs. Used by all but LangGraph (it needs a real
         Runnable).

Output: JSON lines (see bench/README.md): per variant, model and K the median/min/max
us/step; ``paired_ratio_median`` against handwritten with the same model and K; for
agent_react also where a sample's time went: ``loop_thread_cpu_us_per_step`` (the event
loop's thread, ``time.thread_time`` until the runs end) and ``flush_wait_us_per_step`` (the
closing ``aflush()``: the writer's work left when the runs were done, and its commit);
``gc_us_per_step``, every variant: the time its runs spent in garbage collections (median);
``flatness`` lines; ``goal`` lines for agent_react: under 100 us/step, and at most 1.2x from
10 to 200 steps. The 100 us are the issue's machine's, whose floor_validated took about 23
us/step (and LangGraph about 1,700): one goal line checks the microseconds of this machine
as they are, one the ratio the goal allows, 100/23 = 4.35x floor_validated measured in the
same rounds (``machine_scale``: floor_validated here / 23; the LangGraph lines give the same
scale by the other reference).

Run:  PYTHONPATH=$PWD /work/benchvenv/bin/python bench/bench_agent_loop.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

BENCH = "agent_loop"
ROOT = Path(__file__).resolve().parents[1]
GOAL_US = 100.0
GOAL_FLAT = 1.2
#: The issue's reference figures, measured on its machine with shared/peer-bench/.
ISSUE_FLOOR_US = 23.0
ISSUE_LANGGRAPH_US = 1700.0


def missing_dependencies() -> list[str]:
    """The project's dependencies (pyproject.toml) that this interpreter lacks."""
    import re
    import tomllib
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing = []
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def source_tree() -> None:
    """Import ``agent.planners`` from the source tree when the package is not installed
    (setuptools maps the top-level ``planners/`` folder to ``agent.planners``).

    Refuses to go on without every dependency of the project: the agent would run degraded
    (without bm25s, the react planner's tool retrieval fails and is retried on every run,
    ~0.5 ms a run) and measure what no user runs."""
    missing = missing_dependencies()
    if missing:
        line(variant="agent_react", error="the project's dependencies are not all installed "
             f"here ({', '.join(missing)}): pip install -e . into this venv (bench/README.md)")
        raise SystemExit(2)
    import agent

    if importlib.util.find_spec("agent.planners") is not None:
        return
    folder = ROOT / "planners"
    spec = importlib.util.spec_from_file_location(
        "agent.planners", folder / "__init__.py", submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["agent.planners"] = module
    spec.loader.exec_module(module)
    agent.planners = module  # type: ignore[attr-defined]


def line(**rec: Any) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def echo(query: str, limit: int) -> dict[str, Any]:
    """Echo the arguments back.

    Args:
        query: a string
        limit: an integer
    """
    return {"query": query, "limit": limit}


#: The peer script's schema for ``echo`` (``floor_validated`` validates with it).
ECHO_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["query", "limit"],
    "additionalProperties": False,
}


def replies(k: int) -> list[Any]:
    from langchain_core.messages import AIMessage

    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    out = [AIMessage(content="", tool_calls=[{"name": "echo", "args": {"query": f"q{i}",
                                                                       "limit": i},
                                              "id": f"call_{i}"}], usage_metadata=usage)
           for i in range(k)]
    out.append(AIMessage(content="done", usage_metadata=usage))
    return out


def lc_model_class() -> type:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import ChatGeneration, ChatResult

    class LoopModel(BaseChatModel):
        script: list[Any]
        position: int = 0

        @property
        def _llm_type(self) -> str:
            return "bench-scripted"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self.bind(tools=tools, **kwargs)

        def _next(self) -> Any:
            reply = self.script[self.position]
            self.position += 1
            return ChatResult(generations=[ChatGeneration(message=reply)])

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                      **kwargs: Any) -> Any:
            return self._next()

        async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                             **kwargs: Any) -> Any:
            return self._next()

    return LoopModel


class FastModel:
    """Duck-typed chat model: what ``Environment.call_model`` and the loop use, no more."""

    model_name = "bench-fast"

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.position = 0

    def bind_tools(self, tools: Any, **kwargs: Any) -> FastModel:
        return self

    async def ainvoke(self, messages: Any, **kwargs: Any) -> Any:
        reply = self.script[self.position]
        self.position += 1
        return reply


async def floor_validated_run(k: int, validator: Any) -> None:
    """The peer script's ``floor_validated`` (shared/peer-bench/bench_agent_loop.py), the loop
    the issue's "about 23 us/step" figure is of: dict messages, a scripted async model, each
    call validated by jsonschema (``validator``: a ``Draft202012Validator(ECHO_SCHEMA)``), its
    result JSON-encoded, a trace dict per step kept in memory."""
    turn = 0

    async def model(messages: list[dict[str, Any]]) -> dict[str, Any]:
        nonlocal turn
        i = turn
        turn += 1
        if i < k:
            return {"role": "assistant", "content": "", "tool_calls": [
                {"id": f"call_{i}", "name": "echo", "args": {"query": f"q{i}", "limit": i}}]}
        return {"role": "assistant", "content": "done", "tool_calls": []}

    tools = {"echo": echo}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    trace = []
    step = 0
    while True:
        resp = await model(messages)
        messages.append(resp)
        if not resp["tool_calls"]:
            assert resp["content"] == "done"
            return
        for tc in resp["tool_calls"]:
            t0 = time.time()
            validator.validate(tc["args"])
            result = await tools[tc["name"]](**tc["args"])
            content = json.dumps(result)
            trace.append({"step": step, "tool": tc["name"], "args": tc["args"],
                          "result": content, "t0": t0, "t1": time.time()})
            messages.append({"role": "tool", "tool_call_id": tc["id"], "content": content})
        step += 1


class GcClock:
    """A ``gc.callbacks`` entry adding up the time spent in garbage collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


async def settled_writer(agent: Any, run: Any, seconds: float = 10.0) -> str:
    """Run until the trace writer has settled (``auto`` starts its writer process once records
    come faster than 2,000 a second, and it takes over once started), so every timed round
    measures the same writer; returns which one it is."""
    deadline = time.perf_counter() + seconds
    while True:
        await run("fast", 10)
        await agent.aflush()
        recorder = agent._trace
        writer: str = recorder.active_writer
        if writer == "process" or recorder.writer == "thread" \
                or time.perf_counter() > deadline:
            return writer
        await asyncio.sleep(0.01)


async def main(rounds: int, sizes: list[int], min_steps: int) -> None:
    source_tree()
    from jsonschema import Draft202012Validator
    from langchain_core.messages import HumanMessage, ToolMessage

    from agent import Agent
    from agent.planners.react import ReactPlanner

    LoopModel = lc_model_class()
    scripts = {k: replies(k) for k in sizes}
    tmp = tempfile.TemporaryDirectory(prefix="bench-agent-loop-")
    agent = Agent(tools=[echo], planner=ReactPlanner(), store=Path(tmp.name) / "trace.db",
                  max_steps=10_000)
    validator = Draft202012Validator(agent.tools["echo"].parameters)

    def make(kind: str, k: int) -> Any:
        return LoopModel(script=scripts[k]) if kind == "lc" else FastModel(scripts[k])

    async def handwritten(kind: str, k: int) -> None:
        model = make(kind, k)
        messages: list[Any] = [HumanMessage("count")]
        bound = model.bind_tools([agent.tools["echo"].spec()])
        while True:
            reply = await bound.ainvoke(messages)
            messages.append(reply)
            if not reply.tool_calls:
                assert reply.content == "done"
                return
            for tc in reply.tool_calls:
                validator.validate(tc["args"])
                out = await echo(**tc["args"])
                messages.append(ToolMessage(content=json.dumps(out), tool_call_id=tc["id"]))

    traced = {"runs": 0, "steps": 0, "tool_calls": 0}

    async def agent_react(kind: str, k: int) -> None:
        agent._model = make(kind, k)
        run = await agent.run("count")
        assert run.status == "ok" and run.answer == "done", (run.status, run.error)
        assert len(run.results) == k
        traced["runs"] += 1
        traced["steps"] += 2 * k + 1  # a model step and a tool step each, the answer's
        traced["tool_calls"] += k

    each = Agent(tools=[echo], planner=ReactPlanner(), store=Path(tmp.name) / "each.db",
                 max_steps=10_000)

    async def agent_react_commit_each_run(kind: str, k: int) -> None:
        each._model = make(kind, k)
        run = await each.run("count")
        assert run.status == "ok" and len(run.results) == k
        await each.aflush()

    untraced = Agent(tools=[echo], planner=ReactPlanner(), store=False, max_steps=10_000)

    threaded = Agent(tools=[echo], planner=ReactPlanner(), store=Path(tmp.name) / "thread.db",
                     max_steps=10_000, trace_writer="thread")

    async def agent_react_thread_writer(kind: str, k: int) -> None:
        threaded._model = make(kind, k)
        run = await threaded.run("count")
        assert run.status == "ok" and len(run.results) == k

    async def agent_react_untraced(kind: str, k: int) -> None:
        untraced._model = make(kind, k)
        run = await untraced.run("count")
        assert run.status == "ok" and len(run.results) == k

    floor_validator = Draft202012Validator(ECHO_SCHEMA)

    async def floor_validated(kind: str, k: int) -> None:
        await floor_validated_run(k, floor_validator)

    # Each step's tool message, as a run sends it after the reply (built once, untimed).
    tool_messages = {k: [ToolMessage(content=json.dumps({"query": f"q{i}", "limit": i}),
                                     tool_call_id=f"call_{i}") for i in range(k)]
                     for k in sizes}

    async def model_floor(kind: str, k: int) -> None:
        model = make(kind, k).bind_tools([agent.tools["echo"].spec()])
        messages: list[Any] = [HumanMessage("count")]
        after = tool_messages[k]
        for i in range(k + 1):
            reply = await model.ainvoke(messages)
            if i < k:
                messages += (reply, after[i])

    variants: dict[str, Any] = {"handwritten": handwritten, "agent_react": agent_react,
                                "agent_react_commit_each_run": agent_react_commit_each_run,
                                "agent_react_untraced": agent_react_untraced,
                                "agent_react_thread_writer": agent_react_thread_writer,
                                "model_floor": model_floor, "floor_validated": floor_validated}
    try:
        from langgraph.prebuilt import create_react_agent
    except ImportError:
        line(variant="langgraph_react", skipped="langgraph not installed")
    else:
        async def langgraph_react(kind: str, k: int) -> None:
            graph = create_react_agent(make(kind, k), [echo])
            out = await graph.ainvoke({"messages": [HumanMessage("count")]},
                                      {"recursion_limit": 2 * k + 10})
            assert out["messages"][-1].content == "done"

        variants["langgraph_react"] = langgraph_react

    only = {"langgraph_react": "lc", "floor_validated": "fast"}  # their own kind of model
    cases = [(v, kind, k) for v in variants for kind in ("lc", "fast") for k in sizes
             if only.get(v, kind) == kind]
    for case in cases:  # warm-up
        await variants[case[0]](case[1], case[2])
    line(variant="agent_react", trace_writer=await settled_writer(agent, agent_react),
         note="who writes agent_react's trace in the timed rounds (the Agent's default, "
              "trace_writer='auto', hands a trace written this fast to a writer process)")
    samples: dict[tuple[str, str, int], list[float]] = {c: [] for c in cases}
    # agent_react's samples split: the closing aflush()'s wait and the loop thread's CPU
    split: dict[tuple[str, int], list[tuple[float, float]]] = {
        (kind, k): [] for v, kind, k in cases if v == "agent_react"}
    # Time in garbage collections a sample, each variant (from the sample's start to its end)
    collecting = GcClock()
    in_gc: dict[tuple[str, str, int], list[float]] = {c: [] for c in cases}
    gc.callbacks.append(collecting)
    for _ in range(rounds):
        order = list(cases)
        random.shuffle(order)
        for v, kind, k in order:
            reps = max(1, min_steps // k)  # each sample covers at least min_steps steps
            gc.collect()
            collecting.seconds = 0.0
            t0, cpu = time.perf_counter(), time.thread_time()
            for _ in range(reps):
                await variants[v](kind, k)
            if v == "agent_react":
                cpu, flushed = time.thread_time() - cpu, time.perf_counter()
                await agent.aflush()
                split[(kind, k)].append(((time.perf_counter() - flushed) / (k * reps) * 1e6,
                                         cpu / (k * reps) * 1e6))
            elif v == "agent_react_thread_writer":
                await threaded.aflush()  # the sample's records, committed
            samples[(v, kind, k)].append((time.perf_counter() - t0) / (k * reps) * 1e6)
            in_gc[(v, kind, k)].append(collecting.seconds / (k * reps) * 1e6)
    gc.callbacks.remove(collecting)
    await agent.aflush()
    stored = {t: agent.store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in traced}
    errors = agent._trace.errors if agent._trace is not None else []
    agent.close()
    threaded.close()
    each.close()
    tmp.cleanup()
    if stored != traced or errors:
        line(variant="agent_react", error="the trace store does not hold every run's records",
             expected=traced, stored=stored, writer_errors=errors[:3])

    def med(c: tuple[str, str, int]) -> float:
        return statistics.median(samples[c])

    for (v, kind, k), s in samples.items():
        rec: dict[str, Any] = {"variant": v, "model": kind, "steps": k, "unit": "us_per_step",
                               "median": round(med((v, kind, k)), 1),
                               "min": round(min(s), 1), "max": round(max(s), 1),
                               "repeats": len(s),
                               "gc_us_per_step": round(statistics.median(in_gc[(v, kind, k)]),
                                                       1)}
        if v == "agent_react":
            rec["flush_wait_us_per_step"] = round(statistics.median(
                w for w, _ in split[(kind, k)]), 1)
            rec["loop_thread_cpu_us_per_step"] = round(statistics.median(
                c for _, c in split[(kind, k)]), 1)
        if v != "model_floor":
            floor = samples[("model_floor", kind, k)]
            rec["overhead_us_per_step"] = round(statistics.median(
                a - b for a, b in zip(s, floor, strict=True)), 1)
            if v != "handwritten":
                hand = samples[("handwritten", kind, k)]
                rec["paired_ratio_median"] = round(statistics.median(
                    a / b for a, b in zip(s, hand, strict=True)), 2)
        line(**rec)
    small, large = min(sizes), max(sizes)
    for v, kind, _ in cases:
        if _ != small:
            continue
        flat = med((v, kind, large)) / med((v, kind, small))
        line(variant=v, model=kind, flatness=round(flat, 2),
             note=f"us/step at {large} steps / at {small} steps")
    for kind in ("fast", "lc"):
        over = {k: statistics.median(
            a - b for a, b in zip(samples[("agent_react", kind, k)],
                                  samples[("model_floor", kind, k)], strict=True))
            for k in sizes}
        worst = max(over.values())
        line(variant="agent_react", model=kind,
             goal=f"< {GOAL_US:g} us/step overhead, in this machine's microseconds",
             overhead_us_per_step=round(worst, 1), met=worst < GOAL_US)
    # The goal's microseconds are the issue's machine's: there its floor (the peer script's
    # floor_validated) took about 23 us/step and LangGraph about 1,700. The same floor,
    # measured here in the same rounds, says how much slower this machine is, and the goal
    # is checked as the ratio it allows: agent_react at most 100/23 times the floor.
    allowed = GOAL_US / ISSUE_FLOOR_US
    for k in sizes:
        floor = samples[("floor_validated", "fast", k)]
        ratio = statistics.median(a / b for a, b in zip(
            samples[("agent_react", "fast", k)], floor, strict=True))
        scale = statistics.median(floor) / ISSUE_FLOOR_US
        line(variant="agent_react", model="fast", steps=k,
             goal=f"< {GOAL_US:g} us/step on the issue's machine: at most {allowed:.2f}x "
                  f"floor_validated ({ISSUE_FLOOR_US:g} us/step there), same rounds",
             paired_ratio_to_floor_validated=round(ratio, 2),
             floor_validated_us=round(statistics.median(floor), 1),
             machine_scale=round(scale, 2), budget_us_here=round(GOAL_US * scale, 1),
             agent_react_us=round(med(("agent_react", "fast", k)), 1), met=ratio < allowed)
        thread = samples[("agent_react_thread_writer", "fast", k)]
        line(variant="agent_react_thread_writer", model="fast", steps=k,
             paired_ratio_to_floor_validated=round(statistics.median(
                 a / b for a, b in zip(thread, floor, strict=True)), 2),
             paired_ratio_to_agent_react=round(statistics.median(a / b for a, b in zip(
                 thread, samples[("agent_react", "fast", k)], strict=True)), 2),
             note="the same loop with the trace written by a thread of the process")
        if ("langgraph_react", "lc", k) in samples:
            graph = med(("langgraph_react", "lc", k))
            line(variant="langgraph_react", model="lc", steps=k,
                 note="the machine scale by the issue's other reference (LangGraph, about "
                      f"{ISSUE_LANGGRAPH_US:g} us/step there)",
                 langgraph_us=round(graph, 1),
                 machine_scale=round(graph / ISSUE_LANGGRAPH_US, 2))
    flat = med(("agent_react", "fast", large)) / med(("agent_react", "fast", small))
    line(variant="agent_react", model="fast", goal=f"<= {GOAL_FLAT}x from {small} to {large}",
         flatness=round(flat, 2), met=flat <= GOAL_FLAT)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="10,200")
    parser.add_argument("--min-steps", type=int, default=200,
                        help="runs per sample: enough for this many steps")
    a = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*create_react_agent has been moved")
    asyncio.run(main(a.rounds, [int(x) for x in a.sizes.split(",")], a.min_steps))
