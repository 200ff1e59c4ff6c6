"""Seeded, deterministic train/test splits that never put one query (or tool set) in two.

A run's split is a pure function of (seed, key): the key is the normalised query
(``--split-by query``) or the sorted set of tools the run called (``--split-by tool``). The
key is hashed to a number in [0, 1) and the spec's cumulative fractions cut that range. So
every run with the same key lands in the same split, the same seed gives the same splits on
any machine, and no pass over the data is needed first (memory stays flat). The sizes are
the fractions in expectation, not exactly: with few distinct keys a split may come out
smaller or even empty.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import UsageError

from .openai import called_tools

SPLIT_BY = ("query", "tool")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EXAMPLE = "e.g. --split train=0.9,test=0.1"


@dataclass(frozen=True)
class SplitSpec:
    """Named fractions (summing to 1), what to split by, and the seed."""

    parts: tuple[tuple[str, float], ...]
    by: str = "query"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.by not in SPLIT_BY:
            raise UsageError(f"unknown --split-by {self.by!r}: use one of {', '.join(SPLIT_BY)}")

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.parts]

    def key(self, run: Mapping[str, Any]) -> str:
        """What decides a run's split: its normalised query, or the tools it called."""
        if self.by == "tool":
            return ",".join(sorted(set(called_tools(run.get("messages") or ()))))
        return " ".join(str(run.get("query") or "").casefold().split())

    def assign(self, run: Mapping[str, Any]) -> str:
        """The split of one run."""
        digest = hashlib.sha256(f"{self.seed}\x00{self.key(run)}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        total = 0.0
        for name, fraction in self.parts:
            total += fraction
            if point < total:
                return name
        return self.parts[-1][0]  # rounding: the last split takes what is left


def parse_split(text: str, by: str = "query", seed: int = 0) -> SplitSpec:
    """``"train=0.9,test=0.1"`` -> a ``SplitSpec``; ``UsageError`` saying what is wrong."""
    parts: list[tuple[str, float]] = []
    for item in (p.strip() for p in text.split(",")):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"bad --split {text!r}: each part is NAME=FRACTION ({_EXAMPLE})")
        if not _NAME.match(name):
            raise UsageError(f"bad --split name {name!r}: use letters, digits and _ ({_EXAMPLE})")
        try:
            fraction = float(value)
        except ValueError:
            raise UsageError(
                f"bad --split fraction {value.strip()!r} for {name}: give a number ({_EXAMPLE})"
            ) from None
        if not 0 < fraction <= 1:
            raise UsageError(
                f"bad --split fraction {value.strip()} for {name}: it must be in (0, 1]"
            )
        if name in (n for n, _ in parts):
            raise UsageError(f"bad --split {text!r}: {name} is named twice")
        parts.append((name, fraction))
    total = sum(f for _, f in parts)
    if abs(total - 1) > 1e-6:
        raise UsageError(f"bad --split {text!r}: the fractions add up to {total:g}, not 1 "
                         f"({_EXAMPLE})")
    return SplitSpec(tuple(parts), by, seed)
