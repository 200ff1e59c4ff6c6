"""Evaluate a planner on queries with gold plans: the library behind ``agent eval``.

A query file is JSON Lines, one query per line::

    {"id": "md-01", "group": "multi_dataflow", "query": "flights from Paris to Rome on 2026-12-03",
     "answers": {}, "plan": [{"id": "a", "name": "find_airports", "args": {"city": "Paris"}},
                             ...]}

``plan`` is the gold plan in the form ``agent plan run`` takes (references as in
``agent.refs``); ``answers`` holds what the user would reply when the planner asks for
something the query left out, keyed by parameter name.

A query passes when (1) the run ends ``ok``; (2) its successful calls, as a multiset of tool
name and resolved arguments, equal the gold plan's; (3) every final output of the gold plan
(the output of a gold call no other gold call references) is among the run's successful
results; (4) a query with ``answers`` (or in the ``single_incomplete`` group) made the planner
ask; and the planner asked for nothing the user would not know. Arguments are compared as
JSON after filling in schema defaults, numbers with a small tolerance, strings ignoring case
and repeated spaces: what the tools themselves treat alike.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import (
    ModelNotFoundError,
    NeedsInput,
    PlanError,
    PlannerNotFoundError,
    UsageError,
)
from agent.refs import call_refs, normalize_calls, plan_order
from agent.runtime import Agent
from agent.types import Run, Tool, ToolResult

Call = tuple[str, dict[str, Any]]
AgentFactory = Callable[[Mapping[str, Any]], "Agent | Awaitable[Agent]"]
INCOMPLETE_GROUP = "single_incomplete"
REL_TOL = 1e-6
ABS_TOL = 1e-6
SHOWN = 160  # characters of a call or value shown in a reason


@dataclass
class QueryResult:
    """How the planner did on one query."""

    id: str
    group: str
    query: str
    passed: bool
    reason: str | None = None
    status: str | None = None
    calls: list[Call] = field(default_factory=list)
    gold_calls: list[Call] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    run_id: str | None = None
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls"] = [{"name": n, "args": a} for n, a in self.calls]
        data["gold_calls"] = [{"name": n, "args": a} for n, a in self.gold_calls]
        return data


@dataclass
class EvalReport:
    """All results, in query order."""

    results: list[QueryResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    def pass_rate(self) -> float:
        return self.passed / self.total if self.results else 0.0

    def by_group(self) -> dict[str, tuple[int, int]]:
        """``{group: (passed, total)}`` in the order groups first appear."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            passed, total = out.get(r.group, (0, 0))
            out[r.group] = (passed + r.passed, total + 1)
        return out

    def failures(self) -> list[QueryResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        """A small table: passed, total and pass rate per group, then overall."""
        rows = [*self.by_group().items(), ("all", (self.passed, self.total))]
        width = max(len(g) for g, _ in rows)
        lines = [f"{'group':<{width}}  passed  total    rate"]
        for group, (passed, total) in rows:
            rate = 100 * passed / total if total else 0.0
            lines.append(f"{group:<{width}}  {passed:>6}  {total:>5}  {rate:5.1f}%")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "total": self.total, "pass_rate": self.pass_rate(),
            "groups": {g: {"passed": p, "total": t, "pass_rate": p / t if t else 0.0}
                       for g, (p, t) in self.by_group().items()},
            "results": [r.to_dict() for r in self.results],
        }


# Loading -----------------------------------------------------------------------------------
def load_queries(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines query file; a malformed line raises ``UsageError`` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    queries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        query = check_query(item, where, default_id=f"line-{number}")
        if query["id"] in seen:
            raise UsageError(f"{where}: duplicate id {query['id']!r}")
        seen.add(query["id"])
        queries.append(query)
    if not queries:
        raise UsageError(f"{path}: no queries in the file")
    return queries


def check_query(item: Any, where: str = "query", default_id: str = "query") -> dict[str, Any]:
    """Validate one query object; returns it with ``id``, ``group`` and ``answers`` filled."""
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(item).__name__}")
    text = item.get("query")
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{where}: 'query' must be a non-empty string")
    answers = item.get("answers") or {}
    if not isinstance(answers, dict):
        raise UsageError(f"{where}: 'answers' must be an object of parameter -> value")
    plan = item.get("plan")
    if not isinstance(plan, list) or not plan:
        raise UsageError(f"{where}: 'plan' must be a non-empty list of calls")
    try:
        calls = normalize_calls(plan)
        plan_order(calls, [None] * len(calls))
    except PlanError as exc:
        raise UsageError(f"{where}: plan: {exc}") from None
    return {**item, "id": str(item.get("id") or default_id),
            "group": str(item.get("group") or "ungrouped"), "answers": answers, "plan": plan}


# The user ----------------------------------------------------------------------------------
class SimulatedUser:
    """Plays the user: answers a planner's questions from the query's ``answers``.

    A question whose schema requires a field the user was never told about cannot be answered:
    it is recorded in ``unknown`` and the run ends ``needs_input`` (as it would with nobody to
    ask). A question without a schema of fields is recorded the same way.
    """

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = dict(answers)
        self.asked: list[str] = []
        self.unknown: list[str] = []

    def __call__(self, question: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
        props = dict((schema or {}).get("properties") or {})
        if not props:
            self.unknown.append(f"{question!r} (no fields named)")
            raise NeedsInput(question)
        self.asked.extend(props)
        needed = (schema or {}).get("required") or list(props)
        missing = [f for f in needed if f not in self.answers]
        if missing:
            self.unknown.extend(missing)
            raise NeedsInput(question, {f: props.get(f, {}) for f in missing})
        return {f: self.answers[f] for f in props if f in self.answers}


# Comparing ---------------------------------------------------------------------------------
def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def same(a: Any, b: Any) -> bool:
    """JSON values equal up to number tolerance, case and spacing of strings."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _with_defaults(tools: Mapping[str, Tool], name: str, args: Mapping[str, Any] | None
                   ) -> dict[str, Any]:
    full = _json(dict(args or {}))
    tool = tools.get(name)
    props = tool.parameters.get("properties", {}) if tool is not None else {}
    for key, schema in props.items():
        if key not in full and isinstance(schema, dict) and "default" in schema:
            full[key] = _json(schema["default"])
    return dict(full)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _show_call(call: Call) -> str:
    name, args = call
    inner = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
    text = f"{name}({inner})"
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _distance(got: dict[str, Any], expected: dict[str, Any]) -> int:
    keys = {**expected, **got}
    return sum(not (k in got and k in expected and same(got[k], expected[k])) for k in keys)


def _arg_diff(got: dict[str, Any], expected: dict[str, Any]) -> str:
    keys = [k for k in {**expected, **got} if not (k in got and k in expected
                                                    and same(got[k], expected[k]))]
    shown_got = {k: got.get(k, "<missing>") for k in keys}
    shown_expected = {k: expected.get(k, "<missing>") for k in keys}
    return f"got {_show(shown_got)}, expected {_show(shown_expected)}"


def compare_calls(calls: list[Call], gold: list[Call]) -> list[str]:
    """Reasons the two multisets of calls differ (empty when they are equal)."""
    extra = list(calls)
    missing: list[Call] = []
    for g in gold:
        i = next((i for i, c in enumerate(extra) if c[0] == g[0] and same(c[1], g[1])), None)
        if i is None:
            missing.append(g)
        else:
            extra.pop(i)
    reasons = []
    for g in missing:
        # the call of the same tool that is closest to the gold one is the one that went wrong
        near = sorted((_distance(c[1], g[1]), i) for i, c in enumerate(extra) if c[0] == g[0])
        if not near:
            reasons.append(f"missing call {_show_call(g)}")
        else:
            reasons.append(f"wrong args for {g[0]}: {_arg_diff(extra.pop(near[0][1])[1], g[1])}")
    reasons.extend(f"extra call {_show_call(c)}" for c in extra)
    return reasons


def final_outputs(plan: list[dict[str, Any]], results: list[ToolResult]) -> list[ToolResult]:
    """Results of the gold calls that no other gold call references."""
    used: set[str] = set()
    for call in plan:
        used |= call_refs(call)
    return [r for call, r in zip(plan, results, strict=True) if call["id"] not in used]


# Evaluating --------------------------------------------------------------------------------
async def _make(make_agent: AgentFactory, answers: Mapping[str, Any]) -> Agent:
    agent = make_agent(answers)
    if inspect.isawaitable(agent):
        agent = await agent
    return agent


def _successful(run: Run, tools: Mapping[str, Tool]) -> list[Call]:
    return [(r.name, _with_defaults(tools, r.name, r.args)) for r in run.results if r.ok]


async def evaluate_query(make_agent: AgentFactory, query: Mapping[str, Any]) -> QueryResult:
    """Run one query's gold plan, then the planner on its text, and judge the run."""
    q = check_query(dict(query), f"query {query.get('id', '?')!r}")
    answers = q["answers"]
    result = QueryResult(q["id"], q["group"], q["query"], passed=False)
    agent = await _make(make_agent, answers)
    user = agent.ask if isinstance(agent.ask, SimulatedUser) else None
    if agent.ask is None:
        user = agent.ask = SimulatedUser(answers)
    try:
        tools = agent.tools
        plan = normalize_calls(q["plan"])
        absent = sorted({c["name"] for c in plan if c["name"] not in tools})
        if absent:
            result.reason = (f"the gold plan uses tools the agent does not offer: "
                             f"{', '.join(absent)} (is their plugin installed and configured?)")
            return result
        gold_agent = Agent(list(tools.values()), store=False, approve=True)
        gold = await gold_agent.execute(plan)
        result.gold_calls = [(r.name, _with_defaults(tools, r.name, r.args)) for r in gold]
        broken = next((r for r in gold if not r.ok), None)
        if broken is not None:
            result.reason = (f"gold plan failed: call {broken.call_id!r} ({broken.name}): "
                             f"{broken.error}")
            return result
        try:
            run = await agent.run(q["query"])
        except (PlannerNotFoundError, ModelNotFoundError):
            raise  # the set-up is wrong, not the planner: no query can pass
        except Exception as exc:  # another AgentError the runtime re-raises
            result.reason = f"the run raised {type(exc).__name__}: {exc}"
            return result
        result.status, result.run_id = run.status, run.id
        result.duration_ms = run.duration_ms or 0.0
        result.calls = _successful(run, tools)
        result.asked = list(user.asked) if user is not None else []
        reasons = _judge(q, run, result, user, final_outputs(plan, gold))
        result.passed = not reasons
        result.reason = "; ".join(reasons) or None
        return result
    finally:
        await agent.aflush()
        agent.close()


def _judge(q: Mapping[str, Any], run: Run, result: QueryResult, user: SimulatedUser | None,
           finals: list[ToolResult]) -> list[str]:
    reasons: list[str] = []
    if user is not None and user.unknown:
        unknown = ", ".join(dict.fromkeys(user.unknown))
        reasons.append(f"asked for {unknown} which the user would not know")
    elif run.status != "ok":
        detail = f": {run.error}" if run.error else ""
        reasons.append(f"run ended {run.status}{detail}")
    call_reasons = compare_calls(result.calls, result.gold_calls)
    reasons.extend(call_reasons)
    if not call_reasons:
        contents = [_json(r.content) for r in run.results if r.ok]
        for gold in finals:
            expected = _json(gold.content)
            if not any(same(c, expected) for c in contents):
                reasons.append(f"final output of {gold.name} not produced: expected "
                               f"{_show(expected)}")
    must_ask = q["group"] == INCOMPLETE_GROUP or bool(q["answers"])
    if must_ask and not any(s.kind == "ask" for s in run.steps):
        fields = ", ".join(q["answers"]) or "the missing information"
        reasons.append(f"did not ask for {fields}")
    return reasons


async def evaluate(
    make_agent: AgentFactory,
    queries: Iterable[Mapping[str, Any]],
    *,
    concurrency: int = 1,
    on_result: Callable[[QueryResult], None] | None = None,
) -> EvalReport:
    """Evaluate every query; results come back in query order.

    ``make_agent(answers)`` returns a fresh ``Agent`` (sync or async) for one query, with the
    planner under test and the tools the gold plans use. Leave its ``ask`` unset (or set it to
    ``SimulatedUser(answers)``): the evaluator then plays the user and notices questions the
    user could not answer. The gold plan runs on the same tools without tracing, side effects
    approved. ``on_result`` is called as each query finishes (for progress output). Build
    the registry once and pass it (``Agent(registry=...)``) so that making an agent is cheap.
    A planner or model that does not exist raises (``PlannerNotFoundError``,
    ``ModelNotFoundError``); everything else a query does is judged, never raised.
    """
    items = list(queries)
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(query: Mapping[str, Any]) -> QueryResult:
        async with limit:
            outcome = await evaluate_query(make_agent, query)
        if on_result is not None:
            on_result(outcome)
        return outcome

    return EvalReport(list(await asyncio.gather(*(one(q) for q in items))))
