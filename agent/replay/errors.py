"""Typed replay errors; each message is one line saying what was wrong and what to do."""

from __future__ import annotations

from agent.errors import AgentError, UsageError


class ReplayError(AgentError):
    """Base class of every replay failure."""


class ReplayStepNotFound(UsageError):
    """``--fork STEP`` names a step the run does not have."""


class ReplayMissing(ReplayError):
    """The run's planner, tools or model are not installed (or not given) any more."""


class ReplayDivergence(ReplayError):
    """A cached replay asked for something the recording does not hold (a different call,
    one call too many, a question never asked): the planner no longer does what it did."""
