"""Exactly one region drives an incident: an ownership lease with a fencing epoch.

One item per scope in the ``Ownership`` table (pk ``scope``; ``region``, numeric ``epoch``,
``lease_until`` in epoch seconds). The owner renews its lease while it works; another region takes
ownership only once that lease has run out *plus* a margin for replication and clock skew, and
every take-over raises the epoch. Every customer-visible side effect (a delivery claim, a status
publish) is checked against ``(region, epoch, lease_until > now)`` in the same write (a DynamoDB
transaction's ``ConditionCheck``), so an owner that lost its lease cannot send or publish.

Why the lease and not the epoch alone: on a global table (multi-region eventual consistency) two
regions can each win a conditional write on their own replica before replication (typically
about a second) reaches the other. A region that cannot renew stops itself when its lease ends, and
the standby waits ``lease + margin`` before taking over, so the two are never live at once as long
as clock skew plus replication lag stays below ``margin`` (docs/regions.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

#: How long one renewal keeps ownership (the region renews on every step it runs).
LEASE_SECONDS = 60
#: What a taker waits past the end of the lease: replication lag plus clock skew, with room.
MARGIN_SECONDS = 15


def plan_time() -> float:
    """Lease time in epoch seconds: real UTC in Lambda, the plan clock in an embedded drill (whose
    compressed minutes would otherwise make a 60-second lease last hours of the story)."""
    from outage_comms.clock import now

    return now().timestamp()


def scope_for(incident_id: str) -> str:
    """The lease that guards one incident's side effects."""
    return f"INCIDENT#{incident_id}"


@dataclass(frozen=True)
class Ownership:
    scope: str
    region: str
    epoch: int
    lease_until: float
    reason: str = ""

    def live(self, now: float) -> bool:
        return self.lease_until > now


class StaleOwnerError(Exception):
    """This region no longer owns the scope (another took over, or its lease ran out): do nothing."""


class OwnershipHeldError(Exception):
    """Another region holds a live lease on the scope; ownership may move only once it ends."""


class OwnershipStore(Protocol):
    def current(self, scope: str) -> Ownership | None:
        """The recorded owner (strongly consistent read in the caller's region)."""

    def acquire(self, scope: str, region: str, *, reason: str = "", take: bool = False) -> Ownership:
        """Renew ownership (free or already ours); with ``take`` (failover only), also take it from
        another region whose lease ended ``margin`` ago. A step that runs never takes."""

    def hand_over(self, held: Ownership, to_region: str, *, reason: str) -> Ownership:
        """The owner gives ownership to ``to_region`` (failback), only if the record is still ``held``
        (same region and epoch; its lease may have lapsed between updates)."""

    def check(self, held: Ownership) -> None:
        """Raise :class:`StaleOwnerError` unless ``held`` is still the live owner."""


def _may_take(seen: Ownership | None, region: str, now: float, margin: float, *, take: bool) -> bool:
    if seen is None or seen.region == region:
        return True
    return take and seen.lease_until + margin < now


def _next(
    seen: Ownership | None, scope: str, region: str, now: float, until: float, reason: str
) -> Ownership:
    """A renewal of a live lease keeps its epoch; anything else (new, taken over, lapsed) raises it."""
    if seen is None:
        return Ownership(scope, region, 1, until, reason)
    epoch = seen.epoch if seen.region == region and seen.live(now) else seen.epoch + 1
    return Ownership(scope, region, epoch, until, reason or seen.reason)


class DynamoOwnershipStore:
    """The lease on the ``Ownership`` table (conditional writes on the epoch)."""

    def __init__(
        self,
        *,
        table_name: str,
        client: Any,
        clock: Any = plan_time,
        lease_seconds: float = LEASE_SECONDS,
        margin_seconds: float = MARGIN_SECONDS,
    ) -> None:
        self.table = table_name
        self._dynamodb = client
        self._clock = clock
        self._lease = lease_seconds
        self._margin = margin_seconds

    def current(self, scope: str) -> Ownership | None:
        item = self._dynamodb.get_item(
            TableName=self.table, Key={"scope": {"S": scope}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return Ownership(
            scope=scope,
            region=item["region"]["S"],
            epoch=int(item["epoch"]["N"]),
            lease_until=float(item["lease_until"]["N"]),
            reason=item.get("reason", {}).get("S", ""),
        )

    def acquire(self, scope: str, region: str, *, reason: str = "", take: bool = False) -> Ownership:
        now = float(self._clock())
        seen = self.current(scope)
        if not _may_take(seen, region, now, self._margin, take=take):
            assert seen is not None
            raise OwnershipHeldError(
                f"{seen.region} holds {scope} until {seen.lease_until:.0f} (epoch {seen.epoch})"
            )
        return self._write(seen, _next(seen, scope, region, now, now + self._lease, reason))

    def hand_over(self, held: Ownership, to_region: str, *, reason: str) -> Ownership:
        # The owner's lease need not be live: between updates nothing renews it, and nobody else can have
        # taken it (a take raises the epoch, and the write is conditioned on the epoch and region held).
        now = float(self._clock())
        return self._write(held, Ownership(held.scope, to_region, held.epoch + 1, now + self._lease, reason))

    def check(self, held: Ownership) -> None:
        now = float(self._clock())
        seen = self.current(held.scope)
        if seen is None or seen.region != held.region or seen.epoch != held.epoch or not seen.live(now):
            raise StaleOwnerError(f"{held.region} epoch {held.epoch} no longer owns {held.scope}")

    def fence_condition(self, held: Ownership) -> dict[str, Any]:
        """A ``TransactWriteItems`` entry that holds only while ``held`` is the live owner."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"scope": {"S": held.scope}},
                "ConditionExpression": "#region = :region AND #epoch = :epoch AND lease_until > :now",
                "ExpressionAttributeNames": {"#region": "region", "#epoch": "epoch"},
                "ExpressionAttributeValues": {
                    ":region": {"S": held.region},
                    ":epoch": {"N": str(held.epoch)},
                    ":now": {"N": str(float(self._clock()))},
                },
            }
        }

    def _write(self, seen: Ownership | None, new: Ownership) -> Ownership:
        condition: dict[str, Any] = (
            {
                "ConditionExpression": "attribute_not_exists(#scope)",
                "ExpressionAttributeNames": {"#scope": "scope"},
            }
            if seen is None
            else {
                "ConditionExpression": "#epoch = :seen AND #region = :seen_region",
                "ExpressionAttributeNames": {"#epoch": "epoch", "#region": "region"},
                "ExpressionAttributeValues": {
                    ":seen": {"N": str(seen.epoch)},
                    ":seen_region": {"S": seen.region},
                },
            }
        )
        try:
            self._dynamodb.put_item(
                TableName=self.table,
                Item={
                    "scope": {"S": new.scope},
                    "region": {"S": new.region},
                    "epoch": {"N": str(new.epoch)},
                    "lease_until": {"N": str(new.lease_until)},
                    "reason": {"S": new.reason[:500]},
                },
                **condition,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise OwnershipHeldError(
                f"{new.scope} changed hands while {new.region} tried to take it"
            ) from None
        return new


@dataclass
class InMemoryOwnershipStore:
    """The same rules in memory (unit tests, fakes)."""

    clock: Any = time.time
    lease_seconds: float = LEASE_SECONDS
    margin_seconds: float = MARGIN_SECONDS
    items: dict[str, Ownership] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, scope: str) -> Ownership | None:
        return self.items.get(scope)

    def acquire(self, scope: str, region: str, *, reason: str = "", take: bool = False) -> Ownership:
        now = float(self.clock())
        with self._lock:
            seen = self.items.get(scope)
            if not _may_take(seen, region, now, self.margin_seconds, take=take):
                assert seen is not None
                raise OwnershipHeldError(f"{seen.region} holds {scope} (epoch {seen.epoch})")
            new = _next(seen, scope, region, now, now + self.lease_seconds, reason)
            self.items[scope] = new
            return new

    def hand_over(self, held: Ownership, to_region: str, *, reason: str) -> Ownership:
        now = float(self.clock())
        with self._lock:
            seen = self.items.get(held.scope)
            if seen is None or (seen.region, seen.epoch) != (held.region, held.epoch):
                raise StaleOwnerError(f"{held.region} epoch {held.epoch} no longer owns {held.scope}")
            new = Ownership(held.scope, to_region, held.epoch + 1, now + self.lease_seconds, reason)
            self.items[held.scope] = new
            return new

    def check(self, held: Ownership) -> None:
        now = float(self.clock())
        seen = self.items.get(held.scope)
        if seen is None or seen.region != held.region or seen.epoch != held.epoch or not seen.live(now):
            raise StaleOwnerError(f"{held.region} epoch {held.epoch} no longer owns {held.scope}")
