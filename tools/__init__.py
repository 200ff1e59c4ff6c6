"""First-party tools. Each module is a plugin listed in ``agent.plugins.DEFAULT_PLUGINS``.

Modules import only the standard library at import time: heavy dependencies (pint, aiohttp,
sqlite3) are imported inside the tool functions, so loading the plugins stays cheap for the
CLI. Expected failures are raised as ``agent.errors.ToolError`` with a message meant for the
planner.
"""
