"""What makes a create happen once, however often its call is sent.

ECS makes CreateService and RunTask idempotent by a client token, per cluster: a call sent
again with the same token and the same parameters answers what the first one did and creates
nothing more, and the same token with other parameters is refused. The SDKs and the aws CLI
draw a token for every RunTask and send it again when they retry a call whose answer they
lost; Terraform does the same with CreateService. RunTask's tokens live 24 hours.

Each object a call creates carries the call's mark (``ecs-operator.dev/request``): a digest of
its parameters and its token. A call without a token is given one here, of its own, so that
only its own retries match it: the Kubernetes client sends a create again when the connection
dropped, and when the first try had landed, the name is found taken by the call's own object.
"""

from __future__ import annotations

import uuid
from typing import Any

from ecs_operator.render import keys
from ecs_operator.render.names import digest, json_digest

Body = dict[str, Any]

#: how long a RunTask's client token stands for its call (ECS's time to live)
TOKEN_LIFETIME_S = 24 * 3600.0


def call_mark(parameters: Body) -> str:
    """The mark of a call with ``parameters`` (as sent, the cluster resolved, so that a call
    naming its cluster by ARN and its retry naming it by name are the same call)."""
    token = parameters.get("clientToken") or uuid.uuid4().hex
    return json_digest({**parameters, "clientToken": token})


def marked(metadata: Body, mark: str) -> Body:
    """``metadata`` with the call's mark among its annotations."""
    annotations = {**(metadata.get("annotations") or {}), keys.ANNOTATION_REQUEST: mark}
    return {**metadata, "annotations": annotations}


def made_by(body: Body, mark: str) -> bool:
    """Whether ``body`` is what the call marked ``mark`` created."""
    return (body["metadata"].get("annotations") or {}).get(keys.ANNOTATION_REQUEST) == mark


def token_name(cluster: str, token: str, expired_uid: str = "") -> str:
    """The name of the Task a RunTask with ``token`` creates in ``cluster`` (32 hex digits, as
    a Task's name is without a token), so that its retries find it by name. A token used again
    after its lifetime is a new call: its Task's name also hashes the uid of the Task the
    expired use created (``expired_uid``), and its own retries follow the same chain."""
    return digest(f"{cluster}\n{token}\n{expired_uid}", 32)
