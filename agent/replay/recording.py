"""A recorded run, read from the trace store into what replay serves: the model replies per
model step, the tool results per tool step, the answers per question, plus the query,
planner, model, tools offered and options the run started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.store import TraceStore

#: Step kinds the environment serves; other kinds (``refused``, ``solution``) are made by
#: the planner itself and come back on their own.
SERVED_KINDS = frozenset({"model", "tool_calls", "ask"})


@dataclass(slots=True)
class ToolStep:
    seq: int
    name: str | None
    rows: list[dict[str, Any]]


@dataclass(slots=True)
class ModelStep:
    seq: int
    name: str | None
    status: str
    reply: dict[str, Any] | None
    error: str | None
    tools: list[str] | None


@dataclass(slots=True)
class AskStep:
    seq: int
    question: str
    status: str
    answer: Any


@dataclass
class Recording:
    """Everything replay needs from one stored run (``TraceStore.get_run`` decoded)."""

    row: dict[str, Any]
    steps: list[dict[str, Any]]
    tool_steps: list[ToolStep]
    model_steps: list[ModelStep]
    ask_steps: list[AskStep]
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    labels: dict[str, str | None] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def query(self) -> str:
        return str(self.row.get("query") or "")

    @property
    def planner(self) -> str | None:
        return self.row.get("planner")

    @property
    def model(self) -> str | None:
        return self.row.get("model")

    @property
    def status(self) -> str:
        return str(self.row.get("status") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.row.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def answers(self) -> dict[str, Any]:
        """Answers given up front (``agent run --resume``), given again on replay."""
        return dict(self.metadata.get("answers") or {})

    @property
    def planner_options(self) -> dict[str, Any]:
        return dict(self.metadata.get("planner_options") or {})

    @property
    def tool_names(self) -> list[str]:
        return [t["name"] for t in self.tools]

    @property
    def step_numbers(self) -> list[int]:
        return [int(s["seq"]) for s in self.steps]

    @property
    def native_tools(self) -> bool:
        """Was the model given tools natively (``bind_tools``)? Decides which replay model."""
        for m in self.model_steps:
            if m.tools or (m.reply and m.reply.get("data", {}).get("tool_calls")):
                return True
        return False

    @property
    def truncated_calls(self) -> int:
        return sum(int(bool(r.get("truncated"))) for s in self.tool_steps for r in s.rows)

    def transcript(self) -> list[dict[str, Any]]:
        """The stored transcript in langchain-core's dict form."""
        return [m["data"] for m in self.messages if isinstance(m.get("data"), dict)]

    def plan_calls(self) -> list[dict[str, Any]]:
        """An explicit plan's calls as given (``$ref``s kept): from the transcript's first AI
        message, or from the recorded calls when the run has no transcript."""
        for msg in self.transcript():
            calls = msg.get("data", {}).get("tool_calls") if msg.get("type") == "ai" else None
            if calls is not None:
                return [{"name": c["name"], "args": c.get("args") or {}, "id": c["id"]}
                        for c in calls]
        return [{"name": r["tool_name"], "args": r.get("args") or {}, "id": r["call_id"]}
                for s in self.tool_steps for r in s.rows]


def load_recording(store: TraceStore, id_or_prefix: str) -> Recording:
    """Read a run (an id or a unique prefix; ``RunNotFoundError`` otherwise)."""
    run = store.get_run(id_or_prefix)
    return recording_from(run)


def recording_from(run: dict[str, Any]) -> Recording:
    """A ``Recording`` from ``TraceStore.get_run``'s dict."""
    steps = run.get("steps") or []
    by_step: dict[str, list[dict[str, Any]]] = {}
    for row in run.get("tool_calls") or []:
        by_step.setdefault(row["step_id"], []).append(row)
    messages = run.get("messages") or []
    by_seq = {m.get("seq"): m["data"] for m in messages if isinstance(m.get("data"), dict)}
    tool_steps, model_steps, ask_steps = [], [], []
    for s in steps:
        kind, data = s.get("kind"), s.get("data") if isinstance(s.get("data"), dict) else {}
        seq = int(s["seq"])
        if kind == "tool_calls":
            rows = sorted(by_step.get(s["id"], []), key=lambda r: r.get("seq") or 0)
            tool_steps.append(ToolStep(seq, s.get("name"), rows))
        elif kind == "model":
            model_steps.append(ModelStep(seq, s.get("name"), s.get("status") or "",
                                         _reply(data, by_seq), data.get("error"),
                                         data.get("tools")))
        elif kind == "ask":
            ask_steps.append(AskStep(seq, data.get("question") or s.get("name") or "",
                                     s.get("status") or "", data.get("answer")))
    _fill_replies(model_steps, messages)
    return Recording(
        row={k: v for k, v in run.items()
             if k not in ("steps", "tool_calls", "messages", "tools", "labels")},
        steps=steps, tool_steps=tool_steps, model_steps=model_steps, ask_steps=ask_steps,
        messages=messages, tools=run.get("tools") or [],
        labels={lb["key"]: lb["value"] for lb in run.get("labels") or []},
    )


def _reply(data: dict[str, Any], by_seq: dict[Any, Any]) -> dict[str, Any] | None:
    """A model step's reply: the transcript message at the step's ``message`` seq (runs
    recorded before that kept the reply itself in the step)."""
    if "message" in data:
        return by_seq.get(data["message"])
    return data.get("reply")


def _fill_replies(model_steps: list[ModelStep], messages: list[dict[str, Any]]) -> None:
    """Runs recorded before replies were kept with their steps: take the model's messages
    from the transcript, in order (they are the AI messages in full ``message_to_dict``
    form, which has ``usage_metadata``; the runtime's own AI messages do not)."""
    missing = [m for m in model_steps if m.status == "ok" and m.reply is None]
    if not missing:
        return
    replies = [m["data"] for m in messages if isinstance(m.get("data"), dict)
               and m["data"].get("type") == "ai" and "usage_metadata" in m["data"]["data"]]
    ok = [m for m in model_steps if m.status == "ok"]
    if len(replies) == len(ok):
        for step, reply in zip(ok, replies, strict=True):
            step.reply = step.reply or reply
