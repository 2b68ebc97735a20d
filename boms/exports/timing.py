"""When a schedule's slots fall: every day, week (on a weekday, 0 = Monday) or month (on a day 1-28)
at a time of day in UTC. A slot is the scheduled moment itself; a run is made for the latest slot
at or before now, once (``boms.exports.services.start_due_runs``)."""

import calendar
from datetime import UTC, date, datetime, time, timedelta


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=UTC)


def latest_slot(*, every: str, at: time, weekday: int = 0, day_of_month: int = 1, now: datetime) -> datetime:
    """The latest scheduled moment at or before ``now``."""
    now = now.astimezone(UTC)
    today = now.date()
    if every == "daily":
        slot = _at(today, at)
        return slot if slot <= now else slot - timedelta(days=1)
    if every == "weekly":
        slot = _at(today - timedelta(days=(today.weekday() - weekday) % 7), at)
        return slot if slot <= now else slot - timedelta(days=7)
    if every == "monthly":
        slot = _at(today.replace(day=day_of_month), at)
        if slot <= now:
            return slot
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return _at(date(year, month, min(day_of_month, calendar.monthrange(year, month)[1])), at)
    raise ValueError(f"unknown schedule period {every!r}; expected daily, weekly or monthly")


def next_slot(*, every: str, at: time, weekday: int = 0, day_of_month: int = 1, now: datetime) -> datetime:
    """The first scheduled moment after ``now`` (shown to people: "next run")."""
    latest = latest_slot(every=every, at=at, weekday=weekday, day_of_month=day_of_month, now=now)
    if every == "daily":
        return latest + timedelta(days=1)
    if every == "weekly":
        return latest + timedelta(days=7)
    year, month = (latest.year, latest.month + 1) if latest.month < 12 else (latest.year + 1, 1)
    return latest.replace(year=year, month=month)
