"""The ``subscribers`` table: profiles, and one membership item per component for fast audience queries.

Key schema (``stacks/constructs/data_store.py``)::

    profile     pk = SUB#<id>   sk = PROFILE           channel, address, locale, components, status ...
    membership  pk = SUB#<id>   sk = C#<component>     gsi1pk = <component>#<locale>, gsi1sk = <id>

Membership items exist only while the subscription is confirmed and active, so the
``by-component-locale`` index is sparse: it holds exactly who may be sent to. A subscriber to every
component has one membership under ``*#<locale>``. Subscriber ids start with the channel
(``email-…``), so one index query per component x locale x channel is a ``begins_with`` on the sort key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

SUBSCRIBERS_INDEX = "by-component-locale"
ALL_COMPONENTS = "*"
SubscriberChannel = Literal["email", "sms", "voice", "push"]
Status = Literal["pending", "active", "unsubscribed", "opted_out", "suppressed"]


def subscriber_id(channel: str, address: str) -> str:
    """Deterministic id: the same address on the same channel is always the same subscriber."""
    digest = hashlib.sha256(f"{channel}:{normalise_address(channel, address)}".encode()).hexdigest()
    return f"{channel}-{digest[:24]}"


def normalise_address(channel: str, address: str) -> str:
    address = address.strip()
    return address.lower() if channel == "email" else address


@dataclass(frozen=True)
class Subscriber:
    id: str
    channel: SubscriberChannel
    address: str
    locale: str
    components: tuple[str, ...] = (ALL_COMPONENTS,)
    audiences: tuple[str, ...] = ()
    status: Status = "pending"
    platform: str = ""
    created_at: int = 0
    confirmed_at: int = 0
    code_digest: str = ""
    code_expires_at: int = 0
    code_attempts: int = 0
    expires_at: int = 0
    source_ip: str = field(default="", compare=False)

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"SUB#{self.id}",
            "sk": "PROFILE",
            "id": self.id,
            "channel": self.channel,
            "address": self.address,
            "locale": self.locale,
            "components": list(self.components),
            "audiences": list(self.audiences),
            "status": self.status,
            "created_at": self.created_at,
            "confirmed_at": self.confirmed_at,
            "code_attempts": self.code_attempts,
        }
        for name in ("platform", "code_digest", "source_ip"):
            if getattr(self, name):
                item[name] = getattr(self, name)
        for name in ("code_expires_at", "expires_at"):
            if getattr(self, name):
                item[name] = getattr(self, name)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Subscriber:
        return cls(
            id=str(item["id"]),
            channel=item["channel"],
            address=str(item["address"]),
            locale=str(item["locale"]),
            components=tuple(str(c) for c in item.get("components", [ALL_COMPONENTS])),
            audiences=tuple(str(a) for a in item.get("audiences", [])),
            status=item.get("status", "pending"),
            platform=str(item.get("platform", "")),
            created_at=int(item.get("created_at", 0)),
            confirmed_at=int(item.get("confirmed_at", 0)),
            code_digest=str(item.get("code_digest", "")),
            code_expires_at=int(item.get("code_expires_at", 0)),
            code_attempts=int(item.get("code_attempts", 0)),
            expires_at=int(item.get("expires_at", 0)),
            source_ip=str(item.get("source_ip", "")),
        )


@dataclass(frozen=True)
class Member:
    """One deliverable subscription as the index returns it (enough to send without reading the profile)."""

    id: str
    channel: str
    address: str
    locale: str
    audiences: tuple[str, ...] = ()
    platform: str = ""

    def as_export(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "to": self.address, "locale": self.locale}
        if self.platform:
            row["platform"] = self.platform
        return row


class SubscriberStore:
    """Reads and writes subscribers. ``table`` is a boto3 DynamoDB ``Table`` resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def named(cls, table_name: str) -> SubscriberStore:
        from outage_comms.aws_clients import resource  # the shared session: no second model parse

        return cls(resource("dynamodb").Table(table_name))

    def get(self, sid: str) -> Subscriber | None:
        item = self._table.get_item(Key={"pk": f"SUB#{sid}", "sk": "PROFILE"}, ConsistentRead=True).get(
            "Item"
        )
        return Subscriber.from_item(item) if item else None

    def put(self, subscriber: Subscriber) -> None:
        """Write the profile only (memberships follow :meth:`activate` / :meth:`deactivate`)."""
        self._table.put_item(Item=subscriber.to_item())

    def activate(self, subscriber: Subscriber, *, now: int) -> Subscriber:
        """Mark confirmed and active and (re)write one membership per chosen component."""
        active = replace(
            subscriber,
            status="active",
            confirmed_at=subscriber.confirmed_at or now,
            code_digest="",
            code_expires_at=0,
            code_attempts=0,
            expires_at=0,
        )
        self._delete_memberships(subscriber.id)
        with self._table.batch_writer() as batch:
            batch.put_item(Item=active.to_item())
            for component in active.components:
                item: dict[str, Any] = {
                    "pk": f"SUB#{active.id}",
                    "sk": f"C#{component}",
                    "gsi1pk": f"{component}#{active.locale}",
                    "gsi1sk": active.id,
                    "channel": active.channel,
                    "address": active.address,
                    "locale": active.locale,
                    "audiences": list(active.audiences),
                }
                if active.platform:
                    item["platform"] = active.platform
                batch.put_item(Item=item)
        return active

    def deactivate(self, sid: str, status: Status) -> bool:
        """Stop sending to ``sid`` (unsubscribed, opted out, suppressed). False if there is no such one."""
        current = self.get(sid)
        if current is None:
            return False
        self._delete_memberships(sid)
        self.put(replace(current, status=status))
        return True

    def _delete_memberships(self, sid: str) -> None:
        from boto3.dynamodb.conditions import Key  # lazy: importing boto3 is a cold start's largest cost

        keys = [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self._query(
                KeyConditionExpression=Key("pk").eq(f"SUB#{sid}") & Key("sk").begins_with("C#"),
                ProjectionExpression="pk, sk",
            )
        ]
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)

    def members(self, component: str, locale: str, channel: str) -> Iterator[Member]:
        """Active subscriptions to ``component`` (or ``*``) in ``locale`` on ``channel``, paginated."""
        from boto3.dynamodb.conditions import Key

        condition = Key("gsi1pk").eq(f"{component}#{locale}") & Key("gsi1sk").begins_with(f"{channel}-")
        for item in self._query(IndexName=SUBSCRIBERS_INDEX, KeyConditionExpression=condition):
            yield Member(
                id=str(item["gsi1sk"]),
                channel=str(item["channel"]),
                address=str(item["address"]),
                locale=str(item["locale"]),
                audiences=tuple(str(a) for a in item.get("audiences", [])),
                platform=str(item.get("platform", "")),
            )

    def _query(self, **kwargs: Any) -> Iterable[dict[str, Any]]:
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
