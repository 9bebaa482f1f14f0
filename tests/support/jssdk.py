"""The AWS SDK for JavaScript v3's ECS client (``@aws-sdk/client-ecs``, pinned by
``tests/integration/js/package-lock.json``), installed with ``npm ci`` once per lockfile under
``~/.cache/ecs-operator/node/`` (never in the repository), for tests that run node scripts."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "integration" / "js"
CACHE = Path.home() / ".cache" / "ecs-operator" / "node"


def node_modules() -> Path:
    """The installed modules' directory (for ``NODE_PATH``); the test is skipped, saying why,
    when node or npm is missing or the install fails (no registry)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not on PATH: the JS SDK check needs node and npm")
    lock = (JS / "package-lock.json").read_bytes()
    home = CACHE / hashlib.sha256(lock).hexdigest()[:16]
    modules = home / "node_modules"
    if (modules / "@aws-sdk" / "client-ecs").is_dir():
        return modules
    home.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(JS / name, home / name)
    installed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        pytest.skip(f"npm ci of {JS / 'package-lock.json'} failed:\n{installed.stderr[-2000:]}")
    return modules
