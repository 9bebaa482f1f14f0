"""Whether task sizes are rendered as pod-level resources: as the API server keeps them, asked
at startup with a dry-run Deployment (kube/capabilities.py), unless ``ecs-operator run`` says.
An API server without PodLevelResources drops the field silently, and the tasks ran with no
limits at all (measured on kube-apiserver 1.36 with the gate off)."""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
from collections.abc import Sequence
from typing import Any, cast

import pytest

from ecs_operator import runner
from ecs_operator.kube.capabilities import keeps_pod_level_resources
from ecs_operator.kube.client import ApiError, KubeClient, Resource

Body = dict[str, Any]


class ApiServer:
    """Answers a dry-run create as an API server that keeps pod-level resources or drops them
    (or refuses the probe); records what it was asked."""

    def __init__(self, keeps: bool, refuses: bool = False) -> None:
        self.keeps, self.refuses = keeps, refuses
        self.asked: list[tuple[str, Body]] = []

    async def dry_run_create(self, resource: Resource, body: Body) -> Body:
        self.asked.append((resource.plural, body))
        if self.refuses:
            raise ApiError(403, "deployments.apps is forbidden", "Forbidden")
        stored = copy.deepcopy(body)
        stored["metadata"]["name"] = body["metadata"]["generateName"] + "x7k2p"
        if not self.keeps:
            del stored["spec"]["template"]["spec"]["resources"]
        return stored


def _kept(server: ApiServer, namespaces: Sequence[str] = (), kubelets: Sequence[str] = ()) -> bool:
    """The decision against ``server``, with nodes named after the version their kubelet
    reports."""
    nodes = [
        {"metadata": {"name": f"node-{v}"}, "status": {"nodeInfo": {"kubeletVersion": v}}}
        for v in kubelets
    ]
    client, logger = cast(KubeClient, server), logging.getLogger("test")
    return asyncio.run(runner.pod_level_resources_kept(client, namespaces, nodes, logger))


def test_a_server_that_keeps_them_gets_them() -> None:
    server = ApiServer(keeps=True)
    assert asyncio.run(keeps_pod_level_resources(cast(KubeClient, server), "shop")) is True
    [(plural, body)] = server.asked
    assert plural == "deployments" and body["metadata"]["namespace"] == "shop"
    assert "name" not in body["metadata"], "a generated name: no object's name matters"


def test_a_server_that_drops_them_gets_the_task_size_spread_over_the_containers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert _kept(ApiServer(keeps=False)) is False
    assert "spread over the containers" in caplog.text


def test_a_refused_probe_keeps_them_and_names_the_flag(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert _kept(ApiServer(keeps=False, refuses=True), namespaces=["team-a", "team-b"]) is True
    assert "namespace team-a" in caplog.text and "--no-pod-level-resources" in caplog.text


def test_a_node_whose_kubelet_would_not_enforce_them_gets_them_spread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nodes lag the control plane during an upgrade (by up to three minor versions): a 1.33
    kubelet would run a pod's task size unenforced. A version that does not parse (kwok's
    ``fake``) says nothing either way."""
    assert _kept(ApiServer(keeps=True), kubelets=["v1.36.3", "fake", "v1.34.0-eks-1"]) is True
    with caplog.at_level(logging.WARNING):
        assert _kept(ApiServer(keeps=True), kubelets=["v1.36.3", "v1.33.4"]) is False
    assert "node-v1.33.4" in caplog.text and "node-v1.36.3" not in caplog.text


def test_the_flag_decides_without_asking() -> None:
    parser = argparse.ArgumentParser()
    runner.configure(parser)
    chosen = {
        flags: runner.reconcile_settings(parser.parse_args(list(flags))).pod_level_resources
        for flags in ((), ("--pod-level-resources",), ("--no-pod-level-resources",))
    }
    assert parser.parse_args([]).pod_level_resources is None, "asked at startup"
    assert chosen == {
        (): True,
        ("--pod-level-resources",): True,
        ("--no-pod-level-resources",): False,
    }
