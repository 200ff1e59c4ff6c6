"""Import finished runs made elsewhere (generation workers): one run, one set of write ops.

A worker captures the ops a live trace would have written (``start_run``, ``record_step``,
``record_tool_calls``, ``record_messages``, ``finish_run``); the one writer stores them with
the run's labels, many runs per transaction. A run is stored whole or not at all, so a
killed writer leaves no half run behind, and labels say where each run came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

RUN_OPS = frozenset({"start_run", "record_step", "record_tool_calls", "record_messages",
                     "finish_run"})


def run_ops(ops: Iterable[Sequence[Any]], source: str,
            labels: Mapping[str, Any]) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """The ops of one captured run, its ``source`` set and its labels added.

    Raises ``ValueError`` for anything that is not a finished run's ops.
    """
    out: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    run_id: str | None = None
    finished = False
    for op in ops:
        name, args, kwargs = op[0], list(op[1]), dict(op[2]) if len(op) > 2 else {}
        if name not in RUN_OPS:
            raise ValueError(f"cannot import op {name!r}: a run is made of {sorted(RUN_OPS)}")
        if name == "start_run":
            args[0] = {**args[0], "source": source}
            run_id = args[0]["id"]
        elif name == "finish_run":
            finished = kwargs.get("status", "ok") != "running"
        out.append((name, tuple(args), kwargs))
    if run_id is None or not finished:
        raise ValueError("an imported run needs a start_run and a finish_run op")
    out.extend(("set_label", (run_id, key, value), {}) for key, value in labels.items())
    return out


def labelled_runs(db: Database, key: str, value: str) -> list[dict[str, Any]]:
    """Runs carrying the label ``key=value``: id, query, status and all their labels."""
    rows = db.execute(
        "SELECT runs.id, runs.query, runs.status, l2.key, l2.value FROM labels AS l1 "
        "JOIN runs ON runs.id = l1.run_id JOIN labels AS l2 ON l2.run_id = runs.id "
        "WHERE l1.key = ? AND l1.value = ? ORDER BY runs.id",
        [key, value],
    ).fetchall()
    runs: dict[str, dict[str, Any]] = {}
    for run_id, query, status, k, v in rows:
        run = runs.setdefault(run_id, {"id": run_id, "query": query, "status": status,
                                       "labels": {}})
        run["labels"][k] = v
    return list(runs.values())
