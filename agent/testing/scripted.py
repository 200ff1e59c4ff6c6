"""A scripted chat model for tests: a langchain-core ``BaseChatModel`` that replies from a
list, records every request, and streams. Plugin authors test planners and model-driven runs
with it (the ``scripted_model`` fixture) instead of a real LLM.

Each script item is an ``AIMessage``, a string (a plain text reply), or a callable
``(messages) -> AIMessage | str`` for replies that depend on the request. Replies without
``usage_metadata`` get ``DEFAULT_USAGE``. ``bind_tools`` records the tools; every request is
kept in ``requests`` as ``Request(messages, tools)``. ``_astream`` yields the reply's text in
chunks of ``chunk_chars`` (or the item's own chunk list, see ``Chunks``), sleeping
``chunk_delay`` seconds (or per-chunk delays) before each chunk; the usage rides on the last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

DEFAULT_USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


@dataclass
class Chunks:
    """A streamed reply given as explicit chunks, each ``(delay_seconds, text)``."""

    parts: Sequence[tuple[float, str]]
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.parts)


@dataclass
class Request:
    messages: list[BaseMessage]
    tools: list[dict[str, Any]] | None
    at: float
    tool_choice: Any = None


def call(name: str, args: dict[str, Any] | None = None, id: str | None = None,
         text: str = "", usage: dict[str, int] | None = None) -> AIMessage:
    """An AI message with one tool call."""
    return calls([(name, args or {}, id)], text=text, usage=usage)


def calls(items: Sequence[tuple[str, dict[str, Any], str | None]], text: str = "",
          usage: dict[str, int] | None = None) -> AIMessage:
    """An AI message with several tool calls ``(name, args, id)``."""
    return AIMessage(content=text, tool_calls=[
        {"name": n, "args": a, "id": i or f"c{k}"} for k, (n, a, i) in enumerate(items, 1)],
        usage_metadata=usage or dict(DEFAULT_USAGE))


def say(text: str, usage: dict[str, int] | None = None) -> AIMessage:
    return AIMessage(content=text, usage_metadata=usage or dict(DEFAULT_USAGE))


class ScriptedTextModel(BaseChatModel):
    """Replies from ``script`` in order; raises ``IndexError`` when it runs out. No native
    tool calling (``bind_tools`` is langchain-core's, which raises)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any]
    latency: float = 0.0
    chunk_chars: int = 16
    chunk_delay: float = 0.0
    requests: list[Request] = Field(default_factory=list)
    bound: list[list[dict[str, Any]]] = Field(default_factory=list)
    position: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def model_name(self) -> str:
        return "scripted"

    # Replies ---------------------------------------------------------------------------------
    def _next(self, messages: list[BaseMessage], tools: Any, tool_choice: Any = None) -> Any:
        self.requests.append(Request(list(messages), tools, time.perf_counter(), tool_choice))
        if self.position >= len(self.script):
            raise IndexError(f"the script has only {len(self.script)} replies")
        item = self.script[self.position]
        self.position += 1
        if callable(item) and not isinstance(item, BaseMessage):
            item = item(messages)
        return item

    @staticmethod
    def _message(item: Any) -> AIMessage:
        if isinstance(item, Chunks):
            return AIMessage(content=item.text, usage_metadata=item.usage)
        if isinstance(item, str):
            return say(item)
        if isinstance(item, AIMessage):
            if item.usage_metadata is None:
                item = item.model_copy(update={"usage_metadata": dict(DEFAULT_USAGE)})
            return item
        raise TypeError(f"unsupported script item {item!r}")

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        item = self._message(self._next(messages, kwargs.get("tools"), kwargs.get("tool_choice")))
        return ChatResult(generations=[ChatGeneration(message=item)])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._generate(messages, stop, None, **kwargs)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise NotImplementedError("use astream")

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        item = self._next(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        if self.latency:
            await asyncio.sleep(self.latency)
        if isinstance(item, Chunks):
            parts, usage = list(item.parts), item.usage
        else:
            message = self._message(item)
            body = str(message.text)
            size = self.chunk_chars
            parts = [(self.chunk_delay, body[i:i + size]) for i in range(0, len(body), size)]
            usage = dict(DEFAULT_USAGE) if message.usage_metadata is None else {
                k: v for k, v in message.usage_metadata.items() if isinstance(v, int)}
        for k, (delay, text) in enumerate(parts):
            if delay:
                await asyncio.sleep(delay)
            last = k == len(parts) - 1
            yield ChatGenerationChunk(message=AIMessageChunk(
                content=text, usage_metadata=usage if last else None))  # type: ignore[arg-type]


class ScriptedChatModel(ScriptedTextModel):
    """The scripted model with native tool calling: ``bind_tools`` records the tools."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        specs = [convert_to_openai_tool(t) for t in tools]
        self.bound.append(specs)
        return self.bind(tools=specs, **kwargs)


def scripted(*items: Any, native_tools: bool = True, **options: Any) -> ScriptedTextModel:
    """A scripted model replying ``items`` in order (``native_tools=False``: no tool calling)."""
    cls = ScriptedChatModel if native_tools else ScriptedTextModel
    return cls(script=list(items), **options)
