"""Watches that list again, and the deletions no event will tell.

kopf starts a watch over with a LIST of its own after a gap: a 410 Gone (every restart of the
API server), a broken connection, the end of a peering pause. A LIST tells what is there, never
what went: an object deleted in the gap would stay in the store for good. Seen: the API server
restarted, six Services deleted meanwhile, and their TaskDefinition's deletion waited on them
until the operator's next restart; a Deployment deleted in the gap was never put back.

So a watch's listing puts its kind in doubt (kube/store.py ``doubt``): each object its events
report is confirmed again, and prewarm's check looks up the rest once the listings are over.
A kind whose objects all went in the gap has no listing event at all to put it in doubt; when
a second kind lists within the same window, the gap was everyone's (the API server's restart,
the connection, a pause), and every kind is put in doubt. A single watch listing alone (a
resource version too old) puts only its own kind in doubt, so a busy cluster's routine
restarts of one watch cost no lookups of the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ecs_operator.kube.client import Resource
from ecs_operator.kube.store import Store

log = logging.getLogger(__name__)


@dataclass
class Relists:
    """The kinds whose watches listed in the current window."""

    opened: float | None = None
    listed: set[Resource] = field(default_factory=set)

    def listing(self, store: Store, resource: Resource, now: float, window: float) -> bool:
        """A listing event of ``resource`` at ``now``: put in doubt what it may have missed;
        whether this opened a window of ``window`` seconds (then the store is to be checked
        at its end)."""
        opened = self.opened is None or now - self.opened >= window
        if opened:
            self.opened, self.listed = now, set()
            log.info("the watches list (%s first): what they miss is looked up", resource.plural)
        if resource in self.listed:
            return opened
        self.listed.add(resource)
        log.debug("the watch of %s lists", resource.plural)
        if len(self.listed) == 1:
            store.doubt(resource)
        elif len(self.listed) == 2:  # everyone's gap: every kind but the first (in doubt)
            store.doubt_all(but=self.listed - {resource})
        return opened
