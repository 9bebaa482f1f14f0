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
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.operator import OperatorProcess

from ecs_operator_devtools.devcluster import binaries, realnode
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
def ecs_operator(operator: OperatorProcess) -> OperatorProcess:
    """The operator under test is running and watching every namespace: for now the root
    ``operator`` fixture (a host process); with the image, the chart installed on real-0."""
    return operator
