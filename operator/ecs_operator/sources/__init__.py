"""What ``ecs-operator convert`` reads: the forms users keep their ECS objects in, each turned
into plain ECS requests (``Item``) before convert validates and renders them.

A form is recognised by its shape, never by a file name: a CloudFormation template
(``cloudformation.py``, JSON or YAML with its short-form tags), ``terraform show -json``
output (``terraform.py``), a JSON list of objects, ``aws ecs describe-services`` /
``describe-clusters`` output (``described.py``), or one object (a task definition, a service,
a run-task request, a create-cluster request, or their ``describe-*`` forms). Each item
carries where it was found (a path convert prefixes to every error) and the notes of what
was changed on the way in (stripped read-only members, names CloudFormation would generate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import yaml

from ..api.errors import Violation
from . import cloudformation, described, terraform

Kind = Literal["TaskDefinition", "Service", "Task", "Cluster", "ScheduledTask"]


@dataclass(slots=True)
class Item:
    """One ECS request found in the input: where, its JSON, its kind when the form says it
    (``None``: recognised from its members), and what was done to it on the way in."""

    where: str
    body: Any
    kind: Kind | None = None
    notes: list[str] = field(default_factory=list)


def _at(where: str, inner: str) -> str:
    return Violation(inner, "").under(where).path


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the forms may need besides the file: CloudFormation parameters and exports
    (``--parameter NAME=VALUE``) and the account id pseudo parameters and role ARNs take."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    account_id: str | None = None


def items(data: Any, inputs: Inputs | None = None) -> list[Item]:
    """The ECS requests in ``data``: a template's or a Terraform state's ECS resources, or the
    objects of a list or one object, describe-* output unwrapped."""
    inputs = inputs or Inputs()
    if cloudformation.is_template(data):
        resources = cloudformation.requests(data, inputs.parameters, inputs.account_id)
        return [
            Item(where, body, cast(Kind, kind), notes) for where, body, kind, notes in resources
        ]
    if terraform.is_show_output(data):
        resources = terraform.requests(data)
        return [
            Item(where, body, cast(Kind, kind), notes) for where, body, kind, notes in resources
        ]
    entries = list(enumerate(data)) if isinstance(data, list) else [(None, data)]
    found: list[Item] = []
    for k, entry in entries:
        where = "" if k is None else f"[{k}]"
        wrapped = described.unwrap(entry)
        if wrapped is None:
            body, kind, notes = described.strip(entry)
            found.append(Item(where, body, kind, notes))
            continue
        for inner, body, kind, notes in wrapped:
            found.append(Item(_at(where, inner), body, kind, notes))
    return found


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref X`` is ``{"Ref": "X"}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def parse(text: str) -> Any:
    """A file's content: JSON, or YAML (a CloudFormation template with short-form tags)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        json_error = error
    try:
        return yaml.load(text, Loader=_TemplateLoader)
    except yaml.YAMLError:
        raise json_error from None
