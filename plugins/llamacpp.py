"""Plugin: GGUF models run in process by llama.cpp (xllamacpp), by id ``local:PATH.gguf``.

The model itself, its options and how to point it at a bigger GGUF are documented in
``agent.plugins.llamacpp_chat``. This module only registers the ``local:`` prefix; the model
module (langchain-core, xllamacpp) is imported when a model is made, so loading the plugins
stays cheap.
"""

from __future__ import annotations

from typing import Any

from agent.hookspecs import hookimpl

PREFIX = "local:"


def local_model(model_id: str = "", **options: Any) -> Any:
    """The ``local:`` prefix claim: ``local:PATH[?n_ctx=...&threads=...]``."""
    from agent.plugins.llamacpp_chat import local_model as make

    return make(model_id, **options)


@hookimpl
def register_models(register: Any) -> None:
    register(PREFIX, local_model,
             description="any GGUF file run in process by llama.cpp: local:PATH.gguf")
