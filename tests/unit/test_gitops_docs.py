"""docs/install.md's Argo CD snippet is exactly the scripts of gitops/argocd/ that
tests/integration/test_gitops_health.py runs in gopher-lua on live objects; docs/gitops.md's
Stalled reasons are the operator's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ecs_operator.handlers.watch import ECS_KINDS
from ecs_operator.status.conditions import STALLED_REASONS

REPO = Path(__file__).resolve().parents[2]
ARGOCD = REPO / "gitops" / "argocd"
GROUP = "ecs-operator.dev"


def _argocd_cm() -> dict[str, Any]:
    install = (REPO / "docs" / "install.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```$", install, re.M | re.S)
    found = [yaml.safe_load(b) for b in blocks if "name: argocd-cm" in b]
    assert len(found) == 1, "docs/install.md has one argocd-cm snippet"
    data: dict[str, Any] = found[0]["data"]
    return data


def test_the_health_check_is_the_tested_script_for_every_ecs_kind() -> None:
    data = _argocd_cm()
    health = (ARGOCD / "health.lua").read_text()
    for kind in (resource.kind for resource in ECS_KINDS):
        assert data[f"resource.customizations.health.{GROUP}_{kind}"] == health


def test_the_restart_action_is_the_tested_script() -> None:
    actions = yaml.safe_load(_argocd_cm()[f"resource.customizations.actions.{GROUP}_Service"])
    assert actions["discovery.lua"] == (ARGOCD / "actions" / "discovery.lua").read_text()
    assert actions["definitions"] == [
        {"name": "restart", "action.lua": (ARGOCD / "actions" / "restart.lua").read_text()}
    ]


def test_the_stalled_reasons_docs_gitops_lists_are_the_operators() -> None:
    """The reasons a GitOps tool reads as Stalled, as docs/gitops.md lists them, are exactly
    those the operator marks so (a reason added to one and not the other is a tool waiting
    forever on a problem no retry mends, or giving up on one that mends itself)."""
    gitops = (REPO / "docs" / "gitops.md").read_text()
    listed = re.search(
        r"whose reason is one of\n(.*?)\(`status\.conditions\.STALLED_REASONS`\)", gitops, re.S
    )
    assert listed, (
        "docs/gitops.md lists the Stalled reasons before `status.conditions.STALLED_REASONS`"
    )
    assert set(re.findall(r"`(\w+)`", listed.group(1))) == STALLED_REASONS
