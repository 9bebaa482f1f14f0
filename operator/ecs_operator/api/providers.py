"""The capacity vocabulary the spec models speak: ECS's built-in Fargate capacity providers and
the node-pool label an EC2 capacity provider stands for by default.

It lives in ``api/`` because the specs and their rules name it, and ``api/`` depends on nothing
above it; ``nodes.py`` (the node vocabulary of the renderer and the devcluster) imports it from
here, so the two cannot disagree.
"""

from __future__ import annotations

from typing import Literal

from .. import API_GROUP

FargateProvider = Literal["FARGATE", "FARGATE_SPOT"]
FARGATE: FargateProvider = "FARGATE"
FARGATE_SPOT: FargateProvider = "FARGATE_SPOT"
#: The capacity providers ECS builds in: no Cluster defines them.
FARGATE_PROVIDERS: tuple[FargateProvider, ...] = (FARGATE, FARGATE_SPOT)

#: The label of an EC2 capacity provider's nodes when its Cluster names no selector.
LABEL_NODE_POOL = f"{API_GROUP}/node-pool"
