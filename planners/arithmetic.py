"""Arithmetic said in words, read as an expression in symbols.

"add 2 and 40" is ``2 + 40``, "subtract 5 from 12" is ``12 - 5``, "2 plus 3 times 4" is
``2 + 3 * 4``, "square root of 81" is ``sqrt(81)``, "7 squared" is ``7 ** 2``, "half of 30"
is ``30 / 2``. ``values.extract`` turns such a phrase into one ``expression`` value, so a
calculator gets something it can evaluate and the phrase's words ("add", "times") are not
taken for the names of other tools (``add_to_date``).

The grammar is small and strict on purpose: every operand is a bare number (digits or
English number words), a bracketed expression or another spoken operation. A number
followed by a word of its own ("3 days", "30 euros") is a quantity, not a bare number, so
"add 3 days to 2024-01-31" stays a date calculation. Power is written ``**``, which Python
style calculators read and others refuse, rather than ``^``, which Python reads as XOR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .text import NUMBER_WORDS, STOPWORDS, parse_number_words

if TYPE_CHECKING:
    from .values import Tok

# Binding strength of a rendered expression: an operand binding less than its operator is
# bracketed ("(2 + 3) * 4").
SUM, PRODUCT, SIGN, POWER, ATOM = 1, 2, 3, 4, 5

ADDITIVE: dict[tuple[str, ...], str] = {("plus",): "+", ("+",): "+", ("minus",): "-",
                                        ("-",): "-"}
MULTIPLICATIVE: dict[tuple[str, ...], str] = {
    ("times",): "*", ("multiplied", "by"): "*", ("*",): "*", ("×",): "*", ("x",): "*",
    ("divided", "by"): "/", ("/",): "/", ("÷",): "/", ("mod",): "%", ("modulo",): "%"}
POWERS: tuple[tuple[str, ...], ...] = (
    ("to", "the", "power", "of"), ("raised", "to", "the", "power", "of"), ("raised", "to"),
    ("^",), ("*", "*"))
POSTFIX: dict[str, int] = {"squared": 2, "cubed": 3}
# Imperative verbs that open a phrase, and nouns that name a result ("the sum of ...").
VERBS = frozenset({"add", "multiply", "subtract", "divide"})
NOUNS = frozenset({"sum", "product", "difference", "quotient", "average", "mean"})
VERB_WORDS = tuple((v,) for v in sorted(VERBS))
NOUN_WORDS = tuple((n,) for n in sorted(NOUNS))
OPERATOR_WORDS = frozenset(
    {w for key in (*ADDITIVE, *MULTIPLICATIVE, *POWERS) for w in key if w.isalpha()}
    | set(POSTFIX) | VERBS | NOUNS | {"of", "by", "from", "and", "to", "between", "root",
                                     "square", "cube", "percent", "half", "double", "twice",
                                     "triple", "negative"})


@dataclass(frozen=True)
class Expr:
    """A rendered (sub)expression and how tightly it binds."""

    text: str
    strength: int


def _wrap(e: Expr, below: int) -> str:
    return f"({e.text})" if e.strength < below else e.text


def binary(left: Expr, op: str, right: Expr) -> Expr:
    """``left op right`` with the brackets the operators' precedence needs."""
    if op == "**":  # right-associative; its base must be an atom
        return Expr(f"{_wrap(left, ATOM)} ** {_wrap(right, SIGN)}", POWER)
    strength = SUM if op in "+-" else PRODUCT
    # The right side of - / % binds as if bracketed: 12 - (5 - 3).
    right_below = strength + 1 if op in "-/%" else strength
    return Expr(f"{_wrap(left, strength)} {op} {_wrap(right, right_below)}", strength)


def _call(name: str) -> Callable[[Expr], Expr]:
    return lambda e: Expr(f"{name}({e.text})", ATOM)


def _times(n: int) -> Callable[[Expr], Expr]:
    return lambda e: binary(Expr(str(n), ATOM), "*", e)


# Words that apply to the operand after them: "half of 30", "double 21".
PREFIX: dict[tuple[str, ...], Callable[[Expr], Expr]] = {
    ("square", "root", "of"): _call("sqrt"), ("sqrt", "of"): _call("sqrt"),
    ("cube", "root", "of"): lambda e: binary(e, "**", Expr("(1/3)", ATOM)),
    ("square", "of"): lambda e: binary(e, "**", Expr("2", ATOM)),
    ("cube", "of"): lambda e: binary(e, "**", Expr("3", ATOM)),
    ("half", "of"): lambda e: binary(e, "/", Expr("2", ATOM)),
    ("half",): lambda e: binary(e, "/", Expr("2", ATOM)),
    ("double",): _times(2), ("twice",): _times(2), ("triple",): _times(3),
    ("factorial", "of"): _call("factorial"),
    ("absolute", "value", "of"): _call("abs"),
    ("negative",): lambda e: Expr(f"-{_wrap(e, SIGN)}", SIGN),
    ("minus",): lambda e: Expr(f"-{_wrap(e, SIGN)}", SIGN),
}
SIGNS = frozenset({("negative",), ("minus",)})  # "minus 3" alone is a number, not a sum
# By first word, longest first.
PREFIXES: dict[str, list[tuple[tuple[str, ...], Callable[[Expr], Expr]]]] = {}
for _words, _apply in sorted(PREFIX.items(), key=lambda kv: -len(kv[0])):
    PREFIXES.setdefault(_words[0], []).append((_words, _apply))
WINDOW = 32  # tokens one phrase may span: bounds the work (and recursion) per start token
STARTS = frozenset(PREFIXES) | VERBS | NOUNS | {"the", "("}


def spoken_expression(toks: Sequence[Tok], i: int) -> tuple[str, int] | None:
    """The arithmetic said in words from token ``i`` on: (expression, tokens used).

    None when the tokens there are not arithmetic, or are arithmetic in symbols only
    ("12 * 7" is read as written, by ``values``).
    """
    first = toks[i].text.lower()
    if toks[i].kind != "number" and first not in STARTS and first not in NUMBER_WORDS:
        return None
    reader = _Reader(toks[i:i + WINDOW])
    found = reader.phrase()
    if found is None or not reader.spoken:
        return None
    return found.text, reader.pos


class _Reader:
    """Recursive descent over the tokens; a rule that fails leaves the reader as it was."""

    def __init__(self, toks: Sequence[Tok]) -> None:
        self.toks = toks
        self.low = [t.text.lower() for t in toks]
        self.pos = 0
        self.spoken = False  # an operator was said in words

    # Helpers -----------------------------------------------------------------------------
    def _at(self, words: tuple[str, ...]) -> bool:
        return tuple(self.low[self.pos:self.pos + len(words)]) == words

    def _take(self, *options: tuple[str, ...], operator: bool = True) -> tuple[str, ...] | None:
        """Consume the first of ``options`` the tokens spell here.

        ``operator``: the words say an operation (so the phrase is arithmetic in words);
        joining words ("and", "the") do not.
        """
        for words in options:
            if self._at(words):
                self.pos += len(words)
                self.spoken |= operator and any(w.isalpha() for w in words)
                return words
        return None

    def _attempt(self, rule: Callable[[], Expr | None]) -> Expr | None:
        start, spoken = self.pos, self.spoken
        found = rule()
        if found is None:
            self.pos, self.spoken = start, spoken
        return found

    # Rules -------------------------------------------------------------------------------
    def phrase(self) -> Expr | None:
        return self._attempt(self._command) or self._attempt(self._expression)

    def _command(self) -> Expr | None:
        """An imperative: "add 2 and 40", "multiply 6 by 7", "subtract 5 from 12"."""
        verb = self._take(*VERB_WORDS)
        a = self.operand() if verb else None
        if verb is None or a is None:
            return None
        if verb == ("subtract",):
            b = self.operand() if self._take(("from",), operator=False) else None
            return binary(b, "-", a) if b else None
        if verb == ("divide",):
            b = self.operand() if self._take(("by",), operator=False) else None
            return binary(a, "/", b) if b else None
        op = "+" if verb == ("add",) else "*"
        if self._take(("to",) if op == "+" else ("by",), operator=False):
            b = self.operand()
            return binary(a, op, b) if b else None
        rest = self.listed()
        return _fold([a, *rest], op) if rest else None

    def listed(self) -> list[Expr]:
        """The rest of "A, B and C" after A: [B, C] (empty when no list follows)."""
        out: list[Expr] = []
        while True:
            start = self.pos
            comma = self._take((",",), operator=False) is not None or (
                self.toks[self.pos - 1].text.endswith(","))  # "2, 4": the number took it
            joined = self._take(("and",), operator=False) is not None
            nxt = self.operand() if comma or joined else None
            if nxt is None:
                self.pos = start
                return out
            out.append(nxt)

    def _noun(self) -> Expr | None:
        """A result named: "the sum of 3 and 4", "the difference between 9 and 2"."""
        self._take(("the",), operator=False)
        kind = self._take(*NOUN_WORDS)
        if kind is None or not self._take(("of",), ("between",), operator=False):
            return None
        first = self.operand()
        rest = self.listed() if first else []
        if first is None or not rest:
            return None
        name = kind[0]
        if name in ("difference", "quotient"):
            if len(rest) != 1:
                return None
            return binary(first, "-" if name == "difference" else "/", rest[0])
        total = _fold([first, *rest], "*" if name == "product" else "+")
        if name in ("average", "mean"):
            return binary(total, "/", Expr(str(1 + len(rest)), ATOM))
        return total

    def _expression(self) -> Expr | None:
        """Sums of products of powers, in words or symbols: "2 plus 3 times 4"."""
        return self._chain(self._term, ADDITIVE)

    def _term(self) -> Expr | None:
        return self._chain(self._power, MULTIPLICATIVE)

    def _chain(self, part: Callable[[], Expr | None],
               operators: dict[tuple[str, ...], str]) -> Expr | None:
        """``part (op part)*``, left-associative."""
        left = self._attempt(part)
        while left is not None:
            start, spoken = self.pos, self.spoken
            op = self._take(*operators)
            right = self._attempt(part) if op else None
            if op is None or right is None:
                self.pos, self.spoken = start, spoken
                return left
            left = binary(left, operators[op], right)
        return None

    def _power(self) -> Expr | None:
        base = self.operand()
        if base is None:
            return None
        start, spoken = self.pos, self.spoken
        exponent = self._attempt(self._power) if self._take(*POWERS) else None
        if exponent is None:
            self.pos, self.spoken = start, spoken
            return base
        return binary(base, "**", exponent)

    def operand(self) -> Expr | None:
        """A number (maybe "squared"), a bracketed expression, or a spoken operation."""
        return self._attempt(self._operand)

    def _operand(self) -> Expr | None:
        word = self.low[self.pos] if self.pos < len(self.low) else ""
        for words, apply in PREFIXES.get(word, ()):
            start, spoken = self.pos, self.spoken
            inner = self.operand() if self._take(words, operator=words not in SIGNS) else None
            if inner is not None:
                return apply(inner)
            self.pos, self.spoken = start, spoken
        found = (self._attempt(self._noun) if word in NOUNS or word == "the" else None) or (
            self._attempt(self._bracketed) if word == "(" else None) or self._number()
        if found is None:
            return None
        while self.pos < len(self.low) and self.low[self.pos] in POSTFIX:
            found = binary(found, "**", Expr(str(POSTFIX[self.low[self.pos]]), ATOM))
            self._take((self.low[self.pos],))
        said = self._take(("percent",), operator=False) is not None
        if said:
            if found.strength != ATOM:
                return None
            found = Expr(f"{found.text}%", ATOM)
        if found.text.endswith("%") and self._at(("of",)):  # "15 percent of 240"
            start, spoken = self.pos, self.spoken
            self._take(("of",), operator=said)  # "15% of 240" is symbols, read as written
            whole = self.operand()
            if whole is not None:
                return binary(found, "*", whole)
            self.pos, self.spoken = start, spoken
        return found

    def _bracketed(self) -> Expr | None:
        inner = self._expression() if self._take(("(",), operator=False) else None
        if inner is None or not self._take((")",), operator=False):
            return None
        return Expr(f"({inner.text})", ATOM)

    def _number(self) -> Expr | None:
        """Digits or number words, not followed by a word that makes it a quantity."""
        if self.pos >= len(self.toks):
            return None
        tok = self.toks[self.pos]
        if tok.kind == "number":
            text, used = tok.text.replace(",", "").replace("−", "-"), 1
        elif self.low[self.pos] in NUMBER_WORDS and self.low[self.pos] != "half":
            parsed = parse_number_words(_number_words(self.low[self.pos:self.pos + 8]))
            if parsed is None:
                return None
            value, used = parsed
            text = str(int(value) if float(value).is_integer() else value)
        else:
            return None
        nxt = self.pos + used
        if nxt < len(self.toks) and self.toks[nxt].kind == "word" \
                and self.low[nxt] not in STOPWORDS and self.low[nxt] not in OPERATOR_WORDS:
            return None  # "3 days", "30 euros": a quantity of something
        self.pos = nxt
        return Expr(text, SIGN if text.startswith("-") else ATOM)


def _number_words(low: list[str]) -> list[str]:
    """Number words up to an "and" that joins two numbers ("two and three"), keeping the
    "and" inside one number ("two hundred and ten")."""
    for k, w in enumerate(low):
        if w == "and" and not (k and low[k - 1] in ("hundred", "thousand", "million")):
            return low[:k]
    return low


def _fold(operands: list[Expr], op: str) -> Expr:
    out = operands[0]
    for e in operands[1:]:
        out = binary(out, op, e)
    return out
