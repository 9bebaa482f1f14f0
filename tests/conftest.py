"""Shared fixtures. The devcluster (a real control plane) starts once per session, on first
use by an integration test, and stops at the end; unit tests never touch it.

Point ``ECS_OPERATOR_TEST_KUBECONFIG`` at a running devcluster's kubeconfig (``eval
$(ecs-operator devcluster env)`` then ``export ECS_OPERATOR_TEST_KUBECONFIG=$KUBECONFIG``) to
reuse it instead of starting one: iterating on a test then takes seconds.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.kube import Kube
from tests.support.operator import SHARED_OPERATOR_STARTED, OperatorProcess
from tests.support.order import rank

if TYPE_CHECKING:
    from ecs_operator_devtools.devcluster.cluster import DevCluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The session's order of files (tests/support/order.py); within a file, as written."""
    items.sort(key=lambda item: rank(item.path))


@pytest.fixture(scope="session")
def devcluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The kubeconfig of a running devcluster; its binaries (kubectl, helm) are on PATH."""
    from ecs_operator_devtools.devcluster import binaries

    os.environ["PATH"] = ":".join([*map(str, binaries.bin_dirs()), os.environ["PATH"]])
    reuse = os.environ.get("ECS_OPERATOR_TEST_KUBECONFIG")
    if reuse:
        os.environ["KUBECONFIG"] = reuse
        yield Path(reuse)
        return
    cluster = _start_devcluster(tmp_path_factory)
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    try:
        yield cluster.kubeconfig
    finally:
        cluster.down(purge=False)


def _start_devcluster(tmp_path_factory: pytest.TempPathFactory) -> DevCluster:
    """Start a devcluster; when it cannot start, once more in a fresh directory, with a
    warning that says why. The control plane is not under test here: one failed start (a
    component losing the loopback port it was given to another process, say) would otherwise
    turn every test of the session into an error."""
    from ecs_operator_devtools.devcluster.cluster import DevCluster
    from ecs_operator_devtools.devcluster.errors import DevclusterError

    cluster = DevCluster(tmp_path_factory.mktemp("devcluster"))
    try:
        cluster.up(log=print)
    except DevclusterError as error:
        warnings.warn(f"the devcluster did not start, starting another: {error}", stacklevel=1)
        cluster = DevCluster(tmp_path_factory.mktemp("devcluster"))
        cluster.up(log=print)
    return cluster


@pytest.fixture(scope="session")
def kube(devcluster: Path) -> Kube:
    """API clients for the devcluster."""
    return Kube.from_kubeconfig(devcluster)


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test (with its default ServiceAccount), deleted afterwards."""
    name = kube.create_test_namespace(request.node.name)
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="session")
def crds(devcluster: Path) -> Path:
    """The CRDs of crds/ installed (server-side apply), Established and served. Established is
    not yet served: a write just after it can be refused with 503 ("There can be a delay
    between when CustomResourceDefinitions are created and when they are available"), which
    failed a fresh-clone CI run's first test on its devcluster."""
    from tests.support.kube import kubectl, wait_for

    directory = Path(__file__).resolve().parent.parent / "crds"
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(directory))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(directory))
    kinds = ",".join(sorted(path.name.removesuffix(".yaml") for path in directory.glob("*.yaml")))

    def served() -> bool:
        return kubectl("get", kinds, "-A", check=False).returncode == 0

    wait_for(served, 60, f"the API server to serve {kinds}")
    return directory


@pytest.fixture(scope="session")
def operator(
    crds: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The operator, running as a process (`ecs-operator run`) against the devcluster."""
    request.config.stash[SHARED_OPERATOR_STARTED] = True
    process = OperatorProcess.start(tmp_path_factory.mktemp("operator"))
    try:
        yield process
    finally:
        process.stop()
