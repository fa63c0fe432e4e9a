"""Redrive: resend the deliveries that failed after their retries, through the same delivery functions.

A failed branch of ``Notify team first`` or ``Fan out to channels`` leaves one message in its
channel's dead-letter queue: ``{"incident_id", "update_id", "channel", "error", "detail",
"attempts", ...}``. :func:`redrive` reads the queues, and for each message asks the function that
delivers that channel in the workflow (``Deliver via <channel>``, or ``Notify team first`` for team
chats) to deliver it again — the same code, the same delivery ledger. The ledger makes the resend
exactly once per (incident, update, channel): an item that already went out is reported
``already delivered`` and not sent again. A message is deleted only after its delivery succeeded
(or was already done); a failed one stays for the next redrive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from outage_comms.vocabulary import Channel
from outage_comms.workflow.channels_plan import TEAM_CHANNELS

#: How long a received message stays hidden while one redrive run handles it.
HIDE_SECONDS = 300
#: Most items one run handles (a run is one synchronous Lambda invocation).
MAX_ITEMS = 200


class RedriveRequestError(ValueError):
    """The request names something that does not exist (the message says what exists)."""


class DeliveryFailedError(Exception):
    """The delivery function answered with an error: the message stays in its queue."""


@dataclass(frozen=True)
class DeadLetter:
    channel: str  # the queue's channel
    message_id: str
    receipt: str
    body: str


class DeadLetterQueues(Protocol):
    def channels(self) -> list[str]:
        """Channels that have a dead-letter queue."""

    def receive(self, channel: str, limit: int) -> list[DeadLetter]:
        """Up to ``limit`` messages of the channel's queue, hidden from other readers for this run."""

    def delete(self, letter: DeadLetter) -> None: ...

    def keep(self, letter: DeadLetter) -> None:
        """Make the message visible again now (not redriven in this run)."""


#: Deliver one item again: the delivery function's answer, or DeliveryFailedError.
Deliver = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class RedriveRequest:
    channel: str | None = None
    incident_id: str | None = None
    dry_run: bool = False
    limit: int = MAX_ITEMS

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> RedriveRequest:
        limit = int(event.get("limit") or MAX_ITEMS)
        if not 1 <= limit <= MAX_ITEMS:
            raise RedriveRequestError(f"limit must be between 1 and {MAX_ITEMS}, got {limit}")
        return cls(
            channel=str(event["channel"]) if event.get("channel") else None,
            incident_id=str(event["incident_id"]) if event.get("incident_id") else None,
            dry_run=bool(event.get("dry_run", False)),
            limit=limit,
        )


def redrive(
    request: RedriveRequest,
    queues: DeadLetterQueues,
    deliver: Deliver,
    out_of_time: Callable[[], bool] = lambda: False,
) -> list[dict[str, Any]]:
    """Handle every matching dead-lettered delivery once; one result line per message handled.

    When ``out_of_time()`` says so, the remaining received messages are made visible again and
    reported ``not handled`` (run again).
    """
    available = queues.channels()
    if request.channel is not None and request.channel not in available:
        raise RedriveRequestError(
            f"no dead-letter queue for channel '{request.channel}'; channels with one: "
            f"{', '.join(sorted(available)) or 'none'}"
        )
    results: list[dict[str, Any]] = []
    for channel in [request.channel] if request.channel else sorted(available):
        letters = queues.receive(channel, request.limit - len(results))
        for letter in letters:
            if out_of_time():
                queues.keep(letter)
                results.append(
                    {
                        "message_id": letter.message_id,
                        "channel": channel,
                        "outcome": "not handled",
                        "detail": "out of time; run redrive again",
                    }
                )
                continue
            results.append(_handle(letter, request, queues, deliver))
        if len(results) >= request.limit:
            break
    return [r for r in results if r["outcome"] != "not selected"]


def _handle(
    letter: DeadLetter, request: RedriveRequest, queues: DeadLetterQueues, deliver: Deliver
) -> dict[str, Any]:
    item = _item(letter)
    line = {
        "message_id": letter.message_id,
        "channel": item.get("channel", letter.channel),
        "incident_id": item.get("incident_id", ""),
        "update_id": item.get("update_id", ""),
        "attempts": item.get("attempts", 0),
        "error": item.get("error", ""),
    }
    if not {"incident_id", "update_id", "channel"} <= item.keys():
        queues.keep(letter)
        return {**line, "outcome": "unreadable", "detail": "not a dead-lettered delivery; left in the queue"}
    if request.incident_id is not None and item["incident_id"] != request.incident_id:
        queues.keep(letter)
        return {**line, "outcome": "not selected"}
    drill = item.get("drill") is True  # an exercise's failure (often injected on purpose): nobody waits
    if request.dry_run:
        queues.keep(letter)
        outcome = "would remove (drill)" if drill else "would resend"
        return {**line, "outcome": outcome, "detail": f"last error: {item.get('error', '?')}"}
    if drill:
        queues.delete(letter)
        return {**line, "outcome": "drill, not resent", "detail": "a drill's delivery; removed"}
    event = {k: str(item[k]) for k in ("incident_id", "update_id", "channel")}
    try:
        answer = deliver(event["channel"], event)
    except DeliveryFailedError as error:
        queues.keep(letter)
        return {**line, "outcome": "failed", "detail": f"{error}; left in the queue"}
    status = str(answer.get("status", ""))
    queues.delete(letter)
    outcome = {"delivered": "delivered", "already_delivered": "already delivered"}.get(status, status)
    detail = "not sent again" if status == "already_delivered" else ""
    return {**line, "outcome": outcome, "detail": detail}


def _item(letter: DeadLetter) -> dict[str, Any]:
    try:
        body = json.loads(letter.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def delivery_function_for(channel: str, *, deliver: str, notify: str) -> str:
    """Team chats are delivered by ``Notify team first``'s function; every other channel by the fan-out's."""
    return notify if Channel(channel) in TEAM_CHANNELS else deliver


class SqsDeadLetterQueues:
    """The per-channel queues (``{channel: queue URL}``) through an SQS client."""

    def __init__(self, urls: Mapping[str, str], client: Any, *, wait_seconds: int = 1) -> None:
        self._urls = dict(urls)
        self._sqs = client
        self._wait = wait_seconds

    def channels(self) -> list[str]:
        return list(self._urls)

    def receive(self, channel: str, limit: int) -> list[DeadLetter]:
        url = self._urls[channel]
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes.get("ApproximateNumberOfMessages", "0")) == 0:
            return []
        seen: dict[str, DeadLetter] = {}
        while len(seen) < limit:
            messages = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=HIDE_SECONDS,
                WaitTimeSeconds=self._wait,
            ).get("Messages", [])
            if not messages:
                break
            for m in messages:
                letter = DeadLetter(channel, m["MessageId"], m["ReceiptHandle"], m["Body"])
                seen.setdefault(letter.message_id, letter)
        return list(seen.values())

    def delete(self, letter: DeadLetter) -> None:
        self._sqs.delete_message(QueueUrl=self._urls[letter.channel], ReceiptHandle=letter.receipt)

    def keep(self, letter: DeadLetter) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=self._urls[letter.channel], ReceiptHandle=letter.receipt, VisibilityTimeout=0
        )


def lambda_deliverer(client: Any, *, deliver: str, notify: str) -> Deliver:
    """Invoke the channel's delivery function synchronously; a function error becomes DeliveryFailedError."""

    def call(channel: str, event: Mapping[str, Any]) -> Mapping[str, Any]:
        response = client.invoke(
            FunctionName=delivery_function_for(channel, deliver=deliver, notify=notify),
            Payload=json.dumps(dict(event)).encode(),
        )
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            kind = payload.get("errorType", "Error") if isinstance(payload, dict) else "Error"
            message = payload.get("errorMessage", "") if isinstance(payload, dict) else ""
            raise DeliveryFailedError(f"{kind}: {message}"[:500])
        return payload if isinstance(payload, dict) else {}

    return call


def summary(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result["outcome"])] = counts.get(str(result["outcome"]), 0) + 1
    return counts
