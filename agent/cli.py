"""The ``agent`` command: parse, call the library, print. No SQL and no business logic here.

Start-up is kept small: only argparse is imported before a command runs; each handler imports
what it needs. Plugin commands (``register_commands``) are loaded only when the first word
is not a built-in command, so ``agent --help`` never pays for plugin discovery.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # no typing import at start-up: `agent --help` must stay fast
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    Handler = Callable[[argparse.Namespace], int]

EPILOG = """\
Plugins may add more commands: `agent plugins` lists them.
Traces go to $AGENT_HOME/traces.db (or your user data directory); --db overrides."""


def _parser() -> tuple[argparse.ArgumentParser, Any]:
    p = argparse.ArgumentParser(
        prog="agent",
        description="Plan and run tool calls, keep every run as a trace.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"agent {_version()}")
    p.add_argument("--db", metavar="PATH", help="trace database (default: $AGENT_HOME/traces.db)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("tools", help="list the tools the installed plugins offer")
    t.add_argument("--json", action="store_true", help="print the tool specs as JSON")
    t.set_defaults(handler=_lazy("agent.commands.tools", "list_tools"))
    t_sub = t.add_subparsers(dest="tools_command", metavar="SUBCOMMAND")
    tsr = t_sub.add_parser("search", help="the tools that fit a query, best first")
    tsr.add_argument("query", help="what you want to do, in words")
    tsr.add_argument("-k", type=int, default=10, help="how many tools (default 10)")
    tsr.add_argument("--retriever", default="bm25", help="retriever (plugins may add more)")
    tsr.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                     help="print as JSON")
    tsr.set_defaults(handler=_lazy("agent.commands.search", "search_tools"))

    pl = sub.add_parser("plugins", help="list plugins, their hooks and load errors")
    pl.add_argument("--json", action="store_true", help="print as JSON")
    pl.set_defaults(handler=_lazy("agent.commands.tools", "list_plugins"))

    r = sub.add_parser("run", help='answer a query with a planner: agent run "..."',
                       description="Plan and run the tool calls a query needs (default planner: "
                       "dataflow, no LLM). Without a terminal, a query that lacks information "
                       "ends with status needs_input; finish it with --resume.")
    r.add_argument("query", nargs="*", help="the query (with --resume: field=value answers)")
    r.add_argument("--resume", metavar="RUN_ID", help="answer a run that needs input")
    r.add_argument("--planner", help="planner name (default: dataflow)")
    r.add_argument("--model", help="model id, for planners that need one")
    r.add_argument("-o", "--planner-option", action="append", metavar="KEY=VALUE",
                   help="an option of the planner, e.g. max_tools=10 (repeatable; also "
                   "[planners.NAME] in agent.toml)")
    r.add_argument("--no-input", action="store_true", help="never ask at the terminal")
    _add_run_flags(r)
    r.set_defaults(handler=_lazy("agent.commands.run", "run_query"))

    ch = sub.add_parser("chat", help="talk to the agent: a REPL with line editing and history",
                        description="Ask, answer follow-up questions, see each call and its "
                        "result. Every turn is a traced run; one session groups them. "
                        "Slash commands: /help.")
    ch.add_argument("--planner", help="planner name (default: dataflow)")
    ch.add_argument("--model", help="model id, for planners that need one")
    ch.add_argument("-o", "--planner-option", action="append", metavar="KEY=VALUE",
                    help="an option of the planner, e.g. max_tools=10 (repeatable; also "
                    "[planners.NAME] in agent.toml)")
    ch.add_argument("-y", "--yes", action="store_true",
                    help="approve tools with side effects without asking")
    ch.set_defaults(handler=_lazy("agent.commands.chat", "chat"))

    ev = sub.add_parser("eval", help="pass rate of a planner on queries with gold plans",
                        description="Run each query of QUERIES.jsonl ({id, group, query, answers, "
                        "plan}) with the planner, answering its questions from 'answers', and "
                        "compare the calls and final outputs with the gold plan's.")
    ev.add_argument("file", metavar="QUERIES.jsonl")
    ev.add_argument("--planner", help="planner name (default: dataflow)")
    ev.add_argument("-o", "--planner-option", action="append", metavar="KEY=VALUE",
                    help="an option of the planner, e.g. max_tools=10 (repeatable; also "
                    "[planners.NAME] in agent.toml)")
    ev.add_argument("-v", "--verbose", action="store_true", help="print every query's outcome")
    ev.add_argument("--json", action="store_true", help="the whole report as JSON")
    ev.add_argument("--no-trace", action="store_true", help="do not record the runs")
    ev.add_argument("--fail-under", type=float, metavar="PERCENT",
                    help="exit 1 when the overall pass rate is below PERCENT")
    ev.set_defaults(handler=_lazy("agent.commands.evaluate", "eval_queries"))

    mo = sub.add_parser("models", help="list the chat models the installed plugins offer",
                        description="Model ids for --model (default: $AGENT_MODEL): exact ids "
                        "and prefixes such as openai:NAME or http://HOST:PORT/v1#NAME.")
    mo.add_argument("--json", action="store_true", help="print as JSON")
    mo.set_defaults(handler=_lazy("agent.commands.models", "list_models"))

    pn = sub.add_parser("planners", help="list the planners and their options",
                        description="Planner names for --planner (default: $AGENT_PLANNER), "
                        "each with its options and their defaults; -o KEY=VALUE or "
                        "[planners.NAME] in agent.toml sets them.")
    pn.add_argument("--json", action="store_true", help="print as JSON")
    pn.set_defaults(handler=_lazy("agent.commands.planners", "list_planners"))

    cf = sub.add_parser("config", help="the settings in force (agent.toml) and their sources",
                        description="Settings come from flags, then AGENT_* variables, then "
                        "./agent.toml, then $AGENT_HOME/agent.toml, then defaults.")
    cf_sub = cf.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    cfs = cf_sub.add_parser("show", help="each setting, its value and where it came from")
    cfs.add_argument("--json", action="store_true", help="print as JSON")
    cfs.set_defaults(handler=_lazy("agent.commands.config", "show"))
    cf_sub.add_parser("schema", help="the JSON Schema of agent.toml").set_defaults(
        handler=_lazy("agent.commands.config", "schema"))

    c = sub.add_parser("call", help="call one tool: agent call TOOL key=value ...",
                       description="Call one tool through the runtime (validated, traced). "
                       "Values are parsed as JSON when the parameter is not a string.")
    c.add_argument("tool", help="tool name (see `agent tools`)")
    c.add_argument("args", nargs="*", metavar="key=value", help="arguments")
    _add_run_flags(c)
    c.set_defaults(handler=_lazy("agent.commands.run", "call"))

    plan = sub.add_parser("plan", help="run an explicit plan of tool calls")
    plan_sub = plan.add_subparsers(dest="plan_command", metavar="SUBCOMMAND", required=True)
    pr = plan_sub.add_parser(
        "run", help="run PLAN.json: a list of {name, args, id} calls",
        description='PLAN.json is [{"id": "a", "name": TOOL, "args": {...}}, ...] or '
        '{"query": "...", "calls": [...]}. An argument {"$ref": "a"} is the output of call '
        '"a"; {"$ref": "a#/field/0"} a part of it (JSON Pointer).')
    pr.add_argument("file", help="the plan file ('-' for standard input)")
    _add_run_flags(pr)
    pr.set_defaults(handler=_lazy("agent.commands.run", "plan_run"))

    mcp = sub.add_parser("mcp", help="serve the tools to MCP clients: agent mcp serve")
    mcp_sub = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    ms = mcp_sub.add_parser(
        "serve", help="offer the installed tools over MCP (stdio, or --http)",
        description="Serve the tools `agent tools` lists to an MCP client, on stdin/stdout "
        "(what desktop clients start) or streamable HTTP at http://HOST:PORT/mcp. Each call "
        "is validated and traced like `agent call`. Tools with side effects ask the client's "
        "user through MCP elicitation, or are refused, unless --yes or --allow approves them.")
    ms.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    ms.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    ms.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    ms.add_argument("--tools", metavar="PATTERN[,...]",
                    help="only these tools: names or globs, comma-separated "
                    "(e.g. 'calc*,read_file')")
    ms.add_argument("--allow", metavar="PATTERN[,...]",
                    help="approve these side-effect tools without asking (names or globs)")
    ms.add_argument("-y", "--yes", action="store_true",
                    help="approve every tool with side effects without asking")
    ms.add_argument("--no-trace", action="store_true", help="do not record the calls")
    ms.set_defaults(handler=_lazy("agent.commands.mcp", "serve"))

    tr = sub.add_parser("traces", help="list, show, search and delete recorded runs")
    tr_sub = tr.add_subparsers(dest="traces_command", metavar="SUBCOMMAND", required=True)
    tl = tr_sub.add_parser("list", help="recent runs, newest first")
    tl.add_argument("-n", "--limit", type=int, default=20)
    tl.add_argument("--status", help="only runs with this status")
    tl.add_argument("--json", action="store_true")
    tl.set_defaults(handler=_lazy("agent.commands.traces", "list_runs"))
    ts = tr_sub.add_parser("show", help="a run's step tree with timings")
    ts.add_argument("run_id", help="run id or a unique prefix")
    ts.add_argument("--json", action="store_true")
    ts.set_defaults(handler=_lazy("agent.commands.traces", "show"))
    tq = tr_sub.add_parser("search", help="runs whose messages match TEXT")
    tq.add_argument("text")
    tq.add_argument("-n", "--limit", type=int, default=20)
    tq.set_defaults(handler=_lazy("agent.commands.traces", "search"))
    td = tr_sub.add_parser("delete", help="delete a run and everything recorded with it")
    td.add_argument("run_id")
    td.set_defaults(handler=_lazy("agent.commands.traces", "delete"))

    rp = sub.add_parser(
        "replay", help="re-run a recorded run: --cached, --live (diffed) or --fork STEP",
        description="--cached: the recorded model replies and tool results again (nothing "
        "runs; the transcript must equal the original's). --live: the same query, planner and "
        "model, tools executed again; prints what changed. --fork STEP: recorded up to STEP "
        "(numbers as in `agent traces show`), live from there, with --planner/--model. The new "
        "run links to the original (its parent).")
    rp.add_argument("run_id", help="run id or a unique prefix")
    how = rp.add_mutually_exclusive_group(required=True)
    how.add_argument("--cached", action="store_true", help="recorded outputs, deterministic")
    how.add_argument("--live", action="store_true", help="execute again and diff")
    how.add_argument("--fork", type=int, metavar="STEP", help="recorded up to STEP, then live")
    rp.add_argument("--planner", help="planner for --live/--fork (default: the run's)")
    rp.add_argument("--model", help="model id for --live/--fork (default: the run's)")
    rp.add_argument("--no-input", action="store_true",
                    help="never ask at the terminal (questions not in the recording)")
    rp.add_argument("-y", "--yes", action="store_true",
                    help="approve tools with side effects without asking (live steps)")
    rp.add_argument("--json", action="store_true", help="the result and the diff as JSON")
    rp.set_defaults(handler=_lazy("agent.commands.replay", "replay_run"))

    ex = sub.add_parser(
        "export", help="recorded runs as training data: openai, sharegpt, parquet, hf",
        description="Stream the matching runs (default: status ok) into tool-use training "
        "data. -o is a file (JSONL formats: '-' or none = stdout); with --split, -o is a "
        "directory holding one file per split (DIR/train.jsonl, DIR/test.jsonl). --format hf "
        "always writes a directory that datasets.load_dataset(DIR) opens: "
        "DIR/data/SPLIT-00000-of-00001-ID.parquet and DIR/README.md.")
    ex.add_argument("-f", "--format", default="openai",
                    help="openai (default), sharegpt, parquet, hf; plugins may add more")
    ex.add_argument("-o", "--output", metavar="PATH", help="output file or directory")
    ex.add_argument("--split", metavar="NAME=FRACTION,...",
                    help="split the runs, e.g. train=0.9,test=0.1 (fractions add up to 1)")
    ex.add_argument("--split-by", choices=("query", "tool"), default="query",
                    help="runs with the same query (or the same set of tools called) always "
                    "land in the same split (default: query)")
    ex.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    _add_filter_flags(ex)
    ex.set_defaults(handler=_lazy("agent.commands.export", "export"))

    ds = sub.add_parser("datasets", help="statistics of the data an export would hold")
    ds_sub = ds.add_subparsers(dest="datasets_command", metavar="SUBCOMMAND", required=True)
    dst = ds_sub.add_parser("stats", help="examples per tool and source, calls per example, "
                            "lengths (same filters as `agent export`)")
    dst.add_argument("--json", action="store_true", help="print as JSON")
    _add_filter_flags(dst)
    dst.set_defaults(handler=_lazy("agent.commands.datasets", "stats"))

    _add_generate(sub)
    return p, sub


def _add_generate(sub: Any) -> None:
    g = sub.add_parser(
        "generate", help="synthetic tool-use examples, executed for real (source=synthetic)",
        description="Write N examples into the trace store, each a real run labelled "
        "source=synthetic, job=JOB, index=I. programmatic: query templates filled with values "
        "sampled from the tools' schemas, chained by dataflow, run through their gold plans. "
        "model: a model writes a query for a sampled tool set and a planner solves it; only "
        "runs that end ok are kept. Duplicates are dropped. The same seed gives the same "
        "dataset on every engine; rerunning a job resumes it.")
    g.add_argument("-n", type=int, default=100, help="examples to generate (default 100)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--mode", choices=("programmatic", "model"), default="programmatic")
    g.add_argument("--tools", action="append", metavar="PATTERN[,...]",
                   help="only tools whose name, plugin or tag matches (globs; repeatable)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the work runs (default local; ray needs Ray installed)")
    g.add_argument("--ray-address", metavar="ADDRESS",
                   help="an existing Ray cluster (default: start a local one)")
    g.add_argument("--workers", type=int, help="parallel workers (threads locally, CPUs on Ray)")
    g.add_argument("--job", help="job name: reuse it to resume (default: an id from the options)")
    g.add_argument("--model", help="model id that writes the queries (--mode model)")
    g.add_argument("--planner", default="dfsdt", help="planner that solves them (default dfsdt)")
    g.add_argument("--side-effects", action="store_true",
                   help="include tools with side effects (their calls run for real)")
    g.add_argument("--plugin", action="append", metavar="MODULE",
                   help="also load this plugin module (importable; repeatable)")
    g.add_argument("--dedupe-threshold", type=float, default=0.9, metavar="J",
                   help="near-duplicate Jaccard threshold over word pairs (default 0.9)")
    g.add_argument("--max-attempts", type=int, metavar="K",
                   help="give up after K examples tried (default 20 n + 100)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", action="store_true", help="print the report as JSON")
    g.set_defaults(handler=_lazy("agent.commands.generate", "generate"))


def _add_filter_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("which runs")
    g.add_argument("--status", action="append", metavar="STATUS[,...]",
                   help="runs that ended so (default ok; 'any' for all)")
    g.add_argument("--source", action="append", metavar="SOURCE[,...]",
                   help="runs recorded by this source (agent, generate, ...)")
    g.add_argument("--label", action="append", metavar="KEY[=VALUE]",
                   help="runs with this label (repeat: all must hold)")
    g.add_argument("--tool", action="append", metavar="NAME[,...]",
                   help="runs that called at least one of these tools")
    g.add_argument("--since", metavar="WHEN",
                   help="runs started at or after WHEN: ISO date/time or an age (7d, 12h)")
    g.add_argument("--until", metavar="WHEN", help="runs started before WHEN")
    g.add_argument("--limit", type=int, metavar="N", help="at most N runs (oldest first)")


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-y", "--yes", action="store_true",
                   help="approve tools with side effects without asking")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-trace", action="store_true", help="do not record this run")


def _lazy(module: str, name: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        import importlib

        fn: Handler = getattr(importlib.import_module(module), name)
        return fn(args)

    return handler


def _version() -> str:
    from agent import __version__

    return __version__


class PluginCommands:
    """What ``register_commands(cli)`` receives: ``cli.add(name, help, handler, configure)``."""

    def __init__(self, sub: Any) -> None:
        self._sub = sub
        self.names: list[str] = []

    def add(self, name: str, help: str, handler: Handler,
            configure: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
        if name in self._sub.choices:
            raise ValueError(f"command {name!r} already exists")
        p = self._sub.add_parser(name, help=help)
        if configure is not None:
            configure(p)
        p.set_defaults(handler=handler)
        self.names.append(name)


def _add_plugin_commands(sub: Any) -> None:
    from agent.plugin_manager import load_plugins

    commands = PluginCommands(sub)
    load_plugins().call_each("register_commands", lambda plugin: {"cli": commands})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, sub = _parser()
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in sub.choices:
        _add_plugin_commands(sub)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return run_handler(handler, args)


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Turn library errors into one line and an exit code; never a traceback for a user error."""
    from agent.errors import AgentError

    try:
        return handler(args)
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("AGENT_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set AGENT_DEBUG=1 for the "
              "traceback, and please report it)", file=sys.stderr)
        return 1


def print_json(value: Any) -> None:
    import json

    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    sys.exit(main())
