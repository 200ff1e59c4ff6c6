from __future__ import annotations

import pytest

from agent.errors import ToolError
from agent.tools import units
from agent.tools.units import convert_units


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (10, "km", "mi", 6.21371192237),
        (42.195, "km", "mile", 26.2187574565),
        (100, "degC", "degF", 212.0),
        (32, "degF", "degC", 0.0),
        (0, "degC", "kelvin", 273.15),
        (20, "C", "F", 68.0),  # bare C/F next to a temperature are degrees
        (300, "K", "C", 26.85),
        (1, "C", "mA*s", 1000.0),  # ...and coulomb otherwise
        (90, "km/h", "m/s", 25.0),
        (2, "gallon", "liter", 7.570823568),
        (1, "kWh", "J", 3_600_000.0),
        (5.5, "minute", "second", 330.0),
    ],
)
def test_conversions(value: float, src: str, dst: str, expected: float) -> None:
    out = convert_units(value, src, dst)
    assert out["result"] == pytest.approx(expected, rel=1e-9)
    assert (out["value"], out["from_unit"], out["to_unit"]) == (value, src, dst)


def test_offset_temperatures_are_exact() -> None:
    assert convert_units(100, "degC", "degF")["result"] == 212  # not 211.99999999999991
    assert convert_units(-40, "degF", "degC")["result"] == -40


def test_unknown_unit_suggests() -> None:
    with pytest.raises(ToolError, match=r"unknown unit 'metr'; did you mean .*'meter'"):
        convert_units(1, "foot", "metr")
    with pytest.raises(ToolError, match="unknown unit 'zorkmid'"):
        convert_units(1, "zorkmid", "m")
    with pytest.raises(ToolError, match="a unit is required"):
        convert_units(1, " ", "m")


def test_dimension_mismatch() -> None:
    with pytest.raises(ToolError, match="cannot convert meter to second: length vs time"):
        convert_units(1, "meter", "second")
    with pytest.raises(ToolError, match="temperature vs length"):
        convert_units(1, "degC", "m")


async def test_through_the_executor(run_tool) -> None:
    ok = await run_tool(units, "convert_units", {"value": 100, "from_unit": "degC",
                                                 "to_unit": "degF"})
    assert ok.ok, ok.error
    assert ok.content["result"] == 212
    bad = await run_tool(units, "convert_units", {"value": 1, "from_unit": "m",
                                                  "to_unit": "s"})
    assert bad.status == "error" and bad.error.startswith("cannot convert meter to second")
    invalid = await run_tool(units, "convert_units", {"value": "ten", "from_unit": "km",
                                                      "to_unit": "mile"})
    assert invalid.status == "error" and "'value'" in invalid.error
