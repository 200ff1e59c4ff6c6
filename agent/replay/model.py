"""The replay chat models: langchain-core ``BaseChatModel``s that answer with the recorded
replies of the run being replayed, and with a live model where the replay goes live (a fork).

The recording in use is found through ``session.CURRENT`` (a context variable), so one model
object can serve many replays, concurrent ones included. Two classes, because planners look
at the model's type: ``ReplayChatModel`` has native tool calling (``bind_tools``), as the
recorded model had when tools were bound to it; ``ReplayTextModel`` has not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, messages_from_dict
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from .errors import ReplayError, ReplayMissing
from .session import CURRENT, Cursor


class ReplayTextModel(BaseChatModel):
    """Serves recorded replies; ``live`` (a chat model or ``None``) answers the rest."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    live: Any = None

    @property
    def _llm_type(self) -> str:
        return "replay"

    @property
    def model_name(self) -> str:
        """The name of the recorded model step being replayed (steps keep their names)."""
        cursor = CURRENT.get()
        name = cursor.model_name() if cursor is not None else None
        if name:
            return name
        live = self.live
        return str(getattr(live, "model_name", None) or type(live).__name__ if live
                   else "replay")

    def _cursor(self) -> Cursor:
        cursor = CURRENT.get()
        if cursor is None:
            raise ReplayError("a replay model answers only inside a replay (agent replay ...)")
        return cursor

    def _recorded(self) -> tuple[AIMessage, int] | None:
        served = self._cursor().model_reply()
        if served is None:
            return None
        reply, seq = served
        message = messages_from_dict([reply])[0]
        if not isinstance(message, AIMessage):
            raise ReplayError(f"the recorded model reply is a {message.type} message, "
                              "not an AI message")
        return message, seq

    def _live(self) -> Any:
        if self.live is None:
            raise ReplayMissing("the replay went live at a model step, but no live model was "
                                "given: pass --model ID")
        return self.live

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        raise ReplayError("replay models are async: use ainvoke/astream (agent runs do)")

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        served = self._recorded()
        if served is None:
            tools = kwargs.pop("tools", None)
            live = self._live()
            runnable = live.bind_tools(tools) if tools else live
            message = await runnable.ainvoke(messages, stop=stop, **kwargs)
        else:
            message, seq = served
            await self._cursor().order.turn(seq)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise ReplayError("replay models are async: use ainvoke/astream (agent runs do)")

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        served = self._recorded()
        if served is None:
            async for chunk in self._live().astream(messages, stop=stop, **kwargs):
                yield ChatGenerationChunk(message=chunk)
            return
        message, seq = served
        yield ChatGenerationChunk(message=AIMessageChunk(
            content=message.content, tool_calls=message.tool_calls,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata, id=message.id))
        # The stream ends (and its step with it) in the original order: tasks started from
        # its lines may have ended first.
        await self._cursor().order.turn(seq)


class ReplayChatModel(ReplayTextModel):
    """The replay model for runs whose model had tools bound natively."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=list(tools), **kwargs)


def replay_model(native_tools: bool, live: Any = None) -> ReplayTextModel:
    cls = ReplayChatModel if native_tools else ReplayTextModel
    return cls(live=live)
