"""kopf handlers: watch events feed the store and the work queue; reconcilers do the work."""

from __future__ import annotations


def install_handlers() -> None:
    """Register the kopf handlers (on import they would register in every process that
    merely imports the package)."""
    from . import watch

    watch.register()
