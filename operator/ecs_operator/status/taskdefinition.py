"""A TaskDefinition's ECS-shaped status: its family's revisions, ACTIVE or INACTIVE."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

from ..api.models import TaskDefinitionSpec
from ..api.ref import InvalidTaskDefinitionRef, TaskDefinitionRef
from ..api.rules.fargate import fargate_incompatibilities
from ..render import keys
from .conditions import condition, merge
from .revision_set import RevisionSet

REGION = "local"
DEFAULT_ACCOUNT = "000000000000"


def arn(family: str, revision: int, account: str | None = None) -> str:
    return f"arn:aws:ecs:{REGION}:{account or DEFAULT_ACCOUNT}:task-definition/{family}:{revision}"


@dataclass(frozen=True)
class Arns:
    """ARNs in the operator's convention (:func:`arn`): of the account ``account``, in region
    :data:`REGION`."""

    account: str = DEFAULT_ACCOUNT

    def _arn(self, resource: str) -> str:
        return f"arn:aws:ecs:{REGION}:{self.account}:{resource}"

    def cluster(self, name: str) -> str:
        return self._arn(f"cluster/{name}")

    def service(self, cluster: str, name: str) -> str:
        return self._arn(f"service/{cluster}/{name}")

    def task(self, cluster: str, task_id: str) -> str:
        return self._arn(f"task/{cluster}/{task_id}")

    def _of_deployment(self, kind: str, cluster: str, service: str, deployment_id: str) -> str:
        """ECS's ``kind`` (service-deployment, service-revision) of deployment
        ``ecs-svc/<digits>``: named by its digits."""
        digits = deployment_id.rsplit("/", 1)[-1]
        return self._arn(f"{kind}/{cluster}/{service}/{digits}")

    def service_deployment(self, cluster: str, service: str, deployment_id: str) -> str:
        """A deployment ``ecs-svc/<digits>`` in ECS's service-deployment vocabulary."""
        return self._of_deployment("service-deployment", cluster, service, deployment_id)

    def service_revision(self, cluster: str, service: str, deployment_id: str) -> str:
        """The service revision that deployment ``ecs-svc/<digits>`` deploys."""
        return self._of_deployment("service-revision", cluster, service, deployment_id)

    def task_definition(self, reference: str | None) -> str | None:
        """The ARN of ``family:revision`` (None for a bare family or no reference)."""
        try:
            ref = TaskDefinitionRef.parse(reference or "")
        except InvalidTaskDefinitionRef:
            return None
        return None if ref.revision is None else arn(ref.family, ref.revision, self.account)


def compatibilities(td: TaskDefinitionSpec) -> list[str]:
    """ECS's ``compatibilities``: what the task definition satisfies, not what it asked for.
    EC2 always; FARGATE when it meets Fargate's rules (asked for or not, so a definition without
    ``requiresCompatibilities`` may run on either); EXTERNAL and MANAGED_INSTANCES when
    required."""
    found = ["EC2", *(["FARGATE"] if not fargate_incompatibilities(td) else [])]
    return found + [c for c in td.requiresCompatibilities or () if c not in found]


#: how many revisions ``status.revisions`` lists, the newest: a family may have thousands, each
#: an entry every watcher of TaskDefinitions would decode at each registration (and etcd's
#: object limit would end at about 15,000); every revision is its ControllerRevision
STATUS_REVISIONS = 10

#: the annotation that deregisters revisions: ``"1,3"``, ``"1-41,43"`` (``revision_set.py``)
DEREGISTERED = "ecs-operator.dev/deregistered-revisions"


def marked_revisions(body: dict[str, Any], annotation: str = DEREGISTERED) -> RevisionSet:
    """The revisions a TaskDefinition's revision-list ``annotation`` names (the deregistered
    ones unless another)."""
    return RevisionSet.parse((body["metadata"].get("annotations") or {}).get(annotation))


def revision_entry(body: dict[str, Any], deregistered: Container[int]) -> dict[str, Any]:
    """A ``status.revisions`` entry: the revision a ControllerRevision records, ACTIVE unless
    ``deregistered``."""
    number = int(body["revision"])
    return {
        "revision": number,
        "status": "INACTIVE" if number in deregistered else "ACTIVE",
        "hash": (body["metadata"].get("annotations") or {}).get(keys.ANNOTATION_SPEC_HASH, ""),
        "registeredAt": body["metadata"].get("creationTimestamp"),
    }


def revision_entries(
    revisions: Iterable[dict[str, Any]], deregistered: Container[int]
) -> list[dict[str, Any]]:
    """The entries of the family's ControllerRevision objects, oldest first."""
    ordered = sorted(revisions, key=lambda r: int(r["revision"]))
    return [revision_entry(body, deregistered) for body in ordered]


def task_definition_status(
    family: str,
    entries: list[dict[str, Any]],
    previous: dict[str, Any],
    generation: int | None,
    problem: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    latest = entries[-1]["revision"] if entries else None
    valid = problem is None
    conditions = merge(
        previous.get("conditions"),
        [
            condition("Valid", valid, "Registered" if valid else "Invalid", problem or ""),
            condition("Ready", valid and latest is not None, "Registered" if valid else "Invalid"),
        ],
        generation,
    )
    status: dict[str, Any] = {
        **{k: v for k, v in previous.items() if k not in ("conditions",)},
        "family": family,
        "conditions": conditions,
        "observedGeneration": generation,
    }
    if latest is not None:
        status.update(
            revision=latest,
            revisions=entries[-STATUS_REVISIONS:],
            status=entries[-1]["status"],
            taskDefinitionArn=arn(family, latest, account),
        )
    return status
