"""The order in which a session runs the integration test files.

``ALONE`` first: the helm-install and tenancy tests run the operator under the chart's
ServiceAccount and must be the only operator reconciling their objects. The session's
``operator`` fixture (started by the first test that asks for it, and kept until the end)
watches every namespace with a permissive policy and would do the work first, so the restricted
operator would have nothing left to be forbidden from (tests/e2e/conftest.py fails them if it
already runs).

``LONGEST`` next: `make integration` runs pytest-xdist workers, each with its own devcluster,
and ``--dist loadfile --no-loadscope-reorder`` hands each a whole file in this order (without
the flag, xdist hands out the files with the most tests first, and an ALONE file may reach a
worker after the shared operator started there); the longest files go out early so that no
worker is left alone with one at the end while the other idles.
"""

from __future__ import annotations

from pathlib import Path

ALONE = ("test_helm_install.py", "test_tenancy.py")
LONGEST = (
    "test_faults.py",
    "test_docs.py",
    "test_ownership.py",
    "test_devcluster_lifecycle.py",
    "test_operator_network.py",
    "test_operator_lifecycle.py",
    "test_examples.py",
)


def rank(path: Path) -> int:
    """Where a test file goes in the session: ALONE, then LONGEST, then the others."""
    order = (*ALONE, *LONGEST)
    return order.index(path.name) if path.name in order else len(order)
