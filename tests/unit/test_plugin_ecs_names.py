"""``kubectl ecs`` takes ECS's names, whatever Kubernetes name the object got: a service
``web_api`` (object ``web-api-<hash>``), a family ``Billing_Job``, a cluster ``Prod_EU``."""

from __future__ import annotations

from ecs_operator.plugin import views
from ecs_operator.render.names import dns_label
from ecs_operator.status.taskdefinition import Arns


def _object(kind_spec: dict[str, object], ecs_name: str) -> dict[str, object]:
    return {"metadata": {"name": dns_label(ecs_name)}, "spec": kind_spec, "status": {}}


def test_services_clusters_and_families_are_found_by_their_ecs_names() -> None:
    arns = Arns()
    service = _object(
        {"serviceName": "web_api", "cluster": "Prod_EU", "desiredCount": 1}, "web_api"
    )
    found = views.describe_services([service], "Prod_EU", ["web_api"], arns)
    assert [s["serviceName"] for s in found["services"]] == ["web_api"] and not found["failures"]
    cluster = _object({"clusterName": "Prod_EU"}, "Prod_EU")
    described = views.describe_clusters([cluster], ["Prod_EU"], arns, lambda _: [])
    assert [c["clusterName"] for c in described["clusters"]] == ["Prod_EU"]
    family = _object({"family": "Billing_Job"}, "Billing_Job")
    family["status"] = {"revision": 1}
    body, revision = views.find_task_definition([family], "Billing_Job")
    assert body is family and revision == 1
