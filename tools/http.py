"""HTTP GET and POST over aiohttp, with protection against server-side request forgery.

A model decides which URLs to fetch, so by default the tools refuse to reach the machine
itself and its networks: loopback, private, link-local, multicast, reserved, unspecified and
other non-global addresses, IPv4 and IPv6 (IPv4-mapped, 6to4 and NAT64 forms are unwrapped).
The check is made on the *resolved* addresses, inside a custom aiohttp resolver, at the moment
a connection is opened, so a name that resolves to 127.0.0.1 (or rebinds to it later) is
caught. IP-literal URLs skip aiohttp's resolver, so they are checked before each request;
redirects are followed here, hop by hop, so every hop gets both checks.

To reach private addresses on purpose, set ``http_allow_private`` (env
``AGENT_HTTP_ALLOW_PRIVATE=1``) or allow hosts and networks: ``http_allow`` (env
``AGENT_HTTP_ALLOW="127.0.0.1,10.0.0.0/8,intranet.local"``); ``host:port`` allows that port
only (``"127.0.0.1:8765"``). ``agent.toml``'s ``[http]`` table sets both settings.

A non-2xx response is a result, not an error: ``{"status": 404, "ok": false, ...}`` (the
planner may want the body of an error page). Failures to get any response (refused address,
DNS failure, timeout) raise ``ToolError``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool
from agent.types import ToolContext

from . import of, returns

ALLOW_PRIVATE_SETTING, ALLOW_PRIVATE_ENV = "http_allow_private", "AGENT_HTTP_ALLOW_PRIVATE"
ALLOW_SETTING, ALLOW_ENV = "http_allow", "AGENT_HTTP_ALLOW"
MAX_BODY_BYTES = 1_000_000
CONNECT_SECONDS, TOTAL_SECONDS = 10.0, 30.0
MAX_REDIRECTS = 10
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_HOW_TO_ALLOW = (f"set {ALLOW_PRIVATE_SETTING}=true (env {ALLOW_PRIVATE_ENV}=1) or add the host "
                 f"or its network to {ALLOW_SETTING} (env {ALLOW_ENV}=host,CIDR) to allow it")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(OSError):
    """Raised by the resolver: every address of a host is refused (carries the reason)."""


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _embedded(ip: Address) -> Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped or ip.sixtofour:
            return ip.ipv4_mapped or ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_kind(ip: Address) -> str | None:
    """Why ``ip`` must not be reached by default ("loopback", ...), or None if it is public."""
    for candidate in (_embedded(ip), ip):  # the embedded IPv4 names the real destination
        if candidate is None:
            continue
        # Most specific first: Python counts link-local and unspecified as private too.
        for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved",
                     "private"):
            if getattr(candidate, f"is_{kind}"):
                return kind.replace("_", "-")
        if not candidate.is_global:
            return "non-global"
    return None


@dataclass(frozen=True)
class Policy:
    """Which non-public destinations are allowed, from settings and the environment."""

    allow_private: bool = False
    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    host_ports: frozenset[tuple[str, int]] = frozenset()  # "127.0.0.1:8765": that port only

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Policy:
        allow_private = _truthy(settings.get(ALLOW_PRIVATE_SETTING)) or _truthy(
            os.environ.get(ALLOW_PRIVATE_ENV, ""))
        entries: list[str] = []
        for value in (settings.get(ALLOW_SETTING), os.environ.get(ALLOW_ENV)):
            if isinstance(value, str):
                entries += value.split(",")
            elif isinstance(value, list | tuple | set | frozenset):
                entries += [str(v) for v in value]
        hosts, networks, host_ports = set(), [], set()
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                host_port = split_host_port(entry)
                if host_port is None:
                    hosts.add(entry)
                else:
                    host_ports.add(host_port)
        return cls(allow_private, frozenset(hosts), tuple(networks), frozenset(host_ports))

    def allows_host(self, host: str, port: int | None = None) -> bool:
        name = host.lower().rstrip(".").strip("[]")
        return self.allow_private or name in self.hosts or (name, port) in self.host_ports

    def refusal(self, host: str, address: str, port: int | None = None) -> str | None:
        """None if ``host`` may be reached at ``address``, else the message saying why not."""
        if self.allows_host(host, port):
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"refused: {host} resolved to an unreadable address {address!r}"
        inner = _embedded(ip)
        if any(ip in n or (inner is not None and inner in n) for n in self.networks):
            return None
        kind = blocked_kind(ip)
        if kind is None:
            return None
        where = f"{host} resolves to {ip}" if host != str(ip) else str(ip)
        return f"refused: {where}, a {kind} address; {_HOW_TO_ALLOW}"


@lru_cache(maxsize=1)
def _resolver_class() -> type:
    """The guarded resolver class, built on first use so aiohttp is not imported early."""
    from aiohttp import ThreadedResolver
    from aiohttp.abc import AbstractResolver, ResolveResult

    class GuardedResolver(AbstractResolver):
        """Resolves with ``ThreadedResolver`` and drops every address the policy refuses."""

        def __init__(self, policy: Policy) -> None:
            self.policy = policy
            self.inner = ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            infos = await self.inner.resolve(host, port, family)
            kept, reason = [], None
            for info in infos:
                refused = self.policy.refusal(host, info["host"], port)
                if refused is None:
                    kept.append(info)
                else:
                    reason = refused
            if not kept:
                raise RefusedAddress(reason or f"refused: {host} has no allowed address")
            return kept

        async def close(self) -> None:
            await self.inner.close()

    return GuardedResolver


def split_host_port(entry: str) -> tuple[str, int] | None:
    """``"host:8765"`` or ``"[::1]:8765"`` -> ``("host", 8765)``; None if there is no port."""
    host, sep, port = entry.rpartition(":")
    if not sep or not port.isdigit() or not host or (":" in host and not host.endswith("]")):
        return None  # no port, or a bare IPv6 address
    return host.strip("[]"), int(port)


def _check_url(url: Any, policy: Policy) -> None:
    """Scheme and host checks made before each hop (IP literals never reach the resolver)."""
    if url.scheme not in ("http", "https"):
        raise ToolError(f"unsupported URL scheme {url.scheme!r}: only http and https are "
                        "allowed")
    host = url.host
    if not host:
        raise ToolError(f"the URL {str(url)!r} has no host")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: the resolver checks the addresses it resolves to
    reason = policy.refusal(host, host, url.port)
    if reason:
        raise ToolError(reason)


def _origin(url: Any) -> tuple[str, str | None, int | None]:
    return url.scheme, url.host, url.port


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    convert = {True: "true", False: "false"}
    return {k: convert[v] if isinstance(v, bool) else str(v) for k, v in params.items()
            if v is not None}


async def _read(resp: Any) -> dict[str, Any]:
    """The response as a JSON-friendly dict: JSON parsed when declared, else text."""
    import json

    body = bytearray()
    truncated = False
    async for chunk in resp.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            del body[MAX_BODY_BYTES:]
            truncated = True
            break
    out: dict[str, Any] = {
        "status": resp.status,
        "ok": 200 <= resp.status < 300,
        "url": str(resp.url),
        "headers": {"content-type": resp.headers.get("Content-Type", "")},
        "truncated": truncated,
    }
    mime = resp.content_type or ""
    if not truncated and (mime == "application/json" or mime.endswith("+json")):
        try:
            out["json"] = json.loads(body)
            return out
        except ValueError:
            pass  # declared JSON but is not: fall back to text
    if b"\x00" in body[:8192]:
        out["text"] = f"<binary content: {len(body)} bytes of {mime or 'unknown type'}>"
        return out
    try:
        out["text"] = body.decode(resp.charset or "utf-8", errors="replace")
    except LookupError:
        out["text"] = body.decode("utf-8", errors="replace")
    return out


async def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One guarded HTTP request, following redirects hop by hop (each hop re-checked).

    ``timeout`` is the total time allowed in seconds (default ``TOTAL_SECONDS``).
    """
    import aiohttp
    from yarl import URL

    policy = Policy.from_settings(settings or {})
    try:
        target = URL(url.strip())
    except (ValueError, TypeError) as exc:
        raise ToolError(f"invalid URL {url!r}: {exc}") from None
    send_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    query = _query(params)
    connector = aiohttp.TCPConnector(resolver=_resolver_class()(policy), use_dns_cache=False)
    total = TOTAL_SECONDS if timeout is None else timeout
    client_timeout = aiohttp.ClientTimeout(total=total, connect=min(CONNECT_SECONDS, total))
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout,
                                         trust_env=False) as session:
            _check_url(target, policy)
            for _ in range(MAX_REDIRECTS + 1):
                async with session.request(method, target, params=query, json=json_body,
                                           headers=send_headers, allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status not in (301, 302, 303, 307, 308) or not location:
                        return await _read(resp)
                    next_url = resp.url.join(URL(location))
                _check_url(next_url, policy)
                if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                    method, json_body = "GET", None
                if _origin(next_url) != _origin(resp.url):
                    send_headers = {k: v for k, v in send_headers.items()
                                    if k.lower() not in _SECRET_HEADERS}
                target, query = next_url, None
            raise ToolError(f"too many redirects (more than {MAX_REDIRECTS})")
    except RefusedAddress as exc:
        raise ToolError(str(exc)) from None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, RefusedAddress):
            raise ToolError(str(exc.os_error)) from None
        raise ToolError(f"cannot connect to {target.host}: {exc.os_error}") from None
    except TimeoutError:
        raise ToolError(f"{method} {target} timed out") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise ToolError(f"{method} {target} failed: {exc}") from None


_RESPONSE_SCHEMA = returns({
    "status": of("integer", "HTTP status code"),
    "ok": of("boolean", "true for a 2xx status"),
    "url": of("string", "final URL, after redirects"),
    "headers": of("object", "response headers (content-type only)",
                  properties={"content-type": {"type": "string"}}),
    "json": of(None, "the parsed body, when the response is JSON"),
    "text": of("string", "the body as text, when it is not JSON"),
    "truncated": of("boolean", f"true if the body was cut at {MAX_BODY_BYTES} bytes"),
}, optional=("json", "text"))


@tool(
    tags=("web", "http"),
    timeout=TOTAL_SECONDS + 5,
    examples=("fetch https://api.example.com/items?id=3", "GET the JSON from this URL"),
    templates=(
        "Fetch {url}.",
        "Get the JSON from {url}.",
        "What does {url} return?",
    ),
    output_schema=_RESPONSE_SCHEMA,
)
async def http_get(
    url: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    ctx: ToolContext | None = None,
) -> dict[str, Any]:
    """Fetch a URL with HTTP GET; JSON responses are parsed, others returned as text.

    Private and local network addresses are refused unless configured. A non-2xx status is
    returned (with "ok": false), not raised.

    Args:
        url: The http or https URL to fetch.
        params: Query-string parameters to add to the URL, e.g. {"q": "paris"}.
        headers: Extra request headers, e.g. {"Accept": "application/json"}.
    """
    settings = ctx.settings if ctx is not None else {}
    return await request("GET", url, params=params, headers=headers, settings=settings)


@tool(
    side_effects=True,
    tags=("web", "http"),
    timeout=TOTAL_SECONDS + 5,
    examples=("POST this JSON to https://api.example.com/orders",),
    templates=(
        "Post {json_body} to {url}.",
        "Send {json_body} as JSON to {url}.",
    ),
    output_schema=_RESPONSE_SCHEMA,
)
async def http_post(
    url: str,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    ctx: ToolContext | None = None,
) -> dict[str, Any]:
    """Send a JSON body to a URL with HTTP POST (this can change things on the server).

    Private and local network addresses are refused unless configured. A non-2xx status is
    returned (with "ok": false), not raised.

    Args:
        url: The http or https URL to post to.
        json_body: The JSON object to send as the request body.
        headers: Extra request headers, e.g. {"Authorization": "Bearer ..."}.
    """
    settings = ctx.settings if ctx is not None else {}
    return await request("POST", url, json_body=json_body, headers=headers, settings=settings)


@hookimpl
def register_tools(register: Any) -> None:
    register([http_get, http_post])
