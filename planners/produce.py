"""The dataflow planner's producer search: which tool calls provide a missing argument.

A required argument the query does not give may be the output of another tool (an airport
code from a city name, a price from a flight search). The search looks for the shortest
chain of calls that ends in an output of the argument's concept, fed by the query's values
and by earlier outputs, and records the ``$ref`` references that join the chain.
"""

from __future__ import annotations

import re
from typing import Any

from agent.types import Tool

from .concepts import PER_WORDS, Output, concepts_match, field_named, is_rate, outputs, role_of
from .filling import Filling, Param, fill, params_of
from .index import ToolIndex
from .plan import Call, Clause, Plan
from .text import stem, words
from .values import Value

SHARED_KINDS = frozenset({"date", "time", "datetime"})  # "... and the weather there that day"
MAX_DEPTH = 3  # producer chains longer than this are not searched
MAX_BRANCH = 4  # producers that need inputs themselves, tried per missing argument
LITERAL_KINDS = frozenset({"date", "time", "datetime", "number", "integer", "boolean"})


class ProducerSearch:
    """Mixed into the planner: producers for missing arguments, shortest chain first."""

    @staticmethod
    def _unname_fields(tool: Tool, filling: Filling, tools: dict[str, Tool]) -> Filling:
        """"the capital of Norway": "capital" names a field another tool produces, so the
        parameter is to be produced, not filled with the word."""
        params = {p.name: p for p in params_of(tool)}
        for pname, v in list(filling.used.items()):
            if v.kind == "word":
                field_word = str(v.value)
            else:  # "the capital of Norway": the word before "of" names the field
                m = re.search(r"(\w+)\s+of\s+(?:the\s+)?$", clause_text(v))
                if not m:
                    continue
                field_word = m.group(1)
            p = params[pname]
            for other in tools.values():
                if other is tool:
                    continue
                if any(concepts_match(p.concept, o.concept) and o.pointer and
                       stem(o.pointer.rsplit("/", 1)[-1]) == stem(field_word.lower())
                       for o in outputs(other)):
                    del filling.used[pname]
                    del filling.args[pname]
                    if p.required:
                        filling.missing.append(p)
                    break
        return filling

    def _produce(self, p: Param, clause: Clause, values: list[Value], tools: dict[str, Tool],
                 index: ToolIndex, plan: Plan, taken: set[int], depth: int,
                 answers: dict[str, Value], exclude: set[str],
                 consumer: set[int] | None = None) -> dict[str, str] | None:
        """A reference to a tool output that provides ``p``: the shortest chain wins.

        Every producer whose output has ``p``'s concept is tried, best-ranked first, with its
        own inputs produced recursively; the chain that adds the fewest calls is kept (the
        rank breaks ties), and one that cannot be completed (past ``MAX_DEPTH``, or an input
        nothing provides) gives way to the next. A producer that needs ``k`` inputs adds at
        least ``k + 1`` calls, which prunes the search.
        """
        if p.name in answers:
            values = [answers[p.name]]
        snapshot = set(plan.refs), set(plan.fed)
        earlier = self._from_plan(p, clause, tools, plan, exclude)
        candidates = sorted(self._producers(p, clause, values, tools, index, plan, taken,
                                            exclude, consumer), key=lambda c: c[0])
        if earlier is not None:
            if not self._clause_feeds(earlier, plan, clause, candidates, consumer):
                return earlier
            plan.refs, plan.fed = snapshot  # "the currency used in Tokyo": not the flight's
        # Every producer that needs nothing more, then the best few that need more: an
        # exhaustive search over every producer of a common concept (a currency, a city)
        # grows as breadth ** depth, and a better chain rarely hides further down the rank.
        ready = [c for c in candidates if not c[2].missing]
        candidates = ready + [c for c in candidates if c[2].missing][:MAX_BRANCH]
        best: tuple[int, tuple[Any, Tool, Filling, Output]] | None = None
        mark, before = len(plan.calls), set(taken)
        refs, fed, named = set(plan.refs), set(plan.fed), set(plan.named)
        for candidate in candidates:
            if best is not None and 1 + len(candidate[2].missing) >= best[0]:
                continue  # cannot be shorter than the chain already found
            ref = self._chain(candidate, p, clause, values, tools, index, plan, taken, depth,
                              exclude, consumer)
            if ref is not None:
                best = (len(plan.calls) - mark, candidate)
            del plan.calls[mark:]  # undo the trial; the winner is built again below
            plan.refs, plan.fed, plan.named = set(refs), set(fed), set(named)
            taken.intersection_update(before)
            taken |= before
        if best is None:
            return None
        return self._chain(best[1], p, clause, values, tools, index, plan, taken, depth,
                           exclude, consumer)

    @staticmethod
    def _clause_feeds(earlier: dict[str, str], plan: Plan, clause: Clause,
                      candidates: list[tuple[Any, Tool, Filling, Output]],
                      consumer: set[int] | None) -> bool:
        """Should a fresh producer replace an earlier goal's output? Yes when the clause names
        something nothing uses yet that a ready producer takes ("convert 500 euros into the
        currency used in Tokyo" after a flight search: Tokyo's currency, not the fare's)."""
        call_id = earlier["$ref"].split("#", 1)[0]
        if not any(g.id == call_id for g in plan.goals):
            return False  # a producer of this very goal: reuse it
        own = {v.index for v in clause.values if v.kind not in ("word", "number")}
        return any(not c[2].missing and any(
            v.index in own and v.index not in (consumer or ()) for v in c[2].used.values())
            for c in candidates)

    def _producers(self, p: Param, clause: Clause, values: list[Value], tools: dict[str, Tool],
                   index: ToolIndex, plan: Plan, taken: set[int], exclude: set[str],
                   consumer: set[int] | None) -> list[tuple[Any, Tool, Filling, Output]]:
        """Every tool output that could provide ``p``, with its filling and its rank.

        Memoised per plan (``self._memo``, reset by ``plan()``): the search asks the same
        question again for each trial chain.
        """
        memo: dict[Any, Any] | None = getattr(self, "_memo", None)
        key = (id(clause), tuple((v.index, v.text) for v in values), p.name, p.concept, p.role,
               frozenset(taken),
               frozenset(exclude), frozenset(consumer or ()))
        if memo is not None and key in memo:
            return list(memo[key])
        found = self._find_producers(p, clause, values, tools, index, plan, taken, exclude,
                                     consumer)
        if memo is not None:
            memo[key] = list(found)
        return found

    def _find_producers(self, p: Param, clause: Clause, values: list[Value],
                        tools: dict[str, Tool], index: ToolIndex, plan: Plan, taken: set[int],
                        exclude: set[str], consumer: set[int] | None
                        ) -> list[tuple[Any, Tool, Filling, Output]]:
        wanted_role = p.role or clause_role(clause.stems) or plan.role
        per_unit = bool(PER_WORDS & set(words(clause.text)))
        found: list[tuple[Any, Tool, Filling, Output]] = []
        for name, tool in tools.items():
            if name in exclude or tool.side_effects:
                continue
            # How the tool is filled does not depend on which of its outputs is wanted: it
            # is worked out once, at its first output of the concept.
            filled: Filling | None = None
            unnamed: Filling | None = None
            for out in outputs(tool):
                match = concepts_match(p.concept, out.concept)
                if not match:
                    continue
                if filled is None:
                    filled = self._producer_filling(tool, p, clause, values, plan, taken)
                    relevance = index.score(name, clause.stems)
                    fresh = [v for v in filled.used.values()
                             if v.index not in (consumer or ())]
                    detour = any(concepts_match(m.concept, p.concept) for m in filled.missing)
                field = out.pointer.rsplit("/", 1)[-1]
                named = bool(out.pointer) and field_named(field, clause.stems)
                if p.kind in LITERAL_KINDS and not named:
                    continue  # the user knows the date or the number: ask, do not guess
                if not fresh and not named and not filled.missing:
                    continue  # takes nothing new from the query, needs nothing: a guess
                if detour:
                    continue  # a city from a city: a detour, not a producer
                if unnamed is None:  # "the capital of Spain"
                    unnamed = self._unname_fields(tool, filled.copy(), tools)
                filling = unnamed.copy()
                cost = len(filling.missing)
                role = int(wanted_role is not None and role_of(field) == wanted_role)
                rate = int(is_rate(field) == per_unit)  # "per night" only when it says so
                # One result ("the cheapest flight") before the first of a list.
                rank = (cost, -named, -rate, out.many, -len(fresh), -role,
                        -(match * 2 + filling.score + 0.3 * relevance))
                found.append((rank, tool, filling, out))
                # (A named output fed to the goal counts as something the clause asked for.)
        return found

    @staticmethod
    def _producer_filling(tool: Tool, p: Param, clause: Clause, values: list[Value],
                          plan: Plan, taken: set[int]) -> Filling:
        """``tool`` filled as a producer of ``p``: from the clause's own values first ("...
        the cheapest hotel in Zurich"), and what the clause lacks from the rest of the
        query's."""
        pool = [v for v in clause.values if v.index not in taken]
        filling = fill(tool, pool, clause.text, role_hint=p.role)
        if filling.missing:
            mine = {v.index for v in filling.used.values()}
            wide = [v for v in values if v.index not in taken and v.index not in mine
                    and (v.kind in SHARED_KINDS or not _used_in(plan, v))]
            more = fill(tool, wide, clause.text, role_hint=p.role, mentions=False)
            for m in list(filling.missing):
                if m.name in more.args:
                    filling.args[m.name] = more.args[m.name]
                    filling.used[m.name] = more.used[m.name]
                    filling.missing.remove(m)
        return filling

    def _chain(self, candidate: tuple[Any, Tool, Filling, Output], p: Param, clause: Clause,
               values: list[Value], tools: dict[str, Tool], index: ToolIndex, plan: Plan,
               taken: set[int], depth: int, exclude: set[str],
               consumer: set[int] | None) -> dict[str, str] | None:
        """Plan one producer and, recursively, what it lacks; None (nothing kept) on failure."""
        _, tool, filling, out = candidate
        args = dict(filling.args)
        before, mark = set(taken), len(plan.calls)
        taken |= {v.index for v in filling.used.values()}
        for sub in filling.missing:
            ref = None
            if depth < MAX_DEPTH:  # what the sub-producers use is taken too
                ref = self._produce(sub, clause, values, tools, index, plan, taken,
                                    depth + 1, {}, exclude | {tool.name}, consumer=consumer)
            if ref is None:  # nothing of this branch is kept: no orphan calls, no values
                taken.intersection_update(before)
                del plan.calls[mark:]
                return None
            args[sub.name] = ref
        if p.kind == "identifier" and not filling.used and not args:
            taken.intersection_update(before)
            del plan.calls[mark:]
            return None
        call = plan.add(tool.name, args)
        plan.refs.add(_ref(call, out))
        plan.fed.add((call.id, out.concept))
        if field_named(out.pointer.rsplit("/", 1)[-1], clause.stems):
            plan.named.add(_ref(call, out))
        return {"$ref": _ref(call, out)}

    @staticmethod
    def _from_plan(p: Param, clause: Clause, tools: dict[str, Tool], plan: Plan,
                   exclude: set[str]) -> dict[str, str] | None:
        """A call already planned produces it: "... and its total price in dollars", or the
        flight search that gave the price also gives its currency.

        Earlier goals count, and the producers already planned for the current goal. Among
        several outputs of the concept, one the clause names wins, then one whose role the
        clause's words give ("where does it land" -> the destination).
        """
        wanted_role = clause_role(clause.stems) or plan.role
        best: tuple[tuple[int, int, float], Call, Output] | None = None
        local = plan.calls[plan.goal_start:]
        for call in [*plan.goals, *local]:
            if call.name in exclude or call.name not in tools:
                continue
            for out in outputs(tools[call.name]):
                match = concepts_match(p.concept, out.concept)
                if not match or (call in local and (_ref(call, out) in plan.refs or (
                        call.id, out.concept) in plan.fed)):
                    continue  # one producer call feeds one goal parameter per concept
                field_words = [stem(w) for w in words(out.pointer.rsplit("/", 1)[-1]
                                                      .replace("_", " "))]
                named = sum(w in clause.stems for w in field_words)
                field = out.pointer.rsplit("/", 1)[-1]
                role = int(wanted_role is not None and role_of(field) == wanted_role)
                rank = (named, role, match)
                if best is None or rank > best[0]:
                    best = (rank, call, out)
        if best is None:
            return None
        _, call, out = best
        plan.refs.add(_ref(call, out))
        plan.fed.add((call.id, out.concept))
        return {"$ref": _ref(call, out)}


ARRIVING = frozenset({"land", "arriv", "arrive", "reach", "destin", "destination", "end"})
LEAVING = frozenset({"depart", "leav", "leave", "start", "origin", "take"})


def clause_role(stems: list[str]) -> str | None:
    """Which end of a journey the clause talks about, from its verbs ("lands", "leaves")."""
    said = set(stems)
    if said & ARRIVING:
        return "to"
    if said & LEAVING:
        return "from"
    return None


def _ref(call: Call, out: Output) -> str:
    return f"{call.id}#{out.pointer}" if out.pointer else call.id


def clause_text(v: Value) -> str:
    """The query text before ``v`` (kept on the value when the query is read)."""
    return str(v.extra.get("before", ""))


def _used_in(plan: Plan, v: Value) -> bool:
    """Does a planned call already take this value (then another goal should not)?"""
    return any(v.value in c.args.values() for c in plan.calls if not isinstance(v.value, dict))
