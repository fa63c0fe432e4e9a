"""The two-region story of :func:`outage_comms_embedded.regions.run_failover_story`, minute by minute.

Each plan minute: the drill's region actions, the standby's health probe of the primary, the standby's
failover decision (take over, hand back), the approver opening their link, and the owner's work (renew
the lease, send approved updates through the fenced ledger, render what is due).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from botocore.exceptions import EndpointConnectionError

from outage_comms_embedded.failover_parts import (
    GLOBAL_REGION,
    STATUS_REGION,
    RegionOutage,
    StoryResult,
    _Engine,
    _Incidents,
    _minute_of,
    _tables,
)


@dataclass
class _Story:
    """One run of the story: the regions' engines, the incident, and what was sent when."""

    plan: Any
    primary: str
    standby: str
    severity: str
    actions: list[dict[str, Any]]
    human_update_minute: int
    resolve_minute: int
    approve_after_minutes: int
    unhealthy_after_failures: int
    lease_seconds: float
    margin_seconds: float
    minute: float = 0.0
    outage: RegionOutage = field(default_factory=RegionOutage)
    incidents: _Incidents = field(default_factory=_Incidents)
    engines: dict[str, _Engine] = field(default_factory=dict)
    delivered: dict[str, str] = field(default_factory=dict)
    due: dict[str, datetime] = field(default_factory=dict)
    late: dict[str, float] = field(default_factory=dict)  # plan minutes past when customers were told
    delay: dict[str, float] = field(default_factory=dict)  # plan minutes later than without an outage
    asked: dict[str, float] = field(default_factory=dict)
    expected: list[str] = field(default_factory=list)
    reapproved: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    dead_links: int = 0
    first_standby: float | None = None

    def __post_init__(self) -> None:
        self.cadence = self.plan.severity(self.severity).cadence_minutes
        self.start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
        self.failures = self.oks = 0
        self.unhealthy = self.human_done = self.resolved = self.summarised = False

    def clock(self) -> float:  # plan seconds
        return 1_000_000.0 + self.minute * 60

    def now(self) -> datetime:
        return self.start + timedelta(minutes=self.minute)

    # -- set-up ------------------------------------------------------------------------------------
    def _deploy(self) -> None:
        import boto3

        from outage_comms.incident import Incident, IncidentSource, public_title
        from outage_comms.regions.lease import scope_for
        from outage_comms.vocabulary import Scenario

        _tables(boto3.client("dynamodb", region_name=GLOBAL_REGION))
        self.status = boto3.client("s3", region_name=STATUS_REGION)
        self.status.create_bucket(Bucket="status-site")
        self.status.put_bucket_versioning(Bucket="status-site", VersioningConfiguration={"Status": "Enabled"})
        component = self.plan.components[0].id
        self.incident = Incident(
            id="inc-20261202-1000-a1b2c3",
            internal_title="drill: region outage",
            public_title=public_title(self.plan, [component]),
            components=(component,),
            severity=self.severity,
            status="investigating",
            scenario=Scenario.INVESTIGATING,
            audiences=tuple(self.plan.component(component).audiences),
            started_at=self.start,
            updated_at=self.start,
            source=IncidentSource(type="human", reference="drill"),
        )
        self.incidents.items[self.incident.id] = self.incident
        for region in (self.primary, self.standby):
            self.engines[region] = self._engine(region)
        self.engines[self.primary].ownership.acquire(
            scope_for(self.incident.id), self.primary, reason="declared"
        )

    def _engine(self, region: str) -> _Engine:
        import boto3

        from outage_comms.regions.engine import RegionEngine
        from outage_comms.regions.fence import RegionFence, fenced
        from outage_comms.regions.lease import DynamoOwnershipStore
        from outage_comms.workflow.delivery_ledger import DynamoDeliveryLedger
        from outage_comms.workflow.store import DynamoWorkflowStore

        dynamodb = self.outage.install(boto3.client("dynamodb", region_name=GLOBAL_REGION), region)
        sns = boto3.client("sns", region_name=region)
        topic = sns.create_topic(Name="subscribers")["TopicArn"]
        sqs = boto3.client("sqs", region_name=region)
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        self.outage.install(sns, region)
        ownership = DynamoOwnershipStore(
            table_name="ownership",
            client=dynamodb,
            clock=self.clock,
            lease_seconds=self.lease_seconds,
            margin_seconds=self.margin_seconds,
        )
        store = DynamoWorkflowStore(table_name="workflow", client=dynamodb)
        return _Engine(
            region=region,
            sns=sns,
            s3=self.outage.install(boto3.client("s3", region_name=STATUS_REGION), region),
            dynamodb=dynamodb,
            topic_arn=topic,
            queue_url=queue,
            ledger=fenced(
                DynamoDeliveryLedger(table_name="workflow", client=dynamodb, clock=self.clock),
                RegionFence(ownership, region),
            ),
            ownership=ownership,
            store=store,
            engine=RegionEngine(
                plan=self.plan,
                region=region,
                ownership=ownership,
                repository=cast(Any, self.incidents),
                store=store,
                clock=self.clock,
                now=self.now,
            ),
        )

    # -- the engine's work -------------------------------------------------------------------------
    def render(self, scenario: Any, due_at: datetime, by: _Engine) -> None:
        update_id = f"{len(self.expected) + 1:03d}-{scenario.value}"
        self.expected.append(update_id)
        self.due[update_id] = due_at
        self.asked[update_id] = self.minute
        record = {
            "update_id": update_id,
            "scenario": scenario.value,
            "approval": {
                "request": f"{by.region}-{update_id}-1",
                "region": by.region,
                "approve_at": self.minute + self.approve_after_minutes,
            },
        }
        by.store.put_update(self.incident.id, update_id, record)
        self.timeline.append(f"{self.minute:>4.0f} {by.region}: rendered {update_id}, approval requested")

    def deliver(self, update: dict[str, Any], by: _Engine) -> bool:
        from outage_comms.vocabulary import Channel
        from outage_comms.workflow.delivery_ledger import Claim
        from outage_comms.workflow.store import CustomerUpdate

        update_id = update["update_id"]
        for channel in (Channel.SNS, Channel.STATUS_PAGE):
            claim = by.ledger.claim(self.incident.id, update_id, channel.value)
            if claim.outcome in (Claim.FENCED, Claim.BUSY):
                return False
            if claim.outcome is Claim.DONE:
                continue
            self._send(channel, update, by)
            by.ledger.finish(self.incident.id, update_id, channel.value, claim.token, "delivered")
        sent = CustomerUpdate(int(update_id[:3]), update_id, self.severity, self.now())
        by.store.advance_customer_update(self.incident.id, sent)
        self.delivered[update_id] = by.region
        self.late[update_id] = (self.now() - self.due[update_id]).total_seconds() / 60
        self.delay[update_id] = self.minute - self.asked[update_id] - self.approve_after_minutes
        self.timeline.append(f"{self.minute:>4.0f} {by.region}: delivered {update_id}")
        if by.region == self.standby and self.first_standby is None:
            self.first_standby = self.minute
        return True

    def _send(self, channel: Any, update: dict[str, Any], by: _Engine) -> None:
        from outage_comms.channels.base import Delivery
        from outage_comms.channels.sns_subscribers import SnsSubscribersChannel
        from outage_comms.vocabulary import Channel

        text = f"Update {update['update_id']}: {update['scenario']}"
        if channel is not Channel.SNS:
            body = json.dumps({"text": text})
            by.s3.put_object(Bucket="status-site", Key=f"updates/{update['update_id']}.json", Body=body)
            return
        SnsSubscribersChannel(topic_arn=by.topic_arn, client=by.sns).deliver(
            Delivery(
                incident_id=self.incident.id,
                update_id=update["update_id"],
                channel=Channel.SNS,
                scenario=update["scenario"],
                components=self.incident.components,
                audiences=self.incident.audiences,
                severity=self.severity,
                messages={self.plan.default_locale: {"subject": text, "body": text}},
            )
        )

    def owner(self) -> str | None:
        from outage_comms.regions.lease import scope_for

        seen = self.engines[self.standby].ownership.current(scope_for(self.incident.id))
        return seen.region if seen else None

    # -- each plan minute ----------------------------------------------------------------------------
    def _apply_actions(self, step: int) -> None:
        for action in self.actions:
            if int(str(action["at"]).rstrip("m")) == step:
                self.outage.apply(str(action["action"]), str(action["region"]))
                self.timeline.append(f"{step:>4} drill: {action['action']} {action['region']}")

    def _probe(self) -> Any:
        """The standby's health check of the primary (a failed region may not raise alarms at all)."""
        from outage_comms.regions.failover import HealthSignal

        try:
            self.engines[self.primary].sns.list_topics()
            self.oks, self.failures = self.oks + 1, 0
        except EndpointConnectionError:
            self.failures, self.oks = self.failures + 1, 0
        if self.failures >= self.unhealthy_after_failures:
            self.unhealthy = True
            return HealthSignal(self.primary, False, self.now(), "engine-health-primary", "probe failed")
        if self.unhealthy and self.oks >= self.unhealthy_after_failures:
            return HealthSignal(self.primary, True, self.now(), "engine-health-primary", "probe ok")
        return None

    def _react(self, step: int, signal: Any) -> None:
        """The standby's failover function on the health signal."""
        for result in self.engines[self.standby].engine.on_signal(signal):
            if result["action"] in ("take_over", "hand_back"):
                self.timeline.append(
                    f"{step:>4} {self.standby}: {result['action']} (epoch {result['epoch']})"
                )
            if result["action"] == "hand_back":
                self.unhealthy = False
            if result["action"] == "take_over":
                self._reapprove(step)

    def _reapprove(self, step: int) -> None:
        """An update waiting for approval is requested again: the old link's task was the dead region's."""
        from outage_comms.regions.failover import resume_point

        standby = self.engines[self.standby]
        point = resume_point(self.plan, self.incidents.get(self.incident.id), standby.store)
        if not point.reapprove_update:
            return
        approval = {
            "request": f"{self.standby}-{point.reapprove_update}-2",
            "region": self.standby,
            "approve_at": step + self.approve_after_minutes,
        }
        standby.store.merge_update(self.incident.id, point.reapprove_update, {"approval": approval})
        self.reapproved.append(point.reapprove_update)
        self.timeline.append(
            f"{step:>4} {self.standby}: approval of {point.reapprove_update} requested again"
        )

    def _approver(self, step: int) -> None:
        """The approver opens the link they were sent: it works only if the region that sent it answers."""
        waiting = self.engines[self.standby].store.latest_update(self.incident.id)
        if waiting and waiting["update_id"] not in self.delivered:
            approval = waiting["approval"]
            if approval["approve_at"] == step and approval["region"] in self.outage.down:
                self.dead_links += 1
                self.timeline.append(
                    f"{step:>4} approver: the link for {waiting['update_id']} did not answer"
                )

    def _work(self, step: int) -> None:
        """The owner works: renew the lease, send approved updates, render what is due."""
        from outage_comms.regions.fence import RegionFence
        from outage_comms.regions.lease import StaleOwnerError

        current = self.owner()
        if current is None or current in self.outage.down:
            return
        by = self.engines[current]
        try:
            RegionFence(by.ownership, by.region).hold(self.incident.id)  # the renewal every step does
        except (StaleOwnerError, EndpointConnectionError) as lost:  # the other region drives
            self.timeline.append(f"{step:>4} {by.region}: not the owner ({lost})")
            return
        latest = by.store.latest_update(self.incident.id)
        if latest and latest["update_id"] not in self.delivered:
            if latest["approval"]["approve_at"] <= step:
                self.deliver(latest, by)
            return
        self._render_due(by)

    def _render_due(self, by: _Engine) -> None:
        from outage_comms.vocabulary import Scenario

        sent = by.store.last_customer_update(self.incident.id)
        promise = sent.at + timedelta(minutes=self.cadence) if sent else self.now()  # customers were told
        ahead = timedelta(minutes=self.approve_after_minutes)  # asked early enough to be approved in time
        if not self.human_done and self.minute >= self.human_update_minute:
            self.human_done = True
            self.render(Scenario.IDENTIFIED, promise, by)
        elif not self.resolved and self.minute >= self.resolve_minute:
            self.resolved = True
            self.render(Scenario.RESOLVED, promise, by)
        elif self.resolved and not self.summarised:
            self.summarised = True
            self.render(Scenario.POST_INCIDENT_SUMMARY, self.now() + ahead, by)
        elif not self.resolved and sent is not None and self.now() + ahead >= promise:
            self.render(Scenario.MONITORING, promise, by)

    # -- the run -------------------------------------------------------------------------------------
    def play(self, end_minute: int) -> StoryResult:
        from outage_comms.vocabulary import Scenario

        self._deploy()
        self.render(
            Scenario.INVESTIGATING,
            self.start + timedelta(minutes=self.approve_after_minutes),
            self.engines[self.primary],
        )
        for step in range(end_minute + 1):
            self.minute = float(step)
            self._apply_actions(step)
            signal = self._probe()
            if signal is not None:
                self._react(step, signal)
            self._approver(step)
            self._work(step)
        self.timeline += [f"     timeline: {e.text}" for e in self.incidents.get(self.incident.id).timeline]
        return StoryResult(
            delivered=self.delivered,
            received=self._received(),
            status_writes=self._status_writes(),
            expected=self.expected,
            first_standby_minute=self.first_standby,
            outage_minute=_minute_of(self.actions, "region_outage"),
            recovery_minute=_minute_of(self.actions, "region_recovery"),
            timeline=self.timeline,
            reapproved=self.reapproved,
            dead_links=self.dead_links,
            late=self.late,
            delay=self.delay,
            due={u: (d - self.start).total_seconds() / 60 for u, d in self.due.items()},
            refused_calls=dict(self.outage.refused),
        )

    def _received(self) -> Counter[str]:
        """Customer messages received per update, from both regions' subscriber queues."""
        import boto3

        received: Counter[str] = Counter()
        for engine in self.engines.values():
            sqs = boto3.client("sqs", region_name=engine.region)
            while True:
                page = sqs.receive_message(QueueUrl=engine.queue_url, MaxNumberOfMessages=10)
                messages = page.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    received[message["Body"].split(":")[0].removeprefix("Update ")] += 1
                    sqs.delete_message(QueueUrl=engine.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received

    def _status_writes(self) -> Counter[str]:
        """Versions of each update's object on the status site."""
        writes: Counter[str] = Counter()
        for version in self.status.list_object_versions(Bucket="status-site").get("Versions", []):
            writes[version["Key"].removeprefix("updates/").removesuffix(".json")] += 1
        return writes
