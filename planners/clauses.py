"""Splitting a query into goal clauses, and deciding which pieces belong together.

"weather in Oslo and the price of MSFT" is two goals; "hotels in Paris with 4 stars and under
300 euros a night" is one; "... in euros? And in US dollars?" repeats the last goal with a new
input; "Which country and time zone are Zurich and Prague in?" joins forward.
"""

from __future__ import annotations

import re

from .filling import fill, strengths
from .index import ToolIndex
from .plan import Clause
from .text import STOPWORDS, stem, words
from .values import Value

MIN_RELEVANCE = 1.5  # below this no tool "fits" a clause
SPLIT = re.compile(r"\s*(?:[;?!]|\.(?:\s|$)|\s[-–—]\s|,?\s+(?:and then|and also|then|also|"
                   r"as well as|plus|and)\s+)\s*", re.I)


def split_clauses(query: str, values: list[Value], index: ToolIndex) -> list[Clause]:
    """Split into goal clauses; a piece that names no tool joins the clause before it."""
    pieces, pos = [], 0
    for m in SPLIT.finditer(query):
        if _inside_expression(m.start(), m.end(), values):
            continue  # "add 2 and 40", "2 plus 3" are one sum, not two goals
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(query)))
    clauses: list[Clause] = []
    for start, end in pieces:
        if end <= start:
            continue
        piece = make_clause(query, start, end, values)
        if clauses:  # (the first piece has nothing to continue)
            best = index.rank(piece.stems, intent=True)
            strong = bool(best) and best[0][0] >= MIN_RELEVANCE
            if _continues(clauses[-1], piece, best, strong, index):
                clauses[-1] = make_clause(query, clauses[-1].start, end, values)
                continue
        clauses.append(piece)
    return _forward(query, clauses, values, index)


def _inside_expression(start: int, end: int, values: list[Value]) -> bool:
    return any(v.kind == "expression" and v.start < end and start < v.end for v in values)


def _forward(query: str, clauses: list[Clause], values: list[Value],
             index: ToolIndex) -> list[Clause]:
    """A leading clause with no values that its tool could run on ("Which country and
    time zone are Zurich and Prague in?") belongs to the clause after it."""
    out: list[Clause] = []
    i = 0
    while i < len(clauses):
        c = clauses[i]
        if i + 1 < len(clauses) and _leads_into_next(c, index):
            clauses[i + 1] = make_clause(query, c.start, clauses[i + 1].end, values)
            i += 1
            continue
        out.append(c)
        i += 1
    return out


def _leads_into_next(c: Clause, index: ToolIndex) -> bool:
    """No values of its own, words that name a tool, and that tool cannot run without any.

    (Asked only when a clause follows: the last one has nothing to lead into.)"""
    if any(v.kind != "word" for v in c.values):
        return False
    best = index.rank(c.stems, intent=True)
    return bool(best) and not _self_contained(c, best[0][1], index)


def _continues(prev: Clause, piece: Clause, best: list[tuple[float, str]],
               strong: bool, index: ToolIndex) -> bool:
    """Does ``piece`` go on with the clause before it rather than state a new goal?

    Without values of its own it does, unless its tool needs none ("and what time is
    it"). With values it does when the previous goal's tool takes them ("... and under
    300 euros a night"), unless it names another tool or names the same one again.
    """
    own = any(v.kind != "word" for v in piece.values)
    if not own:
        return not (strong and _self_contained(piece, best[0][1], index))
    before = _likely_tool(prev, index)
    if strong and (before is None or before not in {n for r, n in best
                                                    if r >= 0.8 * best[0][0]}):
        return False
    if strong and index.name_stems[best[0][1]] & set(piece.stems):
        return False  # "the weather in Oslo and the weather in Paris"
    if before is None:
        return True
    tool = index.tools[before]
    mine = fill(tool, piece.values, piece.text)
    if max(strengths(tool, mine)) < 1.5:
        # Not the last goal's inputs: a new goal if it names an option some tool takes
        # ("and its price in US dollars"), else more words about the same goal.
        return not any(v.extra.get("option") for v in piece.values)
    earlier = fill(tool, prev.values, prev.text)
    again = [k for k, v in mine.used.items()
             if k in earlier.used and earlier.used[k].kind == v.kind]
    if again and 2 * len(again) >= len(mine.used):
        # It gives the last goal's inputs again: the same question about something else
        # ("which airports serve New York, and which serve Washington?"). With words of
        # its own it is planned as a goal; without, it repeats the last one.
        piece.repeats = not strong
        return False
    return True

def _likely_tool(clause: Clause, index: ToolIndex) -> str | None:
    """The clause's goal tool as far as words tell, ties broken by which one its values
    fit ("which airports serve New York": find_airports, not airport_info)."""
    ranked = index.rank(clause.stems, intent=True)
    if not ranked:
        return None
    near = [n for r, n in ranked if r >= 0.8 * ranked[0][0]]
    if len(near) == 1:
        return near[0]
    return max(near, key=lambda n: fill(index.tools[n], clause.values, clause.text).score)

def _self_contained(piece: Clause, name: str, index: ToolIndex) -> bool:
    """A piece without values of its own is a goal only if its tool needs none
    ("... and what time is it"), not a question about what came before ("and the
    currency?")."""
    tool = index.tools[name]
    return not (tool.parameters.get("required") or []) or bool(
        fill(tool, piece.values, piece.text).args)


MASKED = frozenset({"entity", "quoted", "code", "number", "date", "time", "datetime", "path",
                    "url", "email", "expression"})  # "add" in "add 2 and 40"


def make_clause(query: str, start: int, end: int, values: list[Value]) -> Clause:
    inside = [v for v in values if v.start >= start and v.end <= end]
    masked = query[start:end]
    names = [v for v in inside if v.kind in MASKED]  # names are not tool words
    for v in sorted(names, key=lambda v: -v.start):
        masked = masked[: v.start - start] + " " + masked[v.end - start:]
    stems = [stem(w) for w in words(masked) if w not in STOPWORDS]
    return Clause(query[start:end], start, end, inside, stems)
