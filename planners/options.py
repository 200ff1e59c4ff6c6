"""Enum options named in words ("US dollars" -> "USD"), from the tools' own descriptions."""

from __future__ import annotations

import re

from .text import stem
from .values import CUES, Value


def name_options(values: list[Value], text: str,
                 lexicon: dict[tuple[str, ...], str]) -> list[Value]:
    """Replace the words that name an enum option ("US dollars") by one code value ("USD")."""
    if not lexicon:
        return values
    toks = [(m.group().lower(), m.start(), m.end()) for m in re.finditer(r"[^\W\d_]+", text)]
    stems = [stem(t) for t, _, _ in toks]
    longest = max(len(k) for k in lexicon)
    by_length: dict[int, list[tuple[tuple[str, ...], str]]] = {}
    for key, code in lexicon.items():
        by_length.setdefault(len(key), []).append((key, code))
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(stems):
        for n in range(min(longest, len(stems) - i), 0, -1):
            option = _lookup(lexicon, by_length.get(n, []), stems[i:i + n])
            if option is not None and not (n == 1 and toks[i][0].upper() == option):
                spans.append((toks[i][1], toks[i + n - 1][2], option))
                i += n - 1
                break
        i += 1
    options = set(lexicon.values())
    for v in values:  # "EUR" written as the code itself
        if v.kind == "code" and v.value in options:
            v.extra["option"] = True
    if not spans:
        return values
    out = [v for v in values if not any(a <= v.start and v.end <= b for a, b, _ in spans)]
    for a, b, option in spans:
        before = [v for v in values if v.end <= a]
        cue = None
        m = re.search(r"(\w+)\s+(?:the\s+|a\s+)?$", text[:a])
        if m and m.group(1).lower() in CUES:
            cue = m.group(1).lower()
        v = Value("code", option, text[a:b], a, b, cue=cue, extra={"option": True})
        if before and before[-1].kind == "number" and not text[before[-1].end:a].strip():
            before[-1].unit = option
            v.extra["unit_of"] = before[-1].index
        out.append(v)
    out.sort(key=lambda v: v.start)
    for n, v in enumerate(out):
        v.index = n
    return out


def _lookup(lexicon: dict[tuple[str, ...], str], same_length: list[tuple[tuple[str, ...], str]],
            words_: list[str]) -> str | None:
    """An option by its name; a word may also be a longer form ("kroner" for "krone").

    ``same_length``: the lexicon's names of as many words as ``words_`` (and their options).
    """
    option = lexicon.get(tuple(words_))
    if option is not None:
        return option
    found = {o for key, o in same_length if all(
        a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a)))
        for a, b in zip(key, words_, strict=True))}
    return found.pop() if len(found) == 1 else None
