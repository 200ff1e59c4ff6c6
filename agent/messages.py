"""langchain-core messages made from fields already known to be valid, without validating.

Why: making a message validates every field through pydantic and runs langchain-core's
validators: ~6 us (40k instructions) for a ``ToolMessage``, and a react step makes one per
tool result on the event loop's thread. Where construction would only set the fields (no
private attributes, no ``model_post_init``, extra fields allowed, every default immutable or
made by a factory of no arguments), the message is made directly (~3.5 us, 23k
instructions) with the fields, field set and extras the class itself would give it;
otherwise by the class. The caller vouches for the values: ones validation keeps as they are
(``str`` content and ids, a known status, plain dicts and lists).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")
_set = object.__setattr__
_IMMUTABLE = (str, int, float, bool, bytes, tuple, frozenset, type(None))


@cache
def _plain(cls: type) -> bool:
    """Whether constructing ``cls`` only sets its fields (no private attributes, no
    ``model_post_init``, extra fields allowed)."""
    model: Any = cls
    return not (model.__private_attributes__ or model.__pydantic_post_init__ is not None
                or model.model_config.get("extra") != "allow" or model.__pydantic_root_model__)


@cache
def _layout(cls: type) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...],
                                frozenset[str]] | None:
    """The class's fields in order with their defaults, what makes the others' defaults
    (a factory, or a copy of a mutable default, as pydantic copies it) and its required
    fields; None where construction does more than set them."""
    if not _plain(cls):
        return None
    model: Any = cls
    defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    required: set[str] = set()
    for name, field in model.model_fields.items():
        defaults[name] = None
        if field.default_factory is not None:
            if getattr(field, "default_factory_takes_data", False):
                return None
            factories.append((name, field.default_factory))
        elif field.is_required():
            required.add(name)
        elif isinstance(field.default, _IMMUTABLE):
            defaults[name] = field.default
        else:
            factories.append((name, partial(copy.deepcopy, field.default)))
    return defaults, tuple(factories), frozenset(required)


def made(cls: type[M], **fields: Any) -> M:
    """``cls(**fields)``: the given fields, the defaults of the others, ``fields`` as the
    set of fields given."""
    model: Any = cls  # a class is hashable: the caches key on it
    layout = _layout(model)
    if layout is None:
        return cls(**fields)
    defaults, factories, required = layout
    if not required <= fields.keys() or not fields.keys() <= defaults.keys():
        return cls(**fields)  # the class says what is missing or extra
    values = defaults.copy()  # the fields' order, which serialising follows
    values.update(fields)
    for name, factory in factories:
        if name not in fields:
            values[name] = factory()
    return _assembled(cls, values, set(fields))


def _assembled(cls: type[M], values: dict[str, Any], given: set[str]) -> M:
    message = cls.__new__(cls)
    _set(message, "__dict__", values)
    _set(message, "__pydantic_fields_set__", given)
    _set(message, "__pydantic_extra__", {})
    _set(message, "__pydantic_private__", None)
    return message
