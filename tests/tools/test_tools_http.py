"""The HTTP tools against a real aiohttp server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent.errors import ToolError
from agent.tools import http
from agent.tools.http import Policy, RefusedAddress, blocked_kind, http_get, http_post
from agent.types import ToolContext

ALLOW = ToolContext(settings={"http_allow_private": True})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_HTTP_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("AGENT_HTTP_ALLOW", raising=False)


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    async def json_route(request: web.Request) -> web.Response:
        return web.json_response({"query": dict(request.query),
                                  "auth": request.headers.get("Authorization")})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"method": request.method, "got": await request.json()},
                                 status=201)

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="nothing here")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def see_other(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/json")

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 5000)

    async def binary(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\x00\x00data", content_type="image/png")

    async def bad_json(request: web.Request) -> web.Response:
        return web.Response(text="{not json", content_type="application/json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/json", json_route)
    app.router.add_post("/echo", echo)
    app.router.add_get("/missing", missing)
    app.router.add_route("*", "/redirect", redirect)
    app.router.add_post("/see-other", see_other)
    app.router.add_get("/big", big)
    app.router.add_get("/binary", binary)
    app.router.add_get("/bad-json", bad_json)
    app.router.add_get("/slow", slow)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


def url(server: TestServer, path: str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{server.port}{path}"


# Refused by default -------------------------------------------------------------------------
async def test_loopback_is_refused_by_default(server: TestServer) -> None:
    with pytest.raises(ToolError) as info:
        await http_get(url(server, "/json"))
    message = str(info.value)
    assert message.startswith("refused: 127.0.0.1, a loopback address")
    assert "http_allow_private" in message and "AGENT_HTTP_ALLOW" in message


async def test_hostname_resolving_to_loopback_is_refused(server: TestServer) -> None:
    # "localhost" is not an IP literal: the guarded resolver checks what it resolves to.
    with pytest.raises(ToolError, match=r"refused: localhost resolves to .*loopback"):
        await http_get(url(server, "/json", host="localhost"))


@pytest.mark.parametrize("target", [
    "http://[::1]:9/", "http://[::ffff:127.0.0.1]:9/", "http://0.0.0.0:9/",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://224.0.0.1/", "http://[fe80::1]/", "http://[fc00::1]/", "https://100.64.0.1/",
])
async def test_non_public_literals_are_refused(target: str) -> None:
    with pytest.raises(ToolError, match=r"^refused: "):
        await http_get(target)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.com/x",
                                    "gopher://127.0.0.1/"])
async def test_other_schemes_are_refused(target: str) -> None:
    with pytest.raises(ToolError, match="unsupported URL scheme"):
        await http_get(target, ctx=ALLOW)


async def test_post_is_refused_too(server: TestServer) -> None:
    with pytest.raises(ToolError, match="loopback"):
        await http_post(url(server, "/echo"), json_body={"a": 1})


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"), ("64:ff9b::7f00:1", "loopback"),
    ("2002:7f00:1::", "loopback"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.1", "multicast"), ("::", "unspecified"),
    ("100.64.0.1", "non-global"), ("93.184.216.34", None), ("2606:4700::1111", None),
    ("8.8.8.8", None),
])
def test_address_classification(address: str, kind: str | None) -> None:
    assert blocked_kind(ipaddress.ip_address(address)) == kind


async def test_the_resolver_filters_resolved_addresses() -> None:
    resolver = http._resolver_class()(Policy())
    try:
        with pytest.raises(RefusedAddress, match="localhost resolves to"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    allowed = http._resolver_class()(Policy(hosts=frozenset({"localhost"})))
    try:
        infos = await allowed.resolve("localhost", 80)
    finally:
        await allowed.close()
    assert infos and all(ipaddress.ip_address(i["host"]).is_loopback for i in infos)


# Allowed when configured --------------------------------------------------------------------
async def test_get_json_when_private_is_allowed(server: TestServer) -> None:
    out = await http_get(url(server, "/json"), params={"q": "paris", "n": 3, "exact": True},
                         headers={"Authorization": "Bearer t"}, ctx=ALLOW)
    assert out["status"] == 200 and out["ok"] is True
    assert out["json"] == {"query": {"q": "paris", "n": "3", "exact": "true"},
                           "auth": "Bearer t"}
    assert out["headers"]["content-type"].startswith("application/json")
    assert out["url"].startswith(url(server, "/json?")) and "text" not in out


@pytest.mark.parametrize("settings", [
    {"http_allow": ["127.0.0.1"]},
    {"http_allow": "10.0.0.0/8, 127.0.0.0/8"},
    {"http_allow_private": "true"},
])
async def test_allow_settings(server: TestServer, settings: dict[str, object]) -> None:
    out = await http_get(url(server, "/json"), ctx=ToolContext(settings=settings))
    assert out["status"] == 200


async def test_allow_list_by_host_name(server: TestServer) -> None:
    ctx = ToolContext(settings={"http_allow": ["localhost"]})
    out = await http_get(url(server, "/json", host="localhost"), ctx=ctx)
    assert out["status"] == 200
    with pytest.raises(ToolError, match=r"refused: 127\.0\.0\.1"):  # the name, not its address
        await http_get(url(server, "/json"), ctx=ctx)


async def test_allow_from_environment(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_HTTP_ALLOW", "127.0.0.1")
    assert (await http_get(url(server, "/json")))["status"] == 200
    monkeypatch.delenv("AGENT_HTTP_ALLOW")
    monkeypatch.setenv("AGENT_HTTP_ALLOW_PRIVATE", "1")
    assert (await http_get(url(server, "/json", host="localhost")))["status"] == 200


async def test_post_json(server: TestServer) -> None:
    out = await http_post(url(server, "/echo"), json_body={"order": [1, 2]}, ctx=ALLOW)
    assert out["status"] == 201 and out["ok"] is True
    assert out["json"] == {"method": "POST", "got": {"order": [1, 2]}}


async def test_non_2xx_is_a_result(server: TestServer) -> None:
    out = await http_get(url(server, "/missing"), ctx=ALLOW)
    assert out["status"] == 404 and out["ok"] is False and out["text"] == "nothing here"


async def test_bodies(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 1000)
    big = await http_get(url(server, "/big"), ctx=ALLOW)
    assert big["truncated"] is True and big["text"] == "x" * 1000
    binary = await http_get(url(server, "/binary"), ctx=ALLOW)
    assert binary["text"] == "<binary content: 10 bytes of image/png>"
    bad = await http_get(url(server, "/bad-json"), ctx=ALLOW)
    assert bad["text"] == "{not json" and "json" not in bad


async def test_timeout(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "TOTAL_SECONDS", 0.3)
    with pytest.raises(ToolError, match="timed out"):
        await http_get(url(server, "/slow"), ctx=ALLOW)


# Redirects ----------------------------------------------------------------------------------
async def test_redirects_are_followed_and_rechecked(server: TestServer) -> None:
    to_loopback = url(server, "/redirect?to=" + url(server, "/json"), host="localhost")
    out = await http_get(to_loopback, ctx=ALLOW)
    assert out["status"] == 200 and out["url"] == url(server, "/json")
    # Allowed to reach "localhost" only: the hop to 127.0.0.1 is checked and refused.
    only_localhost = ToolContext(settings={"http_allow": "localhost"})
    with pytest.raises(ToolError, match=r"refused: 127\.0\.0\.1, a loopback address"):
        await http_get(to_loopback, ctx=only_localhost)
    with pytest.raises(ToolError, match="unsupported URL scheme 'file'"):
        await http_get(url(server, "/redirect?to=file:///etc/passwd"), ctx=ALLOW)


async def test_redirects_drop_credentials_across_origins(server: TestServer) -> None:
    auth = {"Authorization": "Bearer secret"}
    same = await http_get(url(server, "/redirect?to=/json"), headers=auth, ctx=ALLOW)
    assert same["json"]["auth"] == "Bearer secret"
    other = url(server, "/redirect?to=" + url(server, "/json"), host="localhost")
    crossed = await http_get(other, headers=auth, ctx=ALLOW)
    assert crossed["json"]["auth"] is None


async def test_see_other_turns_post_into_get(server: TestServer) -> None:
    out = await http_post(url(server, "/see-other"), json_body={"a": 1}, ctx=ALLOW)
    assert out["status"] == 200 and out["json"]["query"] == {}


# Through the executor -----------------------------------------------------------------------
async def test_through_the_executor(run_tool, server: TestServer) -> None:
    settings = {"http_allow_private": True}
    got = await run_tool(http, "http_get", {"url": url(server, "/json"), "params": {"a": 1}},
                         settings=settings)
    assert got.ok, got.error
    assert got.content["json"]["query"] == {"a": "1"}
    refused = await run_tool(http, "http_get", {"url": url(server, "/json")})
    assert refused.status == "error" and refused.error.startswith("refused: 127.0.0.1")
    args = {"url": url(server, "/echo"), "json_body": {"x": 1}}
    unapproved = await run_tool(http, "http_post", args, settings=settings)
    assert unapproved.status == "error" and "approval" in unapproved.error
    approved = await run_tool(http, "http_post", args, settings=settings,
                              approve=lambda call, tool: True)
    assert approved.ok, approved.error
    assert approved.content["status"] == 201 and approved.content["json"]["got"] == {"x": 1}
    denied = await run_tool(http, "http_post", args, settings=settings,
                            approve=lambda call, tool: False)
    assert denied.status == "error" and "did not approve" in denied.error
