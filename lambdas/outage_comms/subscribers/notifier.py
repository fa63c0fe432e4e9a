"""Moved to :mod:`outage_comms.channels.confirmations` (re-exported until subscribers/runtime.py moves)."""

from outage_comms.channels.confirmations import ConfirmationMessages

__all__ = ["ConfirmationMessages"]
