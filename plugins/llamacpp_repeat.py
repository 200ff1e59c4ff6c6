"""Catching a local model that loops: the same sentence, line or phrase, over and over.

Small models decoding greedily fall into cycles ("12 * 7 is 84. 84 is the result of 12
multiplied by 7. 12 * 7 is 84. ...") and only stop at ``max_tokens``, which on a CPU costs
most of a run's time. A frequency penalty makes that rarer; this module catches what is left,
so generation can stop early and the reply can be cut where the repeating begins.

A reply loops when, ``repeats`` times:

- one *sentence or line* has been said, anywhere in the reply (a sentence ends in ``.``,
  ``!`` or ``?`` before whitespace); it needs at least two words ("1.", "}" never count);
- the same *phrase* (one to three clauses, split at ``, ; :`` too, three words or more in
  all) has come back to back ("la femme au roi, la femme au roi, la femme au roi, ...").

Text is compared ignoring case, spacing and end punctuation; nothing inside a fenced code
block counts (code repeats lines on purpose). A looping reply is cut where its run of
repeats began, so one copy of the cycle is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PIECE_END = re.compile(r"(\n)|([.!?]+[\"')\]]*(?=\s))|[,;:](?=\s)")
_WORD = re.compile(r"\w+")
MAX_PERIOD = 3  # clauses in a phrase that repeats back to back


def _key(text: str) -> str:
    """Case, spacing and end punctuation do not make text new ("Rain," = "rain.")."""
    return " ".join(text.lower().split()).rstrip(".,;:!?")


def _words(key: str | None) -> int:
    return len(_WORD.findall(key)) if key else 0


@dataclass
class _Scan:
    """What a reply has said so far, sentence by sentence and clause by clause."""

    repeats: int
    cut: int | None = None
    said: dict[str, int] = field(default_factory=dict)  # sentence key -> times said
    run: int | None = None  # where the trailing run of repeated sentences starts
    starts: list[int] = field(default_factory=list)  # each clause's start
    keys: list[str | None] = field(default_factory=list)  # each clause's key (None: code)
    unit_start: int = 0
    fenced: bool = False

    def sentence(self, start: int, key: str) -> None:
        """One more sentence or line; blank and one-word ones ("1.") change nothing."""
        if key.startswith("```") or self.fenced:
            self.fenced = self.fenced != key.startswith("```")
            self.run = None  # code is new text, never a repeat
            return
        if _words(key) < 2:
            return
        self.said[key] = self.said.get(key, 0) + 1
        if self.said[key] == 1:
            self.run = None
            return
        self.run = start if self.run is None else self.run
        if self.said[key] >= self.repeats:
            self._cut_at(self.run)

    def clause(self, start: int, key: str) -> None:
        """One more clause; a loop if a phrase of 1-3 clauses comes ``repeats`` times."""
        if not key:
            return
        self.starts.append(start)
        self.keys.append(None if self.fenced else key)
        for period in range(1, MAX_PERIOD + 1):
            matched = self._matched(period)
            if 1 + matched // period >= self.repeats \
                    and sum(map(_words, self.keys[-period:])) >= 3:
                self._cut_at(self.starts[-matched])  # keep the first copy

    def chain(self) -> int | None:
        """Where the longest back-to-back match of clauses begins (it may become a loop)."""
        starts = [self.starts[-n] for n in map(self._matched, range(1, MAX_PERIOD + 1)) if n]
        return min(starts, default=None)

    def _matched(self, period: int) -> int:
        """How many of the last clauses equal the clause ``period`` places before them."""
        keys = self.keys
        n = 0
        while n + period < len(keys) and keys[-1 - n] is not None \
                and keys[-1 - n] == keys[-1 - n - period]:
            n += 1
        return n

    def _cut_at(self, start: int) -> None:
        self.cut = start if self.cut is None else min(self.cut, start)


def _scan(text: str, repeats: int, final: bool) -> tuple[_Scan, int]:
    """Read ``text`` piece by piece, stopping at the first loop; also return where the
    unfinished tail starts (the whole text is finished when ``final``)."""
    scan = _Scan(repeats)
    piece_start = 0
    ends = [(m.end(), bool(m.group(1) or m.group(2))) for m in _PIECE_END.finditer(text)]
    if final and (not ends or ends[-1][0] < len(text)):
        ends.append((len(text), True))
    for end, unit_end in ends:
        scan.clause(piece_start, _key(text[piece_start:end]))
        if unit_end:
            scan.sentence(scan.unit_start, _key(text[scan.unit_start:end]))
            scan.unit_start = end
        piece_start = end
        if scan.cut is not None:
            break
    return scan, piece_start


def loop_start(text: str, repeats: int = 3, *, final: bool = False) -> int | None:
    """Where to cut ``text`` because it loops, else None.

    ``final`` says the text is complete, so its last sentence counts even without a
    following space. ``repeats`` below 2 turns the check off.
    """
    if repeats < 2:
        return None
    return _scan(text, repeats, final)[0].cut


def cut_repetition(text: str, repeats: int = 3) -> str:
    """``text`` without its loop: everything before the run of repeats (else unchanged)."""
    cut = loop_start(text, repeats, final=True)
    return text if cut is None else text[:cut].rstrip()


def shown_end(text: str, repeats: int = 3) -> int:
    """How much of a reply still being generated can be shown without showing a repeat.

    Held back: a run of repeated sentences or clauses (it may become a loop, which is
    cut), and an unfinished sentence or clause that so far matches one already said.
    """
    return _check(text, repeats)[1]


def _check(text: str, repeats: int) -> tuple[int | None, int]:
    """(where to cut the unfinished ``text`` if it loops, how much of it may be shown)."""
    if repeats < 2:
        return None, len(text)
    scan, tail = _scan(text, repeats, False)
    held = [len(text)]
    for start in (scan.cut, scan.run, scan.chain()):
        if start is not None:
            held.append(start)
    sentence = _key(text[scan.unit_start:])
    if sentence and any(key.startswith(sentence) for key in scan.said):
        held.append(scan.unit_start)
    clause = _key(text[tail:])
    if clause and any(key.startswith(clause) for key in scan.keys[-MAX_PERIOD:] if key):
        held.append(tail)
    return scan.cut, len(text[:min(held)].rstrip())  # spaces go out with the text after them


class LoopGuard:
    """Follows one reply as it grows: what may be shown, and whether it has started to loop.

    ``update(text)`` takes the whole reply so far and returns the new text that may be shown
    (text that may turn out to be a repeat is held back); ``looped`` turns true when the reply
    loops, and ``cut`` is where to end it. ``finish(text)`` releases what was held at the end.
    """

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.shown = 0
        self.cut: int | None = None

    @property
    def looped(self) -> bool:
        return self.cut is not None

    def update(self, text: str) -> str:
        if self.looped:
            return ""
        self.cut, end = _check(text, self.repeats)
        return self._show(text, end if self.cut is None else self.cut)

    def finish(self, text: str) -> str:
        if not self.looped:
            self.cut = loop_start(text, self.repeats, final=True)
        return self._show(text, self.cut if self.cut is not None else len(text))

    def final_text(self, text: str) -> str:
        """The whole reply as it should be kept: cut before its loop, if it has one."""
        if self.cut is None:
            return text
        return text[:self.cut].rstrip()

    def _show(self, text: str, end: int) -> str:
        if self.cut is not None:  # a cut ends the reply: drop the space before the repeats
            end = len(text[:end].rstrip())
        new = text[self.shown:end] if end > self.shown else ""
        self.shown = max(self.shown, end)
        return new
