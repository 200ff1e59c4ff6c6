"""Typed errors raised by the trace store.

Each message is one line saying what was wrong and what to do, so the CLI can print it as-is.
"""

from __future__ import annotations

from agent.errors import AgentError


class StoreError(AgentError):
    """Base class for every trace-store failure."""

    exit_code = 1


class StoreCorruptError(StoreError):
    """The file is not a SQLite database, or its pages are damaged."""


class StoreLockedError(StoreError):
    """Another connection held the write lock past the busy timeout."""


class RunNotFoundError(StoreError):
    """No run has the given id or id prefix."""


class AmbiguousRunIdError(StoreError):
    """An id prefix matches more than one run."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates
