"""EventBridge Scheduler's expressions: what is refused (with the reason), and the next firing
after a time, in UTC and in a time zone with daylight saving."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecs_operator.api.parse import parse_scheduled_task
from ecs_operator.api.schedule import ScheduleError, last_at_or_before, next_after, parse, zone
from ecs_operator.plan.scheduledtask import plan

ANCHOR = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NEXT = [
    # (expression, time zone, after (UTC), the next firing (UTC))
    ("cron(0 8 ? * MON-FRI *)", None, "2026-01-02T08:00", "2026-01-05T08:00"),  # Fri -> Mon
    ("cron(0/15 * * * ? *)", None, "2026-01-01T10:07", "2026-01-01T10:15"),
    ("cron(5,35 14 * * ? *)", None, "2026-01-01T14:05", "2026-01-01T14:35"),
    ("cron(0 0 L * ? *)", None, "2026-02-01T00:00", "2026-02-28T00:00"),
    ("cron(0 0 LW * ? *)", None, "2026-05-01T00:00", "2026-05-29T00:00"),  # 31st is Sunday
    ("cron(0 0 15W * ? *)", None, "2026-08-01T00:00", "2026-08-14T00:00"),  # 15th is Saturday
    ("cron(0 0 1W * ? *)", None, "2026-02-02T00:00", "2026-03-02T00:00"),  # 1st Sunday -> Mon 2nd
    ("cron(0 12 ? * 6L *)", None, "2026-01-01T00:00", "2026-01-30T12:00"),  # last Friday
    ("cron(0 12 ? * 2#1 *)", None, "2026-01-06T00:00", "2026-02-02T12:00"),  # first Monday
    ("cron(0 12 ? * L *)", None, "2026-01-01T00:00", "2026-01-03T12:00"),  # Saturday
    ("cron(0 9 1 JAN-MAR ? 2027)", None, "2026-06-01T00:00", "2027-01-01T09:00"),
    ("cron(0 9 29 2 ? *)", None, "2026-03-01T00:00", "2028-02-29T09:00"),
    ("cron(0 9 1 1 ? 2025)", None, "2026-01-01T00:00", None),  # its year is past
    ("cron(30 2 * * ? *)", "Europe/Berlin", "2026-01-01T00:00", "2026-01-01T01:30"),
    # 02:30 Berlin does not exist on 2026-03-29 (clocks go 02:00 -> 03:00): skipped
    ("cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28T01:30", "2026-03-30T00:30"),
    # 02:30 Berlin happens twice on 2026-10-25: once (the first, still summer time)
    ("cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24T23:00", "2026-10-25T00:30"),
    ("cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-25T00:30", "2026-10-26T01:30"),
    ("rate(1 minute)", None, "2026-01-01T00:00:30", "2026-01-01T00:01"),
    ("rate(5 minutes)", None, "2025-12-31T23:00", "2026-01-01T00:00"),  # before the anchor
    ("rate(2 hours)", None, "2026-01-01T02:00", "2026-01-01T04:00"),
    ("rate(1 day)", None, "2026-01-01T00:00:01", "2026-01-02T00:00"),
    ("at(2026-07-01T09:00:00)", "America/New_York", "2026-06-01T00:00", "2026-07-01T13:00"),
    ("at(2026-07-01T09:00:00)", None, "2026-07-01T09:00", None),  # once only
]


@pytest.mark.parametrize(("expression", "tz", "after", "expected"), NEXT)
def test_next_firing(expression: str, tz: str | None, after: str, expected: str | None) -> None:
    found = next_after(parse(expression), utc(after), zone(tz), ANCHOR)
    assert found == (None if expected is None else utc(expected))


LAST = [
    # (expression, now, since, the firing owed)
    ("rate(1 minute)", "2026-01-01T00:00:10", "2026-01-01T00:00", "2026-01-01T00:00"),
    ("rate(1 minute)", "2026-01-01T05:42:10", "2026-01-01T00:01", "2026-01-01T05:42"),  # once
    ("rate(10 minutes)", "2026-01-01T00:09", "2026-01-01T00:00:01", None),
    ("cron(0 * * * ? *)", "2026-01-03T10:59", "2026-01-01T00:00", "2026-01-03T10:00"),
    ("cron(0 * * * ? *)", "2026-01-03T10:59", "2026-01-03T10:00:01", None),
    ("cron(0 8 1 * ? *)", "2026-03-15T00:00", "2026-01-01T00:00", "2026-03-01T08:00"),
    ("at(2026-01-01T10:00:00)", "2026-01-01T10:00:05", "2026-01-01T00:00", "2026-01-01T10:00"),
    ("at(2026-01-01T10:00:00)", "2026-01-01T10:00:05", "2026-01-01T10:00:01", None),
]


@pytest.mark.parametrize(("expression", "now", "since", "expected"), LAST)
def test_firing_owed(expression: str, now: str, since: str, expected: str | None) -> None:
    found = last_at_or_before(parse(expression), utc(now), zone(None), ANCHOR, utc(since))
    assert found == (None if expected is None else utc(expected))


REFUSED = [
    ("*/5 * * * *", "must be cron(...), rate(...) or at(...)"),
    ("cron(0 8 * * ?)", "cron() takes six fields"),
    ("cron(0 8 * * MON *)", "one of day-of-month and day-of-week must be '?'"),
    ("cron(0 8 ? * ? *)", "one of day-of-month and day-of-week must be '?'"),
    ("cron(60 8 * * ? *)", "minutes: 60 is outside 0-59"),
    ("cron(0 24 * * ? *)", "hours: 24 is outside 0-23"),
    ("cron(0 8 32 * ? *)", "day-of-month: 32 is outside 1-31"),
    ("cron(0 8 * FOO ? *)", "month: 'FOO' is not a number or a name"),
    ("cron(0 8 ? * 8 *)", "day-of-week: 8 is outside 1-7"),
    ("cron(0 8 ? * 2#6 *)", "day-of-week: 6 is outside 1-5"),
    ("cron(0 8 * * ? 1969)", "year: 1969 is outside 1970-2199"),
    ("cron(0 10-8 * * ? *)", "hours: range 10-8 runs backwards"),
    ("rate(0 minutes)", "the value must be a positive number"),
    ("rate(1 minutes)", "the unit is singular for 1 and plural otherwise"),
    ("rate(5 minute)", "the unit is singular for 1 and plural otherwise"),
    ("rate(5 weeks)", "rate() takes a value and a unit"),
    ("at(2026-01-01 10:00)", "at() takes a time as yyyy-mm-ddThh:mm:ss"),
]


@pytest.mark.parametrize(("expression", "reason"), REFUSED)
def test_refused(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(reason)):
        parse(expression)


def test_time_zone_names() -> None:
    assert str(zone("Asia/Tokyo")) == "Asia/Tokyo"
    assert str(zone(None)) == "UTC"
    with pytest.raises(ScheduleError, match="is not an IANA time zone name"):
        zone("Mars/Olympus")


def _at_schedule(**dates: str) -> Any:
    return parse_scheduled_task(
        {
            "scheduleExpression": "at(2026-01-01T10:00:00)",
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {"ecsParameters": {"taskDefinitionArn": "web"}},
            **dates,
        }
    )


@pytest.mark.parametrize(
    "dates",
    [{"endDate": "2026-01-01T09:00:00Z"}, {"startDate": "2026-01-01T12:00:00Z"}],
    ids=["an end before it", "a start after it"],
)
def test_a_one_time_schedule_fires_whatever_its_dates(dates: dict[str, str]) -> None:
    """EventBridge Scheduler ignores StartDate and EndDate for one-time schedules (its
    CreateSchedule reference); an at() outside them never fired here, and read Completed."""
    created = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    firing = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    schedule = _at_schedule(**dates)
    assert plan(schedule, created, created, None, None).following == firing
    assert plan(schedule, created, firing + timedelta(seconds=1), None, None).due == firing


def test_a_schedule_named_with_a_dot_starts_its_tasks() -> None:
    """A ScheduledTask may be named ``nightly.report`` (a valid object name, and an EventBridge
    schedule name): its tasks' ``startedBy`` is ``chronos-schedule/nightly.report``, as ECS
    shows it (RunTask's ``startedBy`` takes any character, though ECS documents fewer)."""
    schedule = parse_scheduled_task(
        {
            "scheduleExpression": "rate(1 day)",
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {"ecsParameters": {"taskDefinitionArn": "web"}},
        },
        "nightly.report",
    )
    assert schedule.run_task("nightly.report")["startedBy"] == "chronos-schedule/nightly.report"


def test_a_firing_of_the_first_pass_of_a_repeated_hour_is_owed_in_the_second() -> None:
    """When clocks go back, 01:00-02:00 comes twice. A reconcile at 01:10 of the second pass
    (EST) owes the 01:30 of the first (EDT), which has passed; the wall times compared as
    such (01:30 after 01:10) found it not owed, and it fired an hour late."""
    cron, new_york = parse("cron(30 1 * * ? *)"), zone("America/New_York")
    first_0130 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    since = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    now = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert last_at_or_before(cron, now, new_york, anchor, since) == first_0130
