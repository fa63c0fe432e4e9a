"""The ownership lease and the fenced delivery ledger on moto's DynamoDB (regions/lease.py, fence.py).

moto does not replicate global tables between its regional backends, so both "regions" here write to
one replica: the strongly consistent case. The lease margin is what covers asynchronous replication in
AWS (docs/regions.md); these tests prove the conditional writes and the transaction's fence.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from outage_comms.channels.base import DeliveryResult
from outage_comms.regions.fence import RegionFence, fenced
from outage_comms.regions.lease import (
    LEASE_SECONDS,
    MARGIN_SECONDS,
    DynamoOwnershipStore,
    OwnershipHeldError,
    StaleOwnerError,
    scope_for,
)
from outage_comms.vocabulary import Channel
from outage_comms.workflow import steps
from outage_comms.workflow.delivery_ledger import Claim, DynamoDeliveryLedger

PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
INCIDENT = "inc-20261202-1000-abc123"
CHANNELS = ("email", "sms", "slack")


@pytest.fixture
def dynamodb(item_atomic_moto: None) -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        import boto3

        client = boto3.client("dynamodb", region_name=PRIMARY)
        client.create_table(
            TableName="ownership",
            KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="workflow",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _engine(client: Any, region: str, clock: list[float]) -> tuple[DynamoOwnershipStore, Any]:
    store = DynamoOwnershipStore(table_name="ownership", client=client, clock=lambda: clock[0])
    ledger = DynamoDeliveryLedger(table_name="workflow", client=client, clock=lambda: clock[0])
    return store, fenced(ledger, RegionFence(store, region))


def test_lease_conditional_writes_on_dynamodb(dynamodb: Any) -> None:
    clock = [1_000.0]
    store, _ = _engine(dynamodb, PRIMARY, clock)
    scope = scope_for(INCIDENT)
    held = store.acquire(scope, PRIMARY)
    assert store.current(scope) == held
    with pytest.raises(OwnershipHeldError):
        store.acquire(scope, STANDBY, take=True)
    clock[0] = held.lease_until + MARGIN_SECONDS + 1
    taken = store.acquire(scope, STANDBY, take=True, reason="primary unhealthy")
    assert (taken.region, taken.epoch, taken.reason) == (STANDBY, 2, "primary unhealthy")
    with pytest.raises(StaleOwnerError):
        store.check(held)
    back = store.hand_over(taken, PRIMARY, reason="primary healthy")
    assert store.current(scope) == back and back.epoch == 3


def test_two_takers_race_and_exactly_one_wins(dynamodb: Any) -> None:
    clock = [1_000.0]
    store, _ = _engine(dynamodb, PRIMARY, clock)
    scope = scope_for(INCIDENT)
    held = store.acquire(scope, PRIMARY)
    clock[0] = held.lease_until + MARGIN_SECONDS + 1
    won: list[str] = []
    barrier = threading.Barrier(2)

    def take(region: str) -> None:
        barrier.wait()
        with contextlib.suppress(OwnershipHeldError):  # the loser is refused
            won.append(store.acquire(scope, region, take=True).region)

    threads = [threading.Thread(target=take, args=(r,)) for r in (STANDBY, "us-east-1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and store.current(scope).region == won[0]  # type: ignore[union-attr]


def test_a_fenced_region_claims_nothing_and_the_workflow_records_nothing(dynamodb: Any) -> None:
    clock = [1_000.0]
    _, primary_ledger = _engine(dynamodb, PRIMARY, clock)
    _, standby_ledger = _engine(dynamodb, STANDBY, clock)
    assert primary_ledger.claim(INCIDENT, "001", "email").outcome is Claim.CLAIMED  # first owner: primary
    refused = standby_ledger.claim(INCIDENT, "001", "sms")
    assert refused.outcome is Claim.FENCED and PRIMARY in refused.status
    assert standby_ledger.attempts(INCIDENT, "001", "sms") == 0  # the ledger item was not even touched
    # the workflow step returns "fenced" without calling the channel
    calls: list[str] = []
    services = SimpleNamespace(deliveries=standby_ledger)
    update = {"incident_id": INCIDENT, "update_id": "001"}

    def sending(*_: Any) -> DeliveryResult:
        calls.append("sent")
        return DeliveryResult(channel="sms", status="delivered")

    original = steps._deliver
    steps._deliver = sending  # type: ignore[assignment]
    try:
        result = steps._send_once(services, update, Channel.SMS)  # type: ignore[arg-type]
    finally:
        steps._deliver = original
    assert result.status == steps.FENCED_OUT and calls == []


def test_failover_race_sends_every_message_exactly_once(dynamodb: Any) -> None:
    """The primary stalls after update 004 (a zombie: its lease runs out), the standby takes over and
    sends, and the primary wakes up and keeps trying concurrently: 0 sent twice, 0 lost, and the
    primary is refused every send after the take-over."""
    clock = [1_000.0]
    _, primary = _engine(dynamodb, PRIMARY, clock)
    standby_store, standby = _engine(dynamodb, STANDBY, clock)
    updates = [f"{n:03d}" for n in range(1, 13)]
    sent: Counter[tuple[str, str]] = Counter()
    outcomes: Counter[tuple[str, Claim]] = Counter()
    lock = threading.Lock()
    stalled, taken = threading.Event(), threading.Event()

    def send_all(ledger: Any, region: str) -> None:
        for update in updates:
            for channel in CHANNELS:
                for _ in range(200):  # a busy claim is retried, as the state machine does
                    claim = ledger.claim(INCIDENT, update, channel)
                    if claim.outcome is Claim.BUSY:
                        continue
                    with lock:
                        outcomes[(region, claim.outcome)] += 1
                        if claim.outcome is Claim.CLAIMED:
                            sent[(update, channel)] += 1
                    if claim.outcome is Claim.CLAIMED:
                        ledger.finish(INCIDENT, update, channel, claim.token, "delivered")
                    break
            if region == PRIMARY and update == "004":
                stalled.set()
                taken.wait(timeout=30)  # the zombie wakes up once the standby owns the incident

    def standby_takes_over() -> None:
        stalled.wait(timeout=30)
        with lock:
            clock[0] += LEASE_SECONDS + MARGIN_SECONDS + 1  # the primary's lease plus the margin passed
        standby_store.acquire(scope_for(INCIDENT), STANDBY, take=True, reason="primary unhealthy")
        taken.set()
        send_all(standby, STANDBY)

    threads = [
        threading.Thread(target=send_all, args=(primary, PRIMARY)),
        threading.Thread(target=standby_takes_over),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [key for key, count in sent.items() if count > 1] == []  # 0 messages sent twice
    assert set(sent) == {(u, c) for u in updates for c in CHANNELS}  # 0 lost
    assert outcomes[(PRIMARY, Claim.CLAIMED)] == 4 * len(CHANNELS)
    assert outcomes[(PRIMARY, Claim.FENCED)] == 8 * len(CHANNELS)  # every later try refused by the fence
    assert outcomes[(STANDBY, Claim.CLAIMED)] == 8 * len(CHANNELS)
