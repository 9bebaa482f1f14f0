"""The real-node suite: a devcluster with one real node (containerd + kubelet), in a pytest
session of its own (`make real`).

The session's ``devcluster`` is ``DevCluster(..., real_nodes=1)`` instead of the root
conftest's kwok-only one; where real nodes cannot run (not root, not Linux, a package
missing) every test here is skipped with the one-line reason. ``ECS_OPERATOR_TEST_KUBECONFIG``
reuses a running devcluster (`ecs-operator devcluster up --real-nodes 1`) as the root
conftest does. Stories depend on ``ecs_operator`` only: the operator under test is running
and watching every namespace, however it runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import operator_pod
from tests.support.operator_pod import OperatorPod

from ecs_operator_devtools.devcluster import binaries, operator_image, realnode
from ecs_operator_devtools.devcluster.cluster import DevCluster

HERE = Path(__file__).resolve().parent
#: tests that take the session's devcluster down: they run after every other test
LAST = "takes_cluster_down"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = realnode.unavailable_reason()
    ours = [item for item in items if HERE in item.path.parents]
    for item in ours:
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
    items.sort(key=lambda item: item in ours and item.get_closest_marker(LAST) is not None)


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster | None]:
    """The session's devcluster with node real-0, or None when reusing a running one."""
    os.environ["PATH"] = ":".join([*map(str, binaries.bin_dirs()), os.environ["PATH"]])
    reuse = os.environ.get("ECS_OPERATOR_TEST_KUBECONFIG")
    if reuse:
        os.environ["KUBECONFIG"] = reuse
        yield None
        return
    cluster = DevCluster(tmp_path_factory.mktemp("devcluster"), real_nodes=1)
    cluster.up(log=print)
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    try:
        yield cluster
    finally:
        cluster.down(purge=False)


@pytest.fixture(scope="session")
def devcluster(real_cluster: DevCluster | None) -> Path:
    """The kubeconfig of the real-node devcluster (overrides the root conftest's)."""
    return Path(os.environ["KUBECONFIG"])


@pytest.fixture(scope="session")
def ecs_operator(
    crds: Path, devcluster: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorPod]:
    """The operator under test is running and watching every namespace: the chart installed by
    Helm onto real-0 with the image `make image` builds (built here when the tree changed),
    Available through its probes. When a test failed, its log ends the session's output."""
    started = time.monotonic()
    image = operator_image.ensure_image(log=print)
    built = time.monotonic()
    DevCluster(devcluster.parent).import_image(image.archive)
    imported = time.monotonic()
    installed = operator_pod.install(image.repository, image.tag)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"operator pod {image.reference}: image {built - started:.0f}s, import "
        f"{imported - built:.0f}s, helm install -> Available {installed.install_seconds:.0f}s"
    )
    try:
        yield installed
    finally:
        if reporter is not None:
            reporter.write_line(summary)
            if request.session.testsfailed:
                reporter.write_sep("-", "the operator pod's log (a test failed)")
                reporter.write_line(installed.logs())
        operator_pod.uninstall()
