"""Reading what ``kubectl ecs`` shows from the API server, with the user's kubeconfig.

The official ``kubernetes`` client fits here (unlike in the operator, see ``kube/client.py``):
a short-lived, synchronous command line. Responses are read as plain JSON dicts
(``_preload_content=False``), the same shape the operator's store holds, so ``views`` works on
either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ecs_operator import API_GROUP, API_VERSION
from ecs_operator.render import keys

Body = dict[str, Any]


class SourceError(Exception):
    """The API server refused or could not answer: the message says what to do."""


class Source(Protocol):
    """What the commands read, in one namespace."""

    namespace: str

    def custom(self, plural: str) -> list[Body]:
        """The ECS objects of a kind (``services``, ``tasks``, ...)."""

    def pods(self) -> list[Body]:
        """The pods the operator manages."""

    def controller_revision(self, name: str) -> Body | None:
        """A TaskDefinition revision's ControllerRevision, or None."""

    def patch(self, plural: str, name: str, patch: Body) -> Body:
        """Merge-patch an ECS object (``update-service``); the object as it is now."""


@dataclass
class KubeSource:
    """A :class:`Source` on the kubernetes client."""

    api: client.ApiClient
    namespace: str

    @classmethod
    def connect(
        cls, kubeconfig: str | None, context: str | None, namespace: str | None
    ) -> KubeSource:
        """The kubeconfig's (or KUBECONFIG's) context, and its namespace unless one is given."""
        # kubernetes reads $KUBECONFIG once, at import: read it now, as kubectl does.
        kubeconfig = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        try:
            # kubernetes' config loaders carry no annotations.
            contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=kubeconfig
            )
            if context:
                active = next((c for c in contexts if c["name"] == context), active)
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context
            )
        except (config.ConfigException, OSError) as error:
            raise SourceError(f"cannot load the kubeconfig: {error}") from None
        default = (active or {}).get("context", {}).get("namespace") or "default"
        return cls(api, namespace or default)

    def _read(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Body | None:
        """One read as a dict; None when the object does not exist."""
        try:
            response = call(*args, _preload_content=False, **kwargs)
        except ApiException as error:
            custom = what.endswith(API_GROUP)
            if error.status == 404 and not custom:
                return None
            if error.status == 404:
                raise SourceError(
                    f"{what} is not served: are the ecs-operator CRDs installed? "
                    "(kubectl apply --server-side -f crds/)"
                ) from None
            raise SourceError(
                f"reading {what} in namespace {self.namespace}: {error.status} {error.reason}"
            ) from None
        data: Body = json.loads(response.data)
        return data

    def custom(self, plural: str) -> list[Body]:
        listed = self._read(
            f"{plural}.{API_GROUP}",
            client.CustomObjectsApi(self.api).list_namespaced_custom_object,
            API_GROUP,
            API_VERSION,
            self.namespace,
            plural,
        )
        return list((listed or {}).get("items", []))

    def pods(self) -> list[Body]:
        listed = self._read(
            "pods",
            client.CoreV1Api(self.api).list_namespaced_pod,
            self.namespace,
            label_selector=f"{keys.LABEL_APP_MANAGED_BY}={keys.MANAGED_BY}",
        )
        return list((listed or {}).get("items", []))

    def controller_revision(self, name: str) -> Body | None:
        return self._read(
            "controllerrevisions",
            client.AppsV1Api(self.api).read_namespaced_controller_revision,
            name,
            self.namespace,
        )

    def patch(self, plural: str, name: str, patch: Body) -> Body:
        patched = self._read(
            f"{plural}.{API_GROUP}",
            client.CustomObjectsApi(self.api).patch_namespaced_custom_object,
            API_GROUP,
            API_VERSION,
            self.namespace,
            plural,
            name,
            patch,
        )
        if patched is None:
            raise SourceError(f"{plural}/{name} not found in namespace {self.namespace}")
        return patched
