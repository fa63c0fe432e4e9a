"""Old name of ``handlers.workflow_notify_team`` (module = step = state machine key), kept importable until
every reference has moved; remove then."""

from .workflow_notify_team import handler

__all__ = ["handler"]
