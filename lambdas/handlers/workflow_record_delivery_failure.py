"""Old name of ``handlers.workflow_record_failure`` (module = step = state machine key), kept importable until
every reference has moved; remove then."""

from .workflow_record_failure import handler

__all__ = ["handler"]
