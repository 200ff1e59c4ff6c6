from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agent import Tool, ToolError, tool
from agent.errors import InvalidArgumentsError, PlanError, ToolNotFoundError
from agent.executor import Executor


def make(*fns, **options) -> dict[str, Tool]:
    tools = [Tool.from_function(f, **options) for f in fns]
    return {t.name: t for t in tools}


async def nap(ms: int, label: str = "") -> dict:
    """Sleep and report when.

    Args:
        ms: milliseconds to sleep
        label: a label
    """
    start = time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return {"label": label, "start": start, "end": time.perf_counter()}


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def city(name: str) -> dict:
    """Look a city up."""
    return {"name": name, "airports": [{"code": name[:3].upper()}]}


async def test_independent_calls_run_concurrently_and_results_keep_call_order() -> None:
    ex = Executor(make(nap))
    calls = [{"name": "nap", "args": {"ms": ms, "label": str(ms)}} for ms in (150, 10, 80)]
    t0 = time.perf_counter()
    results = await ex.execute(calls)
    wall = time.perf_counter() - t0
    assert [r.content["label"] for r in results] == ["150", "10", "80"]
    assert wall < 0.3  # 0.24 s if run one after another
    assert results[0].call_id == "1" and results[2].call_id == "3"


async def test_reference_waits_for_its_source_and_feeds_its_output() -> None:
    ex = Executor(make(add, city))
    results = await ex.execute([
        {"id": "sum", "name": "add", "args": {"a": {"$ref": "first"}, "b": 10}},
        {"id": "first", "name": "add", "args": {"a": 1, "b": 2}},  # referenced before defined
        {"name": "city", "args": {"name": "oslo"}},
        {"name": "city", "args": {"name": {"$ref": "3#/airports/0/code"}}},
    ])
    assert [r.content for r in results[:2]] == [13, 3]
    assert results[3].content["name"] == "OSL"
    assert results[3].args == {"name": "OSL"}  # the resolved arguments are recorded


async def test_literal_escape_passes_a_ref_shaped_object_through() -> None:
    def echo(value: dict) -> dict:
        """Echo."""
        return value

    [r] = await Executor(make(echo)).execute(
        [{"name": "echo", "args": {"value": {"$literal": {"$ref": "x"}}}}])
    assert r.content == {"$ref": "x"}


async def test_bad_pointer_is_an_error_result() -> None:
    results = await Executor(make(city)).execute([
        {"name": "city", "args": {"name": "oslo"}},
        {"name": "city", "args": {"name": {"$ref": "1#/nope"}}},
    ])
    assert results[1].status == "error" and "no key 'nope'" in results[1].error


@pytest.mark.parametrize(("calls", "message"), [
    ([{"name": "add", "args": {"a": {"$ref": "9"}, "b": 1}}], "references unknown call '9'"),
    ([{"id": "x", "name": "add", "args": {"a": {"$ref": "y"}, "b": 1}},
      {"id": "y", "name": "add", "args": {"a": {"$ref": "x"}, "b": 1}}], "cycle: x -> y -> x"),
    ([{"id": "a", "name": "add", "args": {}}, {"id": "a", "name": "add", "args": {}}],
     "duplicate id 'a'"),
    ([{"args": {}}], "'name' must be a tool name"),
    ([{"name": "add", "args": [1, 2]}], "'args' must be an object"),
])
async def test_malformed_plans_are_refused_before_anything_runs(calls, message) -> None:
    ran = []

    def add(a: float = 0, b: float = 0) -> float:
        """Add."""
        ran.append(1)
        return a + b

    with pytest.raises(PlanError, match=message.replace("(", r"\(")):
        await Executor(make(add)).execute(calls)
    assert ran == []


async def test_failures_become_error_results_and_dependents_do_not_run() -> None:
    def boom(x: int) -> int:
        """Fail."""
        raise ValueError("bad x")

    def polite(x: int) -> int:
        """Fail politely."""
        raise ToolError("x must be even")

    ex = Executor(make(add, boom, polite))
    results = await ex.execute([
        {"name": "add", "args": {"a": "one", "b": 2}},
        {"name": "nope", "args": {}},
        {"name": "boom", "args": {"x": 1}},
        {"name": "add", "args": {"a": {"$ref": "3"}, "b": 1}},
        {"name": "polite", "args": {"x": 1}},
        {"name": "ad", "args": {}},
    ])
    assert [r.status for r in results] == ["error"] * 6
    assert results[0].error == "invalid argument 'a': 'one' is not of type 'number'"
    assert results[1].error == "unknown tool 'nope'"
    assert results[2].error == "ValueError: bad x"
    assert results[3].error == "not run: call '3' it depends on failed"
    assert results[4].error == "x must be even"
    assert "did you mean add" in results[5].error


async def test_missing_required_argument_names_the_field() -> None:
    [r] = await Executor(make(add)).execute([{"name": "add", "args": {"a": 1}}])
    assert r.error == "invalid argument 'b': is required but missing"


async def test_check_raises_typed_errors() -> None:
    ex = Executor(make(add))
    with pytest.raises(ToolNotFoundError, match="did you mean 'add'"):
        ex.check("ad", {})
    with pytest.raises(InvalidArgumentsError) as info:
        ex.check("add", {"a": 1, "b": "x"})
    assert info.value.field == "b"


async def test_timeout_and_retries_with_backoff() -> None:
    attempts = []

    @tool(timeout=0.05, retries=2)
    async def flaky(n: int) -> int:
        """Slow on the first two attempts."""
        attempts.append(time.perf_counter())
        if len(attempts) < 3:
            await asyncio.sleep(1)
        return n

    ex = Executor(make(flaky), backoff=0.01)
    [r] = await ex.execute([{"name": "flaky", "args": {"n": 5}}])
    assert r.ok and r.content == 5 and r.attempts == 3
    attempts.clear()
    ex = Executor(make(flaky, retries=0))
    [r] = await ex.execute([{"name": "flaky", "args": {"n": 5}}])
    assert r.status == "error" and r.error == "timed out after 0.05 s" and r.attempts == 1


async def test_sync_tools_run_in_a_worker_thread() -> None:
    seen = []

    def where() -> str:
        """Which thread am I on."""
        seen.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.1)
        return "done"

    ex = Executor(make(where))
    t0 = time.perf_counter()
    results = await ex.execute([{"name": "where", "args": {}, "id": str(i)} for i in range(4)])
    assert all(r.ok for r in results) and seen == [False] * 4
    assert time.perf_counter() - t0 < 0.35  # four 0.1 s sleeps, not one after another


async def test_concurrency_limit() -> None:
    running = peak = 0

    async def work() -> None:
        """Count concurrent calls."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    ex = Executor(make(work), max_concurrency=3)
    await ex.execute([{"name": "work", "args": {}} for _ in range(12)])
    assert peak == 3


async def test_side_effect_calls_need_approval_and_keep_their_order() -> None:
    log: list[str] = []

    @tool(side_effects=True)
    async def send(msg: str, delay_ms: int = 0) -> str:
        """Send a message."""
        await asyncio.sleep(delay_ms / 1000)
        log.append(msg)
        return msg

    calls = [{"name": "send", "args": {"msg": "first", "delay_ms": 50}},
             {"name": "send", "args": {"msg": "second"}}]
    results = await Executor(make(send)).execute(calls)
    assert all("needs approval" in r.error for r in results) and log == []

    asked = []

    async def approve(call, tool) -> bool:
        asked.append(call["args"]["msg"])
        return call["args"]["msg"] != "second"

    results = await Executor(make(send), approve=approve).execute(calls)
    assert log == ["first"] and asked == ["first", "second"]
    assert results[1].error == "the user did not approve calling 'send'"


async def test_cancellation_stops_calls_in_flight_and_reports_them() -> None:
    finished = []

    async def slow(n: int) -> int:
        """Slow."""
        await asyncio.sleep(5)
        finished.append(n)
        return n

    reported = []
    ex = Executor(make(slow))
    task = asyncio.create_task(
        ex.execute([{"name": "slow", "args": {"n": i}} for i in range(3)],
                   on_result=reported.append))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == []
    assert [r.status for r in reported] == ["cancelled"] * 3


async def test_hooks_see_calls_and_a_raising_hook_does_not_break_the_call() -> None:
    seen = []

    async def before(call, tool, context):
        seen.append(("before", call["id"], context.call_id))

    def after(call, tool, result, context):
        seen.append(("after", result.status))
        raise RuntimeError("hook bug")

    errors = []
    ex = Executor(make(add), before_hooks=[before], after_hooks=[after],
                  on_hook_error=lambda hook, exc: errors.append(str(exc)))
    [r] = await ex.execute([{"name": "add", "args": {"a": 1, "b": 2}}])
    assert r.ok and seen == [("before", "1", "1"), ("after", "success")]
    assert errors == ["hook bug"]


async def test_one_call_plans_run_in_the_callers_task_with_timeouts_and_cancellation() -> None:
    tasks = []

    async def slow(seconds: float) -> float:
        """Sleep.

        Args:
            seconds: how long
        """
        tasks.append(asyncio.current_task())
        await asyncio.sleep(seconds)
        return seconds

    tools = make(slow)
    quick = Tool.from_function(slow, name="quick", timeout=0.05)
    ex = Executor({**tools, "quick": quick}, timeout=60)
    # A long deadline first leaves its timer armed; a shorter one later still fires on time.
    [first] = await ex.execute([{"name": "slow", "args": {"seconds": 0.01}}])
    assert first.ok and tasks[-1] is asyncio.current_task()
    started = time.perf_counter()
    [late] = await ex.execute([{"name": "quick", "args": {"seconds": 5}}])
    assert late.error == "timed out after 0.05 s" and time.perf_counter() - started < 1
    # The caller's task was cancelled by the deadline and uncancelled: it goes on normally.
    assert asyncio.current_task().cancelling() == 0
    [again] = await ex.execute([{"name": "slow", "args": {"seconds": 0.01}}])
    assert again.ok

    recorded = []
    run = asyncio.ensure_future(ex.execute([{"name": "slow", "args": {"seconds": 5}, "id": "s"}],
                                           on_result=recorded.append))
    await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert [(r.call_id, r.status) for r in recorded] == [("s", "cancelled")]


def test_one_executor_in_two_threads_event_loops_times_each_call_out_in_its_own() -> None:
    """Each thread's calls get the deadlines of the loop running there, even while the other
    thread's loop has calls of its own in flight."""

    async def stall(seconds: float) -> float:
        """Sleep.

        Args:
            seconds: how long
        """
        await asyncio.sleep(seconds)
        return seconds

    ex = Executor(make(stall, timeout=0.2))
    outcomes: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def in_a_thread(name: str) -> None:
        async def calls() -> list[str]:
            barrier.wait(5)  # both loops run and have their calls in flight together
            started = time.perf_counter()
            out = await asyncio.gather(
                ex.execute([{"name": "stall", "args": {"seconds": 5}}]),
                ex.execute([{"name": "stall", "args": {"seconds": 0.01}}]))
            assert time.perf_counter() - started < 2
            return [r.status for results in out for r in results]

        outcomes[name] = asyncio.run(calls())

    threads = [threading.Thread(target=in_a_thread, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcomes == {"a": ["error", "success"], "b": ["error", "success"]}


async def test_a_call_sees_the_callers_context_vars_and_its_changes_stay_with_it() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("test_var", default="unset")
    seen: list[str] = []

    async def mark(value: str) -> str:
        """Set the variable, across a suspension.

        Args:
            value: what to set
        """
        seen.append(var.get())
        var.set(value)
        await asyncio.sleep(0)
        assert var.get() == value
        return value

    ex = Executor(make(mark))
    var.set("caller")
    # One call (run in the caller's task) and two (a task each): the same isolation.
    for plan in ([{"name": "mark", "args": {"value": "one"}}],
                 [{"name": "mark", "args": {"value": "a"}},
                  {"name": "mark", "args": {"value": "b"}}]):
        results = await ex.execute(plan)
        assert all(r.ok for r in results)
        assert var.get() == "caller"
    assert seen == ["caller"] * 3
