"""Mobile push through AWS End User Messaging Push (``pinpoint`` ``SendMessages``).

Device tokens registered by the app are subscribers on the ``push`` channel with a platform
(``APNS`` or ``GCM``). One ``SendMessages`` call carries up to 100 addresses, each with its
``ChannelType``, and the per-platform payloads side by side (``APNSMessage`` / ``GCMMessage``):
title and body from the ``push`` template, the incident link for the tap action, and the incident
id as data so the app can open the right page. A token the service reports as a permanent failure
or opted out is dropped from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import (
    ChannelPermanentError,
    ChannelRetryableError,
    ChannelUnavailableError,
    Delivery,
    DeliveryResult,
)
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.plan import Plan
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

MAX_ADDRESSES = 100
_DROP = frozenset({"PERMANENT_FAILURE", "OPT_OUT"})
_RETRY = frozenset({"THROTTLED", "TEMPORARY_FAILURE", "UNKNOWN_FAILURE"})


def pinpoint_error(error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code == "TooManyRequestsException":
        return ChannelRetryableError(f"throttled: Pinpoint SendMessages: {message}")
    if code == "InternalServerErrorException":
        return ChannelRetryableError(f"unavailable: Pinpoint SendMessages: {message}")
    if code == "ForbiddenException":
        return ChannelPermanentError(f"credentials: Pinpoint SendMessages: {message}")
    return ChannelPermanentError(f"rejected: Pinpoint SendMessages: {code}: {message}")


def message_request(
    tokens: Mapping[str, str], *, title: str, body: str, url: str, incident_id: str
) -> dict[str, Any]:
    """The ``MessageRequest`` for one locale's tokens (token -> platform)."""
    data = {"incident_id": incident_id, "url": url}
    return {
        "Addresses": {token: {"ChannelType": platform} for token, platform in tokens.items()},
        "MessageConfiguration": {
            "APNSMessage": {
                "Action": "URL",
                "Url": url,
                "Title": title,
                "Body": body,
                "Priority": "high",
                "Data": data,
                "APNSPushType": "alert",
                "ThreadId": incident_id,
            },
            "GCMMessage": {
                "Action": "URL",
                "Url": url,
                "Title": title,
                "Body": body,
                "Priority": "high",
                "Data": data,
                "CollapseKey": incident_id,
            },
        },
    }


class PushChannel(SubscriberChannel):
    channel = Channel.PUSH
    store_channel = "push"

    def __init__(
        self,
        *,
        plan: Plan,
        client: Any,
        application_id: str,
        on_invalid_token: Callable[[str], None] = lambda _sid: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.client = client
        self.application_id = application_id
        self.on_invalid_token = on_invalid_token

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        members = list(self.audience.members(delivery.components, list(delivery.messages), "push", ()))
        if not members:
            return DeliveryResult(
                channel=self.channel.value, status="skipped", detail="no registered devices"
            )
        url = f"{self.plan.organization.status_page_url.rstrip('/')}/incidents/{delivery.incident_id.lower()}"
        delivered, failed, ids = 0, 0, []
        for locale, group in _by_locale(members, set(delivery.messages), self.plan.default_locale).items():
            fields = delivery.messages[locale]
            for chunk in _chunks(group, MAX_ADDRESSES):
                by_token = {m.address: m for m in chunk}
                request = message_request(
                    {m.address: (m.platform or "GCM") for m in chunk},
                    title=fields["title"],
                    body=fields["body"],
                    url=url,
                    incident_id=delivery.incident_id,
                )
                try:
                    response = self.client.send_messages(
                        ApplicationId=self.application_id, MessageRequest=request
                    )
                except ClientError as error:
                    raise pinpoint_error(error) from None
                for token, result in response["MessageResponse"].get("Result", {}).items():
                    status = result.get("DeliveryStatus", "")
                    if status == "SUCCESSFUL":
                        delivered += 1
                        ids.append(str(result.get("MessageId", "")))
                    else:
                        failed += 1
                        if status in _DROP and token in by_token:
                            self.on_invalid_token(by_token[token].id)
        if not delivered and failed:
            raise ChannelPermanentError(f"rejected: push: no device accepted the message ({failed} failed)")
        return DeliveryResult(
            channel=self.channel.value,
            status="delivered",
            provider_ids=ids[:50],
            detail=f"sent {delivered}, failed {failed}",
            locales=sorted(delivery.messages),
        )


def _by_locale(members: Iterable[Member], locales: set[str], default: str) -> dict[str, list[Member]]:
    groups: dict[str, list[Member]] = {}
    for member in members:
        groups.setdefault(member.locale if member.locale in locales else default, []).append(member)
    return groups


def _chunks(items: list[Member], size: int) -> Iterable[list[Member]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build(ctx: ChannelContext) -> PushChannel:
    """The push adapter (``registry`` spec ``push``); needs the deployed push application's id."""
    settings_of(ctx.plan, "push")
    if not ctx.settings.push_application_id:
        raise ChannelUnavailableError(
            "PUSH_APPLICATION_ID is not set: deploy the channels stack with push on"
        )
    return PushChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint"),
        application_id=ctx.settings.push_application_id,
        on_invalid_token=ctx.mark("suppressed"),
        audience=ctx.audience,
    )
