"""Plugin: any installed LangChain chat model by id, so ``--model`` reaches the whole ecosystem.

Two id forms under the ``langchain:`` prefix:

- ``langchain:PROVIDER:MODEL`` uses LangChain's own ``init_chat_model`` (needs the
  ``langchain`` package and the provider's, e.g. ``pip install langchain langchain-ollama``):
  ``langchain:ollama:llama3.2``, ``langchain:anthropic:claude-sonnet-4-5``.
- ``langchain:package.module.ClassName`` imports that ``BaseChatModel`` class directly (only
  the provider package is needed): ``langchain:langchain_ollama.ChatOllama?model=llama3.2``.

Query parameters become keyword arguments of the model (values are read as JSON when they
parse, so ``temperature=0`` is a number and ``responses=["a","b"]`` a list); keyword
arguments given in code override them. Nothing is imported until a model is made.
"""

from __future__ import annotations

import importlib
import json
from typing import Any
from urllib.parse import parse_qsl

from agent.hookspecs import hookimpl
from agent.models import ModelError

PREFIX = "langchain:"


def parse_id(model_id: str) -> tuple[str, dict[str, Any]]:
    """``langchain:TARGET?k=v`` -> (TARGET, {k: v}), values decoded as JSON when they parse."""
    body = model_id.removeprefix(PREFIX)
    target, _, query = body.partition("?")
    options: dict[str, Any] = {}
    for key, raw in parse_qsl(query, keep_blank_values=True):
        try:
            options[key] = json.loads(raw)
        except ValueError:
            options[key] = raw
    if not target.strip():
        raise ModelError(f"model id {model_id!r} names no model: use langchain:PROVIDER:MODEL "
                         "or langchain:package.module.ClassName")
    return target.strip(), options


def langchain_model(model_id: str = "", **kwargs: Any) -> Any:
    """The chat model a ``langchain:`` id names (see the module docstring)."""
    target, options = parse_id(model_id)
    options.update(kwargs)
    if ":" in target:
        provider, _, name = target.partition(":")
        return _init_chat_model(provider, name, options)
    return _from_class(target, options)


def _init_chat_model(provider: str, name: str, options: dict[str, Any]) -> Any:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ModelError(
            f"langchain:{provider}:{name} needs the langchain package: pip install langchain "
            f"langchain-{provider} (or name the class: langchain:package.module.ClassName)"
        ) from None
    try:
        return init_chat_model(name, model_provider=provider, **options)
    except (ImportError, ValueError, TypeError) as exc:
        raise ModelError(f"langchain:{provider}:{name}: {exc}") from None


def _from_class(path: str, options: dict[str, Any]) -> Any:
    from langchain_core.language_models import BaseChatModel

    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ModelError(f"langchain:{path}: name the class with its module, e.g. "
                         "langchain:langchain_ollama.ChatOllama")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"langchain:{path}: cannot import {module_name} ({exc}); install the "
                         "package that provides it") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseChatModel)):
        raise ModelError(f"langchain:{path}: {class_name} in {module_name} is not a LangChain "
                         "chat model (a BaseChatModel subclass)")
    try:
        return cls(**options)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).strip().splitlines()
        raise ModelError(f"langchain:{path}: bad options {sorted(options)}: "
                         f"{' '.join(first[:3])}") from None


@hookimpl
def register_models(register: Any) -> None:
    register(PREFIX, langchain_model,
             description="any installed LangChain chat model: langchain:PROVIDER:MODEL "
             "(init_chat_model) or langchain:package.module.ClassName?option=value")
