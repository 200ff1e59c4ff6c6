"""Typed export errors: one line each, saying what was wrong and what to do."""

from __future__ import annotations

from agent.errors import AgentError


class ExportError(AgentError):
    """An export could not be written (missing optional dependency, unwritable output)."""

    exit_code = 1


class NothingToExportError(ExportError):
    """The filters match no run: nothing was written."""
