"""OpenAI-compatible chat models over aiohttp: OpenAI, vLLM, Ollama, llama.cpp servers.

Model ids (``--model ID``, ``$AGENT_MODEL``, ``Agent(model=ID)``):

- ``openai:NAME``: model ``NAME`` at ``$OPENAI_BASE_URL`` (default
  ``https://api.openai.com/v1``) with the key in ``$OPENAI_API_KEY``;
  e.g. ``openai:gpt-4o-mini``.
- ``http://HOST:PORT/v1#NAME`` (or ``https://...``): model ``NAME`` at any OpenAI-compatible
  server, e.g. ``http://127.0.0.1:8080/v1#qwen2.5`` (``#NAME`` may be left out for servers
  that serve one model, such as llama.cpp's). The key, if the server wants one, is read from
  ``$OPENAI_COMPAT_API_KEY``: your OpenAI key is never sent to a URL you typed.

In code: ``OpenAICompatChatModel(model="NAME", base_url="...", api_key="...")``.

``bind_tools`` takes our ``Tool.spec()`` dicts and anything ``convert_to_openai_tool``
accepts; replies carry ``tool_calls`` (arguments decoded; malformed ones land in
``invalid_tool_calls``) and ``usage_metadata``. A server that ignores ``tools`` (llama.cpp's
with a chat template that has none) is asked the prompted way instead (``tool_calling``).
``streaming=True`` (or ``astream``) reads server-sent events. A 429 or 5xx is retried with
exponential backoff, honouring ``Retry-After``; a 401, 404, refused connection, timeout or
malformed body raises one ``agent.models.ModelError`` with a one-line message. The API key is
never logged nor put in an error message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal

import aiohttp
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    InvalidToolCall,
    ToolCall,
    ToolCallChunk,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, SecretStr

from agent.errors import ModelNotFoundError
from agent.models import ModelError
from agent.plugins.openai_prompted import (
    KNOWN,
    made_call,
    probe_body,
    prompted_body,
    prompted_result,
    with_usage,
)
from agent.plugins.openai_wire import (
    connect_reason,
    error_detail,
    json_reply,
    parse_tool_call,
    retry_after,
    sse_data,
    tool_spec,
    usage_of,
)
from agent.plugins.prompted_tools import requires_call, whole_chunk

log = logging.getLogger("agent.models.openai")

OPENAI_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAICompatChatModel(BaseChatModel):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    model_config = ConfigDict(populate_by_name=True)

    model_name: str = Field(default="default", alias="model")
    base_url: str | None = None
    """Up to and including ``/v1``; default ``$OPENAI_BASE_URL``, else OpenAI's."""
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
    """Default: the environment variable named by ``api_key_env``."""
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = None
    max_tokens: int | None = None
    streaming: bool = False
    max_retries: int = 3
    """Retries after a 429 or a 5xx (so at most ``max_retries + 1`` requests)."""
    backoff: float = 0.5
    """First wait before a retry, doubled each time, when there is no ``Retry-After``."""
    max_wait: float = 30.0
    """No single wait (``Retry-After`` included) is longer than this."""
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    """Longest silence while waiting for (a chunk of) the reply, in seconds."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """More fields for the request body (``top_p``, ``seed``, ``response_format``, ...)."""
    tool_calling: Literal["auto", "native", "prompted"] = "auto"
    """How bound tools are offered. ``native``: the request's ``tools``. ``prompted``: described
    in the system message, the reply constrained to a JSON call or answer by
    ``response_format`` (``agent.plugins.prompted_tools``), for servers whose chat template has
    no tools. ``auto``: native where the server calls tools, prompted where it ignores them
    (learned once per endpoint and model: from a request that requires a call and gets
    none, which is then asked again prompted, or from a probe before the first request with
    tools that does not require one)."""

    @property
    def _llm_type(self) -> str:
        return "openai-compat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "base_url": self.url}

    # Configuration ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The ``/chat/completions`` endpoint."""
        base = self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
        return base.rstrip("/") + "/chat/completions"

    def _key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value() or None
        return os.environ.get(self.api_key_env) or None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.url.startswith(OPENAI_URL + "/"):  # a sure 401, after a round trip
            raise ModelError(f"no API key for {self.url}: set ${self.api_key_env} (or "
                             "$OPENAI_BASE_URL for another server)")
        return headers

    def _body(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool,
              **kwargs: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_name,
                                "messages": convert_to_openai_messages(messages)}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if stop:
            body["stop"] = stop
        body.update(self.extra_body)
        body.update({k: v for k, v in kwargs.items()
                     if v is not None and not k.startswith("ls_")})
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    # Tools --------------------------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools: ``Tool.spec()`` dicts, functions, pydantic models, LangChain tools.

        ``tool_choice``: ``"auto"``, ``"none"``, ``"required"`` (or ``"any"``), or a tool name.
        """
        specs = [tool_spec(t) for t in tools]
        if tool_choice is not None:
            names = {s["function"]["name"] for s in specs}
            if tool_choice == "any":
                tool_choice = "required"
            if tool_choice in names:
                kwargs["tool_choice"] = {"type": "function", "function": {"name": tool_choice}}
            else:
                kwargs["tool_choice"] = tool_choice
        return self.bind(tools=specs, **kwargs)

    # Generation ---------------------------------------------------------------------------
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return await agenerate_from_stream(
                self._astream(messages, stop, run_manager, **kwargs)
            )
        spent: UsageMetadata | None = None
        if kwargs.get("tools") and self.tool_calling != "native":
            native, spent = await self._takes_tools(kwargs)
            if not native:
                return with_usage(await self._prompted(messages, stop, **kwargs), spent)
        result = await self._request(self._body(messages, stop, stream=False, **kwargs))
        if (self.tool_calling == "auto" and kwargs.get("tools")
                and requires_call(kwargs.get("tool_choice"))):
            called = made_call(result)
            KNOWN[self._server_key] = bool(called)
            if not called:
                log.info("%s ignored the tools (a call was required, none came): describing "
                         "them in the prompt from now on", self.url)
                spent = add_usage(spent, _usage(result))
                return with_usage(await self._prompted(messages, stop, **kwargs), spent)
        return with_usage(result, spent)

    async def _request(self, body: dict[str, Any]) -> ChatResult:
        async with self._session() as session, self._post(session, body) as resp:
            try:
                text = await resp.text()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise self._transport_error(exc) from None
        return self._result(json_reply(text, self.url))

    # Prompted tool calls (openai_prompted) ------------------------------------------------
    @property
    def _server_key(self) -> tuple[str, str]:
        return (self.url, self.model_name)

    async def _takes_tools(self, kwargs: dict[str, Any]) -> tuple[bool, UsageMetadata | None]:
        """Does the server call the tools it is given (``tool_calling``)? And the tokens a
        probe spent finding out, if one had to.

        Known from an earlier request, or assumed for OpenAI and for a request that requires
        a call (its reply tells); else a probe asks for a call of ``ping``, once."""
        if self.tool_calling == "prompted":
            return False, None
        known = KNOWN.get(self._server_key)
        if known is not None:
            return known, None
        if requires_call(kwargs.get("tool_choice")) or self.url.startswith(OPENAI_URL + "/"):
            return True, None
        try:
            probe = await self._request(probe_body(self.model_name))
        except ModelError as exc:
            if exc.status not in (400, 422):  # the request itself would fail the same way
                raise
            KNOWN[self._server_key] = True  # refuses tool_choice "required": ask natively
            return True, None
        called = made_call(probe, probe=True)
        if called is not None:
            KNOWN[self._server_key] = called
            log.info("%s %s tools", self.url, "calls" if called else "ignores")
        return called is not False, _usage(probe)

    async def _prompted(self, messages: list[BaseMessage], stop: list[str] | None,
                        **kwargs: Any) -> ChatResult:
        """The tools described in the system message, the reply constrained to one JSON call
        or answer, parsed into ``tool_calls`` (what the embedded local model does)."""
        tools, choice = kwargs.pop("tools"), kwargs.pop("tool_choice", None)
        body = prompted_body(self._body([], stop, stream=False, **kwargs), messages, tools,
                             choice)
        return prompted_result(await self._request(body))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        coro = self._agenerate(messages, stop, None, **kwargs)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from inside a loop
            return pool.submit(asyncio.run, coro).result()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        spent: UsageMetadata | None = None
        if kwargs.get("tools") and self.tool_calling != "native":
            native, spent = await self._takes_tools(kwargs)
            if not native:  # one JSON object: parsed whole, sent as one chunk
                result = with_usage(await self._prompted(messages, stop, **kwargs), spent)
                yield whole_chunk(result.generations[0].message)
                return
        if spent is not None:  # a probe's tokens: counted when the chunks are added up
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=spent))
        body = self._body(messages, stop, stream=True, **kwargs)
        async with self._session() as session, self._post(session, body) as resp:
            try:
                async for data in sse_data(resp, self.url):
                    chunk = self._chunk(data)
                    if chunk is None:
                        continue
                    if run_manager is not None and isinstance(chunk.message.content, str):
                        await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
                    yield chunk
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise self._transport_error(exc) from None

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The async stream, run in a worker thread's event loop; chunks come as they arrive."""
        items: queue.Queue[ChatGenerationChunk | BaseException | None] = queue.Queue()

        async def pump() -> None:
            try:
                async for chunk in self._astream(messages, stop, None, **kwargs):
                    items.put(chunk)
            except BaseException as exc:
                items.put(exc)
            finally:
                items.put(None)

        worker = threading.Thread(target=asyncio.run, args=(pump(),), daemon=True)
        worker.start()
        while (item := items.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if run_manager is not None and isinstance(item.message.content, str):
                run_manager.on_llm_new_token(item.message.content, chunk=item)
            yield item
        worker.join()

    # HTTP ---------------------------------------------------------------------------------
    def _session(self) -> aiohttp.ClientSession:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout,
                                        sock_read=self.read_timeout)
        return aiohttp.ClientSession(timeout=timeout)

    def _post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> _Response:
        return _Response(self, session, body)

    def _transport_error(self, exc: BaseException) -> ModelError:
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            return ModelError(f"no reply from {self.url} within {self.read_timeout:g} s "
                              "(read timeout)")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return ModelError(f"cannot connect to {self.url}: {connect_reason(exc)}; "
                              "is the server running?")
        return ModelError(f"the connection to {self.url} failed: {type(exc).__name__}: "
                          f"{self._redact(str(exc))}")

    def _status_error(self, status: int, text: str, attempts: int) -> ModelError:
        detail = self._redact(error_detail(text))
        if status in (401, 403):
            who = ("the API key given" if self.api_key is not None
                   else f"${self.api_key_env}" if self._key() else f"no key (${self.api_key_env} "
                   "is not set)")
            return ModelError(f"{self.url} refused the request (HTTP {status}): check the API "
                              f"key: it used {who}", status=status)
        if status == 404:
            return ModelError(f"model {self.model_name!r} or URL {self.url} not found "
                              f"(HTTP 404){': ' + detail if detail else ''}", status=status)
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        return ModelError(f"{self.url} answered HTTP {status}{tried}"
                          f"{': ' + detail if detail else ''}", status=status)

    def _redact(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key else text

    # Parsing ------------------------------------------------------------------------------
    def _result(self, data: dict[str, Any]) -> ChatResult:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ModelError(f"malformed reply from {self.url}: no choices")
        choice = choices[0]
        msg = choice.get("message")
        if not isinstance(msg, dict):
            raise ModelError(f"malformed reply from {self.url}: the choice has no message")
        content = msg.get("content") or ""
        if not isinstance(content, str):
            content = json.dumps(content)
        tool_calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for raw in msg.get("tool_calls") or []:
            parse_tool_call(raw, tool_calls, invalid)
        meta: dict[str, Any] = {"model_name": data.get("model") or self.model_name,
                                "finish_reason": choice.get("finish_reason")}
        if data.get("id"):
            meta["id"] = data["id"]
        message = AIMessage(content=content, tool_calls=tool_calls, invalid_tool_calls=invalid,
                            usage_metadata=usage_of(data.get("usage")), response_metadata=meta,
                            id=data.get("id"))
        return ChatResult(generations=[ChatGeneration(message=message)],
                          llm_output={"model_name": meta["model_name"]})

    def _chunk(self, data: dict[str, Any]) -> ChatGenerationChunk | None:
        usage = usage_of(data.get("usage"))
        choices = data.get("choices") or []
        if not choices:
            if usage is None:
                return None
            return ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))
        choice = choices[0] if isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or {}
        chunks: list[ToolCallChunk] = []
        for i, raw in enumerate(delta.get("tool_calls") or []):
            fn = raw.get("function") or {}
            chunks.append(ToolCallChunk(name=fn.get("name"), args=fn.get("arguments"),
                                        id=raw.get("id"), index=raw.get("index", i),
                                        type="tool_call_chunk"))
        meta: dict[str, Any] = {}
        if choice.get("finish_reason"):
            meta = {"finish_reason": choice["finish_reason"],
                    "model_name": data.get("model") or self.model_name}
        message = AIMessageChunk(content=delta.get("content") or "", tool_call_chunks=chunks,
                                 usage_metadata=usage, response_metadata=meta,
                                 id=data.get("id"))
        return ChatGenerationChunk(message=message,
                                   generation_info=meta or None)


def _usage(result: ChatResult) -> UsageMetadata | None:
    return getattr(result.generations[0].message, "usage_metadata", None)


class _Response:
    """``async with``: POST with retries; gives the first response that is not retried."""

    def __init__(self, model: OpenAICompatChatModel, session: aiohttp.ClientSession,
                 body: dict[str, Any]) -> None:
        self.model, self.session, self.body = model, session, body
        self.resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        m = self.model
        url, headers = m.url, m._headers()
        if self.body.get("stream"):
            headers["Accept"] = "text/event-stream"
        log.debug("POST %s model=%s stream=%s", url, m.model_name, bool(self.body.get("stream")))
        for attempt in range(1, m.max_retries + 2):
            try:
                resp = await self.session.post(url, json=self.body, headers=headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise m._transport_error(exc) from None
            if resp.status < 400:
                self.resp = resp
                return resp
            try:
                text = await resp.text()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise m._transport_error(exc) from None
            finally:
                resp.release()
            if resp.status not in RETRY_STATUSES and resp.status < 500:
                raise m._status_error(resp.status, text, attempt)
            if attempt > m.max_retries:
                raise m._status_error(resp.status, text, attempt)
            wait = retry_after(resp.headers.get("Retry-After"))
            if wait is None:
                wait = m.backoff * 2 ** (attempt - 1)
            wait = min(max(wait, 0.0), m.max_wait)
            log.info("%s answered HTTP %s; retrying in %.1f s (%d/%d)", url, resp.status, wait,
                     attempt, m.max_retries)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def __aexit__(self, *exc: object) -> None:
        if self.resp is not None:
            self.resp.release()


# Registration -----------------------------------------------------------------------------
def openai_model(model_id: str = "", **options: Any) -> OpenAICompatChatModel:
    """``openai:NAME``: at ``$OPENAI_BASE_URL`` or OpenAI, key from ``$OPENAI_API_KEY``."""
    name = model_id.partition(":")[2].strip()
    if not name:
        raise ModelNotFoundError("give a model name: openai:NAME (e.g. openai:gpt-4o-mini)")
    return OpenAICompatChatModel(model=name, **options)


def url_model(model_id: str = "", **options: Any) -> OpenAICompatChatModel:
    """``http(s)://HOST:PORT/v1#NAME``: any server; key from ``$OPENAI_COMPAT_API_KEY``."""
    base, _, name = model_id.strip().partition("#")
    if not base.partition("://")[2].strip("/"):
        raise ModelNotFoundError("give the server's URL: http://HOST:PORT/v1#MODEL")
    options.setdefault("api_key_env", "OPENAI_COMPAT_API_KEY")
    return OpenAICompatChatModel(model=name.strip() or "default", base_url=base, **options)
