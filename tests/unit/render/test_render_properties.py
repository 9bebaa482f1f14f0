"""Property tests: for any task definition the models accept, rendering either succeeds with
objects that validate against the Kubernetes OpenAPI schema (and the API server's name rules),
or raises the typed validation error — never anything else."""

from __future__ import annotations

from typing import Any, get_args

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ecs_operator.api.errors import EcsValidationError
from ecs_operator.api.shapes import RegisterTaskDefinitionRequest
from ecs_operator.render import FindingKind, Placement, RenderContext, render_pod_template

from .helpers import validate
from .strategies import task_definitions

settings.register_profile(
    "render",
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

PLACEMENTS = [
    Placement(),
    Placement.fargate(),
    Placement.fargate("FARGATE_SPOT"),
    Placement.pool("general"),
]
KINDS = set(get_args(FindingKind))


def _parse(data: dict[str, Any]) -> RegisterTaskDefinitionRequest:
    try:
        return RegisterTaskDefinitionRequest.model_validate(data)
    except ValidationError:
        assume(False)
        raise


@settings(settings.get_profile("render"))
@given(
    data=task_definitions(),
    placement=st.sampled_from(PLACEMENTS),
    pod_level=st.booleans(),
    restart_rules=st.booleans(),
    standalone=st.booleans(),
)
def test_render_is_total(
    data: dict[str, Any],
    placement: Placement,
    pod_level: bool,
    restart_rules: bool,
    standalone: bool,
) -> None:
    td = _parse(data)
    ctx = RenderContext(
        cluster="Prod_Cluster",
        service=None if standalone else "Web_Service",
        revision=3,
        placement=placement,
        pod_level_resources=pod_level,
        container_restart_rules=restart_rules,
        standalone=standalone,
    )
    try:
        rendered = render_pod_template(td, ctx)
    except EcsValidationError as error:
        assert error.violations and all(v.path for v in error.violations)
        return
    validate(
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "t"},
            "template": rendered.pod_template,
        }
    )
    validate(rendered.service_account)
    assert all(f.kind in KINDS and f.path and f.message for f in rendered.findings)
    if placement.is_fargate:
        pod = rendered.pod_template["spec"]
        assert not {"hostNetwork", "hostPID", "hostIPC"} & pod.keys()
        assert not any("hostPath" in v for v in pod.get("volumes", ()))
        for c in [*pod.get("initContainers", ()), *pod["containers"]]:
            assert not c.get("securityContext", {}).get("privileged")


@settings(settings.get_profile("render"))
@given(data=task_definitions())
def test_rendering_is_deterministic(data: dict[str, Any]) -> None:
    td = _parse(data)
    try:
        first = render_pod_template(td, RenderContext())
    except EcsValidationError:
        return
    assert render_pod_template(td, RenderContext()) == first
