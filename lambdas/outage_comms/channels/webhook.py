"""A generic outbound webhook: a Statuspage-like JSON payload, signed with HMAC-SHA256.

Headers on every request::

    Content-Type: application/json; charset=utf-8
    X-OutageComms-Event-Id: <incident>:<update>
    X-OutageComms-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<raw body>")>

Receivers verify with :func:`verify_signature` (copy it: it needs only the standard library):
recompute the MAC over the timestamp and the *raw* body, compare in constant time, and refuse a
timestamp older than the tolerance (5 minutes), which stops a captured request from being
replayed later; de-duplicate on ``X-OutageComms-Event-Id`` inside the tolerance. The signing key is
the secret (a plain string or ``{"signing_key": ...}``); rotate it by listing the old and new key,
comma-separated, in the receiver while senders switch.

The body is JSON built with ``json.dumps`` (quotes, backslashes and control characters escaped),
so a note can only ever be a string value; receivers that show it in HTML must escape it there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.secrets import SecretCache, secret_field
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel, Impact, Scenario

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

SIGNATURE_HEADER = "X-OutageComms-Signature"
EVENT_ID_HEADER = "X-OutageComms-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300
_INDICATOR_TEXT = {
    Impact.NONE: "All Systems Operational",
    Impact.MINOR: "Minor Service Outage",
    Impact.MAJOR: "Partial System Outage",
    Impact.CRITICAL: "Major System Outage",
}


def sign(key: bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    key: bytes,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if ``header`` is a valid, fresh signature of ``body`` (the raw request bytes) under ``key``."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


def statuspage_payload(plan: Plan, delivery: Delivery, *, now: float) -> dict[str, Any]:
    """Shaped like a Statuspage webhook (``meta``, ``page``, ``incident`` with ``incident_updates``)."""
    default = (
        plan.default_locale if plan.default_locale in delivery.messages else next(iter(delivery.messages))
    )
    fields: Mapping[str, str] = delivery.messages[default]
    impact = (
        plan.severity(delivery.severity).impact
        if any(s.id == delivery.severity for s in plan.severities)
        else Impact.NONE
    )
    scenario = Scenario(delivery.scenario) if delivery.scenario in Scenario.__members__.values() else None
    status = plan.scenarios[scenario].statuspage_status if scenario in plan.scenarios else "investigating"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    base = plan.organization.status_page_url.rstrip("/")
    return {
        "meta": {"unsubscribe": f"{base}/unsubscribe", "generated_at": stamp},
        "page": {
            "id": plan.organization.name,
            "status_indicator": impact.value,
            "status_description": _INDICATOR_TEXT[impact],
        },
        "incident": {
            "id": delivery.incident_id,
            "name": fields.get("title", ""),
            "status": status,
            "impact": impact.value,
            "shortlink": f"{base}/incidents/{delivery.incident_id.lower()}",
            "components": [
                {"id": cid, "name": plan.component(cid).name.get(default, cid)}
                for cid in delivery.components
                if any(c.id == cid for c in plan.components)
            ],
            "incident_updates": [
                {
                    "id": delivery.update_id,
                    "status": status,
                    "body": fields.get("body", ""),
                    "created_at": stamp,
                }
            ],
            "localized": {
                locale: {"name": f.get("title", ""), "body": f.get("body", "")}
                for locale, f in delivery.messages.items()
            },
        },
    }


class WebhookChannel:
    channel = Channel.WEBHOOK

    def __init__(
        self,
        *,
        plan: Plan,
        url: str,
        secret_name: str,
        secrets: SecretCache,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._plan = plan
        self._url = url
        self._secret_name = secret_name
        self._secrets = secrets
        self._timeout = timeout
        self._clock = clock

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        key = secret_field(self._secrets, self._secret_name, "signing_key", "key").encode("utf-8")
        now = self._clock()
        body = json.dumps(statuspage_payload(self._plan, delivery, now=now), ensure_ascii=False).encode(
            "utf-8"
        )
        http.request(
            "POST",
            self._url,
            service="outbound webhook",
            body=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                EVENT_ID_HEADER: f"{delivery.incident_id}:{delivery.update_id}",
                SIGNATURE_HEADER: sign(key, body, int(now)),
            },
            timeout=self._timeout,
        )
        return DeliveryResult(channel=self.channel.value, status="delivered", locales=list(delivery.messages))


def build(ctx: ChannelContext) -> WebhookChannel:
    """The outbound webhook adapter (``registry`` spec ``webhook``)."""
    s = settings_of(ctx.plan, "webhook")
    return WebhookChannel(plan=ctx.plan, url=s.url, secret_name=s.signing_secret, secrets=ctx.secrets)
