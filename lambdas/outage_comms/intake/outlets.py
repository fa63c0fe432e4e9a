"""Where intake's results go besides the store: the ``outage-comms`` bus and the rejected-events queue."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from typing import Any

from outage_comms.aws_clients import client
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.intake.normalise import Rejection
from outage_comms.intake.service import update_message

CHANGE_SOURCE = "outage-comms.intake"
CHANGE_DETAIL_TYPE = "Incident Changed"
REJECTED_BY = "outage-comms.intake"
#: SQS message attribute values are limited only by the 256 KB message; keep reasons readable.
MAX_REASON = 2000
MAX_SQS_MESSAGE_BYTES = 256 * 1024
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class PublishError(Exception):
    """EventBridge accepted the call but not the entry."""


class EventBridgeIncidentChanges:
    """Puts ``Incident Changed`` (source ``outage-comms.intake``) on the Outage Comms bus."""

    def __init__(self, bus_name: str, *, events: Any | None = None) -> None:
        self.bus_name = bus_name
        self._events = events

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = client("events")
        return self._events

    def publish(self, incident: Incident, decision: Decision) -> None:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": CHANGE_SOURCE,
                    "DetailType": CHANGE_DETAIL_TYPE,
                    "Detail": json.dumps(update_message(incident, decision)),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise PublishError(
                f"EventBridge refused Incident Changed for {incident.id}: "
                f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
            )


def xml_safe(text: str) -> str:
    """SQS accepts only XML characters in messages and attributes."""
    return _NOT_XML.sub("\ufffd", text)


class SqsRejectedEvents:
    """Sends a rejected event, exactly as received, to the encrypted rejected-events queue.

    The message body is the original event text (replayable as is); the reason travels in message
    attributes: ``rejection_code``, ``rejection_reason``, ``rejected_by`` and, when known,
    ``event_id``.
    """

    def __init__(self, queue_url: str, *, sqs: Any | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def send(self, body: str, rejection: Rejection, *, event_id: str | None = None) -> str:
        reason = (
            rejection.reason if len(rejection.reason) <= MAX_REASON else rejection.reason[:MAX_REASON] + "…"
        )
        attributes = {
            "rejection_code": {"DataType": "String", "StringValue": xml_safe(rejection.code)},
            "rejection_reason": {"DataType": "String", "StringValue": xml_safe(reason)},
            "rejected_by": {"DataType": "String", "StringValue": REJECTED_BY},
        }
        if event_id:
            attributes["event_id"] = {"DataType": "String", "StringValue": xml_safe(event_id)[:256]}
        message_body = fitting_body(xml_safe(body) or "<empty>", attributes)
        response = self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=message_body, MessageAttributes=attributes
        )
        return str(response["MessageId"])


def _size(body: str, attributes: dict[str, dict[str, str]]) -> int:
    named = sum(
        len(k) + len(v["DataType"]) + len(v["StringValue"].encode("utf-8")) for k, v in attributes.items()
    )
    return len(body.encode("utf-8")) + named


def fitting_body(body: str, attributes: dict[str, dict[str, str]]) -> str:
    """``body``, or its zlib+base64 form when body and reason exceed one SQS message (256 KiB).

    An event that reached intake fit one message, so it nearly always fits compressed; if it does
    not, its head is kept and ``body_truncated`` says so (with the original size and SHA-256).
    Adds ``body_encoding`` / ``body_truncated`` to ``attributes`` when it changes the body.
    """
    if _size(body, attributes) <= MAX_SQS_MESSAGE_BYTES:
        return body
    raw = body.encode("utf-8")
    packed = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    attributes["body_encoding"] = {"DataType": "String", "StringValue": "zlib+base64"}
    if _size(packed, attributes) <= MAX_SQS_MESSAGE_BYTES:
        return packed
    del attributes["body_encoding"]
    attributes["body_truncated"] = {
        "DataType": "String",
        "StringValue": f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}",
    }
    room = MAX_SQS_MESSAGE_BYTES - _size("", attributes) - 16
    return raw[:room].decode("utf-8", "ignore")
