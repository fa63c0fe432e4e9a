"""Old name of ``handlers.workflow_render`` (module = step = state machine key), kept importable until
every reference has moved; remove then."""

from .workflow_render import handler

__all__ = ["handler"]
