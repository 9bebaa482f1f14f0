"""Order of the end-to-end tests in a session.

The helm-install and tenancy tests run the operator under the chart's ServiceAccount and must
be the only operator reconciling their objects: the session's ``operator`` fixture (started by
the first test that asks for it, and kept until the end) watches every namespace with a
permissive policy and would do the work first, so the restricted operator would have nothing
left to be forbidden from. Running them first, before anything starts the shared operator,
keeps their verdict meaningful.
"""

from __future__ import annotations

import pytest

FIRST = ("test_helm_install.py", "test_tenancy.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else 2)
