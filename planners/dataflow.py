"""``dataflow``: the default planner, no LLM needed.

After "LLM+Reasoning+Planning for supporting incomplete user queries in presence of APIs":
1. split the query into goals (clauses that each name something a tool does);
2. for each goal, pick the tool whose words and parameters fit the clause best and fill its
   arguments from the values in the clause;
3. a required argument the query does not give is produced by another tool whose output has
   the same concept (``x-type``), found by a shortest-first backward search, with outputs
   fed to inputs through the executor's ``$ref`` references;
4. what neither the query nor a tool can provide is asked of the user (``env.ask``, the
   paper's get_info);
5. the plan runs as one step: independent goals in parallel, dependent calls in order.

A query no tool fits is answered as such, never with a random call.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from agent.environment import Environment
from agent.hookspecs import hookimpl
from agent.types import Answer, Task, Tool, ToolResult

from .answers import no_tool_answer, summarize
from .clauses import MIN_RELEVANCE, split_clauses
from .concepts import (
    Output,
    field_named,
    outputs,
)
from .filling import (
    Filling,
    Param,
    fill,
    looks_like_identifier,
    may_score,
    params_of,
    strengths,
)
from .index import ToolIndex
from .options import name_options
from .plan import Clause, Hole, Plan
from .produce import SHARED_KINDS, ProducerSearch, _used_in, clause_role
from .repair import refused, reuse
from .text import stem, words
from .values import Value, extract

POSSESSED = re.compile(r"\b(?:my|our|your|their|his|her|these|those|some|all)\s+$", re.I)
LIST_GAP = re.compile(r"\s*(?:,|,?\s*\band\b|,?\s*\bor\b)\s*", re.I)  # "Oslo, Rome and Bern"
MAX_REPAIRS = 2  # re-plans after a tool refuses its input


class DataflowPlanner(ProducerSearch):
    """Classical planning over what tools consume and produce; asks for what is missing."""

    name = "dataflow"

    def __init__(self, *, today: dt.date | None = None, max_goals: int = 6) -> None:
        self.today = today
        self.max_goals = max_goals
        self._index: tuple[frozenset[str], ToolIndex] | None = None

    def index(self, tools: dict[str, Tool]) -> ToolIndex:
        key = frozenset(tools)
        if self._index is None or self._index[0] != key:
            self._index = (key, ToolIndex(tools))
        return self._index[1]

    async def run(self, task: Task, env: Environment) -> Answer:
        query = task.query.strip()
        if not query:
            return Answer("The query is empty: ask for something the tools can do.",
                          status="error")
        tools = {n: t for n, t in env.tools.items()}
        if len(tools) > 60:  # large registries: let the retriever narrow them down
            tools = {t.name: t for t in env.retrieve(query, 40)}
        plan = self.plan(query, tools)
        if not plan.goals:
            return Answer(no_tool_answer(query), status="error")
        if plan.holes:
            plan = await self._ask(plan, query, tools, env)
        results = await env.call_tools([c.as_dict() for c in plan.calls])
        for _ in range(MAX_REPAIRS):
            repaired = await self._repair(plan, results, query, tools, env)
            if repaired is None:
                break
            plan, results = repaired
        return summarize(plan, results)

    async def _repair(self, plan: Plan, results: list[ToolResult], query: str,
                      tools: dict[str, Tool], env: Environment,
                      ) -> tuple[Plan, list[ToolResult]] | None:
        """A tool refused its input ("unknown city 'Sweden'"): plan again without it.

        Calls of the new plan that already succeeded are not run again; their outputs are
        passed on. Only tool failures count: refused approvals and dependants are not
        evidence against a tool.
        """
        failed = refused(results)
        if not failed:
            return None
        remaining = {n: t for n, t in tools.items() if n not in failed}
        retry = self.plan(query, remaining, answers=plan.answers)
        if not retry.goals or retry.holes:
            return None
        reused, todo = reuse(plan, results, retry)
        if not todo:
            return None
        fresh = await env.call_tools([c.as_dict() for c in todo])
        by_id = {c.id: r for c, r in zip(todo, fresh, strict=True)}
        merged = [reused.get(c.id) or by_id[c.id] for c in retry.calls]
        return retry, merged

    # Planning ----------------------------------------------------------------------------
    def plan(self, query: str, tools: dict[str, Tool],
             answers: dict[str, Value] | None = None) -> Plan:
        index = self.index(tools)
        self._memo: dict[Any, Any] = {}  # the producer search's, for this query only
        values = name_options(extract(query, today=self.today, vocabulary=index.vocabulary),
                              query, index.lexicon)
        for v in values:
            v.extra["before"] = query[max(0, v.start - 40):max(v.start, 0)]
            if v.extra.get("option") and POSSESSED.search(v.extra["before"]):
                v.extra["amount_implied"] = True  # "for my euros": some euros, how many?
            if v.extra.get("option") and "unit_of" in v.extra:  # "20 euros": money
                values[v.extra["unit_of"]].extra["unit_option"] = v.extra["option"]
            if v.kind == "number" and v.unit and stem(v.unit.lower()) in index.count_words:
                v.extra["counts"] = stem(v.unit.lower())
        clauses = split_clauses(query, values, index)
        plan = Plan(answers=dict(answers or {}),
                    role=clause_role([stem(w) for w in words(query)]))
        for clause in clauses[: self.max_goals]:
            self._plan_goal(clause, values, query, tools, index, plan, answers or {})
        return plan

    def _plan_goal(self, clause: Clause, values: list[Value], query: str,
                   tools: dict[str, Tool], index: ToolIndex, plan: Plan,
                   answers: dict[str, Value]) -> None:
        """Choose the clause's goal tool and plan it (with producers) into ``plan``.

        Candidates come from the words (and from the values, when the words are weak). Each
        is planned on a scratch copy; the one whose plan uses most of the clause's own
        values wins ("convert the price of the cheapest flight ... into euros" is a currency
        conversion fed by a flight search, not a flight search that ignores "euros"), then
        the one with fewest questions, then the best word and value fit.
        """
        if clause.repeats and plan.goals:
            self._repeat_goal(clause, tools, plan)
            return
        candidates = self._candidates(clause, tools, index, plan)
        if not candidates:
            return  # no tool fits the clause: no goal
        # What the clause says on its own: not plain words, not the unit of a number.
        own = {v.index for v in clause.values if v.kind != "word" and "unit_of" not in v.extra}
        best_key, best = None, None
        for total, tool, filling in candidates:
            scratch = copy.deepcopy(plan)
            used, holes = self._build(tool, filling, clause, values, query, tools, index,
                                      scratch, answers)
            options = sum(1 for v in filling.used.values() if v.extra.get("enum_word"))
            added = len(scratch.calls) - len(plan.calls)  # shorter plans first, as in the paper
            asked = self._asked_for(tool, filling, clause, scratch.named - plan.named)
            key = (len(own & used) + options + asked + _implied(filling),
                   total - holes - 0.5 * added)
            if best_key is None or key > best_key:
                best_key, best = key, (tool, filling)
        if best is not None:
            self._build(best[0], best[1], clause, values, query, tools, index, plan, answers)

    @staticmethod
    def _asked_for(tool: Tool, filling: Filling, clause: Clause, named_refs: set[str]) -> int:
        """1 when the clause names what the goal gives or what feeds it, else 0.

        "How much would three nights ... cost in kroner" names the hotel's price, which a
        currency conversion consumes (an exchange rate would leave it unused); "what time
        is it" names what a clock tool gives itself, so feeding its time onwards earns no
        more than answering directly. A word the tool takes as an option ("sorted by price")
        does not also name its output.
        """
        if named_refs:
            return 1
        options = {stem(w) for v in filling.used.values() if v.extra.get("enum_word")
                   for w in words(v.text)}
        stems = [s for s in clause.stems if s not in options]
        return int(any(o.pointer and field_named(o.pointer.rsplit("/", 1)[-1], stems)
                       for o in outputs(tool)))

    @staticmethod
    def _repeat_goal(clause: Clause, tools: dict[str, Tool], plan: Plan) -> None:
        """The previous goal again, with what this clause says in place of what it said."""
        last = plan.goals[-1]
        filling = fill(tools[last.name], clause.values, clause.text)
        goal = plan.add(last.name, {**last.args, **filling.args})
        plan.goals.append(goal)

    def _candidates(self, clause: Clause, tools: dict[str, Tool], index: ToolIndex,
                    plan: Plan) -> list[tuple[float, Tool, Filling]]:
        ranked = [(r, n) for r, n in index.rank(clause.stems) if r >= MIN_RELEVANCE]
        out: list[tuple[float, Tool, Filling]] = []
        top = ranked[0][0] if ranked else 0.0
        for relevance, name in ranked[:6]:
            if relevance < top * 0.3:
                break
            tool = tools[name]
            if tool.side_effects and index.score(name, clause.stems, intent=True) < \
                    2 * MIN_RELEVANCE:
                continue  # never act on the world on a vague match
            filling = self._unname_fields(tool, fill(tool, clause.values, clause.text), tools)
            out.append((relevance + 0.8 * filling.score - 1.2 * len(filling.missing), tool,
                        filling))
        out.sort(key=lambda c: -c[0])
        weak = not out or (out[0][2].missing and (index.score(
            out[0][1].name, clause.stems, intent=True) < 2 * MIN_RELEVANCE
            or (any(v.kind != "word" for v in clause.values) and not out[0][2].used)))
        if weak:  # words point weakly at a tool that lacks inputs: do the values fit another?
            alt = self._by_values(clause, tools, index, plan)
            if alt is not None:
                out.insert(0, alt)
        out = out[:6]
        # A tool whose enum takes an option the clause names ("in Norwegian kroner") is a
        # candidate even when no word names it: the coverage test decides.
        named = [v for v in clause.values if v.extra.get("option")]
        if not named:
            return out
        seen = {c[1].name for c in out}
        for name, tool in tools.items():
            if name in seen or tool.side_effects:
                continue
            if any(p.enum and any(v.value in p.enum for v in named) for p in params_of(tool)):
                filling = fill(tool, clause.values, clause.text)
                out.append((0.8 * filling.score - 1.2 * len(filling.missing), tool, filling))
        return out

    def _build(self, tool: Tool, filling: Filling, clause: Clause, values: list[Value],
               query: str, tools: dict[str, Tool], index: ToolIndex, plan: Plan,
               answers: dict[str, Value]) -> tuple[set[int], int]:
        """Plan one goal: fill, borrow from the rest of the query, produce, or leave holes.

        Returns the indices of the values the goal and its producers use, and the number of
        holes (questions for the user).
        """
        filling = copy.copy(filling)
        filling.args, filling.used = dict(filling.args), dict(filling.used)
        filling.missing = list(filling.missing)
        taken = {v.index for v in filling.used.values()}
        args = dict(filling.args)
        pending: list[Param] = []
        for p in filling.missing:
            if p.name in answers:
                args[p.name] = answers[p.name].value
                continue
            # A value the clause does not give may sit elsewhere in the query ("... on May 3").
            elsewhere = [v for v in values if v.index not in taken and v not in clause.values
                         and (v.kind in SHARED_KINDS or not _used_in(plan, v))]
            extra = fill(tool, elsewhere, query, mentions=False) if elsewhere else None
            if extra and p.name in extra.args:
                args[p.name] = extra.args[p.name]
                taken.add(extra.used[p.name].index)
            else:
                pending.append(p)
        used = set(taken)
        holes = 0
        fanned = self._fan_out(tool, args, filling, clause)
        used |= {v.index for v in clause.values if any(
            v.value in a.values() for a in fanned[1:])}
        for call_args in fanned:
            plan.goal_start = len(plan.calls)
            goal_args = dict(call_args)
            siblings: set[int] = set()  # values one producer used are not another's
            goal_holes = []
            for p in pending:
                produced = self._produce(p, clause, values, tools, index, plan, siblings, 1,
                                         answers, exclude={tool.name}, consumer=taken)
                if produced is not None:
                    goal_args[p.name] = produced
                else:
                    goal_holes.append(p)
            used |= siblings
            goal = plan.add(tool.name, goal_args)
            plan.goals.append(goal)
            plan.holes.extend(Hole(goal, p) for p in goal_holes)
            holes += len(goal_holes)
        return used, holes

    def _by_values(self, clause: Clause, tools: dict[str, Tool], index: ToolIndex,
                   plan: Plan) -> tuple[float, Tool, Filling] | None:
        """No tool is named, but the values say it all ("how much is 40 GBP in JPY"), maybe
        with an earlier goal's outputs ("... and its total price in US dollars").

        A tool qualifies only if the clause fills a parameter on strong evidence and every
        other required one is filled too or produced by an earlier goal; the best must
        stand clear of the next.
        """
        scored = []
        for name, tool in tools.items():
            if tool.side_effects or not _may_fill_strongly(tool, clause.values):
                continue
            filling = fill(tool, clause.values, clause.text)
            if not filling.used or max(strengths(tool, filling)) < 3.0:
                continue
            from_plan = [self._from_plan(p, clause, tools, plan, {name})
                         for p in filling.missing]
            if any(r is None for r in from_plan):
                continue
            named = sum(self._named(tools, r, clause) for r in from_plan if r)
            total = filling.score + 2.0 * named + len(from_plan) + index.score(
                name, clause.stems)
            scored.append((total, tool, filling))
        if not scored:
            return None
        scored.sort(key=lambda x: -x[0])
        if len(scored) > 1 and scored[1][0] > 0.8 * scored[0][0]:
            return None
        return scored[0]

    @staticmethod
    def _named(tools: dict[str, Tool], ref: dict[str, str], clause: Clause) -> int:
        pointer = ref["$ref"].partition("#")[2]
        field_words = [stem(w) for w in words(pointer.rsplit("/", 1)[-1].replace("_", " "))]
        return sum(w in clause.stems for w in field_words)

    def _fan_out(self, tool: Tool, args: dict[str, Any], filling: Filling,
                 clause: Clause) -> list[dict[str, Any]]:
        """"weather in Oslo and Paris": one call per name joined by "and"."""
        out = [args]
        used = {w.index for w in filling.used.values()}
        for pname, v in filling.used.items():
            siblings, last = [], v
            for w in clause.values:
                if w.index <= last.index or w.index in used:
                    continue
                gap = clause.text[last.end - clause.start:w.start - clause.start]
                if w.kind != v.kind or not LIST_GAP.fullmatch(gap):
                    break
                siblings.append(w)
                last = w
            for w in siblings:
                out.append({**args, pname: w.value})
            if siblings:
                break
        return out

    # Asking ------------------------------------------------------------------------------
    async def _ask(self, plan: Plan, query: str, tools: dict[str, Tool],
                   env: Environment) -> Plan:
        holes = {h.param.name: h for h in plan.holes}
        props = {}
        for name, h in holes.items():
            schema = {k: v for k, v in h.param.schema.items() if not k.startswith("x-")}
            schema.setdefault("description", name.replace("_", " "))
            props[name] = schema
        tool_names = ", ".join(dict.fromkeys(h.call.name for h in plan.holes))
        wanted = "; ".join(f"{n} ({props[n]['description']})" for n in props)
        question = f"To run {tool_names} I need: {wanted}."
        answer = await env.ask(question, {"type": "object", "properties": props,
                                          "required": list(props)})
        given = {k: _answer_value(k, v, holes[k].param) for k, v in dict(answer).items()
                 if k in holes}
        replanned = self.plan(query, tools, answers=given)
        if replanned.holes:  # the answer did not fit: fill it in as given
            for h in replanned.holes:
                if h.param.name in given:
                    h.call.args[h.param.name] = given[h.param.name].value
            replanned.holes = [h for h in replanned.holes if h.param.name not in given]
        return replanned


def _may_fill_strongly(tool: Tool, values: list[Value]) -> bool:
    """False when no filling of ``tool`` from ``values`` can have a strength of 3 or more,
    so ``_by_values`` need not fill it.

    ``strengths`` rates a parameter with an enum 4, any other by ``score`` of the pair
    ``fill`` put there (no role hint, as ``_by_values`` fills), and only ``values`` reach a
    parameter without an enum (the option names ``fill`` adds go to enums). So without an
    enum and without a pair that may score 3, the fill could not qualify.
    """
    for p in params_of(tool):
        if p.enum is not None:
            return True
        for v in values:
            if may_score(p, v, 3.0):
                return True
    return False


def _implied(filling: Filling) -> int:
    """1 when the clause speaks of an amount it does not give ("for my euros") and the tool
    has a number parameter still to fill (it will be asked): the clause is about a quantity."""
    said = any(v.extra.get("amount_implied") for v in filling.used.values())
    return int(said and any(p.kind in ("number", "integer") for p in filling.missing))


def _answer_value(name: str, raw: Any, p: Param) -> Value:
    """An answer as a value the planner can place (a name may still need a producer)."""
    value = raw
    if p.kind in ("number", "integer") and isinstance(raw, str):
        try:
            value = float(raw) if p.kind == "number" else int(raw)
        except ValueError:
            value = raw
    kind = "entity"
    v = Value(kind, value, str(raw), -1, -1, cue=None, index=-1000)
    if p.kind == "identifier" and looks_like_identifier(v):
        v.kind = "code"
    return v


@hookimpl
def register_planners(register: Any) -> None:
    register("dataflow", DataflowPlanner, "classical dataflow planning, no LLM (default)")


__all__ = ["DataflowPlanner", "Output"]
