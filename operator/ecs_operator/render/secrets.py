"""ECS secret references (Secrets Manager ARNs, SSM parameters, S3 env files) to the
Kubernetes objects that hold them, by the naming convention of docs/mapping.md ("Secrets").

The renderer never fetches a secret: the pod refers to a Kubernetes Secret (or ConfigMap) whose
name is derived from the ECS reference, and the reference is reported so the operator (or an
External Secrets / CSI setup, or the user) can provide it. Names are never stripped of what
looks like a Secrets Manager random suffix: a name may legitimately end in ``-AbCdEf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .names import prefixed, secret_key

#: the data key holding the whole secret value when no JSON key is selected
VALUE_KEY = "value"

SECRETS_MANAGER_PREFIX = "sm"
SSM_PREFIX = "ssm"
REGISTRY_PREFIX = "regcred"
ENV_FILE_PREFIX = "envfile"


@dataclass(frozen=True, slots=True)
class SecretSource:
    """A parsed ECS ``valueFrom``: which store, which secret, which part of it."""

    store: Literal["secretsmanager", "ssm"]
    name: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""

    @property
    def k8s_name(self) -> str:
        """The Kubernetes Secret name: ``sm-<name>`` or ``ssm-<name>``, one per version."""
        if self.store == "ssm":
            return prefixed(SSM_PREFIX, self.name.lstrip("/"))
        version = f":{self.version_stage}:{self.version_id}" if self.has_version else ""
        return prefixed(SECRETS_MANAGER_PREFIX, self.name + version)

    @property
    def k8s_key(self) -> str:
        """The data key: the JSON key when one is selected, else ``value``."""
        return secret_key(self.json_key) if self.json_key else VALUE_KEY

    @property
    def has_version(self) -> bool:
        """Whether a version stage or id pins a particular version."""
        return bool(self.version_stage or self.version_id)


def parse_value_from(value_from: str) -> SecretSource:
    """Parse a Secrets Manager ARN (``...:secret:NAME[:jsonKey[:versionStage[:versionId]]]``),
    an SSM parameter ARN (``...:parameter/NAME``) or a bare SSM parameter name."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager":
        extra = [*parts[7:10], "", "", ""]
        return SecretSource("secretsmanager", parts[6], extra[0], extra[1], extra[2])
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        resource = ":".join(parts[5:])
        return SecretSource("ssm", resource.removeprefix("parameter"))
    return SecretSource("ssm", value_from)


def registry_secret_name(credentials_parameter: str) -> str:
    """The ``kubernetes.io/dockerconfigjson`` Secret for ``repositoryCredentials``."""
    return prefixed(REGISTRY_PREFIX, parse_value_from(credentials_parameter).name)


def env_file_config_map(s3_arn: str) -> str:
    """The ConfigMap holding an S3 environment file's variables (``envfile-<bucket/key>``)."""
    return prefixed(ENV_FILE_PREFIX, s3_arn.split(":::", 1)[-1])
