from __future__ import annotations

import datetime as dt

import pytest

from agent.errors import ToolError
from agent.tools import dates
from agent.tools.dates import (
    add_to_date,
    convert_time,
    current_time,
    date_difference,
    day_of_week,
)


def test_current_time_is_in_the_zone() -> None:
    out = current_time("Asia/Tokyo")
    assert out["timezone"] == "Asia/Tokyo" and out["utc_offset"] == "+09:00"
    moment = dt.datetime.fromisoformat(out["datetime"])
    now = dt.datetime.now(dt.UTC)
    assert abs((moment - now).total_seconds()) < 60
    assert out["date"] == moment.date().isoformat()


def test_zone_names_are_forgiving() -> None:
    assert current_time("utc")["timezone"] == "UTC"
    assert current_time("europe/paris")["timezone"] == "Europe/Paris"
    assert current_time("Tokyo")["timezone"] == "Asia/Tokyo"  # a unique city
    assert current_time("New York")["timezone"] == "America/New_York"


def test_unknown_zone_suggests_close_names() -> None:
    with pytest.raises(ToolError, match=r"unknown time zone 'Europe/Pariss'; did you mean "
                                        r"'Europe/Paris'"):
        current_time("Europe/Pariss")
    with pytest.raises(ToolError, match="unknown time zone"):
        current_time("../../etc/passwd")


def test_convert_time_across_dst_rules() -> None:
    out = convert_time("2024-05-31T14:30", "Europe/London", "Asia/Tokyo")
    assert out["source"] == "2024-05-31T14:30:00+01:00"
    assert out["result"] == "2024-05-31T22:30:00+09:00"
    assert (out["date"], out["time"], out["day_shift"]) == ("2024-05-31", "22:30:00", 0)
    # New York switched to EDT on 2024-03-10, Paris not yet.
    out = convert_time("2024-03-10T12:00", "Europe/Paris", "America/New_York")
    assert out["result"] == "2024-03-10T07:00:00-04:00"
    out = convert_time("2024-01-01T23:00", "America/Los_Angeles", "Europe/Berlin")
    assert out["result"] == "2024-01-02T08:00:00+01:00" and out["day_shift"] == 1


def test_convert_time_explicit_offset_wins() -> None:
    out = convert_time("2024-06-01T12:00Z", "Europe/Paris", "Asia/Kolkata")
    assert out["source"] == "2024-06-01T14:00:00+02:00"
    assert out["result"] == "2024-06-01T17:30:00+05:30"


def test_convert_clock_time_today() -> None:
    out = convert_time("9:15", "UTC", "Asia/Kathmandu")
    assert out["time"] == "15:00:00"
    assert convert_time("3:30 pm", "UTC", "UTC")["time"] == "15:30:00"


def test_unparseable_times() -> None:
    with pytest.raises(ToolError, match="cannot read date-time 'half past nine'"):
        convert_time("half past nine", "UTC", "UTC")
    with pytest.raises(ToolError, match="cannot read time '25:00'"):
        convert_time("25:00", "UTC", "UTC")
    with pytest.raises(ToolError, match="cannot read date '31/12/2024'"):
        day_of_week("31/12/2024")


def test_date_difference() -> None:
    out = date_difference("2024-01-01", "2024-03-01")
    assert out == {"start": "2024-01-01", "end": "2024-03-01", "days": 60, "weeks": 8.57,
                   "business_days": 44, "years": 0, "months": 2, "remaining_days": 0}
    back = date_difference("2024-03-01", "2024-01-01")
    assert (back["days"], back["business_days"], back["months"]) == (-60, -44, -2)
    two_weeks = date_difference("2024-06-03", "2024-06-17")  # Monday to Monday
    assert (two_weeks["weeks"], two_weeks["business_days"]) == (2.0, 10)
    weekend = date_difference("2024-06-08", "2024-06-10")  # Saturday to Monday
    assert weekend["business_days"] == 0
    age = date_difference("1990-07-15", "2024-05-31")
    assert (age["years"], age["months"], age["remaining_days"]) == (33, 10, 16)


def test_add_to_date_clamps_month_ends() -> None:
    assert add_to_date("2024-01-31", months=1)["result"] == "2024-02-29"
    assert add_to_date("2023-01-31", months=1)["result"] == "2023-02-28"
    assert add_to_date("2024-02-29", years=1)["result"] == "2025-02-28"
    assert add_to_date("2024-03-31", months=-1)["result"] == "2024-02-29"
    out = add_to_date("2024-03-15", days=90)
    assert out == {"date": "2024-03-15", "result": "2024-06-13", "weekday": "Thursday"}
    assert add_to_date("2024-01-01", weeks=2, days=-1)["result"] == "2024-01-14"
    assert add_to_date("2024-03-15T10:30", months=1)["result"] == "2024-04-15T10:30:00"
    with pytest.raises(ToolError, match="outside the supported years"):
        add_to_date("9999-12-31", days=1)


def test_day_of_week() -> None:
    assert day_of_week("2024-12-25") == {
        "date": "2024-12-25", "weekday": "Wednesday", "iso_weekday": 3, "iso_week": 52,
        "day_of_year": 360, "is_weekend": False,
    }
    assert day_of_week("2023-01-01")["iso_week"] == 52  # ISO week of the previous year
    assert day_of_week("2024-06-09")["is_weekend"] is True


async def test_through_the_executor(run_tool) -> None:
    calls = [
        ("current_time", {"timezone": "Europe/Paris"}),
        ("convert_time", {"time": "2024-05-31T14:30", "from_timezone": "UTC",
                          "to_timezone": "Asia/Tokyo"}),
        ("date_difference", {"start": "2024-01-01", "end": "2024-12-25"}),
        ("add_to_date", {"date": "2024-01-31", "months": 1}),
        ("day_of_week", {"date": "2024-12-25"}),
    ]
    for name, args in calls:
        result = await run_tool(dates, name, args)
        assert result.ok, (name, result.error)
    bad = await run_tool(dates, "current_time", {"timezone": "Mars/Olympus"})
    assert bad.status == "error" and bad.error.startswith("unknown time zone 'Mars/Olympus'")
    invalid = await run_tool(dates, "add_to_date", {"date": "2024-01-01", "days": 1.5})
    assert invalid.status == "error" and "'days'" in invalid.error
