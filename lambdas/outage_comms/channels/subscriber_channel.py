"""What every subscriber channel (email, SMS, voice, push) shares: audience, inline or bulk, batching.

``deliver`` resolves the subscribers of the incident's components in each locale. Up to
``inline_limit`` recipients are sent right here, rate-limited; a larger audience is handed to the
bulk delivery state machine (Distributed Map over a JSONL export in S3) so this function never
runs out of time. The same per-channel :class:`RecipientSender` serves both paths.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from outage_comms.channels.base import ChannelPermanentError, Delivery, DeliveryResult
from outage_comms.channels.batch import BatchOutcome, send_each
from outage_comms.channels.rate import TokenBucket
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel

DEFAULT_INLINE_LIMIT = 200


class MemberSource(Protocol):
    """Who should hear an update on one channel (see ``subscribers.audiences``)."""

    def members(
        self, components: Sequence[str], locales: Sequence[str], channel: str, audiences: Sequence[str]
    ) -> Iterator[Member]: ...


class RecipientSender(Protocol):
    """Sends one update to one recipient; built once per update."""

    def send(self, member: Member) -> str:
        """Send; return the provider's message id. Raise typed errors or ``RecipientSkipped``."""

    def cost(self, member: Member) -> float:
        """Tokens this send spends (1 per email, message parts per SMS)."""


@runtime_checkable
class FinishingSender(Protocol):
    """A sender with work left after the last recipient (e.g. SMS: write the reply records)."""

    def finish(self) -> None: ...


def finish(sender: RecipientSender) -> None:
    """Let ``sender`` finish its batch (no-op for senders without a ``finish``)."""
    if isinstance(sender, FinishingSender):
        sender.finish()


class BulkStarter(Protocol):
    def start(self, delivery: Delivery, channel: str, members: Iterable[Member]) -> DeliveryResult: ...


class SubscriberChannel:
    """Base for channels that send to individual subscribers."""

    channel: Channel
    store_channel: str = ""

    def __init__(
        self,
        *,
        audience: MemberSource,
        bulk: BulkStarter | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        rate_per_second: float = 1.0,
    ) -> None:
        self.audience = audience
        self.bulk = bulk
        self.inline_limit = inline_limit
        self.rate_per_second = rate_per_second

    def sender_for(
        self, messages: Mapping[str, Mapping[str, str]], html: Mapping[str, str], incident_id: str
    ) -> RecipientSender:
        raise NotImplementedError

    def update_sender(
        self,
        messages: Mapping[str, Mapping[str, str]],
        html: Mapping[str, str],
        incident_id: str,
        update_id: str,
    ) -> RecipientSender:
        """The sender of one update (inline and bulk); channels that need the update id override it."""
        return self.sender_for(messages, html, incident_id)

    def audiences_for(self, delivery: Delivery) -> Sequence[str]:
        """Only members in one of these audiences hear it; empty means every member of the components."""
        return ()

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        members = self.audience.members(
            delivery.components, list(delivery.messages), self.store_channel, self.audiences_for(delivery)
        )
        first = list(itertools.islice(members, self.inline_limit + 1))
        if len(first) > self.inline_limit and self.bulk is not None:
            return self.bulk.start(delivery, self.store_channel, itertools.chain(first, members))
        if not first:
            return DeliveryResult(
                channel=self.channel.value,
                status="skipped",
                detail="no confirmed subscribers for these components",
                locales=list(delivery.messages),
            )
        sender = self.update_sender(
            delivery.messages, delivery.html, delivery.incident_id, delivery.update_id
        )
        outcome = send_each(
            first,
            sender.send,
            recipient_id=lambda m: m.id,
            bucket=TokenBucket(self.rate_per_second),
            cost=sender.cost,
        )
        finish(sender)
        return self.result(delivery, outcome)

    def result(self, delivery: Delivery, outcome: BatchOutcome) -> DeliveryResult:
        detail = f"sent {len(outcome.sent)}, failed {len(outcome.failed)}, skipped {len(outcome.skipped)}"
        if outcome.failed and not outcome.sent:
            raise ChannelPermanentError(
                f"{self.channel.value}: nothing sent ({detail}): {outcome.failed[0]['reason']}"
            )
        return DeliveryResult(
            channel=self.channel.value,
            status="delivered" if outcome.sent else "skipped",
            provider_ids=outcome.provider_ids[:50],
            detail=detail + (f"; first failure: {outcome.failed[0]['reason']}" if outcome.failed else ""),
            locales=sorted({*delivery.messages}),
        )
