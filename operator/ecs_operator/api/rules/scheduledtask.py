"""The rules of a ScheduledTask (EventBridge Scheduler's CreateSchedule with an ECS target):
its expression, time zone, window and dates. The RunTask each firing makes is checked with a
Task's rules (``parse.parse_scheduled_task``)."""

from __future__ import annotations

from ..errors import Violation
from ..models import ScheduledTaskSpec, timestamp
from ..schedule import ScheduleError, parse, zone
from .common import Cel, Registry, Rule
from .tags import tag_violations, tags_cel

_registry = Registry[ScheduledTaskSpec]()

EXPRESSION_FORM = "scheduleExpression must be cron(...), rate(...) or at(...)"


@_registry.rule(
    Cel(
        r"self.scheduleExpression.matches('^\\s*(cron|rate|at)\\(.*\\)\\s*$')",
        EXPRESSION_FORM,
        field=".scheduleExpression",
    )
)
def schedule_expression(schedule: ScheduledTaskSpec) -> list[Violation]:
    """A cron, rate or at expression in EventBridge's syntax. [EventBridge Scheduler]
    CreateSchedule ScheduleExpression."""
    try:
        parse(schedule.scheduleExpression)
    except ScheduleError as error:
        return [Violation("scheduleExpression", str(error))]
    return []


@_registry.rule()
def schedule_expression_timezone(schedule: ScheduledTaskSpec) -> list[Violation]:
    """An IANA time zone name. [EventBridge Scheduler] CreateSchedule
    ScheduleExpressionTimezone."""
    try:
        zone(schedule.scheduleExpressionTimezone)
    except ScheduleError as error:
        return [Violation("scheduleExpressionTimezone", str(error))]
    return []


FLEXIBLE_WINDOW = "maximumWindowInMinutes is required with mode FLEXIBLE and refused with OFF"


@_registry.rule(
    Cel(
        "(self.mode == 'FLEXIBLE') == has(self.maximumWindowInMinutes)",
        FLEXIBLE_WINDOW,
        "flexibleTimeWindow",
        field=".maximumWindowInMinutes",
    )
)
def flexible_time_window(schedule: ScheduledTaskSpec) -> list[Violation]:
    """A window's length with FLEXIBLE, none with OFF. [EventBridge Scheduler]
    FlexibleTimeWindow.MaximumWindowInMinutes."""
    window = schedule.flexibleTimeWindow
    if (window.mode == "FLEXIBLE") == (window.maximumWindowInMinutes is not None):
        return []
    return [Violation("flexibleTimeWindow.maximumWindowInMinutes", FLEXIBLE_WINDOW)]


DATES_ORDER = "endDate must be after startDate"


@_registry.rule()
def dates_in_order(schedule: ScheduledTaskSpec) -> list[Violation]:
    """The schedule ends after it starts. [EventBridge Scheduler] CreateSchedule EndDate."""
    if schedule.startDate is None or schedule.endDate is None:
        return []
    if timestamp(schedule.endDate) > timestamp(schedule.startDate):
        return []
    return [Violation("endDate", DATES_ORDER)]


@_registry.rule(tags_cel("target.ecsParameters"))
def run_task_tag_keys(schedule: ScheduledTaskSpec) -> list[Violation]:
    """The tags of each firing's RunTask keep the tag rules (``tags.tag_violations``)."""
    return tag_violations(schedule.target.ecsParameters.tags, "target.ecsParameters.tags")


SCHEDULED_TASK_RULES: tuple[Rule[ScheduledTaskSpec], ...] = _registry.rules
