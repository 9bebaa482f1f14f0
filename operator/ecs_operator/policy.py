"""The cluster admin's tenancy policy: what writing ECS objects in a namespace lets a user do.

The operator holds rights close to cluster-admin and acts for anyone who may write an ECS object
in a namespace, so it must not do for them what they could not do alone. ECS answers the same
question with IAM (``iam:PassRole`` for task roles; Fargate's fixed sandbox); here the admin
answers it, in two places tenants cannot write:

- cluster-wide, with ``ecs-operator run`` flags (the chart's ``tenancy`` values);
- per namespace, with annotations on the Namespace object (namespaces are cluster-scoped: the
  ``edit`` and ``admin`` roles a tenant holds inside a namespace cannot change them).

Four decisions are the admin's:

- **Task roles** (PassRole): the IAM roles whose ARN matches one of the allowed patterns (``*``
  matches any run of characters). The namespace's patterns add to the cluster's. Default: none,
  so a task role runs nothing until an admin allows it.
- **Pod-security ceiling**: the highest Pod Security level the operator renders pods at,
  ``baseline`` (default) or ``privileged``. The namespace's value replaces the cluster's, so an
  admin can raise it for the namespace of a node agent and nowhere else.
- **Service types** beyond ClusterIP (``NodePort``, ``LoadBalancer``) the load balancers of a
  service may get: exposure outside the cluster costs money and crosses a trust boundary. The
  namespace's types add to the cluster's.
- **Disruption budgets**: whether a REPLICA service gets the PodDisruptionBudget that carries
  ECS's ``minimumHealthyPercent`` through node drains. A budget can hold a node: a service
  with more tasks than can run (more ``distinctInstance`` tasks than nodes) never has one to
  spare, and a node running one of its tasks can no longer be drained, though the tenant may
  not create a budget itself. On by default (ECS's semantics; managed node upgrades and the
  cluster autoscaler give up on a budget after a while); the namespace's value replaces the
  cluster's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ecs_operator import API_GROUP
from ecs_operator.render.findings import Finding

ANNOTATION_ALLOWED_TASK_ROLES = f"{API_GROUP}/allowed-task-roles"
ANNOTATION_POD_SECURITY_CEILING = f"{API_GROUP}/pod-security-ceiling"
ANNOTATION_ALLOWED_SERVICE_TYPES = f"{API_GROUP}/allowed-service-types"
ANNOTATION_DISRUPTION_BUDGETS = f"{API_GROUP}/disruption-budgets"
#: the Namespace annotations an admin sets the namespace's policy with
ANNOTATIONS = (
    ANNOTATION_ALLOWED_TASK_ROLES,
    ANNOTATION_POD_SECURITY_CEILING,
    ANNOTATION_ALLOWED_SERVICE_TYPES,
    ANNOTATION_DISRUPTION_BUDGETS,
)
#: the values of the disruption-budgets annotation
_SWITCH = {"true": True, "false": False}

BASELINE = "baseline"
PRIVILEGED = "privileged"
#: the Pod Security levels a ceiling may name, lowest first (the renderer never needs
#: restricted's extra rules to be met, so a lower ceiling than baseline is not offered)
LEVELS = (BASELINE, PRIVILEGED)
#: Service types an admin may allow besides ClusterIP, which is always allowed
EXPOSED_SERVICE_TYPES = ("NodePort", "LoadBalancer")


def split_list(text: str) -> tuple[str, ...]:
    """The items of a comma- or whitespace-separated annotation value."""
    return tuple(item for item in re.split(r"[\s,]+", text) if item)


def _pattern(globs: Iterable[str]) -> re.Pattern[str]:
    """One regular expression for ARN patterns where ``*`` matches any run of characters and
    everything else is literal (unlike fnmatch, ``[`` and ``?`` mean themselves)."""
    alternatives = [
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", glob))
        for glob in globs
    ]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or r"(?!)")


@dataclass(frozen=True)
class Policy:
    """What the admin allows in one namespace (or, from flags, in every namespace)."""

    task_roles: tuple[str, ...] = ()
    pod_security_ceiling: str = BASELINE
    service_types: frozenset[str] = field(default_factory=frozenset)
    disruption_budgets: bool = True
    #: admin annotations that could not be read, each with why (reported, then ignored)
    problems: tuple[str, ...] = ()

    @cached_property
    def _roles(self) -> re.Pattern[str]:
        return _pattern(self.task_roles)

    def allows_task_role(self, arn: str) -> bool:
        return self._roles.fullmatch(arn) is not None

    @property
    def allowed_service_types(self) -> frozenset[str]:
        """ClusterIP, always, and the exposed types the admin allows."""
        return frozenset({"ClusterIP"}) | self.service_types

    @property
    def allows_privileged(self) -> bool:
        return self.pod_security_ceiling == PRIVILEGED

    def for_namespace(self, annotations: Mapping[str, str]) -> Policy:
        """This (cluster-wide) policy as a namespace's annotations extend or replace it."""
        problems = []
        roles = split_list(annotations.get(ANNOTATION_ALLOWED_TASK_ROLES, ""))
        ceiling = annotations.get(ANNOTATION_POD_SECURITY_CEILING, self.pod_security_ceiling)
        if ceiling not in LEVELS:
            problems.append(
                f"{ANNOTATION_POD_SECURITY_CEILING}: {ceiling!r} is not one of "
                f"{', '.join(LEVELS)}; {BASELINE} applies"
            )
            ceiling = BASELINE
        types = split_list(annotations.get(ANNOTATION_ALLOWED_SERVICE_TYPES, ""))
        unknown = [t for t in types if t not in EXPOSED_SERVICE_TYPES]
        if unknown:
            problems.append(
                f"{ANNOTATION_ALLOWED_SERVICE_TYPES}: {', '.join(unknown)} ignored (one of "
                f"{', '.join(EXPOSED_SERVICE_TYPES)} expected)"
            )
        budgets = annotations.get(ANNOTATION_DISRUPTION_BUDGETS)
        if budgets is not None and budgets not in _SWITCH:
            problems.append(
                f"{ANNOTATION_DISRUPTION_BUDGETS}: {budgets!r} is not true or false; false applies"
            )
        return Policy(
            task_roles=(*self.task_roles, *roles),
            pod_security_ceiling=ceiling,
            service_types=self.service_types | {t for t in types if t in EXPOSED_SERVICE_TYPES},
            disruption_budgets=(
                self.disruption_budgets if budgets is None else _SWITCH.get(budgets, False)
            ),
            problems=tuple(problems),
        )


#: condition reasons (and Event reasons) of what the policy refuses
TASK_ROLE_NOT_ALLOWED = "TaskRoleNotAllowed"
PRIVILEGE_NOT_ALLOWED = "PrivilegeNotAllowed"


def task_role_refusal(policy: Policy, role_arn: str | None, namespace: str) -> str | None:
    """Why the task role may not be used here (None when it may, or there is none): ECS's
    ``iam:PassRole``, decided by the admin's patterns instead of IAM."""
    if role_arn is None or policy.allows_task_role(role_arn):
        return None
    return (
        f"taskRoleArn: {role_arn} is not allowed in namespace {namespace} (the admin allows task "
        f"roles with the namespace annotation {ANNOTATION_ALLOWED_TASK_ROLES} or the operator's "
        "--allow-task-role patterns); no task runs"
    )


def privilege_refusal(policy: Policy, findings: Iterable[Finding], namespace: str) -> str | None:
    """Why the pods may not be rendered (None when they may): the renderer's ``privileged``
    findings name each ECS member that needs more than the ``baseline`` level."""
    if policy.allows_privileged:
        return None
    needs = {f.path: f.message for f in findings if f.kind == "privileged"}
    if not needs:
        return None
    listed = "; ".join(f"{path} ({_control(message)})" for path, message in needs.items())
    return (
        f"the pod-security ceiling of namespace {namespace} is {policy.pod_security_ceiling}, "
        f"and these members need {PRIVILEGED}: {listed} (an admin may raise the ceiling with "
        f"the namespace annotation {ANNOTATION_POD_SECURITY_CEILING}: {PRIVILEGED}); no task runs"
    )


def _control(message: str) -> str:
    """The Pod Security control and pod field of a ``privileged`` finding's message
    (``needs the privileged Pod Security level (CONTROL: FIELD): ...``)."""
    start, end = message.find("("), message.find("): ")
    return message[start + 1 : end] if 0 <= start < end else message
