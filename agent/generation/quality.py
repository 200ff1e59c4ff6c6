"""Keep a dataset clean and see its shape: duplicate queries out, a per-tool balance report.

Exact duplicates are caught on normalised text; near duplicates (the same question with a
word changed) with MinHash over word shingles and an LSH index (``datasketch``), which stays
fast at any size. Both are deterministic, so the same seed keeps the same examples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NUM_PERM = 64


def normalize(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed."""
    return " ".join(re.findall(r"[\w.-]+", text.lower())).strip(" .-")


def shingles(text: str) -> set[str]:
    """Word pairs (and the words, for very short texts)."""
    words = normalize(text).split()
    pairs = {" ".join(words[i:i + 2]) for i in range(len(words) - 1)}
    return pairs or set(words)


class Deduper:
    """Refuses a text equal (normalised) or nearly equal (Jaccard >= ``threshold``) to one
    already kept."""

    def __init__(self, threshold: float = 0.9, num_perm: int = NUM_PERM) -> None:
        from datasketch import MinHashLSH

        if not 0 < threshold <= 1:
            from agent.errors import UsageError

            raise UsageError(f"the duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self._exact: set[str] = set()
        # 1.0 means exact duplicates only (LSH cannot band for a threshold of 1)
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm) if threshold < 1 \
            else None
        self._hashes: dict[str, Any] = {}

    def _minhash(self, text: str) -> Any:
        from datasketch import MinHash

        m = MinHash(num_perm=self.num_perm)
        m.update_batch([s.encode("utf-8") for s in shingles(text)])
        return m

    def check(self, text: str) -> str | None:
        """``"exact"`` or ``"near"`` for a duplicate, else None (nothing is kept)."""
        norm = normalize(text)
        if norm in self._exact:
            return "exact"
        if self._lsh is None:
            return None
        m = self._minhash(text)
        for key in self._lsh.query(m):
            if self._hashes[key].jaccard(m) >= self.threshold:
                return "near"
        return None

    def add(self, text: str) -> None:
        norm = normalize(text)
        if norm in self._exact:
            return
        self._exact.add(norm)
        if self._lsh is None:
            return
        key = str(len(self._hashes))
        m = self._minhash(text)
        self._hashes[key] = m
        self._lsh.insert(key, m)

    def offer(self, text: str) -> str | None:
        """``check`` and, when it is not a duplicate, ``add``."""
        verdict = self.check(text)
        if verdict is None:
            self.add(text)
        return verdict


@dataclass
class Balance:
    """Counts per tool: examples it is the goal of, calls to it, drops and why."""

    examples: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    def kept(self, record: dict[str, Any]) -> None:
        self.examples[record["tool"]] += 1
        self.calls.update(record.get("calls") or ())

    def dropped(self, record: dict[str, Any], why: str) -> None:
        table = {"failed": self.failed, "invalid": self.invalid}.get(why, self.duplicates)
        table[record["tool"]] += 1
        if record.get("reason"):
            self.reasons[_short(record["reason"])] += 1

    def report(self) -> dict[str, dict[str, int]]:
        names = sorted(set(self.examples) | set(self.calls) | set(self.failed)
                       | set(self.invalid) | set(self.duplicates))
        return {n: {"examples": self.examples[n], "calls": self.calls[n],
                    "failed": self.failed[n], "invalid": self.invalid[n],
                    "duplicates": self.duplicates[n]} for n in names}


def _short(reason: str) -> str:
    return reason if len(reason) <= 120 else reason[:117] + "..."
