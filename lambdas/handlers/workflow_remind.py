"""Old name of ``handlers.workflow_notice`` (module = step = state machine key), kept importable until
every reference has moved; remove then."""

from .workflow_notice import handler

__all__ = ["handler"]
