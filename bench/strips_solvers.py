"""The dataflow planner's producer search as a STRIPS problem, and two real solvers for it.

``extract`` turns one call of ``DataflowPlanner._produce`` (its arguments, as recorded) into a
delete-free STRIPS problem with the planner's own rules: a fact per wanted parameter type
(concept, kind, role), an action per candidate tool (and role hint) whose preconditions are the
required inputs the query does not fill and whose effects are the wanted types its outputs
match (``concepts_match``), the same filters (no guessed dates, no tool that takes nothing
new, no city from a city). What calls already planned give (``_from_plan``) needs no call:
the goal is then true at the start, an input is no precondition (except for the tool that
made it: ``_produce`` excludes the tools on its chain).

``Pyperplan`` writes it as PDDL (``(have-city)``), parses, grounds and searches it; ``Clingo``
encodes it in ASP (the paper's step) and minimises the number of calls. Each reports its stages
separately: encoding, parsing/grounding, search.
"""

from __future__ import annotations

import copy
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agent.planners.concepts import Output, concepts_match, field_named, outputs
from agent.planners.dataflow import DataflowPlanner
from agent.planners.filling import Filling, Param, fill
from agent.planners.produce import LITERAL_KINDS
from agent.types import Tool

Key = tuple[str, str, str | None]  # (concept, kind, role): what a parameter wants


@dataclass
class Strips:
    """Delete-free STRIPS: facts are keys; an action is (tool, role hint)."""

    init: set[Key]
    goal: Key
    actions: dict[str, tuple[str, set[Key], set[Key]]] = field(default_factory=dict)
    # action name -> (tool name, preconditions, effects)


def key_of(p: Param) -> Key:
    return (p.concept, p.kind, p.role)


class _Matcher:
    """Outputs that can feed a wanted concept, without comparing every pair."""

    def __init__(self, tools: dict[str, Tool]) -> None:
        self.by_last: dict[str, list[tuple[str, Output]]] = {}
        self.by_token: dict[tuple[str, str], list[tuple[str, Output]]] = {}
        self.short: dict[str, list[tuple[str, Output]]] = {}
        for name, tool in tools.items():
            for out in outputs(tool):
                parts = out.concept.split("_")
                entry = (name, out)
                self.by_last.setdefault(parts[-1], []).append(entry)
                if len(parts) == 1:
                    self.short.setdefault(parts[-1], []).append(entry)
                for tok in set(parts[:-1]):
                    self.by_token.setdefault((parts[-1], tok), []).append(entry)

    def feeding(self, concept: str) -> Iterator[tuple[str, Output]]:
        w = concept.split("_")
        if len(w) == 1:
            pool = self.by_last.get(w[-1], [])
        else:  # concepts_match: same last word and (a one-word side or a shared word)
            seen: dict[int, tuple[str, Output]] = {}
            for e in [*self.short.get(w[-1], []),
                      *(e for tok in set(w) for e in self.by_token.get((w[-1], tok), []))]:
                seen[id(e)] = e
            pool = list(seen.values())
        for name, out in pool:
            if concepts_match(concept, out.concept):
                yield name, out


def extract(planner: DataflowPlanner, snap: dict[str, Any], tools: dict[str, Tool]) -> Strips:
    """The STRIPS problem behind one recorded ``_produce`` call (see the module doc)."""
    p: Param = snap["p"]
    clause, plan = snap["clause"], snap["plan"]
    taken, consumer, exclude = snap["taken"], snap["consumer"], snap["exclude"]
    values = [snap["answers"][p.name]] if p.name in snap["answers"] else snap["values"]
    cands = {n: t for n, t in tools.items() if n not in exclude and not t.side_effects}
    match = _Matcher(cands)
    fillings: dict[tuple[str, str | None], Filling] = {}

    def filling_for(name: str, role: str | None) -> Filling:
        got = fillings.get((name, role))
        if got is None:  # as _produce does: the clause's values, then the query's
            tool = cands[name]
            got = fill(tool, [v for v in clause.values if v.index not in taken], clause.text,
                       role_hint=role)
            if got.missing:
                mine = {v.index for v in got.used.values()}
                wide = [v for v in values if v.index not in taken and v.index not in mine]
                more = fill(tool, wide, clause.text, role_hint=role, mentions=False)
                for m in list(got.missing):
                    if m.name in more.args:
                        got.args[m.name] = more.args[m.name]
                        got.used[m.name] = more.used[m.name]
                        got.missing.remove(m)
            fillings[(name, role)] = got
        return got

    out = Strips(set(), key_of(p))
    offered = _offered(plan, tools, exclude)
    seen: set[Key] = set()
    todo = [key_of(p)]  # backwards from the goal: only tools that can help are actions
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        concept, kind, role = key
        for name, o in match.feeding(concept):
            base = filling_for(name, role)
            named = bool(o.pointer) and field_named(o.pointer.rsplit("/", 1)[-1], clause.stems)
            if kind in LITERAL_KINDS and not named:
                continue
            fresh = [v for v in base.used.values() if v.index not in (consumer or ())]
            if not fresh and not named and not base.missing:
                continue
            if any(concepts_match(m.concept, concept) for m in base.missing):
                continue
            f = copy.copy(base)
            f.args, f.used, f.missing = dict(base.args), dict(base.used), list(base.missing)
            f = planner._unname_fields(cands[name], f, tools)
            if kind == "identifier" and not f.used and not f.args and not f.missing:
                continue
            act = f"{name}|{role or ''}"
            # An input a call already planned gives is no precondition, unless that call is
            # of this very tool (_produce excludes the tools on its chain).
            pre = {key_of(m) for m in f.missing
                   if not any(concepts_match(m.concept, c) and by - {name}
                              for c, by in offered.items())}
            _, _, eff = out.actions.setdefault(act, (name, pre, set()))
            eff.add(key)
            todo.extend(k for k in pre if k not in seen)
    if any(concepts_match(p.concept, c) for c in offered):
        out.init = {out.goal}  # reused as it is (_from_plan): no call needed
    return out


def _offered(plan: Any, tools: dict[str, Tool], exclude: set[str]) -> dict[str, set[str]]:
    """Concept -> tools of the calls already planned that give it (``_from_plan``): earlier
    goals and this goal's calls, less outputs already handed to a parameter."""
    local = plan.calls[plan.goal_start:]
    found: dict[str, set[str]] = {}
    for call in [*plan.goals, *local]:
        if call.name in exclude or call.name not in tools:
            continue
        for o in outputs(tools[call.name]):
            ref = f"{call.id}#{o.pointer}" if o.pointer else call.id
            if call in local and (ref in plan.refs or (call.id, o.concept) in plan.fed):
                continue
            found.setdefault(o.concept, set()).add(call.name)
    return found


# Solvers -------------------------------------------------------------------------------------
@dataclass
class Solution:
    tools: list[str] | None  # the plan's calls (tool names), None: no plan / timed out
    stages: dict[str, float]  # milliseconds per stage
    timed_out: bool = False
    optimal_count: int | None = None  # clingo: how many optimal plans (capped at 2)


def _name(key: Key) -> str:
    concept, kind, role = key
    return re.sub(r"[^a-z0-9]+", "-", f"have-{concept}-{kind}-{role or 'any'}".lower())


class _Timeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def ring(*_: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def to_pddl(problem: Strips) -> tuple[str, str, dict[str, str]]:
    """Domain and problem text (zero-arity predicates, one action per tool); action names."""
    facts = {k: _name(k) for k in {problem.goal, *problem.init,
                                   *(k for a in problem.actions.values() for k in a[1] | a[2])}}
    names: dict[str, str] = {}
    acts = []
    for i, (act, (tool, pre, eff)) in enumerate(problem.actions.items()):
        pname = f"a{i}-" + re.sub(r"[^a-z0-9]+", "-", act.lower()).strip("-")
        names[pname] = tool
        acts.append(f" (:action {pname} :parameters ()\n"
                    f"  :precondition (and {' '.join(sorted(f'({facts[k]})' for k in pre))})\n"
                    f"  :effect (and {' '.join(sorted(f'({facts[k]})' for k in eff))}))")
    domain = ("(define (domain tools) (:requirements :strips)\n (:predicates "
              + " ".join(f"({f})" for f in sorted(facts.values())) + ")\n"
              + "\n".join(acts) + ")")
    prob = ("(define (problem query) (:domain tools) (:objects)\n (:init "
            + " ".join(sorted(f"({facts[k]})" for k in problem.init)) + ")\n"
            + f" (:goal (and ({facts[problem.goal]}))))")
    return domain, prob, names


class Pyperplan:
    """PDDL text -> pyperplan's parser and grounding -> one of its searches."""

    def __init__(self, search: str, timeout: float) -> None:
        from pyperplan import grounding
        from pyperplan.heuristics.lm_cut import LmCutHeuristic
        from pyperplan.pddl.parser import Parser
        from pyperplan.search import astar_search, breadth_first_search

        self.name = f"pyperplan_{search}"
        self.timeout = timeout
        self._parser, self._ground = Parser, grounding.ground
        self._search: Callable[[Any], Any] = (
            breadth_first_search if search == "bfs"
            else lambda task: astar_search(task, LmCutHeuristic(task)))

    def solve(self, problem: Strips) -> Solution:
        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        domain, prob, names = to_pddl(problem)
        t1 = time.perf_counter()
        parser = self._parser(None)
        parser.domInput, parser.probInput = domain, prob
        task = self._ground(parser.parse_problem(parser.parse_domain(False), False))
        t2 = time.perf_counter()
        stages.update(encode_ms=(t1 - t0) * 1e3, ground_ms=(t2 - t1) * 1e3)
        try:
            with _deadline(self.timeout):
                plan = self._search(task)
        except _Timeout:
            stages["search_ms"] = (time.perf_counter() - t2) * 1e3
            return Solution(None, stages, timed_out=True)
        stages["search_ms"] = (time.perf_counter() - t2) * 1e3
        if plan is None:
            return Solution(None, stages)
        return Solution([names[op.name.strip("()")] for op in plan], stages)


ASP_RULES = """
% computed while grounding: what can be reached at all, and what can help reach the goal
can(F) :- init(F).
can(F) :- action(A), eff(A,F), can(G) : pre(A,G).
need(F) :- goal(F), not init(F).
useful(A) :- eff(A,F), need(F), can(G) : pre(A,G).
need(G) :- useful(A), pre(A,G), not init(G).
reach(F) :- init(F).
{ use(A) } :- useful(A).
reach(F) :- use(A), eff(A,F), reach(G) : pre(A,G).
:- use(A), pre(A,G), not reach(G).
:- goal(F), not reach(F).
#minimize { 1,A : use(A) }.
"""


class Clingo:
    """ASP (as the paper): choose the fewest calls whose inputs are reached, goal reached.

    Delete-free, so a plan is a set of calls; ``reach`` is a least fixpoint, so no call is
    justified by its own output.
    """

    name = "clingo"

    def __init__(self, timeout: float, count: bool = True) -> None:
        import clingo

        self._clingo = clingo
        self.timeout = timeout
        self.count = count

    def encode(self, problem: Strips) -> tuple[str, list[str]]:
        ids: dict[Key, int] = {}

        def fid(k: Key) -> int:
            return ids.setdefault(k, len(ids))

        lines, tools = [f"goal({fid(problem.goal)})."], []
        lines += [f"init({fid(k)})." for k in problem.init]
        for i, (tool, pre, eff) in enumerate(problem.actions.values()):
            tools.append(tool)
            lines.append(f"action({i}).")
            lines += [f"pre({i},{fid(k)})." for k in pre]
            lines += [f"eff({i},{fid(k)})." for k in eff]
        return "\n".join(lines) + ASP_RULES, tools

    def _control(self, program: str, args: list[str]) -> Any:
        ctl = self._clingo.Control(args)
        ctl.add("base", [], program)
        ctl.ground([("base", [])])
        return ctl

    def solve(self, problem: Strips) -> Solution:
        t0 = time.perf_counter()
        program, tools = self.encode(problem)
        t1 = time.perf_counter()
        ctl = self._control(program, ["--opt-mode=opt", "--opt-strategy=usc", "--warn=none"])
        t2 = time.perf_counter()
        best: list[list[int]] = []

        def on_model(m: Any) -> None:
            best[:] = [[s.arguments[0].number for s in m.symbols(atoms=True)
                        if s.name == "use"]]

        with ctl.solve(on_model=on_model, async_=True) as handle:
            done = handle.wait(self.timeout)
            if not done:
                handle.cancel()
            result = handle.get()
        t3 = time.perf_counter()
        stages = {"encode_ms": (t1 - t0) * 1e3, "ground_ms": (t2 - t1) * 1e3,
                  "search_ms": (t3 - t2) * 1e3}
        if not done:
            return Solution(None, stages, timed_out=True)
        if not result.satisfiable or not best:
            return Solution(None, stages)
        return Solution([tools[i] for i in best[0]], stages,
                        optimal_count=self.optima(program) if self.count else None)

    def optima(self, program: str) -> int | None:
        """How many optimal plans there are, up to 2 (untimed: only for the comparison)."""
        ctl = self._control(program, ["--opt-mode=optN", "--opt-strategy=usc", "0", "--warn=none"])
        count = 0

        def on_model(m: Any) -> bool:
            nonlocal count
            if m.optimality_proven:
                count += 1
            return count < 2

        with ctl.solve(on_model=on_model, async_=True) as handle:
            if not handle.wait(self.timeout):
                handle.cancel()
                return None
        return count
