"""JSON text for the trace writer: pydantic-core's encoder for stored values, the C encoder
called directly where the exact ``json.dumps`` text matters (canonical, hashed arguments).

``JSONEncoder.encode`` rebuilds its C encoder on every call (plus two Python frames), which
costs more than encoding a small row does; the writer encodes several values per step, so
it keeps one C encoder per format. Cycles are not tracked (trace values are trees): a cyclic
value ends in ``RecursionError`` instead of ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # None: not CPython


def text_encoder(*, sort_keys: bool = False,
                 separators: tuple[str, str] = (", ", ": ")) -> Callable[[Any], str]:
    """A function giving what ``json.dumps(value, ensure_ascii=False, default=str,
    sort_keys=..., separators=...)`` gives."""
    item, key = separators
    fallback = json.JSONEncoder(ensure_ascii=False, default=str, sort_keys=sort_keys,
                                separators=separators).encode
    if _c_make_encoder is None:
        return fallback
    encode = _c_make_encoder(None, str, json.encoder.encode_basestring, None, key, item,
                             sort_keys, False, True)

    def dumps(value: Any) -> str:
        if type(value) is str:
            return json.encoder.encode_basestring(value)
        return "".join(encode(value, 0))

    return dumps


def compact_encoder() -> Callable[[Any], str]:
    """Compact JSON text for stored values (``{"a":1}``): pydantic-core's encoder, about twice
    as fast as the C one on the dicts a trace is made of. Objects JSON has no type for are
    written as pydantic writes them (a dataclass or a model as an object, a set as a list,
    bytes as text, an enum as its value, a date in ISO 8601), anything else as ``str()``; a
    cycle is a ``ValueError``."""
    from pydantic_core import to_json

    quote = json.encoder.encode_basestring

    def dumps(value: Any) -> str:
        if type(value) is str:
            return quote(value)
        return to_json(value, fallback=str).decode()

    return dumps
