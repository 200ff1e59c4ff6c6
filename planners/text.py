"""Words and numbers: the small pieces of language the dataflow planner reads.

Tokenising, a light stemmer, English number words, and splitting identifiers such as
``from_currency`` or ``searchFlights`` into words. No domain vocabulary lives here.
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[^\W\d_][^\W\d_'’]*(?:['’][^\W\d_]+)*|\d+(?:[.,]\d+)*")
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
ORDINAL = re.compile(r"(\d{1,2})(st|nd|rd|th)")
IDENTIFIER_GAP = re.compile(r"[_\-\s./:]+")

STOPWORDS = frozenset([
    "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "like", "want", "need", "know",
    "there", "that", "would",
    "a", "an", "the", "of", "for", "to", "in", "on", "at", "by", "with", "from", "into",
    "onto", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "i",
    "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these", "those",
    "what", "which", "who", "whom", "whose", "how", "when", "where", "why", "please", "can",
    "could", "would", "should", "will", "shall", "may", "might", "must", "tell", "show",
    "give", "get", "find", "let", "us", "me", "some", "any", "there", "here", "and", "or",
    "but", "if", "then", "so", "than", "too", "very", "just", "also", "about", "as", "up",
    "out", "over", "under", "again", "all", "each", "both", "few", "more", "most", "other",
    "such", "no", "nor", "not", "only", "own", "same", "s", "t",
])

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "a": 1, "an": 1, "single": 1, "couple": 2, "dozen": 12,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
             "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
             "twentieth": 20, "thirtieth": 30}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES) | {"half"}
ORDINAL_WORDS = frozenset(_ORDINALS)


def words(text: str) -> list[str]:
    """Lower-case word tokens of free text."""
    return [w.lower() for w in WORD.findall(text)]


def split_identifier(name: str) -> list[str]:
    """``from_currency`` / ``searchFlights`` / ``max-price`` -> their lower-case words."""
    parts = IDENTIFIER_GAP.split(CAMEL.sub(" ", name))
    return [p.lower() for p in parts if p]


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """A light suffix stemmer: enough to meet "flights"/"flight", "converting"/"convert"."""
    w = word.lower()
    if len(w) <= 3:
        return w
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"),
                         ("xes", "x"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""),
                         ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            base = w[: len(w) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2]:
                base = base[:-1]  # "stopping" -> "stop"
            return base
    return w


def content_stems(text: str) -> list[str]:
    """Stems of the words of ``text`` that carry meaning (no stopwords)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def parse_number_words(tokens: list[str]) -> tuple[float, int] | None:
    """Read an English number at the start of ``tokens``: (value, tokens used) or None.

    "twenty five" -> 25, "two hundred and ten" -> 210, "a dozen" -> 12, "half" -> 0.5.
    """
    total = current = 0.0
    used = 0
    seen = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _UNITS and not (t in ("a", "an") and (i + 1 >= len(tokens) or
                                                        (tokens[i + 1] not in _SCALES and
                                                        tokens[i + 1] != "dozen"))):
            if t in ("a", "an") and seen:
                break
            current += _UNITS[t] if t != "dozen" else 0
            if t == "dozen":
                current = (current or 1) * 12
            seen = True
        elif t in _TENS:
            current += _TENS[t]
            seen = True
        elif t in _SCALES and seen:
            current = (current or 1) * _SCALES[t]
            if _SCALES[t] >= 1000:
                total += current
                current = 0
        elif t == "half" and not seen:
            current = 0.5
            seen = True
        elif t == "and" and seen and i + 1 < len(tokens) and (
                tokens[i + 1] in _UNITS or tokens[i + 1] in _TENS):
            pass
        else:
            break
        i += 1
        used = i
    if not seen:
        return None
    return total + current, used


def ordinal(word: str) -> int | None:
    """"third" -> 3, "3rd" -> 3."""
    w = word.lower()
    if w in _ORDINALS:
        return _ORDINALS[w]
    m = ORDINAL.fullmatch(w)
    return int(m.group(1)) if m else None
