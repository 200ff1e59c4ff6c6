"""Which tool a piece of a query is about: a small weighted word index over the tools.

BM25 (``agent.retrieval``) finds candidates in large registries; this index scores the few
candidates against each clause, field by field (a word in a tool's name counts more than one
in a parameter's description), so goals are chosen by what the words say.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from agent.types import Tool

from .text import STOPWORDS, split_identifier, stem, words

INTENT_FIELDS = frozenset({"name", "example", "description", "tag"})
FIELD_WEIGHTS = {"name": 3.0, "example": 1.5, "description": 1.0, "param": 0.8,
                 "tag": 0.5, "param_description": 0.35, "enum": 0.5}
VERBS = frozenset({"get", "search", "find", "list", "lookup", "look", "fetch", "show", "query",
                   "retrieve", "read", "check", "compute", "calculate", "make"})
GENERIC = frozenset({"tool", "value", "values", "return", "returns", "result", "given",
                     "use", "using", "list", "get", "set", "data", "information", "info",
                     "e.g", "eg", "ie", "type", "string", "number", "integer", "optional"})


def _stems(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOPWORDS and w not in GENERIC}


def tool_terms(tool: Tool, intent_only: bool = False) -> dict[str, float]:
    """Stem -> weight: the highest weight among the fields the stem appears in.

    ``intent_only`` keeps what the tool *does* (name, description, examples, tags) and drops
    its parameters' words: "body" names an argument, not a goal.
    """
    fields: list[tuple[str, Iterable[str]]] = [
        ("name", {stem(w) for w in split_identifier(tool.name) if w not in STOPWORDS}),
        ("description", _stems(tool.description)),
        ("tag", {s for t in tool.tags for s in _stems(t)}),
        ("example", {s for e in tool.examples for s in _stems(e)}),
    ]
    for pname, pschema in (tool.parameters.get("properties") or {}).items():
        fields.append(("param", {stem(w) for w in split_identifier(pname)
                                 if w not in STOPWORDS}))
        if isinstance(pschema, dict):
            fields.append(("param_description", _stems(str(pschema.get("description", "")))))
            if isinstance(pschema.get("enum"), list):
                fields.append(("enum", {s for o in pschema["enum"] for s in _stems(str(o))}))
    terms: dict[str, float] = {}
    for kind, stems in fields:
        if intent_only and kind not in INTENT_FIELDS:
            continue
        w = FIELD_WEIGHTS[kind]
        for s in stems:
            if terms.get(s, 0.0) < w:
                terms[s] = w
    return terms


class ToolIndex:
    """Weighted terms per tool and inverse document frequencies, built once per tool set."""

    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = dict(tools)
        self.terms = {name: tool_terms(t) for name, t in self.tools.items()}
        self.intent = {name: tool_terms(t, intent_only=True) for name, t in self.tools.items()}
        df: dict[str, int] = {}
        for terms in self.terms.values():
            for s in terms:
                df[s] = df.get(s, 0) + 1
        n = max(len(self.tools), 1)
        self.idf = {s: math.log(1 + n / d) for s, d in df.items()}
        self.name_stems = {
            name: {stem(w) for w in split_identifier(name)
                   if w not in STOPWORDS and w not in VERBS and w not in GENERIC}
            for name in self.tools}
        self.lexicon = _lexicon(self.tools.values())
        # Words that name a count somewhere ("nights", "days", "guests"): "3 nights" is that
        # count, never an amount of money or a temperature.
        self.count_words = frozenset(
            stem(w) for t in self.tools.values()
            for p, sch in (t.parameters.get("properties") or {}).items()
            if isinstance(sch, dict) and sch.get("type") == "integer"
            for w in split_identifier(p) if w not in STOPWORDS and len(w) > 2)
        self.vocabulary = frozenset(
            w for t in self.tools.values()
            for w in words(t.name.replace("_", " ") + " " + t.description))
        # Stem -> the tools whose terms hold it: ``rank`` scores only those (see there).
        self.postings = {False: _postings(self.terms), True: _postings(self.intent)}

    def score(self, name: str, stems: Iterable[str], intent: bool = False) -> float:
        """Matched words weighted by field and rarity, less the tool's own name words the
        text does not say ("cheapest_flight" for "which flights ...")."""
        terms = (self.intent if intent else self.terms)[name]
        # Numbers are values, not words naming a tool: "12 * 7" is no "ISO weekday 1-7".
        present = {s for s in stems if not s.isdigit()}
        gain = sum(self.idf[s] * terms[s] for s in present if s in terms)
        if gain <= 0:
            return 0.0
        unsaid = sum(self.idf.get(s, 0.0) for s in self.name_stems[name] - present)
        return max(gain - 0.5 * unsaid, 0.01)

    def rank(self, stems: list[str], intent: bool = False) -> list[tuple[float, str]]:
        """(score, tool name), best first, only tools that share a word with ``stems``.

        Only the tools the postings give for the (non-digit) stems are scored: every idf and
        field weight is positive, so ``score`` is above 0 exactly when a stem is among the
        tool's terms, and the sort key (score, then the unique name) fixes the order
        whatever order the tools are scored in.
        """
        postings = self.postings[intent]
        names: set[str] = set()
        for s in stems:
            if s in postings and not s.isdigit():
                names.update(postings[s])
        if not names:
            return []
        scored = [(self.score(n, stems, intent), n) for n in names]
        return sorted(scored, key=lambda x: (-x[0], x[1]))


def _postings(terms: Mapping[str, Mapping[str, float]]) -> dict[str, list[str]]:
    """Stem -> the names of the tools whose ``terms`` hold it."""
    out: dict[str, list[str]] = {}
    for name, stems in terms.items():
        for s in stems:
            out.setdefault(s, []).append(name)
    return out


def _lexicon(tools: Iterable[Tool]) -> dict[tuple[str, ...], str]:
    """Names the tools' own schemas give for enum options ("USD (US dollar)"): stems -> option.

    A name two tools map to different options is dropped: it would be a guess.
    """
    from .filling import params_of

    out: dict[tuple[str, ...], str] = {}
    clashes: set[tuple[str, ...]] = set()
    for tool in tools:
        for p in params_of(tool):
            for key, option in p.aliases.items():
                if key in out and out[key] != str(option):
                    clashes.add(key)
                out.setdefault(key, str(option))
    for key in clashes:
        del out[key]
    return out
