"""Every message every channel delivered, collected from the provider side of the embedded AWS.

Sources, each read where the real provider would have received it: SES (moto's sent messages), the
SNS topics (subscriber topic, team chat notifications for Amazon Q / Chatbot, drill topic), End User
Messaging SMS / voice / push (the harness's provider fake) and the HTTP channels (Slack, Teams,
Mastodon, Bluesky, the signed webhook, the support desk: the harness's sink on 127.0.0.1).

The collector keeps a cursor per source and stamps each new message with the time it saw it; the
messages are appended to ``inbox.jsonl`` in the state folder, so the inbox survives a restart
(moto's own records start empty in every process).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_comms_embedded import EmbeddedAws

PROVIDER_CHANNELS = {"SendTextMessage": "sms", "SendVoiceMessage": "voice", "SendMessages": "push"}
TOPIC_OUTPUTS = (
    ("sns", "SubscribersTopicArn"),
    ("chatbot", "InternalChatTopicArn"),
    ("sns-drill", "DrillTopicArn"),
)
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass
class InboxMessage:
    """One message as its recipient got it."""

    number: int
    at: str
    channel: str
    to: str
    subject: str
    text: str
    html: str = ""
    #: channel-specific facts shown with the message (SMS parts, signature check, post length)
    facts: dict[str, str] = field(default_factory=dict)
    incident_id: str = ""

    @property
    def links(self) -> list[str]:
        return list(dict.fromkeys(_URL.findall(self.text + " " + self.html)))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "links": self.links}


class Inbox:
    """``collect()`` picks up what arrived since the last call; ``messages()`` lists all, newest first."""

    def __init__(
        self,
        aws: EmbeddedAws,
        path: Path | None,
        *,
        webhook_keys: Iterable[bytes] = (),
        localize: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.aws = aws
        self._localize = localize
        self.path = path
        self._lock = threading.Lock()
        self._messages: list[InboxMessage] = []
        self._cursors: dict[str, int] = {}
        self._webhook_keys = list(webhook_keys)
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError, TypeError):
                    self._messages.append(InboxMessage(**json.loads(line)))

    def messages(self, *, channel: str | None = None) -> list[InboxMessage]:
        with self._lock:
            found = [m for m in self._messages if channel in (None, m.channel)]
        return sorted(found, key=lambda m: m.number, reverse=True)

    def collect(self) -> int:
        """Read every source from its cursor; returns how many messages were new."""
        with self._lock:
            new = [*self._emails(), *self._topics(), *self._providers(), *self._sink()]
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            for message in new:
                message.text, message.html = self._localize(message.text), self._localize(message.html)
                message.number = len(self._messages) + 1
                message.at = stamp
                self._messages.append(message)
            if new and self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    for message in new:
                        handle.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
            return len(new)

    def _advance(self, source: str, items: list[Any]) -> list[Any]:
        start = self._cursors.get(source, 0)
        self._cursors[source] = len(items)
        return items[start:]

    # -- sources ---------------------------------------------------------------------------------
    def _emails(self) -> list[InboxMessage]:
        found = []
        for sent in self._advance("ses", self.aws.sent_emails()):
            destinations = getattr(sent, "destinations", None)
            if isinstance(destinations, dict):
                to = [a for key in ("ToAddresses", "CcAddresses") for a in destinations.get(key, [])]
            else:
                to = list(destinations or [])
            raw = getattr(sent, "raw_data", None)
            subject, text, html = str(getattr(sent, "subject", "") or ""), "", ""
            if raw:
                subject, text, html = _parse_mime(raw)
            else:
                body = str(getattr(sent, "body", "") or "")
                html, text = (body, "") if "<" in body and "</" in body else ("", body)
            found.append(_message("email", ", ".join(to), subject, text, html))
        return found

    def _topics(self) -> list[InboxMessage]:
        found = []
        for label, output in TOPIC_OUTPUTS:
            try:
                topic = self.aws.output(output)
            except KeyError:
                continue
            for note in self._advance(f"topic:{output}", self.aws.published(topic)):
                attributes = {k: v.get("Value") for k, v in (note["attributes"] or {}).items()}
                body = str(note["message"])
                subject = str(note.get("subject") or "")
                facts = {k: str(v) for k, v in attributes.items() if k in ("scenario", "locale", "component")}
                if label == "chatbot":
                    with contextlib.suppress(ValueError, AttributeError):
                        content = json.loads(body).get("content", {})
                        subject = str(content.get("title", ""))
                        steps = "\n".join(f"• {s}" for s in content.get("nextSteps", []))
                        body = str(content.get("description", "")) + (f"\n\n{steps}" if steps else "")
                to = (
                    "team chat (Amazon Q Developer)"
                    if label == "chatbot"
                    else f"SNS topic {topic.rsplit(':', 1)[-1]}"
                )
                message = _message(label.replace("sns-drill", "sns"), to, subject, body, facts=facts)
                message.incident_id = str(attributes.get("incident_id") or message.incident_id)
                found.append(message)
        return found

    def _providers(self) -> list[InboxMessage]:
        from outage_comms.guard import sms_size

        found = []
        for call in self._advance("providers", list(self.aws.providers.calls)):
            channel = PROVIDER_CHANNELS.get(call.operation, call.operation)
            params = call.params
            if channel == "sms":
                body = str(params.get("MessageBody", ""))
                size = sms_size(body)
                facts = {"encoding": size.encoding, "parts": str(size.segments), "characters": str(len(body))}
                found.append(
                    _message("sms", str(params.get("DestinationPhoneNumber", "")), "", body, facts=facts)
                )
            elif channel == "voice":
                body = str(params.get("MessageBody", ""))
                facts = {
                    "read as": str(params.get("MessageBodyTextType", "TEXT")),
                    "voice": str(params.get("VoiceId", "")),
                }
                found.append(
                    _message("voice", str(params.get("DestinationPhoneNumber", "")), "", body, facts=facts)
                )
            else:
                request = params.get("MessageRequest") or {}
                addresses = ", ".join(request.get("Addresses", {}) or [])
                config = request.get("MessageConfiguration") or {}
                push: dict[str, Any] = next(iter(config.values()), {}) if isinstance(config, dict) else {}
                found.append(
                    _message("push", addresses, str(push.get("Title", "")), str(push.get("Body", "")))
                )
        return found

    def _sink(self) -> list[InboxMessage]:
        from outage_comms.channels.webhook import SIGNATURE_HEADER, verify_signature

        found = []
        for request in self._advance("sink", list(self.aws.sink.requests)):
            if request.path.endswith("com.atproto.server.createSession"):
                continue  # Bluesky's login, not a message
            payload: Any = None
            with contextlib.suppress(ValueError):
                payload = request.json()
            subject, text, facts = "", request.body.decode("utf-8", "replace"), {}
            channel = request.channel
            if channel == "slack" and isinstance(payload, dict):
                blocks = payload.get("blocks") or []
                subject = next((str(b["text"]["text"]) for b in blocks if b.get("type") == "header"), "")
                text = "\n\n".join(
                    str(b["text"]["text"]) for b in blocks if b.get("type") == "section" and b.get("text")
                ) or str(payload.get("text", ""))
            elif channel == "teams" and isinstance(payload, dict):
                with contextlib.suppress(LookupError, TypeError):
                    body = payload["attachments"][0]["content"]["body"]
                    subject = str(body[0].get("text", ""))
                    text = str(body[1].get("text", ""))
            elif channel == "mastodon" and isinstance(payload, dict):
                text = str(payload.get("status", ""))
                facts = {"length": f"{len(text)} / 500"}
            elif channel == "bluesky" and isinstance(payload, dict):
                text = str((payload.get("record") or {}).get("text", ""))
                facts = {"length": f"{len(text)} / 300 graphemes"}
            elif channel == "webhook":
                header = request.headers.get(SIGNATURE_HEADER.lower(), "")
                valid = any(verify_signature(key, request.body, header) for key in self._webhook_keys)
                facts = {
                    "signature": "valid (HMAC-SHA256 with the plan's signing secret)" if valid else "INVALID"
                }
                if header:
                    facts["header"] = f"{SIGNATURE_HEADER}: {header[:40]}…"
                if isinstance(payload, dict):
                    text = json.dumps(payload, indent=2, ensure_ascii=False)
            elif channel == "support" and isinstance(payload, dict):
                macro: dict[str, Any] = payload["macro"] if isinstance(payload.get("macro"), dict) else {}
                subject = str(macro.get("title") or payload.get("subject") or "")
                text = str(macro.get("body") or json.dumps(payload, indent=2, ensure_ascii=False))
                facts = {k: str(payload[k]) for k in ("locale", "update_id", "severity") if k in payload}
            to = f"{request.method} {request.path.split('?', 1)[0]}"
            found.append(_message(channel, to, subject, text, facts=facts))
        return found


_INCIDENT = re.compile(r"inc-\d{8}-\d{4}-[0-9a-f]{6}")


def _message(
    channel: str, to: str, subject: str, text: str, html: str = "", *, facts: dict[str, str] | None = None
) -> InboxMessage:
    incident = _INCIDENT.search(f"{subject} {text} {html}")
    return InboxMessage(
        number=0,
        at="",
        channel=channel,
        to=to,
        subject=subject,
        text=text,
        html=html,
        facts=facts or {},
        incident_id=incident.group(0) if incident else "",
    )


def _parse_mime(raw: str) -> tuple[str, str, str]:
    message = email.message_from_string(raw, policy=email.policy.default)
    subject = str(message.get("Subject", ""))
    text = html = ""
    for part in message.walk() if message.is_multipart() else [message]:
        kind = part.get_content_type()
        if kind == "text/plain" and not text:
            text = str(part.get_content())
        elif kind == "text/html" and not html:
            html = str(part.get_content())
    return subject, text, html
