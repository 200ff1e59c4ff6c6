"""Replay recorded runs: cached (recorded model replies and tool results), live (re-executed
and diffed against the original) or forked (recorded up to a step, live from there).

Importing this package is cheap (the runtime imports ``agent.replay.options`` on every run);
the replay machinery loads when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ReplayDivergence, ReplayError, ReplayMissing, ReplayStepNotFound

if TYPE_CHECKING:
    from .diff import RunDiff, diff_runs
    from .runner import MODES, Replayer, ReplayResult, replay

__all__ = [
    "MODES",
    "ReplayDivergence",
    "ReplayError",
    "ReplayMissing",
    "ReplayResult",
    "ReplayStepNotFound",
    "Replayer",
    "RunDiff",
    "diff_runs",
    "replay",
]

_LAZY = {"MODES": "runner", "Replayer": "runner", "ReplayResult": "runner", "replay": "runner",
         "RunDiff": "diff", "diff_runs": "diff"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
