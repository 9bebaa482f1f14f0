"""Scheduled ECS tasks in CloudFormation: an ``AWS::Scheduler::Schedule`` (EventBridge
Scheduler) or an ``AWS::Events::Rule`` with a ``ScheduleExpression`` (EventBridge's older
scheduled rules), each ECS target as a ScheduledTask's spec (CreateSchedule's members in the
API's camelCase, the schedule's name in ``name``, which convert makes the object's name).

A rule has up to five targets and no time window; each target with ``EcsParameters`` becomes
one schedule (``<rule>-<target id>`` when there are several), ``flexibleTimeWindow`` OFF. A
rule's other targets (Lambda, SQS...) and a rule with an event pattern instead of a schedule
are left out with a note.
"""

from __future__ import annotations

from typing import Any

#: the rule's states that run it
ENABLED = {"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"}


def from_schedule(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An ``AWS::Scheduler::Schedule``'s properties (camelCase) as a ScheduledTask spec. Its
    ECS target's ``tags`` are string maps (``[{team: data}]``), RunTask's ``[{key, value}]``."""
    spec = {k: v for k, v in body.items() if k not in ("name", "groupName")}
    ecs = (spec.get("target") or {}).get("ecsParameters")
    if ecs and "tags" in ecs:
        tags = [{"key": k, "value": v} for tag in ecs["tags"] for k, v in tag.items()]
        spec["target"] = {**spec["target"], "ecsParameters": {**ecs, "tags": tags}}
    notes = []
    if body.get("groupName") not in (None, "default"):
        notes.append(f"groupName {body['groupName']}: schedule groups have no equivalent, left out")
    return {"name": body.get("name", name), **spec}, notes


def from_rule(name: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """An ``AWS::Events::Rule``'s properties (camelCase) as ScheduledTask specs, one per ECS
    target: (target path, spec, notes)."""
    rule = str(body.get("name") or name)
    if "scheduleExpression" not in body:
        return []
    targets = [(i, t) for i, t in enumerate(body.get("targets") or []) if "ecsParameters" in t]
    found = []
    for index, target in targets:
        ecs = dict(target["ecsParameters"])
        network = ecs.get("networkConfiguration") or {}
        if "awsVpcConfiguration" in network:  # the rule's spelling of RunTask's member
            ecs["networkConfiguration"] = {"awsvpcConfiguration": network["awsVpcConfiguration"]}
        if "tagList" in ecs:  # ... and of its tags
            ecs["tags"] = ecs.pop("tagList")
        spec: dict[str, Any] = {
            "name": rule if len(targets) == 1 else f"{rule}-{target.get('id', index)}",
            "scheduleExpression": body["scheduleExpression"],
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {
                k: v
                for k, v in {
                    "arn": target.get("arn"),
                    "roleArn": target.get("roleArn"),
                    "ecsParameters": ecs,
                    "input": target.get("input"),
                }.items()
                if v is not None
            },
        }
        if body.get("state") and body["state"] not in ENABLED:
            spec["state"] = "DISABLED"
        if body.get("description"):
            spec["description"] = body["description"]
        found.append((f"Targets[{index}]", spec, [f"from the EventBridge rule {rule}"]))
    return found
