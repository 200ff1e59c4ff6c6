"""Pluggy hook specifications: everything a plugin can contribute or observe.

Registration hooks are called once per registry and receive a ``register`` callback bound to
the calling plugin (so every tool, planner, model and exporter knows where it came from).
Run-time hooks may return an awaitable; the runtime awaits it. No firstresult, no wrappers:
every plugin gets its turn, and one that raises does not stop the others.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("agent")
hookimpl = pluggy.HookimplMarker("agent")


@hookspec
def register_tools(register: Any) -> None:
    """Offer tools: ``register(fn_or_tool, **options)``.

    Accepts a function (decorated with ``@tool`` or not), a ``Tool``, a LangChain ``BaseTool``,
    or a list of them (e.g. ``tools_from_object(obj)``).
    """


@hookspec
def register_planners(register: Any) -> None:
    """Offer planners: ``register(name, factory)``; ``factory(**options)`` returns a planner.

    A planner has ``async def run(self, task, env) -> Answer | str``.
    """


@hookspec
def register_models(register: Any) -> None:
    """Offer chat models: ``register(model_id, factory, description="")``.

    ``factory(**options)`` returns a langchain-core ``BaseChatModel``. An id may end in ``:``
    to claim a prefix (``local:`` receives ``local:/path/model.gguf``).
    """


@hookspec
def register_exporters(register: Any) -> None:
    """Offer trace exporters: ``register(format_name, factory, description="")``.

    ``factory()`` returns an exporter (``agent.export.base.Exporter`` has the defaults).
    ``agent export --format NAME`` streams the matching runs through it, so memory stays flat:

    - ``suffix: str``: the file suffix of one output file (``".jsonl"``).
    - ``stdout: bool``: the output may go to standard output (``-o -``, text formats).
    - ``directory: bool``: the output is always a directory (e.g. an HF dataset); then
      ``split_path(directory, split) -> Path`` names each split's file in it.
    - ``record(run: dict) -> dict | None``: one example from one run as
      ``TraceStore.scan`` yields it (run columns, ``messages`` in langchain-core dict form,
      ``tools`` offered, ``labels``); ``None`` skips the run.
    - ``open(path: Path | None) -> sink``: ``sink.write(record)`` for each record, then
      ``sink.close()``; ``path`` ``None`` means standard output.
    - ``finish(directory: Path, counts: dict[str, int])``: called last for ``directory``
      formats, with the number of records per split (e.g. to write a dataset card).
    """


@hookspec
def register_retrievers(register: Any) -> None:
    """Offer tool retrievers: ``register(name, factory, description="")``.

    ``factory(tools: list[Tool])`` returns an object with
    ``search(query: str, k: int = 10) -> list[agent.retrieval.Hit]`` (best first, scores > 0,
    ``[]`` when nothing fits). ``"bm25"`` is built in; picked by name with
    ``agent.retrieval.retriever_for(tools, name, registry)`` or ``agent tools search --retriever``.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add CLI commands: ``cli.add(name, help, handler, configure=None)``.

    ``configure(parser)`` adds argparse arguments; ``handler(args)`` returns an exit code.
    """


@hookspec
def generation_sandbox(root: Any, settings: dict[str, Any]) -> None:
    """Prepare the sandbox ``agent generate`` runs its examples in.

    ``root`` (a ``pathlib.Path``) is an empty directory made for the job, one per worker
    process; write into it the files your tools' templates and parameter examples name (a
    sample database, documents), and put into ``settings`` the tool settings that point
    your tools at them (``settings["files_root"] = str(root)``). Every generated run gets
    these settings, so examples never touch the user's own files. Content must not depend
    on the clock or the machine: the same seed gives the same dataset everywhere.
    """


@hookspec
def before_tool_call(call: dict[str, Any], tool: Any, context: Any) -> Any:
    """Called after validation and approval, just before a tool runs."""


@hookspec
def after_tool_call(call: dict[str, Any], tool: Any, result: Any, context: Any) -> Any:
    """Called with every tool result, errors included."""


@hookspec
def on_step(run: Any, step: Any) -> Any:
    """Called when a step (a tool-call batch, a model call, a question) ends."""


@hookspec
def on_run_end(run: Any) -> Any:
    """Called once per run, whatever its status."""
