"""References to a task definition, as ECS accepts them in CreateService and RunTask.

ECS takes ``family`` (the latest ACTIVE revision), ``family:revision``, or the full ARN
``arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>``
(``CreateServiceRequest.taskDefinition``, ``RunTaskRequest.taskDefinition``), the ARN without
its revision meaning the latest ACTIVE one too ("If a revision isn't specified, the latest
ACTIVE revision is used": Terraform's ``arn_without_revision``, Pulumi's
``arnWithoutRevision``, AWS CDK's EcsRunTask and ecs-tool's ``task run`` send it). This module
is the only place that reads them, so the pydantic models, the CRD schema (``PATTERN``) and the
reconciler agree on what is a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FAMILY = r"[a-zA-Z0-9_-]{1,255}"
_REVISION = r"[1-9][0-9]{0,9}"
#: Partitions aws, aws-cn, aws-us-gov, ...; any region; a 12-digit account.
_ARN_PREFIX = r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/"

#: The whole grammar as one regular expression that Python, RE2 (pydantic, Go) and ECMA-262
#: (the CRD's OpenAPI ``pattern``) read alike.
PATTERN = rf"^({_ARN_PREFIX})?{_FAMILY}(:{_REVISION})?$"

_SHORT = re.compile(rf"(?P<family>{_FAMILY})(:(?P<revision>{_REVISION}))?")
_LONG = re.compile(rf"{_ARN_PREFIX}(?P<family>{_FAMILY})(:(?P<revision>{_REVISION}))?")


class InvalidTaskDefinitionRef(ValueError):
    """A string that is none of the three forms ECS accepts."""


@dataclass(frozen=True)
class TaskDefinitionRef:
    """A task definition family and, unless "latest ACTIVE" is meant, one revision of it."""

    family: str
    revision: int | None = None

    @classmethod
    def parse(cls, text: str) -> TaskDefinitionRef:
        """Read ``family``, ``family:revision`` or a task-definition ARN (with or without its
        revision)."""
        match = _SHORT.fullmatch(text) or _LONG.fullmatch(text)
        if match is None:
            raise InvalidTaskDefinitionRef(
                f"{text!r} is not a task definition reference: use family, family:revision, "
                "or arn:aws:ecs:<region>:<account>:task-definition/<family>[:<revision>] "
                "(family: up to 255 letters, numbers, underscores and hyphens; revision >= 1)"
            )
        revision = match.group("revision")
        return cls(match.group("family"), int(revision) if revision else None)

    def __str__(self) -> str:
        """The short form ECS accepts everywhere: ``family`` or ``family:revision``."""
        return self.family if self.revision is None else f"{self.family}:{self.revision}"
