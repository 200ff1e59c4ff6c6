"""Unit conversion with pint.

One ``UnitRegistry`` is built on first use and cached: building it parses pint's definition
file (a few hundred milliseconds), so it must not happen at import time. Values are wrapped in
a ``Quantity`` before converting, which is what makes offset units (degC, degF) convert
correctly: 100 degC is 212 degF, not 180.

``C`` and ``F`` mean coulomb and farad to pint; when the other unit is a temperature they are
read as degC and degF, because that is what a person converting "20 C to F" means.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool

from . import of, returns

_TEMPERATURE_ALIASES = {"C": "degC", "F": "degF", "K": "kelvin"}


@lru_cache(maxsize=1)
def registry() -> Any:
    """The shared pint registry (created lazily, once)."""
    import pint

    return pint.UnitRegistry()


def _dims(unit: Any) -> str:
    text = str(unit.dimensionality)
    return text.replace("[", "").replace("]", "") or "dimensionless"


def _parse(name: str) -> Any:
    import pint

    ureg = registry()
    if not name.strip():
        raise ToolError("a unit is required (e.g. 'km', 'degC', 'mile / hour')")
    try:
        return ureg.parse_units(name.strip())
    except pint.errors.UndefinedUnitError:
        close = difflib.get_close_matches(name.strip(), dir(ureg), n=3, cutoff=0.75)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ToolError(f"unknown unit {name!r}{hint}") from None
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError) as exc:
        raise ToolError(f"cannot read unit {name!r}: {exc}") from None


def _units(from_unit: str, to_unit: str) -> tuple[Any, Any]:
    """Parse both units, reading bare C/F/K as temperatures next to a temperature."""
    src, dst = from_unit.strip(), to_unit.strip()
    if src in _TEMPERATURE_ALIASES and dst in _TEMPERATURE_ALIASES:
        return _parse(_TEMPERATURE_ALIASES[src]), _parse(_TEMPERATURE_ALIASES[dst])
    temperature = registry().parse_units("kelvin").dimensionality
    if src in _TEMPERATURE_ALIASES:
        dst_unit = _parse(dst)
        if dst_unit.dimensionality == temperature:
            return _parse(_TEMPERATURE_ALIASES[src]), dst_unit
        return _parse(src), dst_unit
    src_unit = _parse(src)
    if dst in _TEMPERATURE_ALIASES and src_unit.dimensionality == temperature:
        return src_unit, _parse(_TEMPERATURE_ALIASES[dst])
    return src_unit, _parse(dst)


def _tidy(x: float) -> float:
    """12 significant digits: conversion factors carry no more, and 211.99999999999991 is 212."""
    return float(f"{x:.12g}")


@tool(
    tags=("units", "math"),
    examples=("convert 10 km to miles", "100 degC in fahrenheit", "how many liters is 2 gallons"),
    templates=(
        "Convert {value} {from_unit} to {to_unit}.",
        "How many {to_unit} is {value} {from_unit}?",
        "What is {value} {from_unit} in {to_unit}?",
        "Express {value} {from_unit} in {to_unit}.",
        "I have {value} {from_unit}; how much is that in {to_unit}?",
    ),
    output_schema=returns({
        "value": of("number", "the value converted"),
        "from_unit": of("string", "the unit converted from, as given"),
        "to_unit": of("string", "the unit converted to, as given"),
        "result": of("number", "the value in to_unit"),
        "text": of("string", "e.g. '10 kilometer = 6.21371 mile'"),
    }),
)
def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    """Convert a value from one unit to another (length, mass, temperature, speed, ...).

    Units are pint names or symbols: m, km, mile, ft, inch, kg, lb, degC, degF, kelvin,
    liter, gallon, km/h, mph, J, kWh, ... Compound units are written like "meter / second".

    Args:
        value: The number to convert, e.g. 10, 2.5, 42 or 100.
        from_unit: The unit of the value, e.g. "km", "mile", "m", "ft", "inch", "kg", "lb",
            "degC" or "degF".
        to_unit: The unit to convert to, e.g. "mile", "km", "ft", "m", "cm", "lb", "kg",
            "degF" or "kelvin".
    """
    import pint

    src, dst = _units(from_unit, to_unit)
    try:
        converted = registry().Quantity(value, src).to(dst)
    except pint.errors.DimensionalityError:
        raise ToolError(
            f"cannot convert {src} to {dst}: {_dims(src)} vs {_dims(dst)}"
        ) from None
    except (pint.errors.PintError, ValueError, TypeError, OverflowError) as exc:
        raise ToolError(f"cannot convert {src} to {dst}: {exc}") from None
    result = _tidy(float(converted.magnitude))
    return {
        "value": value,
        "from_unit": from_unit,
        "to_unit": to_unit,
        "result": result,
        "text": f"{value:g} {src} = {result:g} {dst}",
    }


@hookimpl
def register_tools(register: Any) -> None:
    register([convert_units])
