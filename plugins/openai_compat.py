"""Plugin: OpenAI-compatible chat models by id (the model itself: ``agent.plugins.openai_chat``).

Ids: ``openai:NAME`` (OpenAI, or ``$OPENAI_BASE_URL``; key ``$OPENAI_API_KEY``) and
``http://HOST:PORT/v1#NAME`` / ``https://...`` for any compatible server (key, if needed,
``$OPENAI_COMPAT_API_KEY``). This module only registers; aiohttp and langchain-core are
imported when a model is made, so loading the plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

from agent.hookspecs import hookimpl


def openai_model(model_id: str = "", **options: Any) -> Any:
    from agent.plugins.openai_chat import openai_model as make

    return make(model_id, **options)


def url_model(model_id: str = "", **options: Any) -> Any:
    from agent.plugins.openai_chat import url_model as make

    return make(model_id, **options)


@hookimpl
def register_models(register: Any) -> None:
    register("openai:", openai_model,
             description="OpenAI chat models: openai:NAME (key: $OPENAI_API_KEY; another "
             "server: $OPENAI_BASE_URL)")
    register("http:", url_model,
             description="any OpenAI-compatible server: http://HOST:PORT/v1#MODEL (key, if "
             "needed: $OPENAI_COMPAT_API_KEY)")
    register("https:", url_model,
             description="any OpenAI-compatible server: https://HOST/v1#MODEL (key, if "
             "needed: $OPENAI_COMPAT_API_KEY)")
