"""What changed between a run and its replay: the calls (added, removed, other arguments,
other results), the answer and the status.

Calls are aligned with ``difflib.SequenceMatcher`` on (tool, arguments), so one extra call
shows as one addition instead of shifting every call after it. Both sides are compared in
the form the store keeps (canonical, redacted, JSON), so a secret never shows in a diff and
a tuple equals the list it is stored as.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.store.queries import decode
from agent.store.rows import tool_call_row
from agent.types import Run

_MAX_CHANGES = 20  # per value, enough to read; the JSON output has the whole values


@dataclass
class Change:
    path: str
    before: Any
    after: Any


@dataclass
class CallDiff:
    """One aligned pair of calls. ``op``: same, changed, added (only in the replay),
    removed (only in the original)."""

    op: str
    name: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    args: list[Change] = field(default_factory=list)
    result: list[Change] = field(default_factory=list)


@dataclass
class RunDiff:
    original: str
    replay: str
    status: tuple[str, str]
    answer: tuple[str | None, str | None]
    calls: list[CallDiff]

    @property
    def same(self) -> bool:
        return (self.status[0] == self.status[1] and self.answer[0] == self.answer[1]
                and all(c.op == "same" for c in self.calls))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["same"] = self.same
        return out


def stored_calls(run: Run, max_content_bytes: int = 65536) -> list[dict[str, Any]]:
    """A live run's calls as the store keeps them (redacted, canonical, truncated)."""
    out = []
    for i, r in enumerate(run.results):
        row = tool_call_row({"id": str(i), "run_id": run.id, "tool_name": r.name,
                             "args": r.args, "status": r.status, "content": r.content,
                             "error": r.error}, max_content_bytes)
        out.append(decode(row))
    return out


def diff_runs(original: dict[str, Any], calls_before: list[dict[str, Any]], run: Run,
              calls_after: list[dict[str, Any]]) -> RunDiff:
    """Compare a recorded run (row + stored calls) with a replay (``Run`` + stored calls)."""
    keys_a = [_key(c) for c in calls_before]
    keys_b = [_key(c) for c in calls_after]
    matcher = difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False)
    pairs: list[CallDiff] = []
    for _, a0, a1, b0, b1 in matcher.get_opcodes():
        n = min(a1 - a0, b1 - b0)  # equal and replace blocks pair up; the rest is one-sided
        pairs.extend(_pair(calls_before[a0 + k], calls_after[b0 + k]) for k in range(n))
        pairs.extend(_one("removed", calls_before[i]) for i in range(a0 + n, a1))
        pairs.extend(_one("added", calls_after[j]) for j in range(b0 + n, b1))
    return RunDiff(original=str(original["id"]), replay=run.id,
                   status=(str(original.get("status")), run.status),
                   answer=(original.get("answer"), run.answer), calls=pairs)


def _key(call: dict[str, Any]) -> tuple[str, str]:
    return (str(call.get("tool_name")), json.dumps(call.get("args"), sort_keys=True,
                                                    default=str))


def _view(call: dict[str, Any]) -> dict[str, Any]:
    return {"name": call.get("tool_name"), "args": call.get("args"),
            "status": call.get("status"), "content": call.get("content"),
            "error": call.get("error")}


def _outcome(call: dict[str, Any]) -> Any:
    if call.get("status") == "success":
        return call.get("content")
    return {"status": call.get("status"), "error": call.get("error")}


def _pair(a: dict[str, Any], b: dict[str, Any]) -> CallDiff:
    args = changes(a.get("args"), b.get("args"))
    if a.get("tool_name") != b.get("tool_name"):
        args.insert(0, Change("(tool)", a.get("tool_name"), b.get("tool_name")))
    result = changes(_outcome(a), _outcome(b))
    op = "same" if not args and not result else "changed"
    return CallDiff(op, str(b.get("tool_name")), _view(a), _view(b), args, result)


def _one(op: str, call: dict[str, Any]) -> CallDiff:
    view = _view(call)
    return CallDiff(op, str(call.get("tool_name")), view if op == "removed" else None,
                    view if op == "added" else None)


def changes(a: Any, b: Any, path: str = "") -> list[Change]:
    """Where two JSON values differ, as JSON Pointer paths (at most ``_MAX_CHANGES``)."""
    out: list[Change] = []
    _walk(a, b, path, out)
    return out


def _walk(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if len(out) >= _MAX_CHANGES or (a == b and type(a) is type(b)):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            here = f"{path}/{str(k).replace('~', '~0').replace('/', '~1')}"
            if k not in b:
                out.append(Change(here, a[k], None))
            elif k not in a:
                out.append(Change(here, None, b[k]))
            else:
                _walk(a[k], b[k], here, out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}/{i}", out)
        return
    out.append(Change(path or "/", a, b))
