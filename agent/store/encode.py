"""Ids, canonical hashes and size limits shared by writers and readers."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from .jsontext import text_encoder
from .redact import might_hold_secret, redact

TRUNCATION_MARKER = "…[truncated: {kept} of {total} bytes kept]"


def new_id() -> str:
    """A unique, time-ordered 32-char hex id: sorting ids sorts by creation time."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


_CANONICAL = text_encoder(sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """Key-sorted, whitespace-free JSON: equal values always give equal text (for hashing)."""
    try:
        return _CANONICAL(value)
    except TypeError:  # keys of mixed types cannot be sorted: make them all strings first
        return _CANONICAL(json.loads(json.dumps(value, default=str)))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tool_hash(name: str, description: str | None, parameters: Any) -> str:
    """sha256 of a tool's name, description and schema: the dedup key of `tools`."""
    text = "\x00".join((name, description or "", canonical_json(parameters or {})))
    return hashlib.sha256(text.encode()).hexdigest()


def args_hash(args: Any) -> str:
    """sha256 of the redacted, canonical arguments: `tool_calls.args_hash` for `args`.

    Hashing after redaction means the hash reveals nothing about a secret, and replay can
    recompute it from what the store holds (`args` is stored in this canonical form).
    """
    text = canonical_json(args)
    if might_hold_secret(text):
        text = canonical_json(redact(args))
    return hashlib.sha256(text.encode()).hexdigest()


def truncate_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """Cut `text` to at most `max_bytes` UTF-8 bytes (on a character boundary) plus a marker.

    Returns the text to store and whether it was cut. Huge tool outputs would otherwise
    bloat the store and every export built from it.
    """
    if len(text) * 4 <= max_bytes:  # cannot exceed the limit even if every char is 4 bytes
        return text, False
    data = text.encode()
    total = len(data)
    if total <= max_bytes:
        return text, False
    kept = data[:max_bytes].decode("utf-8", errors="ignore")
    kept_bytes = len(kept.encode())
    return kept + TRUNCATION_MARKER.format(kept=kept_bytes, total=total), True
