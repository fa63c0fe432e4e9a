"""Moved to :mod:`outage_comms.channels.subscribe_runtime` (the subscribe API's composition root sits
above channels and subscribers); re-exported until the security tests import it from there."""

from outage_comms.channels.subscribe_runtime import SubscriptionRuntime, subscription_runtime

__all__ = ["SubscriptionRuntime", "subscription_runtime"]
