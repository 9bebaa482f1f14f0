"""The helm-install and tenancy tests run before the session's shared operator starts
(tests/support/order.py, ALONE, says why; tests/conftest.py orders the session); should an
order ever put them after it, they fail saying so instead of passing for nothing."""

from __future__ import annotations

import pytest
from tests.support.operator import SHARED_OPERATOR_STARTED
from tests.support.order import ALONE


@pytest.fixture(autouse=True)
def alone_on_the_devcluster(request: pytest.FixtureRequest) -> None:
    """The tests of ALONE run before the shared operator, or fail."""
    if request.node.path.name in ALONE and request.config.stash.get(SHARED_OPERATOR_STARTED, False):
        pytest.fail(
            "the session's shared operator already runs on this devcluster: this test must run "
            "before it (tests/support/order.py, ALONE; with pytest-xdist: --dist loadfile "
            "--no-loadscope-reorder)"
        )
