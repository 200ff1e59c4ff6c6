"""Typed values found in a query: numbers (with units), dates, times, quoted strings, names,
codes, paths, URLs, e-mail addresses and arithmetic expressions (in symbols, or in words:
"add 2 and 40" is read as ``2 + 40``, see ``arithmetic``).

Each value remembers the word in front of it (its cue: "from", "to", "in", "on", ...) and, for
numbers, the word after it (its unit: "km", "nights", "USD"), because that is how people say
which value is which.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from .arithmetic import STARTS, spoken_expression
from .text import NUMBER_WORDS, ORDINAL_WORDS, STOPWORDS, ordinal, parse_number_words

CUES = frozenset({
    "from", "to", "into", "in", "on", "at", "for", "between", "and", "by", "with", "named",
    "called", "near", "until", "till", "through", "via", "of", "about", "after", "before",
    "since", "under", "over", "below", "above", "within", "as", "per", "containing",
    "mentioning", "matching", "than", "leaving", "departing", "arriving", "returning", "out",
    "many", "much",
})
MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], 1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
WEEKDAYS = {d: i for i, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW"}
# The first words ``_date_at`` reads a date from (besides a day number, "3", "3rd", "third").
DATE_WORDS = frozenset({"today", "tomorrow", "yesterday", "next", "this", "coming", "in"}
                       | WEEKDAYS.keys() | MONTHS.keys())
# Words an arithmetic expression in symbols may hold ("sqrt(2) * pi").
EXPRESSION_WORDS = frozenset({"sqrt", "log", "ln", "sin", "cos", "tan", "abs", "exp", "pi",
                              "e", "of", "mod", "round"})
# The words arithmetic can start with: ``_expression`` reads nothing from any other word (it
# stops at a word not in EXPRESSION_WORDS), nor does ``spoken_expression`` (its first test).
ARITHMETIC_WORDS = EXPRESSION_WORDS | STARTS | NUMBER_WORDS
APOSTROPHE = re.compile(r"['’]")
CODE_LETTERS = re.compile(r"[A-Z]{2,4}")
CODE = re.compile(r"(?=[^\d]*\d)[A-Za-z\d][A-Za-z\d-]*|[A-Z]+(?:-[A-Z\d]+)+")

_TOKEN = re.compile(
    r"""(?P<quoted>"[^"]+"|“[^”]+”|'[^']{2,}'(?![a-z]))
      | (?P<url>https?://[^\s,;]+)
      | (?P<email>[\w.+-]+@[\w-]+\.[\w.-]+)
      | (?P<isodt>\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)
      | (?P<iso>\d{4}-\d{2}-\d{2})
      | (?P<slash>\d{1,2}/\d{1,2}/\d{2,4})
      | (?P<clock>\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?(?![a-z]))
      | (?P<path>(?:\.{0,2}/)?(?:[\w.-]+/)+[\w.-]*|[\w-]+\.(?:txt|md|csv|json|py|db|sqlite
                 |log|yaml|yml|toml|html|xml|pdf|ini|cfg|sql|js|ts|rs|go|java))
      | (?P<ordinal>\d{1,2}(?:st|nd|rd|th)(?![a-z]))
      | (?P<money>[$€£¥₹₩]\s?\d[\d,]*(?:\.\d+)?)
      | (?P<number>[-−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?|[-−]?\.\d+%?)
      | (?P<word>[A-Za-zÀ-ÿ][\w'’-]*)
      | (?P<op>[-+*/^×÷()=%])
      | (?P<punct>[.!?,;:])
    """,
    re.X,
)


@dataclass
class Value:
    """One thing found in a query."""

    kind: str  # number, date, time, datetime, quoted, entity, code, unit, word, path, url,
    #            email, expression
    value: Any
    text: str
    start: int
    end: int
    cue: str | None = None  # the word before (skipping articles)
    unit: str | None = None  # for numbers: the word after
    index: int = 0  # position among the query's values
    label: str | None = None  # the word right before, cue or not ("subject" in subject "hi")
    confidence: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_integer(self) -> bool:
        return isinstance(self.value, int) or (
            isinstance(self.value, float) and self.value.is_integer())


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Tok]:
    return [Tok(m.lastgroup or "word", m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(text)]


def _num(text: str) -> float | int:
    clean = text.replace(",", "").replace("−", "-").rstrip("%")
    value = float(clean)
    return int(value) if value.is_integer() and "." not in clean and "e" not in clean else value


def _year_for(month: int, day: int, today: dt.date) -> int:
    """A date without a year means the next such date (allowing a week in the past)."""
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year < today - dt.timedelta(days=7):
        return today.year + 1
    return today.year


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _date_at(toks: list[Tok], i: int, today: dt.date) -> tuple[dt.date, int] | None:
    """A date written in words starting at token i: (date, tokens used)."""
    low = [t.text.lower().rstrip(".,") for t in toks[i:i + 5]]
    if not low:
        return None
    w0 = low[0]
    if w0 == "today":
        return today, 1
    if w0 == "tomorrow":
        return today + dt.timedelta(days=1), 1
    if w0 == "yesterday":
        return today - dt.timedelta(days=1), 1
    if w0 in ("next", "this", "coming") and len(low) > 1:
        if low[1] in WEEKDAYS:
            ahead = (WEEKDAYS[low[1]] - today.weekday()) % 7 or 7
            return today + dt.timedelta(days=ahead), 2
        if low[1] == "week":
            return today + dt.timedelta(days=7), 2
    if w0 in WEEKDAYS:
        ahead = (WEEKDAYS[w0] - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead), 1
    if w0 == "in" and len(low) >= 3 and low[2] in ("day", "days", "week", "weeks"):
        n = _count(low[1])
        if n is not None:
            days = n * (7 if low[2].startswith("week") else 1)
            return today + dt.timedelta(days=days), 3
    # "December 3, 2026", "Dec 3rd", "3 December 2026", "3rd of December"
    if w0 in MONTHS and len(low) > 1:
        day = _day(low[1])
        if day:
            year, used = _year(low, 2)
            d = _safe_date(year or _year_for(MONTHS[w0], day, today), MONTHS[w0], day)
            return (d, 2 + used) if d else None
    day = _day(w0)
    if day and len(low) > 1:
        j = 2 if low[1] == "of" and len(low) > 2 else 1
        if low[j] in MONTHS:
            year, used = _year(low, j + 1)
            d = _safe_date(year or _year_for(MONTHS[low[j]], day, today), MONTHS[low[j]], day)
            return (d, j + 1 + used) if d else None
    return None


def _may_start_date(word: str) -> bool:
    """Can ``_date_at`` read a date from a token with this text? Each of its readings starts
    with a word of ``DATE_WORDS`` or a day (``_day``: digits, or what ``ordinal`` reads: an
    ordinal word or digits with a suffix); any other token is skipped without reading the
    words after it."""
    w0 = word.lower().rstrip(".,")
    return w0 in DATE_WORDS or w0[:1].isdigit() or w0 in ORDINAL_WORDS


def _count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    parsed = parse_number_words([word])
    return int(parsed[0]) if parsed and parsed[1] == 1 else None


def _day(word: str) -> int | None:
    n = ordinal(word)
    if n is None and word.isdigit() and len(word) <= 2:
        n = int(word)
    return n if n and 1 <= n <= 31 else None


def _year(low: list[str], j: int) -> tuple[int | None, int]:
    if j + 1 < len(low) and low[j] in (",", "") and re.fullmatch(r"\d{4}", low[j + 1]):
        return int(low[j + 1]), 2  # "Dec 20th, 2026"
    if j < len(low) and re.fullmatch(r"\d{4}", low[j]):
        return int(low[j]), 1
    return None, 0


def _clock(text: str) -> str | None:
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*(?:([ap])\.?m\.?)?", text.lower())
    if not m:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half == "p" and hour < 12:
        hour += 12
    if half == "a" and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def _cue(toks: list[Tok], i: int) -> str | None:
    j = i - 1
    while j >= 0 and toks[j].text.lower() in ("the", "a", "an", "my", "our", "your"):
        j -= 1
    if j >= 0 and toks[j].kind == "word" and toks[j].text.lower() in CUES:
        return toks[j].text.lower()
    return None


def _expression(toks: list[Tok], i: int) -> int:
    """Length of an arithmetic expression starting at token i (0 if none)."""
    j, ops, nums, depth = i, 0, 0, 0
    while j < len(toks):
        t = toks[j]
        low = t.text.lower()
        if t.kind == "number":
            nums += 1
            ops += t.text.endswith("%")
        elif t.kind == "op":
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                if depth == 0:
                    break
                depth -= 1
            ops += t.text not in "()"
        elif t.kind == "word" and low in EXPRESSION_WORDS and (low != "of" or ops):
            ops += low != "of" and low not in ("pi", "e")
        else:
            break
        j += 1
    while j > i and toks[j - 1].kind == "op" and toks[j - 1].text not in ")%":
        j -= 1
    return j - i if nums >= 1 and ops >= 1 and j - i >= 2 else 0


def extract(text: str, *, today: dt.date | None = None,
            vocabulary: frozenset[str] = frozenset()) -> list[Value]:
    """Every value in ``text``, left to right.

    ``vocabulary`` holds words of the tools' own names and descriptions: a capitalised word
    from it at the start of a sentence ("Convert ...") is an instruction, not a name.
    Today's date is read only when a token may start a date ("tomorrow", "Friday").
    """
    toks = tokenize(text)
    out: list[Value] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        cue = _cue(toks, i)
        arithmetic = t.kind in ("number", "op") or (
            t.kind == "word" and t.text.lower() in ARITHMETIC_WORDS)
        span = _expression(toks, i) if arithmetic else 0
        spoken = spoken_expression(toks, i) if arithmetic else None
        if spoken and spoken[1] >= span:  # "add 2 and 40", "2 * 3 squared", "10 mod 3"
            expression, used = spoken
            end = toks[i + used - 1].end
            out.append(Value("expression", expression, text[t.start:end], t.start, end, cue,
                             extra={"spoken": True}))
            i += used
            continue
        if span >= 3 or (span and any(o.kind == "op" and o.text not in "%()" for o in
                                      toks[i:i + span])):
            end = toks[i + span - 1].end
            out.append(Value("expression", text[t.start:end], text[t.start:end], t.start, end,
                             cue))
            i += span
            continue
        dated = None
        if t.kind in ("word", "number", "ordinal") and _may_start_date(t.text):
            today = today or dt.date.today()
            dated = _date_at(toks, i, today)
        if dated:
            d, used = dated
            end = toks[i + used - 1].end
            out.append(Value("date", d.isoformat(), text[t.start:end], t.start, end, cue))
            i += used
            continue
        if t.kind == "quoted":
            out.append(Value("quoted", t.text[1:-1], t.text, t.start, t.end, cue))
        elif t.kind in ("url", "email", "path"):
            out.append(Value(t.kind, t.text.rstrip(".,"), t.text, t.start, t.end, cue))
        elif t.kind == "isodt":
            out.append(Value("datetime", t.text.replace(" ", "T"), t.text, t.start, t.end, cue))
        elif t.kind == "iso":
            if _safe_date(*map(int, t.text.split("-"))):
                out.append(Value("date", t.text, t.text, t.start, t.end, cue))
        elif t.kind == "slash":
            first, second, year = (int(x) for x in t.text.split("/"))
            year += 2000 if year < 100 else 0
            parsed = _safe_date(year, first, second) or _safe_date(year, second, first)
            if parsed:
                out.append(Value("date", parsed.isoformat(), t.text, t.start, t.end, cue))
        elif t.kind == "clock" and (hhmm := _clock(t.text)):
            out.append(Value("time", hhmm, t.text, t.start, t.end, cue))
        elif t.kind in ("number", "money"):
            out.append(_number(toks, i, text, cue))
        elif t.kind == "ordinal":
            out.append(Value("number", int(t.text[:-2]), t.text, t.start, t.end, cue,
                             confidence=0.5))
        elif t.kind == "word":
            i = _word(toks, i, text, cue, out, vocabulary)
            continue
        i += 1
    _attach_units(toks, text, out)
    for a, b in itertools.pairwise(out):  # "between Berlin and Tokyo"
        if a.cue == "between" and b.cue == "and":
            a.cue, b.cue = "from", "to"
    starts = {t.end: t for t in toks}
    for n, v in enumerate(out):
        v.index = n
        before = text[:v.start].rstrip(" :=")
        prev = starts.get(len(before))
        if prev is not None and prev.kind == "word":
            v.label = prev.text.lower()
    return out


def _number(toks: list[Tok], i: int, text: str, cue: str | None) -> Value:
    t = toks[i]
    if t.kind == "money":
        symbol = t.text[0]
        v = Value("number", _num(t.text[1:].strip()), t.text, t.start, t.end, cue,
                  unit=CURRENCY_SYMBOLS[symbol])
        v.extra["unit_symbol"] = True
        return v
    v = Value("number", _num(t.text), t.text, t.start, t.end, cue)
    if t.text.endswith("%"):
        v.extra["percent"] = True
    return v


def _word(toks: list[Tok], i: int, text: str, cue: str | None, out: list[Value],
          vocabulary: frozenset[str]) -> int:
    t = toks[i]
    low = t.text.lower()
    base = APOSTROPHE.split(low, maxsplit=1)[0]
    if base in STOPWORDS and base != low:  # "What's", "it's", "I'd"
        return i + 1
    if low in NUMBER_WORDS and low not in ("a", "an"):
        parsed = parse_number_words([x.text.lower() for x in toks[i:i + 6]])
        if parsed:
            value, used = parsed
            end = toks[i + used - 1].end
            num = int(value) if float(value).is_integer() else value
            out.append(Value("number", num, text[t.start:end], t.start, end, cue,
                             confidence=0.8))
            return i + used
    if low in ("a", "an") and i + 1 < len(toks) and toks[i + 1].text.lower() in (
            "hundred", "thousand", "million", "dozen", "couple"):
        parsed = parse_number_words([x.text.lower() for x in toks[i:i + 6]])
        if parsed:
            value, used = parsed
            end = toks[i + used - 1].end
            out.append(Value("number", int(value), text[t.start:end], t.start, end, cue,
                             confidence=0.8))
            return i + used
    if CODE_LETTERS.fullmatch(t.text) and low not in STOPWORDS:
        out.append(Value("code", t.text, t.text, t.start, t.end, cue))
        return i + 1
    if CODE.fullmatch(t.text):
        out.append(Value("code", t.text, t.text, t.start, t.end, cue))
        return i + 1
    if t.text[0].isupper():
        sentence_start = i == 0 or toks[i - 1].text in ".?!"
        j = i + 1
        while j < len(toks) and toks[j].kind == "word" and toks[j].start == toks[j - 1].end + 1 \
                and (
                toks[j].text[0].isupper() or (toks[j].text.lower() in ("de", "del", "la", "le",
                                                                        "of", "upon", "am")
                                              and j + 1 < len(toks)
                                              and toks[j + 1].text[:1].isupper())):
            j += 1
        name = text[t.start:toks[j - 1].end]
        first_is_common = low in STOPWORDS or low in vocabulary
        if sentence_start and first_is_common:
            if j - i == 1:
                out.append(Value("word", low, t.text, t.start, t.end, cue, confidence=0.3))
                return i + 1
            return i + 1  # "Convert Paris ..." -> skip the verb, read the name next
        if low in STOPWORDS and j - i == 1:
            return i + 1
        conf = 0.6 if sentence_start else 1.0
        out.append(Value("entity", name, name, t.start, toks[j - 1].end, cue, confidence=conf))
        return j
    if low not in STOPWORDS:
        out.append(Value("word", low, t.text, t.start, t.end, cue, confidence=0.3))
    return i + 1


def _attach_units(toks: list[Tok], text: str, out: list[Value]) -> None:
    """A number followed by a word or a code: remember that word as the number's unit."""
    for n, v in enumerate(out):
        if v.kind != "number" or v.unit is not None or n + 1 >= len(out):
            continue
        nxt = out[n + 1]
        gap = text[v.end:nxt.start]
        if gap.strip() in ("", "-") and nxt.kind in ("word", "code", "entity"):
            v.unit = nxt.text
            nxt.extra["unit_of"] = n
