"""SQLite trace store: every run, step, tool call and message, redacted, in one file.

Importing this package is cheap: sqlite-utils (and langchain-core) load only when a
TraceStore is opened or a message is recorded, so CLI start-up does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AmbiguousRunIdError,
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from .paths import default_db_path

if TYPE_CHECKING:
    from .core import TraceStore
    from .encode import args_hash, new_id, tool_hash

__all__ = [
    "AmbiguousRunIdError",
    "RunNotFoundError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "TraceStore",
    "args_hash",
    "default_db_path",
    "new_id",
    "tool_hash",
]


_LAZY = {"TraceStore": "core", "args_hash": "encode", "new_id": "encode", "tool_hash": "encode"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
