"""The embedded AWS in two regions: region outages, and the failover story proven on moto.

moto keeps one backend per region. :class:`RegionOutage` makes every call a client of one region
sends fail with a connection error (botocore's ``EndpointConnectionError``, as when a region's
endpoints do not answer) from a plan minute on, until it recovers; it hooks ``before-send`` on the
clients the engine of that region uses.

:func:`run_failover_story` plays an incident across a primary outage on moto with two regional
engines, each with its own SNS subscribers topic (and subscribers' queue) in its own region, the real
fenced delivery ledger (``regions/fence.py``), the real ownership lease and failover decisions
(``regions/engine.py``), the real workflow store and SNS channel; the status site is a versioned
bucket in the status region written through each region's own client. What it does not run: the
synthesized state machine and Lambda functions of each region (the embedded drill deploys one
region), and global-table replication (moto does not replicate: the workflow and ownership tables
are one strongly consistent replica that each region reaches through its own client, so a region
outage cuts that region off from them). Time is plan minutes (the lease is one plan minute).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

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


def run_failover_story(
    plan: Any,
    *,
    primary: str = "eu-west-1",
    standby: str = "eu-central-1",
    severity: str = "sev1",
    actions: list[dict[str, Any]] | None = None,
    human_update_minute: int = 9,
    resolve_minute: int = 50,
    approve_after_minutes: int = 2,
    unhealthy_after_failures: int = 2,
    end_minute: int = 70,
    lease_seconds: float = 120,
    margin_seconds: float = 30,
) -> StoryResult:
    """The default drill's story (declare, a human update, cadence updates, resolve, summary) with a
    region outage; call inside ``moto.mock_aws()``."""
    import boto3

    from outage_comms.channels.sns_subscribers import SnsSubscribersChannel
    from outage_comms.incident import Incident, IncidentSource, public_title
    from outage_comms.plan import Regions
    from outage_comms.regions.engine import RegionEngine
    from outage_comms.regions.failover import HealthSignal, resume_point
    from outage_comms.regions.fence import RegionFence, fenced
    from outage_comms.regions.lease import DynamoOwnershipStore, StaleOwnerError, scope_for
    from outage_comms.vocabulary import Channel, Scenario
    from outage_comms.workflow.delivery_ledger import Claim, DynamoDeliveryLedger
    from outage_comms.workflow.store import CustomerUpdate, DynamoWorkflowStore

    actions = actions or [
        {"at": 10, "action": "region_outage", "region": primary},
        {"at": 40, "action": "region_recovery", "region": primary},
    ]
    plan = plan.model_copy(update={"regions": Regions(primary=primary, standby=standby)})
    cadence = plan.severity(severity).cadence_minutes
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    minute = [0.0]

    def clock() -> float:  # plan seconds
        return 1_000_000.0 + minute[0] * 60

    def now() -> datetime:
        return start + timedelta(minutes=minute[0])

    outage = RegionOutage()
    _tables(boto3.client("dynamodb", region_name=GLOBAL_REGION))
    status = boto3.client("s3", region_name=STATUS_REGION)
    status.create_bucket(Bucket="status-site")
    status.put_bucket_versioning(Bucket="status-site", VersioningConfiguration={"Status": "Enabled"})
    incidents = _Incidents()
    component = plan.components[0].id
    incident = Incident(
        id="inc-20261202-1000-a1b2c3",
        internal_title="drill: region outage",
        public_title=public_title(plan, [component]),
        components=(component,),
        severity=severity,
        status="investigating",
        scenario=Scenario.INVESTIGATING,
        audiences=tuple(plan.component(component).audiences),
        started_at=start,
        updated_at=start,
        source=IncidentSource(type="human", reference="drill"),
    )
    incidents.items[incident.id] = incident
    engines: dict[str, _Engine] = {}
    for region in (primary, standby):
        dynamodb = outage.install(boto3.client("dynamodb", region_name=GLOBAL_REGION), region)
        sns = boto3.client("sns", region_name=region)
        topic = sns.create_topic(Name="subscribers")["TopicArn"]
        sqs = boto3.client("sqs", region_name=region)
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        outage.install(sns, region)
        ownership = DynamoOwnershipStore(
            table_name="ownership",
            client=dynamodb,
            clock=clock,
            lease_seconds=lease_seconds,
            margin_seconds=margin_seconds,
        )
        ledger = fenced(
            DynamoDeliveryLedger(table_name="workflow", client=dynamodb, clock=clock),
            RegionFence(ownership, region),
        )
        store = DynamoWorkflowStore(table_name="workflow", client=dynamodb)
        engines[region] = _Engine(
            region=region,
            sns=sns,
            s3=outage.install(boto3.client("s3", region_name=STATUS_REGION), region),
            dynamodb=dynamodb,
            topic_arn=topic,
            queue_url=queue,
            ledger=ledger,
            ownership=ownership,
            store=store,
            engine=RegionEngine(
                plan=plan,
                region=region,
                ownership=ownership,
                repository=cast(Any, incidents),
                store=store,
                clock=clock,
                now=now,
            ),
        )
    engines[primary].ownership.acquire(scope_for(incident.id), primary, reason="declared")

    delivered: dict[str, str] = {}
    due: dict[str, datetime] = {}
    late: dict[str, float] = {}  # plan minutes past when customers were told to expect it
    delay: dict[str, float] = {}  # plan minutes later than without an outage
    asked: dict[str, float] = {}
    expected: list[str] = []
    reapproved: list[str] = []
    timeline: list[str] = []
    dead_links = 0
    first_standby: float | None = None
    number = [0]

    def render(scenario: Scenario, due_at: datetime, by: _Engine) -> None:
        number[0] += 1
        update_id = f"{number[0]:03d}-{scenario.value}"
        expected.append(update_id)
        due[update_id] = due_at
        asked[update_id] = minute[0]
        record = {
            "update_id": update_id,
            "scenario": scenario.value,
            "approval": {
                "request": f"{by.region}-{update_id}-1",
                "region": by.region,
                "approve_at": minute[0] + approve_after_minutes,
            },
        }
        by.store.put_update(incident.id, update_id, record)
        timeline.append(f"{minute[0]:>4.0f} {by.region}: rendered {update_id}, approval requested")

    def deliver(update: dict[str, Any], by: _Engine) -> bool:
        nonlocal first_standby
        update_id = update["update_id"]
        ok = True
        for channel in (Channel.SNS, Channel.STATUS_PAGE):
            claim = by.ledger.claim(incident.id, update_id, channel.value)
            if claim.outcome in (Claim.FENCED, Claim.BUSY):
                return False
            if claim.outcome is Claim.DONE:
                continue
            text = f"Update {update_id}: {update['scenario']}"
            if channel is Channel.SNS:
                from outage_comms.channels.base import Delivery

                SnsSubscribersChannel(topic_arn=by.topic_arn, client=by.sns).deliver(
                    Delivery(
                        incident_id=incident.id,
                        update_id=update_id,
                        channel=Channel.SNS,
                        scenario=update["scenario"],
                        components=incident.components,
                        audiences=incident.audiences,
                        severity=severity,
                        messages={plan.default_locale: {"subject": text, "body": text}},
                    )
                )
            else:
                by.s3.put_object(
                    Bucket="status-site", Key=f"updates/{update_id}.json", Body=json.dumps({"text": text})
                )
            by.ledger.finish(incident.id, update_id, channel.value, claim.token, "delivered")
        sent_number = int(update_id[:3])
        by.store.advance_customer_update(incident.id, CustomerUpdate(sent_number, update_id, severity, now()))
        delivered[update_id] = by.region
        late[update_id] = (now() - due[update_id]).total_seconds() / 60
        delay[update_id] = minute[0] - asked[update_id] - approve_after_minutes  # beyond the approver's time
        timeline.append(f"{minute[0]:>4.0f} {by.region}: delivered {update_id}")
        if by.region == standby and first_standby is None:
            first_standby = minute[0]
        return ok

    def owner() -> str | None:
        seen = engines[standby].ownership.current(scope_for(incident.id))
        return seen.region if seen else None

    failures, oks, unhealthy = 0, 0, False
    human_done = resolved = summarised = False
    render(Scenario.INVESTIGATING, start + timedelta(minutes=approve_after_minutes), engines[primary])
    for step in range(end_minute + 1):
        minute[0] = float(step)
        for action in actions:
            if int(str(action["at"]).rstrip("m")) == step:
                outage.apply(str(action["action"]), str(action["region"]))
                timeline.append(f"{step:>4} drill: {action['action']} {action['region']}")
        # the standby's health check of the primary (a failed region may not raise alarms at all)
        try:
            engines[primary].sns.list_topics()
            oks, failures = oks + 1, 0
        except EndpointConnectionError:
            failures, oks = failures + 1, 0
        signal = None
        if failures >= unhealthy_after_failures:
            unhealthy, signal = (
                True,
                HealthSignal(primary, False, now(), "engine-health-primary", "probe failed"),
            )
        elif unhealthy and oks >= unhealthy_after_failures:
            signal = HealthSignal(primary, True, now(), "engine-health-primary", "probe ok")
        if signal is not None:
            for result in engines[standby].engine.on_signal(signal):
                if result["action"] in ("take_over", "hand_back"):
                    timeline.append(f"{step:>4} {standby}: {result['action']} (epoch {result['epoch']})")
                if result["action"] == "hand_back":
                    unhealthy = False
                if result["action"] == "take_over":
                    point = resume_point(plan, incidents.get(incident.id), engines[standby].store)
                    if point.reapprove_update:  # the old link's task belongs to the dead region
                        engines[standby].store.merge_update(
                            incident.id,
                            point.reapprove_update,
                            {
                                "approval": {
                                    "request": f"{standby}-{point.reapprove_update}-2",
                                    "region": standby,
                                    "approve_at": step + approve_after_minutes,
                                }
                            },
                        )
                        reapproved.append(point.reapprove_update)
                        timeline.append(
                            f"{step:>4} {standby}: approval of {point.reapprove_update} requested again"
                        )
        # the approver opens the link they were sent: it works only if the region that sent it answers
        waiting = engines[standby].store.latest_update(incident.id)
        if waiting and waiting["update_id"] not in delivered:
            approval = waiting["approval"]
            if approval["approve_at"] == step and approval["region"] in outage.down:
                dead_links += 1
                timeline.append(f"{step:>4} approver: the link for {waiting['update_id']} did not answer")
        # the owner works: renew the lease, send approved updates, render what is due
        current = owner()
        if current is None or current in outage.down:
            continue
        by = engines[current]
        try:
            RegionFence(by.ownership, by.region).hold(incident.id)  # the renewal every step does
        except (StaleOwnerError, EndpointConnectionError) as lost:  # the other region drives
            timeline.append(f"{step:>4} {by.region}: not the owner ({lost})")
            continue
        latest = by.store.latest_update(incident.id)
        if latest and latest["update_id"] not in delivered:
            if latest["approval"]["approve_at"] <= step:
                deliver(latest, by)
            continue
        sent = by.store.last_customer_update(incident.id)
        promise = sent.at + timedelta(minutes=cadence) if sent else now()  # customers were told when
        ahead = timedelta(minutes=approve_after_minutes)  # asked for early enough to be approved in time
        if not human_done and step >= human_update_minute:
            human_done = True
            render(Scenario.IDENTIFIED, promise, by)
        elif not resolved and step >= resolve_minute:
            resolved = True
            render(Scenario.RESOLVED, promise, by)
        elif resolved and not summarised:
            summarised = True
            render(Scenario.POST_INCIDENT_SUMMARY, now() + ahead, by)
        elif not resolved and sent is not None and now() + ahead >= promise:
            render(Scenario.MONITORING, promise, by)
    received: Counter[str] = Counter()
    for engine in engines.values():
        sqs = boto3.client("sqs", region_name=engine.region)
        while True:
            messages = sqs.receive_message(QueueUrl=engine.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                received[message["Body"].split(":")[0].removeprefix("Update ")] += 1
                sqs.delete_message(QueueUrl=engine.queue_url, ReceiptHandle=message["ReceiptHandle"])
    status_writes: Counter[str] = Counter()
    for version in status.list_object_versions(Bucket="status-site").get("Versions", []):
        status_writes[version["Key"].removeprefix("updates/").removesuffix(".json")] += 1
    timeline += [f"     timeline: {e.text}" for e in incidents.get(incident.id).timeline]
    return StoryResult(
        delivered=delivered,
        received=received,
        status_writes=status_writes,
        expected=expected,
        first_standby_minute=first_standby,
        outage_minute=next(
            float(str(a["at"]).rstrip("m")) for a in actions if a["action"] == "region_outage"
        ),
        recovery_minute=next(
            float(str(a["at"]).rstrip("m")) for a in actions if a["action"] == "region_recovery"
        ),
        timeline=timeline,
        reapproved=reapproved,
        dead_links=dead_links,
        late=late,
        delay=delay,
        due={u: (d - start).total_seconds() / 60 for u, d in due.items()},
        refused_calls=dict(outage.refused),
    )
