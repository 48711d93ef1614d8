"""Callback appointment times: the quick choices agents use and the times they type."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

EVENING_HOUR = 19


def local_now() -> datetime:
    return datetime.now().astimezone()


def in_one_hour(now: datetime) -> datetime:
    return now + timedelta(hours=1)


def tonight(now: datetime) -> datetime:
    """Today at 19:00, or tomorrow at 19:00 when it is already later than that."""
    evening = now.replace(hour=EVENING_HOUR, minute=0, second=0, microsecond=0)
    return evening if evening > now else evening + timedelta(days=1)


def tomorrow_same_time(now: datetime) -> datetime:
    return now + timedelta(days=1)


QUICK_CHOICES: tuple[tuple[str, str, Callable[[datetime], datetime]], ...] = (
    ("1", "一小时后", in_one_hour),
    ("2", f"今晚 {EVENING_HOUR}:00", tonight),
    ("3", "明天同一时间", tomorrow_same_time),
)

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*(m|min|分钟?|h|小时)$")
_TIME = re.compile(r"^(?:(明天|后天)\s*)?(\d{1,2})[:：](\d{2})$")
_DATE_TIME = re.compile(r"^(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})\s+(\d{1,2})[:：](\d{2})$")


class CallbackTimeError(ValueError):
    """A typed callback time that cannot be understood, or lies in the past."""


def parse_callback_time(text: str, now: datetime) -> datetime:
    """A typed time: `14:30`, `明天 10:00`, `11-25 09:30`, `2026-11-25 09:30`, `+30m`, `+2h`.

    A bare time that has passed today means tomorrow. The result is in `now`'s time zone.
    """
    raw = text.strip()
    if match := _RELATIVE.match(raw):
        amount, unit = int(match.group(1)), match.group(2)
        delta = timedelta(minutes=amount) if unit in ("m", "min", "分", "分钟") else timedelta(hours=amount)
        return now + delta
    if match := _TIME.match(raw):
        day_word, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
        moment = _at(now, now.year, now.month, now.day, hour, minute)
        if day_word:
            moment += timedelta(days=1 if day_word == "明天" else 2)
        elif moment <= now:
            moment += timedelta(days=1)
        return moment
    if match := _DATE_TIME.match(raw):
        year = int(match.group(1) or now.year)
        moment = _at(now, year, int(match.group(2)), int(match.group(3)), int(match.group(4)), int(match.group(5)))
        if moment <= now:
            raise CallbackTimeError(f"{raw} has already passed")
        return moment
    raise CallbackTimeError(f"cannot read '{raw}': write 14:30, 明天 10:00, 11-25 09:30 or +30m")


def _at(now: datetime, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    try:
        return now.replace(year=year, month=month, day=day, hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError as error:
        raise CallbackTimeError(f"no such time: {error}") from error
