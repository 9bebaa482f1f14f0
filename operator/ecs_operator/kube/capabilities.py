"""What the cluster's API server keeps of what the renderer may write, asked at startup.

**Pod-level resources.** ECS's task ``cpu`` and ``memory`` cap the whole task, which a pod's
``spec.resources`` says exactly (PodLevelResources: beta and on by default from Kubernetes
1.34). An API server without it (older, or with the feature gate off) drops the field without
a word, and the task would run with no limit at all and request nothing of the scheduler
(measured on kube-apiserver 1.36 with the gate off: the Deployment kept no resources
anywhere). The renderer can instead spread the task size over the containers, so the operator
asks the API server which one it keeps: a dry-run create of a Deployment whose pod template has
pod-level resources. A dry run stores nothing, and a Deployment, unlike a pod, is not held to
the namespace's Pod Security level; what the answer's template still has is the answer. Should
the API server refuse the probe (RBAC, an admission webhook), there is nothing to go on: the
caller decides.

The API server keeping them is not enough: a kubelet older than 1.34 (Kubernetes lets nodes lag
the control plane by three minor versions, and they do for the length of an upgrade) does not
enforce them, and its tasks would run with no limit all the same. So the nodes' kubelets are
asked too, by the version each reports in the nodes the operator's startup LIST found; a
version that does not parse (kwok's ``fake``, a virtual kubelet's) says nothing either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .client import ApiError, KubeClient
from .resources import DEPLOYMENT

#: what the probe asks for; any size would do
PROBE_RESOURCES = {"limits": {"cpu": "100m", "memory": "64Mi"}}
#: the first kubelet that enforces a pod's ``spec.resources`` (PodLevelResources, beta, on)
POD_LEVEL_KUBELET = (1, 34)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def probe(namespace: str) -> dict[str, Any]:
    """The Deployment the API server is asked to store in ``namespace`` (dry run: it never
    is), its name generated so that no object's name matters."""
    labels = {"app.kubernetes.io/name": "ecs-operator-probe"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"generateName": "ecs-operator-probe-", "namespace": namespace},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "resources": PROBE_RESOURCES,
                    "containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.10"}],
                },
            },
        },
    }


async def keeps_pod_level_resources(client: KubeClient, namespace: str) -> bool | None:
    """Whether the API server keeps a pod template's ``spec.resources``; None when it refused
    to say (the probe was refused)."""
    try:
        answer = await client.dry_run_create(DEPLOYMENT, probe(namespace))
    except ApiError:
        return None
    template = ((answer.get("spec") or {}).get("template") or {}).get("spec") or {}
    return bool(template.get("resources"))


def older_kubelet(node: dict[str, Any]) -> bool:
    """Whether the node reports a kubelet older than :data:`POD_LEVEL_KUBELET`."""
    info = (node.get("status") or {}).get("nodeInfo") or {}
    found = _VERSION.match(str(info.get("kubeletVersion") or ""))
    return found is not None and (int(found[1]), int(found[2])) < POD_LEVEL_KUBELET


def nodes_without_pod_level_resources(nodes: Iterable[dict[str, Any]]) -> list[str]:
    """The names of the ``nodes`` whose kubelet would not enforce pod-level resources."""
    return sorted(str(n["metadata"]["name"]) for n in nodes if older_kubelet(n))
