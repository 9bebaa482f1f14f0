"""EventBridge Scheduler's schedule expressions, parsed, and when they fire next (pure).

Three forms, as CreateSchedule takes them:

- ``cron(minutes hours day-of-month month day-of-week year)``: EventBridge's six fields, with
  ``* , - /`` everywhere, ``?`` in one of the day fields (one of them must be ``?``), ``L`` and
  ``W`` in day-of-month (``L``, ``LW``, ``15W``), ``L`` and ``#`` in day-of-week (``6L``: the
  month's last Friday, ``2#1``: its first Monday), names ``JAN``-``DEC`` and ``SUN``-``SAT``
  (day-of-week 1 is Sunday). Evaluated in ``scheduleExpressionTimezone``; a wall time that a
  daylight-saving change skips does not fire, one that it repeats fires once (the first).
- ``rate(value unit)``: every ``value`` minutes, hours or days (singular unit for 1, as
  EventBridge requires), counted from an anchor (the schedule's start).
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall time of the time zone.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: English names, whatever the locale (calendar.month_abbr follows it)
MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
#: EventBridge's day-of-week numbers: 1 is Sunday
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
#: EventBridge's years
YEARS = (1970, 2199)


class ScheduleError(ValueError):
    """An expression EventBridge would refuse; the message says which part and why."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    #: day-of-month terms: ints, "L", "LW", or "<n>W"
    days: tuple[str, ...] | None
    months: frozenset[int]
    #: day-of-week terms: ints 1-7, "<n>L", "<n>#<k>"
    weekdays: tuple[str, ...] | None
    years: frozenset[int]

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None:
            return any(_day_term(term, day) for term in self.days)
        assert self.weekdays is not None
        return any(_weekday_term(term, day) for term in self.weekdays)


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class At:
    when: datetime  # naive wall time of the schedule's time zone


Expression = Cron | Rate | At


def _ecs_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday 0 -> 2, Sunday 6 -> 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, wanted: int) -> int:
    """The day of ``day``'s month that is the weekday nearest the ``wanted``-th, in the month."""
    last = _last_day(day)
    wanted = min(wanted, last)
    weekday = date(day.year, day.month, wanted).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return wanted - 1 if wanted > 1 else wanted + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the last
        return wanted + 1 if wanted < last else wanted - 2
    return wanted


def _day_term(term: str, day: date) -> bool:
    if term == "L":
        return day.day == _last_day(day)
    if term == "LW":
        return day.day == _nearest_weekday(day, _last_day(day))
    if term.endswith("W"):
        return day.day == _nearest_weekday(day, int(term[:-1]))
    return day.day == int(term)


def _weekday_term(term: str, day: date) -> bool:
    if term.endswith("L"):
        return _ecs_weekday(day) == int(term[:-1]) and day.day + 7 > _last_day(day)
    if "#" in term:
        weekday, nth = (int(part) for part in term.split("#"))
        return _ecs_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    return _ecs_weekday(day) == int(term)


def _number(text: str, names: dict[str, int], field: str, low: int, high: int) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise ScheduleError(f"{field}: {text!r} is not a number{' or a name' * bool(names)}")
        value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{field}: {value} is outside {low}-{high}")
    return value


def _values(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    """A field of plain terms: ``*``, ``n``, ``a-b``, each with an optional ``/step``."""
    found: set[int] = set()
    for term in text.split(","):
        base, _, step_text = term.partition("/")
        step = _number(step_text, {}, field, 1, high) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start = _number(first, names, field, low, high)
            end = _number(last, names, field, low, high)
            if start > end:
                raise ScheduleError(f"{field}: range {base} runs backwards")
        else:
            start = _number(base, names, field, low, high)
            end = high if step_text else start
        found.update(range(start, end + 1, step))
    return frozenset(found)


def _day_terms(text: str) -> tuple[str, ...]:
    terms: list[str] = []
    for term in text.split(","):
        upper = term.upper()
        if upper in ("L", "LW"):
            terms.append(upper)
        elif upper.endswith("W"):
            terms.append(f"{_number(upper[:-1], {}, 'day-of-month', 1, 31)}W")
        else:
            terms.extend(str(d) for d in sorted(_values(term, "day-of-month", 1, 31, {})))
    return tuple(terms)


def _weekday_terms(text: str) -> tuple[str, ...]:
    terms: list[str] = []
    for term in text.split(","):
        upper = term.upper()
        if upper == "L":
            terms.append("7")  # the week's last day, Saturday
        elif upper.endswith("L"):
            terms.append(f"{_number(upper[:-1], WEEKDAYS, 'day-of-week', 1, 7)}L")
        elif "#" in upper:
            weekday, nth = upper.split("#", 1)
            number = _number(weekday, WEEKDAYS, "day-of-week", 1, 7)
            terms.append(f"{number}#{_number(nth, {}, 'day-of-week', 1, 5)}")
        else:
            terms.extend(str(d) for d in sorted(_values(term, "day-of-week", 1, 7, WEEKDAYS)))
    return tuple(terms)


def parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(
            "cron() takes six fields: minutes hours day-of-month month day-of-week year"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError("cron(): one of day-of-month and day-of-week must be '?', not both")
    return Cron(
        minutes=_values(minute, "minutes", 0, 59, {}),
        hours=_values(hour, "hours", 0, 23, {}),
        days=None if dom == "?" else _day_terms(dom),
        months=_values(month, "month", 1, 12, MONTHS),
        weekdays=None if dow == "?" else _weekday_terms(dow),
        years=_values(year, "year", *YEARS, {}),
    )


_FORM = re.compile(r"^(cron|rate|at)\((.*)\)$", re.DOTALL)
_RATE = re.compile(r"^(\d+) +(minute|minutes|hour|hours|day|days)$")


def parse(expression: str) -> Expression:
    """The expression, or :class:`ScheduleError` saying what EventBridge would refuse."""
    form = _FORM.match(expression.strip())
    if form is None:
        raise ScheduleError("must be cron(...), rate(...) or at(...)")
    name, body = form.group(1), form.group(2).strip()
    if name == "cron":
        return parse_cron(body)
    if name == "rate":
        rate = _RATE.match(body)
        if rate is None:
            raise ScheduleError("rate() takes a value and a unit: minute(s), hour(s) or day(s)")
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleError("rate(): the value must be a positive number")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError("rate(): the unit is singular for 1 and plural otherwise")
        return Rate(value * RATE_UNITS[unit.rstrip("s")])
    try:
        return At(datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise ScheduleError("at() takes a time as yyyy-mm-ddThh:mm:ss") from None


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone (UTC when unset), or :class:`ScheduleError`."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{name!r} is not an IANA time zone name") from None


def _instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall time, or None when the zone skips it (daylight saving)."""
    aware = wall.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return aware.astimezone(UTC) if back == wall else None


def next_after(
    expression: Expression, after: datetime, tz: ZoneInfo, anchor: datetime
) -> datetime | None:
    """The first firing strictly after ``after`` (UTC), or None when there is none. ``anchor``
    (UTC) is where a rate counts from."""
    if isinstance(expression, Rate):
        elapsed = (after - anchor).total_seconds()
        periods = 0 if elapsed < 0 else int(elapsed // expression.seconds) + 1
        return anchor + timedelta(seconds=periods * expression.seconds)
    if isinstance(expression, At):
        when = _instant(expression.when, tz)
        return when if when is not None and when > after else None
    local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    day = local.date()
    hours, minutes = sorted(expression.hours), sorted(expression.minutes)
    last = date(min(max(expression.years), YEARS[1]), 12, 31)
    while day <= last:
        if day.year not in expression.years:
            day = date(day.year + 1, 1, 1)
            continue
        if expression.matches_day(day):
            for hour in hours:
                for minute in minutes:
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    if wall < local:
                        continue
                    instant = _instant(wall, tz)
                    if instant is not None and instant > after:
                        return instant
        day += timedelta(days=1)
    return None


def last_at_or_before(
    expression: Expression, now: datetime, tz: ZoneInfo, anchor: datetime, since: datetime
) -> datetime | None:
    """The latest firing in ``[since, now]`` (UTC), or None: what a reconcile at ``now``
    owes, however many firings it missed since ``since`` (it fires once, not each)."""
    firing: datetime | None
    if isinstance(expression, Rate):
        if now < anchor:
            return None
        periods = int((now - anchor).total_seconds() // expression.seconds)
        firing = anchor + timedelta(seconds=periods * expression.seconds)
    elif isinstance(expression, At):
        firing = _instant(expression.when, tz)
        firing = firing if firing is not None and firing <= now else None
    else:
        firing = _cron_at_or_before(expression, now, tz, since)
    return firing if firing is not None and firing >= since else None


def _cron_at_or_before(cron: Cron, now: datetime, tz: ZoneInfo, since: datetime) -> datetime | None:
    """The latest cron firing at or before ``now``, looking back no further than ``since``."""
    local = now.astimezone(tz).replace(tzinfo=None)
    first = since.astimezone(tz).date() - timedelta(days=1)
    hours, minutes = sorted(cron.hours, reverse=True), sorted(cron.minutes, reverse=True)
    day = local.date()
    while day >= first:
        if cron.matches_day(day):
            for hour in hours:
                for minute in minutes:
                    # instants compared, not wall times: an hour that comes twice (clocks
                    # going back) has its first pass's 01:30 before the second's 01:10
                    instant = _instant(datetime(day.year, day.month, day.day, hour, minute), tz)
                    if instant is not None and instant <= now:
                        return instant
        day -= timedelta(days=1)
    return None
