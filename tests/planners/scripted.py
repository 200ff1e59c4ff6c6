"""The scripted chat model (now shipped as ``agent.testing.scripted`` for plugin authors too)
and the real local model for end-to-end planner runs."""

from __future__ import annotations

from typing import Any

from agent.testing.scripted import (
    DEFAULT_USAGE,
    Chunks,
    Request,
    ScriptedChatModel,
    ScriptedTextModel,
    call,
    calls,
    say,
    scripted,
)

__all__ = [
    "DEFAULT_USAGE",
    "Chunks",
    "Request",
    "ScriptedChatModel",
    "ScriptedTextModel",
    "all_calls_validated",
    "call",
    "calls",
    "local_model",
    "say",
    "scripted",
]


def local_model(**options: Any) -> Any:
    """SmolLM2-135M through the embedded llama.cpp plugin (xllamacpp comes with the ``dev``
    extra; ``tests/support/models.py`` fetches the GGUF file on first use)."""
    from support.models import smollm2_path

    from agent.plugins.llamacpp_chat import LlamaCppChatModel

    path = smollm2_path()

    return LlamaCppChatModel(model_path=str(path), **{"n_ctx": 2048, "max_tokens": 48,
                                                      **options})


def all_calls_validated(agent: Any, run: Any) -> bool:
    """Every call the run made names an offered tool and has arguments that validate."""
    return all(r.name in agent.tools and agent.tools[r.name].is_valid(r.args or {})
               for r in run.results)
