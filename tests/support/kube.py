"""Small helpers for tests that talk to a real kube-apiserver."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from ecs_operator.kube.resources import (
    ECS_CLUSTER,
    ECS_SERVICE,
    ECS_TASK,
    SCHEDULED_TASK,
    TASK_DEFINITION,
)

#: the kinds whose objects the operator finalizes or owns children of
ECS_KINDS = (TASK_DEFINITION, ECS_SERVICE, ECS_TASK, ECS_CLUSTER, SCHEDULED_TASK)

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 60, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


#: kube-apiserver's 503 for a write its MutatingAdmissionPolicies cannot type yet (the chart's
#: in-use finalizer policy, Kubernetes 1.36+): their type converters learn a custom resource's
#: schema from /openapi/v3, polled every 5 s, and answer this while the hash they hold for the
#: group is stale (after a CRD of the group changed). Seen in a fresh-clone CI run a moment after
#: the chart's install had been admitted once; users run `kubectl apply` again, as GitOps tools
#: do by themselves (docs/install.md), and so do the tests, for as long as one poll can take.
SCHEMA_NOT_LEARNED = "There can be a delay between when CustomResourceDefinitions are created"
SCHEMA_LEARNING_S = 15.0


def kubectl(
    *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the devcluster's kubectl (on PATH, KUBECONFIG set by the devcluster fixture); with
    ``check``, a failure raises with what kubectl said, so the test's report names the cause. A
    write refused only because admission has not learned a CRD's schema yet is sent again
    (:data:`SCHEMA_NOT_LEARNED`)."""
    deadline = time.monotonic() + SCHEMA_LEARNING_S
    while True:
        done = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True)
        if SCHEMA_NOT_LEARNED not in done.stderr or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    if check and done.returncode:
        raise AssertionError(f"kubectl {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def identity_of(kind: str, namespace: str, name: str) -> dict[str, Any]:
    """What must not change of an object the operator leaves alone: uid, resourceVersion,
    labels, annotations, owner references and spec, and the field managers that ever wrote it
    (never the operator's)."""
    found = kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    assert found.returncode == 0, f"{kind}/{name} is gone: {found.stderr}"
    body = json.loads(found.stdout)
    metadata = body["metadata"]
    return {
        "uid": metadata["uid"],
        "resourceVersion": metadata["resourceVersion"],
        "labels": metadata.get("labels"),
        "annotations": metadata.get("annotations"),
        "ownerReferences": metadata.get("ownerReferences"),
        "spec": body.get("spec"),
        "writers": sorted({m["manager"] for m in metadata.get("managedFields") or []}),
    }


@dataclass
class Kube:
    api: client.ApiClient

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Kube:
        return cls(config.new_client_from_config(str(path)))

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def create_test_namespace(self, test_name: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40].strip("-")
        name = f"{slug}-{hashlib.sha1(f'{test_name}{time.time()}'.encode()).hexdigest()[:6]}"
        self.core.create_namespace(
            {"metadata": {"name": name, "labels": {"ecs-operator.dev/test": "true"}}}
        )
        wait_for(lambda: self._has_default_service_account(name), 30, f"default SA in {name}")
        return name

    def _has_default_service_account(self, namespace: str) -> bool:
        try:
            self.core.read_namespaced_service_account("default", namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as error:
            if error.status != 404:
                raise

    def terminating_test_namespaces(self) -> list[str]:
        """Earlier tests' namespaces still being deleted (their deletion is not waited for)."""
        found = self.core.list_namespace(label_selector="ecs-operator.dev/test=true").items
        return [n.metadata.name for n in found if n.status.phase == "Terminating"]

    def ecs_objects_being_deleted(self) -> list[str]:
        """The ECS objects (``namespace/plural/name``) left in earlier tests' namespaces being
        deleted: the operator's part of their deletion (the in-use finalizers it releases, the
        children it lets go) is done once there are none. What else such a namespace holds
        is the namespace controller's, which retries a namespace up to a minute apart."""
        terminating = set(self.terminating_test_namespaces())
        if not terminating:
            return []
        left = []
        for kind in ECS_KINDS:
            listed = self.custom.list_cluster_custom_object(kind.group, kind.version, kind.plural)
            for item in listed["items"]:
                metadata = item["metadata"]
                if metadata["namespace"] in terminating:
                    left.append(f"{metadata['namespace']}/{kind.plural}/{metadata['name']}")
        return left

    def pods(self, namespace: str, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_pod(namespace, label_selector=selector).items)

    def node(self, name: str) -> Any:
        return self.core.read_node(name)
