"""One streamed llama.cpp reply put together: its text, finish reason, usage, and the loop check.

Every request to the embedded model is streamed, even when the caller wants one message,
so a reply that starts to loop can be stopped at once instead of running to ``max_tokens``
(see ``agent.plugins.llamacpp_repeat``). Free text and ``{"answer": ...}`` replies are
checked; a tool call never is (cutting it would break the call).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from agent.errors import AgentError
from agent.plugins.llamacpp_repeat import LoopGuard
from agent.plugins.prompted_tools import parse_reply

ANSWER_HEAD = '{"answer":"'  # how a constrained answer starts (whitespace is not flexible)


class LocalModelReplyError(AgentError):
    """llama.cpp refused a request (the prompt does not fit the context, a bad grammar)."""


class Reply:
    """Collects the chunks of one streamed request; ``looped`` says to stop generating."""

    def __init__(self, model_name: str, constrained: bool, repeats: int) -> None:
        self.model_name = model_name
        self.constrained = constrained
        self.guard = LoopGuard(repeats)
        self.raw = ""
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.error: Any = None

    @property
    def looped(self) -> bool:
        return self.guard.looped

    def feed(self, item: Any) -> str:
        """Take one streamed chunk; return the new text that may be shown now."""
        if not isinstance(item, dict) or "error" in item:
            self.error = item.get("error") if isinstance(item, dict) else item
            return ""
        self.timings = item.get("timings") or self.timings
        self.usage = item.get("usage") or self.usage
        for choice in item.get("choices") or []:
            self.raw += (choice.get("delta") or {}).get("content") or ""
            self.finish = choice.get("finish_reason") or self.finish
        text = self._checked_text()
        if text is None:
            return ""
        return self.guard.finish(text) if self.finish else self.guard.update(text)

    def check(self, returned: Any = None) -> None:
        """Raise the error llama.cpp reported, in a chunk or as the call's return value."""
        error = self.error
        if error is None and isinstance(returned, dict) and "error" in returned:
            error = returned["error"]
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise LocalModelReplyError(f"local model {self.model_name}: {message or error}")

    def message(self) -> AIMessage:
        """The whole reply as one message (a tool call, an answer or free text)."""
        text = self._checked_text()
        if text is not None:
            self.guard.finish(text)
            content, calls = self.guard.final_text(text), []
        elif self.constrained:
            content, calls = parse_reply(self.raw)
        else:
            content, calls = self.raw, []
        return AIMessage(content=content, tool_calls=calls, usage_metadata=self._usage(),
                         response_metadata=self._metadata(timings=True))

    def end_chunk(self) -> ChatGenerationChunk:
        """The last chunk of a stream: any text still held back, the finish reason, usage."""
        text = self._checked_text()
        rest = self.guard.finish(text) if text is not None else ""
        return ChatGenerationChunk(message=AIMessageChunk(
            content=rest, usage_metadata=self._usage(),
            response_metadata=self._metadata(timings=False)))

    def _checked_text(self) -> str | None:
        """The text the loop check reads: free text, or a constrained answer's string."""
        if not self.constrained:
            return self.raw
        if self.raw.startswith(ANSWER_HEAD):
            return parse_reply(self.raw)[0]
        return None

    def _usage(self) -> Any:
        if self.usage:  # the last chunk of a reply that ran to its end
            tokens_in = int(self.usage.get("prompt_tokens", 0))
            tokens_out = int(self.usage.get("completion_tokens", 0))
        else:  # stopped early: the per-token timings still count the tokens
            tokens_in = int(self.timings.get("cache_n", 0)) + int(self.timings.get("prompt_n", 0))
            tokens_out = int(self.timings.get("predicted_n", 0))
        return {"input_tokens": tokens_in, "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out}

    def _metadata(self, timings: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {"model_name": self.model_name,
                                "finish_reason": "stop" if self.looped else self.finish}
        if self.looped:
            meta["repetition_cut"] = True
        if timings:
            meta["timings"] = self.timings
        return meta
