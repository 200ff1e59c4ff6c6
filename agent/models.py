"""Chat models: pick one by id (or the ``AGENT_MODEL`` default) and list what is available.

A model is a langchain-core ``BaseChatModel``; plugins offer them through the
``register_models`` hook, either under a fixed id or by claiming a prefix (``openai:``,
``local:``, ``http:``) whose factory receives the whole id.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from agent.errors import AgentError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.registry import Registry

DEFAULT_MODEL_ENV = "AGENT_MODEL"


class ModelError(AgentError):
    """A chat model could not answer: bad API key, unknown model or URL, server down, bad reply.

    The message is one line meant for the user; ``status`` is the HTTP status when there was
    one. It never contains an API key.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(" ".join(message.split()))


class ModelInfo(NamedTuple):
    """One row of ``agent models``: an id (or a prefix ending in ``:``) and where it comes from."""

    id: str
    plugin: str | None
    description: str


def default_model_id() -> str | None:
    """The model id from ``$AGENT_MODEL``, or ``None`` when it is unset or empty."""
    return os.environ.get(DEFAULT_MODEL_ENV, "").strip() or None


def resolve_model(
    spec: str | BaseChatModel | None, registry: Registry | None = None, **options: Any
) -> BaseChatModel | None:
    """A chat model from an id, a model object, or ``None`` (then ``$AGENT_MODEL``, if set).

    A string is looked up in the registry (exact ids first, then prefix claims such as
    ``openai:``); an unknown id raises ``ModelNotFoundError``. A model object is returned as
    it is. ``None`` with no ``$AGENT_MODEL`` gives ``None``: the planner may not need one.
    """
    if spec is None:
        spec = default_model_id()
        if spec is None:
            return None
    if not isinstance(spec, str):
        return spec
    if registry is None:
        from agent.registry import build_registry

        registry = build_registry()
    model: BaseChatModel = registry.model(spec.strip(), **options)
    return model


def list_models(registry: Registry) -> list[ModelInfo]:
    """Every registered model id and prefix claim, sorted by id."""
    return [ModelInfo(e.name, e.plugin, e.description)
            for e in sorted(registry.models.values(), key=lambda e: e.name)]
