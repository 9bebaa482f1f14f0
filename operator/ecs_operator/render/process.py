"""What a container runs: image, entry point, arguments, directory and environment.

``entryPoint`` is Docker's ENTRYPOINT and ``command`` its CMD, exactly Kubernetes' ``command``
and ``args``; they are copied, never swapped (a swap overrides the image's ENTRYPOINT), with
each ``$`` escaped from the kubelet's expansion (``verbatim``). Environment values are copied
in order, escaped alike; ``secrets`` become ``secretKeyRef`` env vars and
``environmentFiles`` ``configMapRef`` sources, by the naming convention of secrets.py.
"""

from __future__ import annotations

import re
from typing import Any

from ..api.shapes import ContainerDefinition
from .findings import ObjectRef, Report
from .secrets import env_file_config_map, parse_value_from, registry_secret_name


def process(cd: ContainerDefinition, path: str, report: Report) -> dict[str, Any]:
    """The container fields for image, command, args, workingDir, env and envFrom."""
    out: dict[str, Any] = {"image": cd.image}
    if cd.entryPoint:
        out["command"] = [verbatim(word) for word in cd.entryPoint]
    if cd.command:
        out["args"] = [verbatim(word) for word in cd.command]
    if cd.workingDirectory:
        out["workingDir"] = cd.workingDirectory
    env = [*_plain_env(cd, path, report), *_secret_env(cd, path, report)]
    if env:
        out["env"] = env
    env_from = _env_files(cd, path, report)
    if env_from:
        out["envFrom"] = env_from
    return out


def verbatim(value: str) -> str:
    """``value`` as the kubelet must be given it to hand the container what ECS hands Docker:
    it reads ``$(NAME)`` in a container's command, arguments, environment values and exec
    probes as a variable's value and ``$$`` as ``$``, so every ``$`` is written ``$$``."""
    return value.replace("$", "$$")


#: Kubernetes (1.34+) takes any printable ASCII but ``=`` in an environment variable name
_ENV_NAME = re.compile(r"^[ -<>-~]+$")


def _env_name_ok(name: str | None, path: str, report: Report) -> bool:
    if name and _ENV_NAME.match(name):
        return True
    report.unsupported(path, f"{name!r} is not an environment variable name Kubernetes accepts")
    return False


def _plain_env(cd: ContainerDefinition, path: str, report: Report) -> list[dict[str, Any]]:
    return [
        {"name": pair.name, "value": verbatim(pair.value or "")}
        for j, pair in enumerate(cd.environment or ())
        if _env_name_ok(pair.name, f"{path}.environment[{j}].name", report)
    ]


def _secret_env(cd: ContainerDefinition, path: str, report: Report) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = []
    for j, secret in enumerate(cd.secrets or ()):
        if not _env_name_ok(secret.name, f"{path}.secrets[{j}].name", report):
            continue
        source = parse_value_from(secret.valueFrom)
        ref = {"name": source.k8s_name, "key": source.k8s_key}
        env.append({"name": secret.name, "valueFrom": {"secretKeyRef": ref}})
        report.need(
            ObjectRef(
                kind="Secret",
                name=source.k8s_name,
                key=source.k8s_key,
                source=secret.valueFrom,
                path=f"{path}.secrets[{j}]",
                details={"store": source.store},
            )
        )
    return env


def _env_files(cd: ContainerDefinition, path: str, report: Report) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = []
    for j, env_file in enumerate(cd.environmentFiles or ()):
        name = env_file_config_map(env_file.value)
        sources.append({"configMapRef": {"name": name}})
        report.need(ObjectRef("ConfigMap", name, env_file.value, f"{path}.environmentFiles[{j}]"))
    if len(sources) > 1:
        report.approx(
            path + ".environmentFiles",
            "a variable defined in several files takes the value of the last file on "
            "Kubernetes (envFrom order); `environment` still wins over the files, as on ECS",
        )
    return sources


def image_pull_secret(cd: ContainerDefinition, path: str, report: Report) -> str | None:
    """The imagePullSecret standing for ``repositoryCredentials`` (a Secrets Manager secret)."""
    if cd.repositoryCredentials is None:
        return None
    parameter = cd.repositoryCredentials.credentialsParameter
    name = registry_secret_name(parameter)
    report.need(
        ObjectRef(
            "Secret",
            name,
            parameter,
            path + ".repositoryCredentials",
            details={"type": "kubernetes.io/dockerconfigjson"},
        )
    )
    return name
