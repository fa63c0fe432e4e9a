"""The fence on customer-visible side effects: a delivery is claimed only by the live owner.

``FencedDeliveryLedger`` is the delivery ledger whose claim is one DynamoDB transaction: a
``ConditionCheck`` that this region still holds the incident's lease at the epoch it renewed, plus
the ledger's own conditional update. A region that lost ownership (or whose lease ran out during a
region outage) gets ``Claim.FENCED`` and sends nothing; the workflow records nothing for it.

Both tables must be in the same region for the transaction (they are: each region's replica).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError
from pydantic import Field

from outage_comms.function_settings import FunctionSettings
from outage_comms.regions.lease import (
    DynamoOwnershipStore,
    OwnershipHeldError,
    OwnershipStore,
    StaleOwnerError,
    plan_time,
    scope_for,
)
from outage_comms.workflow.delivery_ledger import Claim, ClaimResult, DeliveryLedger, DynamoDeliveryLedger

if TYPE_CHECKING:
    from outage_comms.workflow.services import Services


class RegionFence:
    """This region's hold on incidents: renews the lease, never takes it from another region."""

    def __init__(self, store: OwnershipStore, region: str) -> None:
        self.store = store
        self.region = region

    def hold(self, incident_id: str) -> Any:
        """The live ownership this region holds on the incident (renewed), or ``StaleOwnerError``."""
        try:
            return self.store.acquire(scope_for(incident_id), self.region)
        except OwnershipHeldError as error:
            raise StaleOwnerError(str(error)) from None

    def check(self, incident_id: str) -> None:
        """Before a side effect that is not a delivery (a status publish): still the live owner?"""
        self.store.check(self.hold(incident_id))


class FencedDeliveryLedger(DynamoDeliveryLedger):
    """The delivery ledger, claimed only in a transaction with the ownership fence."""

    def __init__(self, *, table_name: str, client: Any, fence: RegionFence, clock: Any = plan_time) -> None:
        super().__init__(table_name=table_name, client=client, clock=clock)
        if not isinstance(fence.store, DynamoOwnershipStore):
            raise TypeError("FencedDeliveryLedger needs the DynamoDB ownership store")
        self._fence = fence
        self._ownership: DynamoOwnershipStore = fence.store

    def claim(self, incident_id: str, update_id: str, channel: str) -> ClaimResult:
        try:
            held = self._fence.hold(incident_id)
        except StaleOwnerError as error:
            return ClaimResult(Claim.FENCED, status=str(error))
        token, now = uuid.uuid4().hex, int(self._clock())
        update = self._claim_request(incident_id, update_id, channel, token, now)
        try:
            self._dynamodb.transact_write_items(
                TransactItems=[self._ownership.fence_condition(held), {"Update": update}]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return ClaimResult(
                    Claim.FENCED, status=f"{self._fence.region} lost {held.scope} (epoch {held.epoch})"
                )
            if not reasons:  # no reasons: decide by reading both
                try:
                    self._ownership.check(held)
                except StaleOwnerError as stale:
                    return ClaimResult(Claim.FENCED, status=str(stale))
            return self._refused(incident_id, update_id, channel)
        return ClaimResult(
            Claim.CLAIMED, token=token, attempts=self.attempts(incident_id, update_id, channel)
        )


def fenced(ledger: DeliveryLedger, fence: RegionFence | None) -> DeliveryLedger:
    """``ledger`` behind the fence when this deployment has an ownership table, else as it is."""
    if fence is None:
        return ledger
    if not isinstance(ledger, DynamoDeliveryLedger):
        raise TypeError("only the DynamoDB ledger can be fenced (one transaction with the lease)")
    return FencedDeliveryLedger(table_name=ledger._table, client=ledger._dynamodb, fence=fence)


class RegionSettings(FunctionSettings):
    """What a two-region engine's functions read (``stacks/app.py`` grants the ownership table; the
    failover function also gets ``HEALTH_ALARMS`` and ``STATE_MACHINE_ARN``)."""

    set_by: ClassVar[str] = "stacks/constructs/region_routing.py"
    ownership_table: str = Field(default="", alias="OWNERSHIP_TABLE")
    aws_region: str = Field(default="", alias="AWS_REGION")
    health_alarms: str = Field(default="", alias="HEALTH_ALARMS")
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")


class FailoverSettings(RegionSettings):
    """The failover function cannot work without its ownership table and region."""

    ownership_table: str = Field(alias="OWNERSHIP_TABLE", min_length=1)
    aws_region: str = Field(alias="AWS_REGION", min_length=1)


def fence_from_environment(client: Any | None = None) -> RegionFence | None:
    """This function's fence in a two-region engine (``OWNERSHIP_TABLE`` set), else None."""
    settings = RegionSettings.from_environment()
    if not settings.ownership_table:
        return None
    if client is None:
        from outage_comms.aws_clients import client as aws_client

        client = aws_client("dynamodb")
    store = DynamoOwnershipStore(table_name=settings.ownership_table, client=client)
    return RegionFence(store, settings.aws_region)


@functools.cache
def fenced_services() -> Services:
    """The workflow's services with the delivery ledger fenced by region ownership (``OWNERSHIP_TABLE``
    set; unchanged otherwise): the delivering steps' handlers use it, so the workflow never imports
    the regions package."""
    from outage_comms.workflow.adapters import services

    base = services()
    fence = fence_from_environment()
    if base.deliveries is None or fence is None:
        return base
    return dataclasses.replace(base, deliveries=fenced(base.deliveries, fence))
