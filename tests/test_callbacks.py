"""Callback appointment times: the three quick choices and the times agents type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from survey_tui.calling.callbacks import (
    QUICK_CHOICES,
    CallbackTimeError,
    in_one_hour,
    parse_callback_time,
    tomorrow_same_time,
    tonight,
)

CST = timezone(timedelta(hours=8))
EVENING = datetime(2026, 11, 22, 20, 15, 42, 123456, tzinfo=CST)  # already past 19:00
AFTERNOON = datetime(2026, 11, 22, 14, 5, 9, tzinfo=CST)


def at(month: int, day: int, hour: int, minute: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


def test_in_one_hour_keeps_the_minutes_and_the_zone() -> None:
    result = in_one_hour(EVENING)
    assert result == datetime(2026, 11, 22, 21, 15, 42, 123456, tzinfo=CST)
    assert result.utcoffset() == timedelta(hours=8)


def test_tonight_is_today_at_seven_in_the_afternoon() -> None:
    result = tonight(AFTERNOON)
    assert result == at(11, 22, 19, 0)
    assert result.utcoffset() == timedelta(hours=8)


def test_tonight_is_tomorrow_evening_once_seven_has_passed() -> None:
    assert tonight(EVENING) == at(11, 23, 19, 0)
    assert tonight(at(11, 22, 19, 0)) == at(11, 23, 19, 0)  # exactly 19:00 is no longer "tonight"
    assert tonight(at(11, 22, 18, 59)) == at(11, 22, 19, 0)


def test_tonight_crosses_the_month_and_year() -> None:
    assert tonight(at(11, 30, 21, 0)) == at(12, 1, 19, 0)
    assert tonight(at(12, 31, 22, 0)) == at(1, 1, 19, 0, year=2027)


def test_tomorrow_same_time() -> None:
    result = tomorrow_same_time(EVENING)
    assert result == datetime(2026, 11, 23, 20, 15, 42, 123456, tzinfo=CST)
    assert result.utcoffset() == timedelta(hours=8)


def test_quick_choices_are_keys_one_to_three_in_order() -> None:
    assert [(key, label) for key, label, _ in QUICK_CHOICES] == [
        ("1", "一小时后"),
        ("2", "今晚 19:00"),
        ("3", "明天同一时间"),
    ]
    assert [choose(EVENING) for _, _, choose in QUICK_CHOICES] == [
        EVENING + timedelta(hours=1),
        at(11, 23, 19, 0),
        EVENING + timedelta(days=1),
    ]


@pytest.mark.parametrize(
    ("typed", "now", "expected"),
    [
        ("14:30", AFTERNOON, at(11, 22, 14, 30)),  # later today
        ("14:30", EVENING, at(11, 23, 14, 30)),  # passed today: tomorrow
        ("14:05", AFTERNOON, at(11, 23, 14, 5)),  # this very minute has passed
        ("9:05", AFTERNOON, at(11, 23, 9, 5)),
        ("14：30", AFTERNOON, at(11, 22, 14, 30)),  # full-width colon of a Chinese keyboard
        ("  21:00  ", EVENING, at(11, 22, 21, 0)),
        ("明天 10:00", EVENING, at(11, 23, 10, 0)),
        ("明天10:00", AFTERNOON, at(11, 23, 10, 0)),
        ("明天 23:30", EVENING, at(11, 23, 23, 30)),  # tomorrow even though 23:30 is still ahead today
        ("后天 9:05", EVENING, at(11, 24, 9, 5)),
        ("后天 9：05", AFTERNOON, at(11, 24, 9, 5)),
        ("11-25 09:30", EVENING, at(11, 25, 9, 30)),
        ("11/25 9:30", EVENING, at(11, 25, 9, 30)),
        ("2026-11-25 09:30", EVENING, at(11, 25, 9, 30)),
        ("2027-01-03 10:00", EVENING, at(1, 3, 10, 0, year=2027)),
        ("2026.12.01 18：45", EVENING, at(12, 1, 18, 45)),
        ("+30m", EVENING, EVENING + timedelta(minutes=30)),
        ("+30min", EVENING, EVENING + timedelta(minutes=30)),
        ("+2h", EVENING, EVENING + timedelta(hours=2)),
        ("+15分钟", EVENING, EVENING + timedelta(minutes=15)),
        ("+15分", EVENING, EVENING + timedelta(minutes=15)),
        ("+3小时", EVENING, EVENING + timedelta(hours=3)),
        ("+ 45 m", EVENING, EVENING + timedelta(minutes=45)),
    ],
)
def test_typed_times(typed: str, now: datetime, expected: datetime) -> None:
    result = parse_callback_time(typed, now)
    assert result == expected
    assert result.tzinfo is now.tzinfo
    assert result > now


def test_a_typed_clock_time_drops_seconds_of_now() -> None:
    result = parse_callback_time("21:00", EVENING)
    assert (result.second, result.microsecond) == (0, 0)


def test_the_result_is_in_the_zone_of_now_not_the_machine() -> None:
    utc_now = datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    result = parse_callback_time("14:30", utc_now)
    assert result == datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("11-20 09:30", "already passed"),  # an explicit date in the past is refused, not moved
        ("2025-11-25 09:30", "already passed"),
        ("11-22 20:15", "already passed"),  # this very minute
        ("25:00", "no such time"),
        ("14:60", "no such time"),
        ("明天 24:00", "no such time"),
        ("2026-02-30 10:00", "no such time"),
        ("13-01 10:00", "no such time"),
        ("下午三点", "cannot read"),
        ("asdf", "cannot read"),
        ("", "cannot read"),
        ("1430", "cannot read"),
        ("+30", "cannot read"),
        ("+30s", "cannot read"),
        ("昨天 10:00", "cannot read"),
    ],
)
def test_times_that_cannot_be_booked(typed: str, message: str) -> None:
    with pytest.raises(CallbackTimeError, match=message):
        parse_callback_time(typed, EVENING)


def test_a_callback_time_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_callback_time("gibberish", EVENING)
