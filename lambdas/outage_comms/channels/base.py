"""The one small interface every delivery channel implements.

The workflow's fan-out calls :meth:`ChannelAdapter.deliver` once per channel and update. An
adapter turns provider errors into the typed errors below; the state machine's ``Retry`` and
``Catch`` match on their class names (Lambda reports ``errorType`` = the exception class name),
so the names are part of the contract with ``stacks/constructs/channel_fanout.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from outage_comms.vocabulary import Channel


class ChannelError(Exception):
    """Base of every delivery error an adapter raises."""


class ChannelRetryableError(ChannelError):
    """Throttled, timed out or the provider is briefly unavailable: try again with backoff."""


class ChannelPermanentError(ChannelError):
    """The request itself is wrong (bad address, rejected content, missing resource): retrying won't help."""


class ChannelUnavailableError(ChannelError):
    """The channel is switched on in the plan but not configured in this deployment."""


#: Error names the fan-out retries (with backoff and full jitter); everything else is caught at once.
RETRYABLE_ERRORS = (
    ChannelRetryableError.__name__,
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)


@dataclass(frozen=True)
class Delivery:
    """One update's words for one channel: every locale, plus who it is for."""

    incident_id: str
    update_id: str
    channel: Channel
    scenario: str
    components: Sequence[str]
    audiences: Sequence[str]
    severity: str
    #: locale -> field -> text (e.g. {"en": {"subject": ..., "body": ...}})
    messages: Mapping[str, Mapping[str, str]]
    #: locale -> HTML (email only)
    html: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel did with one delivery: recorded on the incident, shown in the drill."""

    channel: str
    status: str  # "delivered" | "skipped" | "failed"
    provider_ids: list[str] = field(default_factory=list)
    detail: str = ""
    locales: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChannelAdapter(Protocol):
    """Sends one delivery through one channel. Raise the typed errors above; never swallow failures."""

    channel: Channel

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        """Send every locale of ``delivery``; return what was sent."""
