"""Times a comms lead writes in the workflow file, and local clock arithmetic that stays right
across daylight-saving changes.

Everything Greenlight stores is UTC; a local time ("09:00 in Europe/Rome") becomes a UTC moment
only for a given date, through `local_moment`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, PlainSerializer

_DURATION_PART = re.compile(r"(\d+)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(value: Any) -> timedelta:
    """`90m`, `2h`, `1d`, `1h30m` (days, hours, minutes) → a positive timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a duration such as 30m, 2h or 1d, not {value!r}")
    text = value.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"must be a duration such as 30m, 2h, 1d or 1h30m, not {value!r}")
    total = timedelta(0)
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    if total <= timedelta(0):
        raise ValueError(f"must be longer than zero, not {value!r}")
    return total


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`, e.g. `1d2h`, `45m`."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return "".join(parts) or "0m"


def parse_clock(value: Any) -> time:
    """`09:00` (24-hour clock) → a time of day."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f'must be a time of day such as "09:00", not {value!r}')
    hours, minutes = (int(p) for p in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f'must be a time of day between "00:00" and "23:59", not {value!r}')
    return time(hours, minutes)


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
ClockTime = Annotated[
    time, BeforeValidator(parse_clock), PlainSerializer(lambda t: t.strftime("%H:%M"))
]


def parse_window(value: Any) -> tuple[time, time]:
    """`20:00-08:00` → (start, end); a window may wrap past midnight."""
    if isinstance(value, tuple):
        return value
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f'must be a window such as "20:00-08:00", not {value!r}')
    start, end = (parse_clock(part) for part in value.split("-"))
    if start == end:
        raise ValueError(f"starts and ends at the same time: {value!r}")
    return start, end


def in_window(moment: time, window: tuple[time, time]) -> bool:
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as an aware datetime; DST-correct.

    A time that does not exist that day (the hour skipped when clocks go forward) moves forward
    by the gap, as a wall clock would; a time that happens twice (clocks go back) is the first.
    """
    naive = datetime.combine(day, at)
    moment = naive.replace(tzinfo=zone, fold=0)
    # Round-tripping through UTC normalises a skipped wall time to the real one after the gap.
    return moment.astimezone(ZoneInfo("UTC")).astimezone(zone)
