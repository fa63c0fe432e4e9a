"""The pieces of the runtime-only failover story: a per-client region outage, the two tables standing
in for the global tables, the incident repository in memory, one region's engine, and the result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import EndpointConnectionError

GLOBAL_REGION = "us-east-2"  # where the stand-in for the global tables lives in moto
STATUS_REGION = "us-east-1"


@dataclass
class RegionOutage:
    """Which regions are down; installs a ``before-send`` hook that fails their clients' calls."""

    down: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)

    def install(self, client: Any, home_region: str) -> Any:
        """Fail every call of ``client`` (an engine in ``home_region``) while that region is down."""

        def fail_if_down(request: Any, **_: Any) -> None:
            if home_region in self.down:
                self.refused[home_region] += 1
                raise EndpointConnectionError(endpoint_url=getattr(request, "url", home_region))

        client.meta.events.register("before-send", fail_if_down)
        return client

    def apply(self, action: str, region: str) -> None:
        """A drill action: ``region_outage`` or ``region_recovery``."""
        if action == "region_outage":
            self.down.add(region)
        elif action == "region_recovery":
            self.down.discard(region)
        else:
            raise ValueError(f"unknown region action {action}")


def _tables(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="ownership",
        KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName="workflow",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class _Incidents:
    """The incident repository port in memory (the timeline the moves are recorded on)."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def get(self, incident_id: str) -> Any:
        return self.items[incident_id]

    def save(self, incident: Any, previous_version: int | None) -> None:
        self.items[incident.id] = incident

    def list_open(self, *, drill: bool = False) -> list[Any]:
        return [i for i in self.items.values() if i.is_open]


@dataclass
class _Engine:
    region: str
    sns: Any
    s3: Any
    dynamodb: Any
    topic_arn: str
    queue_url: str
    ledger: Any
    ownership: Any
    store: Any
    engine: Any


@dataclass
class StoryResult:
    """What the two-region story measured."""

    delivered: dict[str, str]  # update id -> region that sent it
    received: Counter[str]  # update id -> customer messages received (both regions' topics)
    status_writes: Counter[str]  # update id -> versions written to the status site
    expected: list[str]
    first_standby_minute: float | None
    outage_minute: float
    recovery_minute: float
    timeline: list[str]
    reapproved: list[str]
    dead_links: int
    late: dict[str, float]
    delay: dict[str, float]
    due: dict[str, float]
    refused_calls: dict[str, int]

    @property
    def sent_twice(self) -> int:
        return sum(1 for n in self.received.values() if n > 1) + sum(
            1 for n in self.status_writes.values() if n > 1
        )

    @property
    def lost(self) -> int:
        return sum(1 for u in self.expected if self.received[u] == 0 or self.status_writes[u] == 0)

    @property
    def next_after_outage_on_time(self) -> bool:
        """The first update due after the outage began went out by when customers were told (the
        previous update plus the severity's cadence)."""
        after = [u for u in self.expected if self.due[u] >= self.outage_minute]
        return bool(after) and after[0] in self.late and self.late[after[0]] <= 0

    def as_dict(self) -> dict[str, Any]:
        to_standby = (
            None if self.first_standby_minute is None else self.first_standby_minute - self.outage_minute
        )
        return {
            "customer_messages_sent_twice": self.sent_twice,
            "updates_lost": self.lost,
            "updates": len(self.expected),
            "outage_to_standby_first_message_plan_minutes": to_standby,
            "next_update_after_outage_on_time": self.next_after_outage_on_time,
            "minutes_past_promise_per_update": self.late,
            "minutes_delayed_by_the_outage_per_update": self.delay,
            "sent_by_region": dict(Counter(self.delivered.values())),
            "approvals_requested_again": len(self.reapproved),
            "approval_links_that_no_longer_worked": self.dead_links,
            "calls_refused_by_the_outage": dict(self.refused_calls),
            "timeline": self.timeline,
        }


def _minute_of(actions: list[dict[str, Any]], action: str) -> float:
    return next(float(str(a["at"]).rstrip("m")) for a in actions if a["action"] == action)
