"""Where the trace database lives by default."""

from __future__ import annotations

import os
from pathlib import Path

DB_FILENAME = "traces.db"


def default_db_path(create: bool = True) -> Path:
    """Return `$AGENT_HOME/traces.db`, else the per-user data dir's `traces.db`.

    AGENT_HOME lets tests, CI and multi-profile users point every command at another store.
    The parent directory is created unless `create` is false.
    """
    home = os.environ.get("AGENT_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        import platformdirs  # lazy: ~40 ms to import, and most commands never need it

        base = Path(platformdirs.user_data_dir("agent", appauthor=False))
    if create:
        base.mkdir(parents=True, exist_ok=True)
    return base / DB_FILENAME
