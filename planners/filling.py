"""Fill a tool's parameters from the values found in a query.

Each (parameter, value) pair gets a score from how people say things: the value's kind
against the parameter's type, the word in front of the value ("from Paris", "to EUR") against
the parameter's role, the word after a number ("3 nights") against the parameter's name.
The best pairs are taken greedily, each value and each parameter once.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agent.types import Tool

from .concepts import expects_identifier, param_concept, role_of
from .enums import Option, enum_aliases, enum_mentions, enum_option, match_enum
from .text import split_identifier, stem, words
from .values import Value

FROM_CUES = frozenset({"from", "leaving", "departing", "since", "out"})
TO_CUES = frozenset({"to", "into", "until", "till", "arriving", "for", "many", "much"})
PLACE_CUES = frozenset({"in", "at", "near", "for", "to", "from", "around", "of"})
CONTENT_CUES = frozenset({"mentioning", "containing", "matching", "about", "for", "named",
                          "called", "with", "saying"})
PLACE_WORDS = frozenset({"city", "town", "location", "place", "country", "region", "destination",
                         "origin", "where", "timezone", "zone", "area", "state", "airport"})
FREE_TEXT = frozenset({"text", "query", "expression", "message", "content", "body", "sql",
                       "pattern", "question", "prompt", "search", "keyword", "keywords", "term",
                       "terms", "input", "formula", "equation", "note", "comment", "title",
                       "subject", "description", "statement"})
AMOUNT_WORDS = frozenset({"amount", "value", "quantity", "price", "sum", "total", "money",
                          "cost", "budget", "fee", "balance"})
MATH = frozenset({"expression", "formula", "equation", "calculation", "math"})
UNIT_WORDS = frozenset({"unit", "units", "currency", "currencies"})
NEGATIONS = frozenset({"not", "no", "without", "exclude", "excluding", "don't", "dont", "non"})
TYPE_HINTS = PLACE_WORDS | frozenset({"date", "day", "time", "email", "url", "uri", "link",
                                     "path", "file", "directory", "folder", "expression"})
GENERIC_BOOL = frozenset({"is", "include", "use", "enable", "allow", "only", "should", "with",
                          "do", "show", "return", "get"})
# ``cue_role`` as a table (the two sets do not overlap), read in ``_score``'s hot path.
CUE_ROLES = {**{c: "to" for c in TO_CUES}, **{c: "from" for c in FROM_CUES}}
# Base scores by value kind, per parameter kind (see ``_score``).
DATE_SCORES = {"date": 3.0, "datetime": 1.5}
TIME_SCORES = {"time": 3.0, "datetime": 2.5}
DATETIME_SCORES = {"datetime": 3.0, "date": 2.0, "time": 1.5}
MATH_SCORES = {"expression": 4.0, "quoted": 2.0}
TEXT_SCORES = {"quoted": 3.0, "code": 1.2, "entity": 1.0, "word": 0.4}
NAME_SCORES = {"quoted": 2.0, "code": 1.2}  # and an entity: 1.6 by its confidence
IDENTIFIER_SHAPE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,}")
DIGIT = re.compile(r"\d")


@dataclass
class Param:
    """A parameter, read once: its types, words, role and concept."""

    name: str
    schema: dict[str, Any]
    required: bool
    position: int
    types: frozenset[str]
    words: frozenset[str]
    role: str | None
    concept: str
    enum: list[Any] | None
    aliases: dict[tuple[str, ...], Any] = field(default_factory=dict)
    # Copies playing a role they lack (``with_role``), made once each.
    roles: dict[str, Param] = field(default_factory=dict, init=False, repr=False,
                                    compare=False)

    @cached_property
    def kind(self) -> str:
        """date, time, datetime, number, integer, boolean, array, unit, math, text, path,
        url, email, identifier or string (worked out once: a parameter is read once per
        tool, and every plan asks again)."""
        w, fmt = self.words, self.schema.get("format")
        if "boolean" in self.types and len(self.types) == 1:
            return "boolean"
        if self.types and self.types <= {"integer", "number"}:
            return "integer" if self.types == {"integer"} else "number"
        if "array" in self.types and "string" not in self.types:
            return "array"
        if fmt == "date-time" or "datetime" in w:
            return "datetime"
        if fmt == "date" or self.concept.endswith("date") or w & {"date", "day", "birthday"}:
            return "date"
        if fmt == "time" or (w & {"time", "hour", "clock"} and "zone" not in w):
            return "time"
        if w & MATH and not set(split_identifier(self.name)) & (FREE_TEXT - MATH):
            return "math"  # (a "text" parameter "not a regular expression" is text)
        if w & UNIT_WORDS:
            return "unit"
        if fmt in ("uri", "url") or w & {"url", "uri", "link", "endpoint"}:
            return "url"
        if fmt == "email" or "email" in w:
            return "email"
        if w & {"path", "file", "filename", "directory", "folder", "database", "db"}:
            return "path"
        if self.name.lower() in FREE_TEXT or w & FREE_TEXT:
            return "text"
        if expects_identifier(self.concept):
            return "identifier"
        return "string"

    @cached_property
    def options(self) -> list[Option]:
        """The enum's options as ``match_enum`` reads them (read once per parameter)."""
        return [Option.of(o) for o in self.enum or ()]

    @cached_property
    def any_option(self) -> re.Pattern[str]:
        """Finds any option written out as itself (one scan for all of ``Option.written``)."""
        return re.compile("|".join(o.written.pattern for o in self.options) or "(?!)")

    @cached_property
    def option_keys(self) -> tuple[dict[str, int], dict[str, int]]:
        """Lower-case option and its stem -> the first option's position (``enum_option``)."""
        by_low: dict[str, int] = {}
        by_stem: dict[str, int] = {}
        for i, o in enumerate(self.options):
            by_low.setdefault(o.low, i)
            by_stem.setdefault(o.stem, i)
        return by_low, by_stem


_PARAMS: weakref.WeakKeyDictionary[Tool, list[Param]] = weakref.WeakKeyDictionary()


def params_of(tool: Tool) -> list[Param]:
    """The tool's parameters, read once per tool."""
    cached = _PARAMS.get(tool)
    if cached is None:
        cached = _PARAMS[tool] = _read_params(tool)
    return cached


def _read_params(tool: Tool) -> list[Param]:
    props = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    out = []
    for i, (name, schema) in enumerate(props.items()):
        if not isinstance(schema, dict):
            schema = {}
        kind = schema.get("type")
        types = frozenset(kind if isinstance(kind, list) else [kind] if kind else [])
        if not types and "anyOf" in schema:
            types = frozenset(s.get("type") for s in schema["anyOf"]
                              if isinstance(s, dict) and s.get("type") not in (None, "null"))
        desc = str(schema.get("description", "")).replace("e-mail", "email")
        parts = split_identifier(name)
        ws = frozenset(parts) | frozenset(stem(w) for w in parts)
        desc_words = frozenset(stem(w) for w in words(desc))
        enum = schema.get("enum") if isinstance(schema.get("enum"), list) else None
        out.append(Param(name, schema, name in required, i, types,
                         ws | (desc_words & TYPE_HINTS),
                         role_of(name, desc), param_concept(name, schema), enum,
                         enum_aliases(enum, desc) if enum else {}))
    return out


def cue_role(cue: str | None) -> str | None:
    return CUE_ROLES.get(cue or "")


def with_role(p: Param, role: str) -> Param:
    """``p`` playing ``role``: a copy, made once per parameter and role (only its role
    differs, and nothing changes a parameter once read)."""
    played = p.roles.get(role)
    if played is None:
        played = p.roles[role] = dataclasses.replace(p, role=role)
    return played


def looks_like_identifier(value: Value) -> bool:
    text = str(value.value)
    return value.kind in ("code", "quoted") or bool(IDENTIFIER_SHAPE.fullmatch(text)
                                                    or DIGIT.search(text))


def score(p: Param, v: Value, role_hint: str | None = None) -> float | None:
    """How well value ``v`` fits parameter ``p`` (None: it does not).

    ``role_hint`` stands in for a parameter without a role of its own: filling a producer
    for an ``origin`` parameter, its ``city`` parameter plays the "from" role.
    """
    if p.role is None and role_hint is not None:
        p = with_role(p, role_hint)
    s = _score(p, v)
    if s is not None and not _within_bounds(p.schema, v):
        return None
    if s is not None and _named_before(p, v):
        s += 3.0
    return s


def may_score(p: Param, v: Value, least: float) -> bool:
    """Could ``score(p, v)`` (no role hint) be ``least`` or more? ``score`` without its bounds
    check, which can only turn a score into None: cheaper, and true wherever it is."""
    s = _score(p, v)
    return s is not None and (s + 3.0 if _named_before(p, v) else s) >= least


def _named_before(p: Param, v: Value) -> bool:
    """The word right before the value names the parameter: subject "hi", city Paris, symbol
    AAPL (worth 3 more)."""
    return bool(v.label and v.kind != "word" and (
        v.label in p.words or stem(v.label) in p.words))


def _within_bounds(schema: dict[str, Any], v: Value) -> bool:
    """The schema's own limits: ``pattern``, ``minimum``/``maximum``, lengths."""
    value = v.value
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                if re.search(pattern, value) is None:
                    return False
            except re.error:
                pass
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get(
                "maxLength", 1 << 30):
            return False
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    return True


def _score(p: Param, v: Value) -> float | None:
    kind = p.kind
    if v.extra.get("option") and kind != "text":
        return None  # "USD" named an option of some tool's enum: it is not an id or a name
    role = CUE_ROLES.get(v.cue or "")  # cue_role(v.cue), without the call
    if kind in ("number", "integer"):
        if v.kind != "number" or (kind == "integer" and not v.is_integer):
            return None
        if v.extra.get("counts") and v.extra["counts"] not in p.words:
            return None  # "3 nights" counts nights, it is not this parameter
        if v.extra.get("unit_option") and not p.words & AMOUNT_WORDS:
            return None  # "20 euros" is an amount of money, not a number of nights
        s = 1.0 * v.confidence
        if v.unit and (stem(v.unit.lower()) in p.words or v.unit.lower() in p.words):
            s += 3.0
        elif v.unit and v.unit.lower() not in ("of",) and p.words & {"amount", "value",
                                                                       "quantity", "price"}:
            s += 1.0
        if v.extra.get("percent") and "percent" not in p.words:
            s -= 0.5
        return s + _role_bonus(p, role)
    if v.kind == "number" or (v.kind == "expression" and kind != "math"):
        return None
    if kind == "date":
        return DATE_SCORES.get(v.kind, -1) + _role_bonus(p, role) \
            if v.kind in ("date", "datetime") else None
    if kind == "time":
        return TIME_SCORES.get(v.kind) if v.kind in ("time", "datetime") \
            else None
    if kind == "datetime":
        return DATETIME_SCORES.get(v.kind)
    if v.kind in ("date", "time", "datetime"):
        return None
    if kind == "math":
        return MATH_SCORES.get(v.kind)
    if kind in ("url", "email", "path"):
        if v.kind == kind:
            return 4.0
        return 2.0 if v.kind == "quoted" else (0.5 if kind == "path" and v.kind in (
            "entity", "code") else None)
    if v.kind in ("url", "email", "path", "expression"):
        return None
    if kind == "unit":
        if v.kind not in ("word", "code", "entity"):
            return None
        if "unit_of" in v.extra:
            return 3.0 if p.role != "to" else 0.5
        if role == "to" or v.cue in ("in", "into"):
            return 3.0 if p.role != "from" else 0.5
        return 0.6 if v.kind == "code" else None
    unit_penalty = 1.5 if "unit_of" in v.extra else 0.0
    if kind == "text":
        base = TEXT_SCORES.get(v.kind)
        if base is None:
            return None
        return base + (1.5 if v.cue in CONTENT_CUES else 0.0) - unit_penalty
    if kind == "identifier":
        if not looks_like_identifier(v):
            return None
        return 3.0 + _role_bonus(p, role) - unit_penalty
    if v.kind == "code" and (any(c.isdigit() for c in str(v.value)) or v.extra.get("option")):
        return None  # "AF136" is an identifier and "EUR" an option, not a name
    # A lower-case word is rarely a name ("the local currency", "at least"): ask instead.
    base = 1.6 * v.confidence if v.kind == "entity" else NAME_SCORES.get(v.kind)
    if base is None:
        return None
    if p.words & PLACE_WORDS:
        base += 0.7 if v.cue in PLACE_CUES else 0.0
    elif v.cue in ("in", "at", "near"):
        base -= 0.5  # "in Prague" is where, not who or what
    return base + _role_bonus(p, role) - unit_penalty


def _role_bonus(p: Param, role: str | None) -> float:
    if p.role is None or role is None:
        return 0.0
    return 2.0 if p.role == role else -2.5


def match_boolean(p: Param, text: str) -> bool | None:
    """True when the query says the parameter's words ("recursive" -> "recursively")."""
    key = [w for w in split_identifier(p.name) if w not in GENERIC_BOOL]
    if not key:
        return None
    toks = words(text)
    stems = [stem(w) for w in toks]
    wanted = [stem(w) for w in key]
    for i in range(len(stems) - len(wanted) + 1):
        if stems[i:i + len(wanted)] == wanted:
            before = toks[max(0, i - 2):i]
            return not any(b in NEGATIONS for b in before)
    return None


@dataclass
class Filling:
    args: dict[str, Any] = field(default_factory=dict)
    used: dict[str, Value] = field(default_factory=dict)  # param -> value
    missing: list[Param] = field(default_factory=list)  # required, unfilled
    score: float = 0.0

    def copy(self) -> Filling:
        """A copy whose args, used and missing can change without changing this one."""
        return Filling(dict(self.args), dict(self.used), list(self.missing), self.score)


def fill(tool: Tool, values: list[Value], text: str, *, taken: Collection[int] = (),
         role_hint: str | None = None, mentions: bool = True) -> Filling:
    """Assign values to ``tool``'s parameters; ``taken`` values (by index) are not reused.

    ``mentions``: also read enum options named in words in ``text`` (off when ``values``
    are only part of the text).
    """
    params = params_of(tool)
    result = Filling()
    for p in params:
        if p.kind == "boolean" and p.enum is None:
            flag = match_boolean(p, text)
            if flag is not None:
                result.args[p.name] = flag
    pairs = []
    named = _alias_values(params, values, text) if mentions else {}
    for p in params:
        if p.name in result.args:
            continue
        for v in [*values, *named.get(p.name, [])]:
            if v.index in taken:
                continue
            if p.enum is not None:
                option = enum_option(p, v)
                if option is None:
                    continue
                if v.kind == "word":
                    v.extra["enum_word"] = True
                role = cue_role(v.cue) or ("to" if v.cue in ("in", "into") else None)
                s = 4.0 + _role_bonus(p if p.role or not role_hint else
                                      with_role(p, role_hint), role)
                pairs.append((s, p, v, option))
                continue
            scored = score(p, v, role_hint)
            if scored is None:
                continue
            s = scored
            threshold = 0.45 if p.required else 1.4
            if s >= threshold:
                pairs.append((s, p, v, None))
    pairs.sort(key=lambda x: (-x[0], x[1].position, x[2].index))
    used_values: set[int] = set()
    for s, p, v, option in pairs:
        if p.name in result.args or v.index in used_values:
            continue
        result.args[p.name] = option if option is not None else coerce(p, v)
        result.used[p.name] = v
        result.score += s
        used_values.add(v.index)
    for p in params if mentions else ():  # options in several words, or with small typos
        if p.enum is not None and p.name not in result.args:
            option = match_enum(p, text)
            if option is not None and option not in result.args.values():
                result.args[p.name] = option
                result.score += 2.0
    result.missing = [p for p in params if p.required and p.name not in result.args]
    return result


def _alias_values(params: list[Param], values: list[Value],
                  text: str) -> dict[str, list[Value]]:
    """Enum options named in words ("Japanese yen") as values, placed where they are said.

    Each mention gets an index past the real values, and the real values it overlaps (the
    word "yen", the name "Japanese") are left alone by it: a mention is one value.
    """
    out: dict[str, list[Value]] = {}
    for p in params:
        for option, pos, cue in enum_mentions(p, text):
            if any(v.kind == "code" and v.extra.get("option") and v.value == option
                   for v in values):
                continue  # already read as this option's code
            covering = [v for v in values if v.start <= pos < max(v.end, v.start + 1)]
            index = covering[0].index if covering else 10_000 + pos
            v = Value("alias", option, str(option), pos, pos, cue=cue, index=index)
            out.setdefault(p.name, []).append(v)
    return out


def coerce(p: Param, v: Value) -> Any:
    """The value in the parameter's JSON type."""
    if p.kind == "integer":
        return int(v.value)
    if p.kind == "number":
        return v.value
    if p.kind == "array":
        return [v.value]
    if p.kind == "time" and v.kind == "datetime":
        return str(v.value).split("T", 1)[1][:5]
    if p.kind == "date" and v.kind == "datetime":
        return str(v.value).split("T", 1)[0]
    return v.value


def strengths(tool: Tool, filling: Filling) -> list[float]:
    """How strongly each parameter was filled (an enum option counts 4); starts with 0."""
    params = {p.name: p for p in params_of(tool)}
    out = [0.0]
    for pname, v in filling.used.items():
        s = 4.0 if params[pname].enum is not None else score(params[pname], v)
        out.append(s or 0.0)
    return out
