"""The ECS API in `make demo`: `ecs-operator api` as a process tracked in the devcluster's state
directory (so `make demo-down` stops it), an access key acting in the demo's namespace, and the
lines a user pastes to call it with the aws CLI (docs/ecs-api.md).

The key is a ServiceAccount with a deploying Role in the demo's namespace and the labelled
Secret in :data:`KEYS_NAMESPACE` that binds a key to it; its secret is made once and kept, so a
second `make demo` prints the same exports.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from .devcluster import processes
from .devcluster.cluster import API, API_PORT, api_port, free_port

#: where the API reads its access keys (the chart's release namespace plays this part)
KEYS_NAMESPACE = "ecs-operator"
KEY_ID = "AKIADEMODEPLOYER"
ACCOUNT = "ecs-demo-deployer"
REGION = "eu-west-1"
#: what a deploying key's ServiceAccount may do (docs/ecs-api.md lists the same)
DEPLOYER_RULES = """
- apiGroups: [ecs-operator.dev]
  resources: [clusters, taskdefinitions, services, tasks]
  verbs: [get, list, create, patch, delete]
- apiGroups: [apps]
  resources: [controllerrevisions]
  verbs: [get, list, create]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, patch, delete]
"""


class Kubectl(Protocol):
    binary: str
    env: dict[str, str]

    def __call__(self, *args: str) -> str: ...


def start_api(state_dir: Path) -> int:
    """The API's port: the running one's, else a new process's."""
    alive = any(p.name == API and p.alive() for p in processes.tracked(state_dir))
    running = api_port(state_dir) if alive else None
    if running is not None:
        return running
    port = free_port()
    command = [
        sys.executable, "-m", "ecs_operator.cli", "api",
        "--host", "127.0.0.1", "--port", str(port), "--namespace", KEYS_NAMESPACE,
        "--metrics-port", "0",
    ]  # fmt: skip
    processes.start(API, command, state_dir)
    (state_dir / API_PORT).write_text(json.dumps({"port": port}))
    return port


def _existing_secret(kubectl: Kubectl, name: str) -> str | None:
    found = subprocess.run(
        [kubectl.binary, "get", "secret", name, "-n", KEYS_NAMESPACE, "-o", "json"],
        env=kubectl.env,
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    data = json.loads(found.stdout).get("data") or {}
    value = data.get("secretAccessKey")
    return base64.b64decode(value).decode() if value else None


def key_manifest(
    keys_namespace: str, namespace: str, account: str, key: tuple[str, str], rules: str
) -> str:
    """An access key ``key`` (id, secret: its Secret in ``keys_namespace``) acting as the
    ServiceAccount ``account`` of ``namespace``, which ``rules`` allow what they list (no Role
    when empty). The tests' keys are made by the same."""
    key_id, secret = key
    manifest = f"""
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {account}, namespace: {namespace}}}
---
apiVersion: v1
kind: Secret
metadata:
  name: key-{key_id.lower()}
  namespace: {keys_namespace}
  labels: {{ecs-operator.dev/access-key: "true"}}
stringData:
  accessKeyId: {json.dumps(key_id)}
  secretAccessKey: {json.dumps(secret)}
  namespace: {json.dumps(namespace)}
  serviceAccount: {json.dumps(account)}
"""
    if rules:
        manifest += f"""---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {account}, namespace: {namespace}}}
rules: {rules}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {account}, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {account}}}
subjects: [{{kind: ServiceAccount, name: {account}, namespace: {namespace}}}]
"""
    return manifest


def access_key(kubectl: Kubectl, namespace: str) -> tuple[str, str]:
    """The demo's key (id, secret), acting as :data:`ACCOUNT` in ``namespace``."""
    key = (KEY_ID, _existing_secret(kubectl, f"key-{KEY_ID.lower()}") or secrets.token_urlsafe(30))
    subprocess.run(
        [kubectl.binary, "create", "namespace", KEYS_NAMESPACE],
        env=kubectl.env,
        capture_output=True,
    )
    subprocess.run(
        [kubectl.binary, "apply", "-f", "-"],
        input=key_manifest(KEYS_NAMESPACE, namespace, ACCOUNT, key, DEPLOYER_RULES),
        env=kubectl.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return key


def usage(port: int, key: tuple[str, str], services: list[dict[str, Any]]) -> str:
    """The exports and one `aws ecs describe-services` that works with them: the services of
    the first service's cluster (ECS describes one cluster's at a time)."""
    key_id, secret = key
    clusters = [(s["spec"].get("cluster") or "default", s["spec"]["serviceName"]) for s in services]
    cluster = clusters[0][0] if clusters else "default"
    names = [shlex.quote(name) for c, name in clusters if c == cluster][:10] or ["web"]
    return (
        f"ECS API: export AWS_ENDPOINT_URL_ECS=http://127.0.0.1:{port}"
        f" AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}"
        f"\n         aws ecs describe-services --region {REGION}"
        f" --cluster {shlex.quote(cluster)} --services {' '.join(names)}"
    )
