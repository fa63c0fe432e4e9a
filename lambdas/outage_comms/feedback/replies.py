"""Feedback by SMS reply: "Helpful? Reply YES or NO" through End User Messaging two-way SMS.

Sending: for every SMS that carries the reply question (``feedback.messages.carries_reply_line``),
the SMS channel remembers ``MessageId`` -> which message of which update it was
(:class:`SentSms`), in the feedback table (``BatchWriteItem``, expiring with the link lifetime)::

    pk ``SMS#<MessageId>``  sk ``SMS``  incident_id, update_id, channel, locale, scenario, expires_at

Receiving: End User Messaging publishes each inbound SMS to the SNS topic set as the phone number's
``TwoWayChannelArn``, as JSON (AWS End User Messaging SMS user guide, "two-way SMS message payload")::

    {"originationNumber": "+14255550182", "destinationNumber": "+12125550101",
     "messageKeyword": "JOIN", "messageBody": "EXAMPLE", "inboundMessageId": "cae173d2-…",
     "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

``previousPublishedMessageId`` is the ``MessageId`` of the message the customer answers. The body
becomes a vote (:func:`vote_from_text`), the record gives the claims a signed link would carry, and
the vote is counted by the same :meth:`DynamoFeedbackStore.record_vote` as a click, with the salted
hash of the customer's number as the client: a second reply from the same phone is a replay.
Carrier keywords (STOP, HELP, …) are not votes: End User Messaging handles opt-out itself.

No AWS SDK at import.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from outage_comms.feedback.links import LinkClaims
from outage_comms.feedback.store import AlreadyCountedError, client_id
from outage_comms.vocabulary import Channel, Scenario

YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "sim", "s", "1"})
NO_WORDS = frozenset({"no", "n", "nope", "nao", "2"})
#: Opt-out / help keywords End User Messaging and the carriers answer themselves: never a vote.
CARRIER_KEYWORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
        "help",
        "info",
        "start",
        "unstop",
        "pare",
        "parar",
        "sair",
        "ajuda",
    }
)
#: The client fingerprint of an SMS reply is keyed like a click's (IP, User-Agent) with this agent.
SMS_CLIENT_AGENT = "sms-reply"
_BATCH = 25  # BatchWriteItem's limit
_MAX_BODY = 1600


class ReplyRefusedError(Exception):
    """An inbound SMS that does not count. ``reason`` is the ``FeedbackRefused`` metric's dimension."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _fold(text: str) -> str:
    """Lower case, accents off ("NÃO" -> "nao"), punctuation and emoji dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def vote_from_text(body: str) -> str:
    """``yes`` or ``no`` for a reply (English or Portuguese); ReplyRefusedError otherwise.

    The first word decides ("Yes, thanks!" is yes; "nao ajudou" is no); a carrier keyword (STOP,
    HELP) is refused as ``keyword`` so it is never counted and End User Messaging handles it.
    """
    words = _fold(body[:_MAX_BODY]).split()
    if not words:
        raise ReplyRefusedError("not_a_vote", "the reply is empty")
    first = words[0]
    if first in CARRIER_KEYWORDS:
        raise ReplyRefusedError("keyword", f"carrier keyword {first.upper()}: handled by End User Messaging")
    if first in YES_WORDS:
        return "yes"
    if first in NO_WORDS:
        return "no"
    raise ReplyRefusedError("not_a_vote", "the reply is not YES/NO or SIM/NÃO")


@dataclass(frozen=True)
class InboundSms:
    """The fields of a two-way SMS payload we use."""

    origination_number: str
    body: str
    inbound_message_id: str
    previous_message_id: str


def parse_payload(message: str | Mapping[str, Any]) -> InboundSms:
    """The SNS message (a JSON string) as :class:`InboundSms`; ReplyRefusedError ``malformed``."""
    try:
        data = json.loads(message) if isinstance(message, str) else dict(message)
    except (TypeError, ValueError):
        raise ReplyRefusedError("malformed", "the SNS message is not JSON") from None
    if not isinstance(data, dict):
        raise ReplyRefusedError("malformed", "the SNS message is not a JSON object")
    fields = {
        name: data.get(name)
        for name in ("originationNumber", "messageBody", "inboundMessageId", "previousPublishedMessageId")
    }
    missing = [name for name, value in fields.items() if not isinstance(value, str)]
    if missing:
        raise ReplyRefusedError("malformed", f"the payload has no {', '.join(missing)}")
    if not fields["previousPublishedMessageId"]:
        raise ReplyRefusedError("unknown_message", "the reply answers no message we sent")
    return InboundSms(
        origination_number=str(fields["originationNumber"]),
        body=str(fields["messageBody"]),
        inbound_message_id=str(fields["inboundMessageId"]),
        previous_message_id=str(fields["previousPublishedMessageId"]),
    )


@dataclass(frozen=True)
class SentSms:
    """One sent SMS that asks for a reply: what its answers are about (the claims of a link)."""

    message_id: str
    incident_id: str
    update_id: str
    locale: str
    scenario: Scenario
    expires_at: int

    def claims(self) -> LinkClaims:
        return LinkClaims(
            incident_id=self.incident_id,
            update_id=self.update_id,
            channel=Channel.SMS,
            locale=self.locale,
            scenario=self.scenario,
            expires_at=self.expires_at,
        )


def scenario_of(update_id: str) -> Scenario:
    """The scenario in an update id (``NNN-<scenario>``); ValueError for another shape."""
    return Scenario(update_id.split("-", 1)[1])


class SentSmsLog:
    """``MessageId`` -> :class:`SentSms` in the feedback table (writes batched, TTL ``expires_at``)."""

    def __init__(self, *, table_name: str, client: Any, attempts: int = 3) -> None:
        self._table = table_name
        self._client = client
        self._attempts = attempts

    @staticmethod
    def _key(message_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"SMS#{message_id}"}, "sk": {"S": "SMS"}}

    def remember(self, sent: Iterable[SentSms]) -> int:
        """Write the records, 25 per ``BatchWriteItem``, retrying unprocessed items; how many were left."""
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        **self._key(record.message_id),
                        "incident_id": {"S": record.incident_id},
                        "update_id": {"S": record.update_id},
                        "channel": {"S": Channel.SMS.value},
                        "locale": {"S": record.locale},
                        "scenario": {"S": record.scenario.value},
                        "expires_at": {"N": str(record.expires_at)},
                    }
                }
            }
            for record in sent
        ]
        left = 0
        for start in range(0, len(requests), _BATCH):
            pending = requests[start : start + _BATCH]
            for _ in range(self._attempts):
                response = self._client.batch_write_item(RequestItems={self._table: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
            left += len(pending)
        return left

    def find(self, message_id: str) -> SentSms | None:
        item = self._client.get_item(TableName=self._table, Key=self._key(message_id)).get("Item")
        if not item:
            return None
        return SentSms(
            message_id=message_id,
            incident_id=item["incident_id"]["S"],
            update_id=item["update_id"]["S"],
            locale=item["locale"]["S"],
            scenario=Scenario(item["scenario"]["S"]),
            expires_at=int(item["expires_at"]["N"]),
        )


class SentSmsLookup(Protocol):
    def find(self, message_id: str) -> SentSms | None: ...


class VoteStore(Protocol):
    def record_vote(self, claims: LinkClaims, vote: str, client: str, now: datetime) -> None: ...


@dataclass(frozen=True)
class ReplyOutcome:
    """What became of one inbound SMS: ``counted`` (vote, channel) or ``refused`` (reason)."""

    counted: tuple[str, str] | None = None
    refused: str | None = None
    detail: str = ""


class SmsReplyService:
    """Turns one inbound SMS into a counted vote, or a refusal with its reason (never raises for input)."""

    def __init__(
        self,
        *,
        secret: bytes,
        sent: SentSmsLookup,
        store: VoteStore,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._secret = secret
        self._sent = sent
        self._store = store
        self._now = now

    def handle(self, message: str | Mapping[str, Any]) -> ReplyOutcome:
        try:
            inbound = parse_payload(message)
            vote = vote_from_text(inbound.body)
            record = self._sent.find(inbound.previous_message_id)
            if record is None:
                raise ReplyRefusedError("unknown_message", "the reply answers no message that asked for one")
            now = self._now()
            if now.timestamp() > record.expires_at:
                raise ReplyRefusedError("expired", "the question has expired")
            client = client_id(self._secret, inbound.origination_number, SMS_CLIENT_AGENT)
            try:
                self._store.record_vote(record.claims(), vote, client, now)
            except AlreadyCountedError:
                raise ReplyRefusedError("replay", "this phone already answered this message") from None
        except ReplyRefusedError as refused:
            return ReplyOutcome(refused=refused.reason, detail=str(refused))
        return ReplyOutcome(counted=(vote, Channel.SMS.value))
