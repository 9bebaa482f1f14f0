"""Shared helpers of the render tests: building task definitions, rendering, and checking that
rendered objects are valid Kubernetes (OpenAPI schema via kubernetes_validate, plus the name and
value rules the schema does not carry)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate

from ecs_operator.api.shapes import RegisterTaskDefinitionRequest
from ecs_operator.render import Placement, RenderContext, Rendered, render_pod_template
from ecs_operator.render.findings import Finding

#: the oldest Kubernetes the renderer targets (native sidecars GA, pod-level resources beta,
#: container restart rules alpha) and the newest schema kubernetes_validate ships
KUBERNETES_VERSIONS = ("1.34", kubernetes_validate.latest_version())

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")
QUANTITY = re.compile(r"^[0-9]+(m|Mi|Gi)?$")


def task(
    containers: list[dict[str, Any]] | None = None, **members: Any
) -> RegisterTaskDefinitionRequest:
    """A task definition: one container ``app`` (nginx, 512 MiB) unless given."""
    defs = containers if containers is not None else [container()]
    return RegisterTaskDefinitionRequest.model_validate(
        {"family": "demo", "containerDefinitions": defs, **members}
    )


def container(name: str = "app", **members: Any) -> dict[str, Any]:
    """A container definition as ECS JSON."""
    return {"name": name, "image": "nginx:1.27", "memory": 512, **members}


def render(td: RegisterTaskDefinitionRequest, **ctx: Any) -> Rendered:
    """Render with a default context (EC2, service pod) changed by ``ctx``."""
    return render_pod_template(td, RenderContext(**ctx))


def fargate(**ctx: Any) -> dict[str, Any]:
    """Context arguments for FARGATE capacity."""
    return {"placement": Placement.fargate(), **ctx}


def spec(rendered: Rendered) -> dict[str, Any]:
    """The pod spec of a rendering."""
    result: dict[str, Any] = rendered.pod_template["spec"]
    return result


def containers(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Every container (init ones too) by name."""
    pod = spec(rendered)
    return {c["name"]: c for c in [*pod.get("initContainers", ()), *pod["containers"]]}


def findings_at(rendered: Rendered, path: str) -> list[Finding]:
    """Findings whose path is ``path`` or below it."""
    return [
        f
        for f in rendered.findings
        if f.path == path or f.path.startswith(path + ".") or f.path.startswith(path + "[")
    ]


def validate(obj: dict[str, Any]) -> None:
    """Schema-validate ``obj`` against every targeted Kubernetes version, then the rules the
    OpenAPI schema leaves to the API server's validation."""
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)
    check_names(obj)


def _pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if obj["kind"] == "Pod":
        yield obj["spec"]
    elif obj["kind"] == "PodTemplate":
        yield obj["template"]["spec"]
    elif obj["kind"] in ("Deployment", "DaemonSet"):
        yield obj["spec"]["template"]["spec"]


def _metadata(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield obj["metadata"]
    template = obj.get("template") or obj.get("spec", {}).get("template")
    if template:
        yield template["metadata"]


def check_names(obj: dict[str, Any]) -> None:
    """DNS-1123 names, valid labels/annotation keys, port names, quantities."""
    for meta in _metadata(obj):
        name = meta.get("name") or meta.get("generateName", "x-").rstrip("-")
        assert DNS_LABEL.match(name), name
        for key, value in meta.get("labels", {}).items():
            assert QUALIFIED_NAME.match(key) and LABEL_VALUE.match(value) and len(value) <= 63, (
                key,
                value,
            )
        for key in meta.get("annotations", {}):
            assert QUALIFIED_NAME.match(key), key
    for pod in _pod_specs(obj):
        check_pod_spec(pod)


def check_pod_spec(pod: dict[str, Any]) -> None:
    """The API-server rules for a pod spec that rendering must respect."""
    all_containers = [*pod.get("initContainers", ()), *pod["containers"]]
    names = [c["name"] for c in all_containers]
    assert len(names) == len(set(names)), names
    volumes = {v["name"] for v in pod.get("volumes", ())}
    assert len(volumes) == len(pod.get("volumes", ())), "duplicate volume names"
    port_names: list[str] = []
    for c in all_containers:
        assert DNS_LABEL.match(c["name"]) and len(c["name"]) <= 63, c["name"]
        assert c["image"] and c["image"].strip() == c["image"], c["image"]
        for port in c.get("ports", ()):
            assert 0 < port["containerPort"] < 65536
            if "name" in port:
                assert PORT_NAME.match(port["name"]) and len(port["name"]) <= 15, port["name"]
                port_names.append(port["name"])
        paths = [m["mountPath"] for m in c.get("volumeMounts", ())]
        assert len(paths) == len(set(paths)), paths
        assert {m["name"] for m in c.get("volumeMounts", ())} <= volumes
        for part in c.get("resources", {}).values():
            for quantity in part.values():
                assert QUANTITY.match(quantity) and not quantity.startswith("0"), quantity
        requests = c.get("resources", {}).get("requests", {})
        limits = c.get("resources", {}).get("limits", {})
        for key in requests.keys() & limits.keys():
            assert _amount(requests[key]) <= _amount(limits[key]), (key, requests, limits)
    assert len(port_names) == len(set(port_names)), port_names
    for v in pod.get("volumes", ()):
        assert DNS_LABEL.match(v["name"]), v["name"]


def _amount(quantity: str) -> float:
    for suffix, factor in (("m", 0.001), ("Mi", 2**20), ("Gi", 2**30)):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity)


_KUBELET_REFERENCE = re.compile(r"\$\$|\$\(([^)]*)\)")


def kubelet_expand(value: str, env: Mapping[str, str]) -> str:
    """A string as the kubelet hands it to the container (k8s.io/kubernetes
    third_party/forked/golang/expansion, for ``command``, ``args``, ``env[].value`` and exec
    probes): ``$$`` is an escaped ``$``, ``$(NAME)`` of a defined variable its value, anything
    else as written."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _KUBELET_REFERENCE.sub(one, value)


def assert_generated(doc: Path, begin: str, end: str, generated: str) -> None:
    """``doc`` holds ``generated`` between the markers ``begin`` and ``end``; with
    ``UPDATE_GOLDEN=1`` it is written so first."""
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    assert pattern.search(text), f"{doc} lacks the {begin} ... {end} markers"
    wanted = pattern.sub(lambda _: f"{begin}\n{generated}{end}", text)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        doc.write_text(wanted, encoding="utf-8")
        text = wanted
    assert text == wanted, f"{doc.name} is out of date: UPDATE_GOLDEN=1 regenerates it"
