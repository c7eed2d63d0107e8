"""Durations and local times from the workflow file, across daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.timing import (
    format_duration,
    in_window,
    local_moment,
    parse_clock,
    parse_duration,
    parse_window,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_read_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("bad", ["2", "two hours", "0m", "2h 3x", 5, "h"])
def test_bad_durations_say_what_is_expected(bad: object) -> None:
    with pytest.raises(ValueError, match=r"duration such as|longer than zero"):
        parse_duration(bad)


def test_clock_times_and_windows() -> None:
    assert parse_clock("9:05") == time(9, 5)
    with pytest.raises(ValueError, match="between"):
        parse_clock("24:00")
    night = parse_window("20:00-08:00")
    assert in_window(time(23, 0), night) and in_window(time(7, 59), night)
    assert not in_window(time(8, 0), night) and not in_window(time(12, 0), night)
    lunch = parse_window("12:00-13:00")
    assert in_window(time(12, 30), lunch) and not in_window(time(13, 0), lunch)
    with pytest.raises(ValueError, match="same time"):
        parse_window("08:00-08:00")


def test_local_nine_oclock_follows_dst_in_rome_and_new_york() -> None:
    # Rome: CET (+1) until 29 March 2026, CEST (+2) after; New York: EST until 8 March.
    assert local_moment(date(2026, 3, 28), time(9), ROME).astimezone(UTC).hour == 8
    assert local_moment(date(2026, 3, 29), time(9), ROME).astimezone(UTC).hour == 7
    assert local_moment(date(2026, 3, 7), time(9), NEW_YORK).astimezone(UTC).hour == 14
    assert local_moment(date(2026, 3, 8), time(9), NEW_YORK).astimezone(UTC).hour == 13
    assert local_moment(date(2026, 11, 1), time(9), NEW_YORK).astimezone(UTC).hour == 14


def test_a_skipped_local_time_moves_forward_and_a_repeated_one_is_the_first() -> None:
    skipped = local_moment(date(2026, 3, 29), time(2, 30), ROME)
    assert (skipped.hour, skipped.minute) == (3, 30)
    assert skipped.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    repeated = local_moment(date(2026, 10, 25), time(2, 30), ROME)
    assert repeated.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
