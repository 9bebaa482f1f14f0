"""A TaskDefinition's plan: the revision to record for its spec, if any, and the inputs of its
status.

Each change of the spec is a new revision, stored as an ``apps/v1`` ControllerRevision named
``<name>-<N>`` (immutable, like ECS's), whose annotation holds a hash of the spec it records:
a spec equal to the latest revision's records nothing, and so does a spec older than the latest
revision's (its annotation holds the generation of the spec it records): a store can see a
revision before the change of spec it records, as ``ecs-operator api`` writes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api.models import TaskDefinitionSpec
from ..render import keys
from ..render.names import dns_label, json_digest


@dataclass(frozen=True, slots=True)
class RecordedRevision:
    """A revision already stored: its number, the hash of its spec and the TaskDefinition's
    generation that had the spec (None: recorded before revisions held it)."""

    number: int
    digest: str | None
    generation: int | None = None

    @classmethod
    def of(cls, revision: dict[str, Any]) -> RecordedRevision:
        """The revision a ControllerRevision records."""
        annotations = revision["metadata"].get("annotations") or {}
        generation = annotations.get(keys.ANNOTATION_SPEC_GENERATION)
        return cls(
            int(revision["revision"]),
            annotations.get(keys.ANNOTATION_SPEC_HASH),
            int(generation) if generation and generation.isdigit() else None,
        )

    def is_newer_than(self, generation: int) -> bool:
        """Whether this revision records a later spec than the TaskDefinition's ``generation``
        (the TaskDefinition was read before the change this revision records)."""
        return self.generation is not None and self.generation > generation


@dataclass(frozen=True, slots=True)
class TaskDefinitionContext:
    """What a TaskDefinition's plan needs besides its spec."""

    #: the TaskDefinition object's name (its revisions are named after it)
    name: str
    #: the TaskDefinition object's uid (its revisions are labelled with it)
    uid: str
    #: the TaskDefinition object's metadata.generation: the spec's
    generation: int
    #: the newest revision stored (None: none yet)
    latest: RecordedRevision | None = None
    #: the AWS account of the ARNs the status shows
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskDefinitionStatusInputs:
    """What the TaskDefinition's status takes from its plan (the revisions come from the
    stored ControllerRevisions)."""

    family: str
    account_id: str | None


@dataclass(frozen=True, slots=True)
class TaskDefinitionPlan:
    """The revision to record (None: the latest records this spec) and the status inputs."""

    revision: dict[str, Any] | None
    status_inputs: TaskDefinitionStatusInputs


def revision_name(td_name: str, revision: int) -> str:
    """The ControllerRevision of a revision: ``<name>-<revision>``, shortened with a hash
    when that would be too long a name."""
    return dns_label(f"{td_name}-{revision}", 253)


def controller_revision(
    td_name: str, td_uid: str, spec: dict[str, Any], number: int, digest: str, generation: int
) -> dict[str, Any]:
    """Revision ``number`` of the TaskDefinition named ``td_name`` (uid ``td_uid``), recording
    ``spec`` (ECS JSON; its hash ``digest``), the spec of the TaskDefinition's ``generation``,
    without its owner reference. ``ecs-operator api`` registers with it too, so that
    RegisterTaskDefinition answers with its revision at once."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(td_name, number),
            "labels": {
                keys.LABEL_APP_MANAGED_BY: keys.MANAGED_BY,
                keys.LABEL_REVISION: str(number),
                keys.LABEL_CONTROLLER_UID: td_uid,
            },
            "annotations": {
                keys.ANNOTATION_SPEC_HASH: digest,
                keys.ANNOTATION_SPEC_GENERATION: str(generation),
                keys.ANNOTATION_FAMILY: spec["family"],
            },
        },
        "revision": number,
        "data": {"spec": spec},
    }


def plan_taskdefinition(
    spec: TaskDefinitionSpec, context: TaskDefinitionContext
) -> TaskDefinitionPlan:
    """The plan of a TaskDefinition whose spec parsed as ``spec``."""
    recorded = spec.to_ecs()
    digest = json_digest(recorded)
    latest = context.latest
    revision = None
    if latest is None or (latest.digest != digest and not latest.is_newer_than(context.generation)):
        number = latest.number + 1 if latest else 1
        revision = controller_revision(
            context.name, context.uid, recorded, number, digest, context.generation
        )
    return TaskDefinitionPlan(
        revision=revision,
        status_inputs=TaskDefinitionStatusInputs(spec.family, context.account_id),
    )
