"""An aiohttp app served on 127.0.0.1 inside the test's own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer


@asynccontextmanager
async def loopback(app: web.Application, path: str = "/") -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields the URL of ``path`` there."""
    http = TestServer(app, host="127.0.0.1")
    await http.start_server()
    try:
        yield str(http.make_url(path))
    finally:
        await http.close()
