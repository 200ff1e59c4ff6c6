"""``agent mcp serve``: offer the installed tools to MCP clients (stdio or streamable HTTP)."""

from __future__ import annotations

import argparse
import sys


def _patterns(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def serve(args: argparse.Namespace) -> int:
    import anyio

    from agent.config import load_config
    from agent.errors import UsageError
    from agent.mcp_server import ToolServer, select_tools
    from agent.registry import build_registry

    if not args.http and sys.stdin.isatty():
        print("agent mcp serve: speaking MCP on stdin/stdout (start it from an MCP client, "
              "or use --http); Ctrl-C stops", file=sys.stderr)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1-65535")
    config = load_config()  # agent.toml: [approval] and the HTTP tools' address policy
    registry = build_registry()
    tools = select_tools(registry.tools, _patterns(args.tools))
    server = ToolServer(tools, store=False if args.no_trace else args.db, yes=args.yes,
                        allow=_patterns(args.allow), policy=config.approval(),
                        settings=config.tool_settings(), registry=registry,
                        trace_writer=config.trace_writer)
    try:
        if args.http:
            print(f"agent mcp serve: {len(tools)} tools at http://{args.host}:{args.port}/mcp",
                  file=sys.stderr)
            anyio.run(lambda: server.run_http(args.host, args.port))
        else:
            anyio.run(server.run_stdio)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
