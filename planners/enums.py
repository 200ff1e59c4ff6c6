"""A parameter's enum options, read from a query: by name, by an alias its description gives
("EUR (euro)"), or by a near spelling ("kilometters").

Each option's forms (lower case, stems, a word-bounded pattern, letter counts) are worked out
once per parameter (``Param.options``), since every fill of a tool reads them again.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .text import stem, words

if TYPE_CHECKING:
    from .filling import Param
    from .values import Value


@dataclass(frozen=True)
class Option:
    """An enum option and its forms, for finding it in a query."""

    value: Any
    low: str  # in lower case
    written: re.Pattern[str]  # the option as a word of its own in lower-case text
    stems: list[str]  # of its words
    stem: str  # of the whole
    letters: dict[str, int]  # the stem's, counted: difflib's quick ratio

    @staticmethod
    def of(value: Any) -> Option:
        low = str(value).lower()
        whole = stem(low)
        letters: dict[str, int] = {}
        for c in whole:
            letters[c] = letters.get(c, 0) + 1
        return Option(value, low, re.compile(rf"(?<![\w-]){re.escape(low)}(?![\w-])"),
                      [stem(w) for w in words(str(value))], whole, letters)


def enum_aliases(enum: list[Any], description: str) -> dict[tuple[str, ...], Any]:
    """Names for enum options that the description gives: "EUR (euro), USD (US dollar)".

    Keys are word stems; a last word that only one option's name ends with ("dollar") is an
    alias too.
    """
    aliases: dict[tuple[str, ...], Any] = {}
    options = {str(o): o for o in enum}
    for m in re.finditer(r"([\w-]+)\s*\(([^()]{2,40})\)", description):
        option = options.get(m.group(1))
        if option is None:
            continue
        for name in m.group(2).split("/"):
            key = tuple(stem(w) for w in words(name))
            if key:
                aliases[key] = option
    tails: dict[str, set[Any]] = {}
    for key, option in aliases.items():
        tails.setdefault(key[-1], set()).add(option)
    for tail, owners in tails.items():
        if len(owners) == 1 and (tail,) not in aliases:
            aliases[(tail,)] = next(iter(owners))
    return aliases


def match_enum(p: Param, text: str) -> Any:
    """The enum option the text names (case, plural and small typos forgiven).

    The first option (in the enum's order) the text names exactly wins; only without one
    does the closest spelling count. ``any_option`` tells in one scan whether any option is
    written out as itself, so without one that test is skipped for each option.
    """
    assert p.enum is not None
    low = text.lower()
    stems = [stem(w) for w in words(text)]
    said = set(stems)
    written = p.any_option.search(low) is not None
    for o in p.options:
        if written and o.written.search(low):
            return o.value
        if o.stems and o.stems[0] in said and _contains(stems, o.stems):
            return o.value
    return _closest(p.options, stems)


def _closest(options: list[Option], stems: list[str]) -> Any:
    """The option a word of 4 letters or more spells nearly (difflib ratio 0.85 or more,
    lengths at most 2 apart), the first best one.

    difflib's two quick upper bounds of the ratio are worked out here, as difflib does, so
    that a matcher is built only for the pairs that pass them. An option's best ratio is
    its best over the words, whatever their order, so the words are taken by length.
    """
    by_length: dict[int, dict[str, dict[str, int]]] = {}  # length -> word -> its letters
    for w in stems:
        if len(w) >= 4 and w not in by_length.get(len(w), ()):
            letters: dict[str, int] = {}
            for c in w:
                letters[c] = letters.get(c, 0) + 1
            by_length.setdefault(len(w), {})[w] = letters
    best, best_ratio = None, 0.0
    for o in options:
        so = o.stem
        if len(o.low) < 4:
            continue
        for n in range(len(so) - 2, len(so) + 3):
            if n not in by_length or 2.0 * min(n, len(so)) / (n + len(so)) < 0.85:
                continue  # real_quick_ratio
            for w, letters in by_length[n].items():
                shared = 0
                for c, k in letters.items():
                    shared += min(k, o.letters.get(c, 0))
                if 2.0 * shared / (n + len(so)) < 0.85:  # quick_ratio
                    continue
                r = difflib.SequenceMatcher(None, w, so).ratio()
                if r > best_ratio:
                    best, best_ratio = o.value, r
    return best if best_ratio >= 0.85 else None


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def enum_mentions(p: Param, text: str) -> list[tuple[Any, int, str | None]]:
    """Where the text names an option by one of its aliases: (option, position, cue)."""
    if not p.aliases:
        return []
    toks = [(m.group().lower(), m.start()) for m in re.finditer(r"[^\W\d_][\w'’]*", text)]
    stems = [stem(t) for t, _ in toks]
    found = []
    longest = max(len(k) for k in p.aliases)
    i = 0
    while i < len(stems):
        for n in range(min(longest, len(stems) - i), 0, -1):
            option = p.aliases.get(tuple(stems[i:i + n]))
            if option is not None:
                j = i - 1
                while j >= 0 and toks[j][0] in ("the", "a", "an", "some", "my"):
                    j -= 1
                cue = toks[j][0] if j >= 0 else None
                found.append((option, toks[i][1], cue))
                i += n - 1
                break
        i += 1
    return found


def enum_option(p: Param, v: Value) -> Any:
    """The enum option value ``v`` names exactly (case and plural forgiven), or None."""
    assert p.enum is not None
    if v.kind == "alias":
        return v.value
    text = str(v.value).lower()
    by_low, by_stem = p.option_keys
    first = min(by_low.get(text, len(p.enum)), by_stem.get(stem(text), len(p.enum)))
    return p.options[first].value if first < len(p.enum) else None
