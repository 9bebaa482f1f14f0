"""Fixtures the integration files share (the devcluster's are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ecsapi import ApiProcess


@pytest.fixture
def api(namespace: str, tmp_path: Path) -> Iterator[ApiProcess]:
    """``ecs-operator api`` as a process, its access keys in the test's namespace."""
    process = ApiProcess.start(tmp_path, namespace)
    try:
        yield process
    finally:
        process.stop()
