"""Events: EventBridge -> SQS -> function, as the synthesized rules and event-source mappings route them.

:meth:`EventRouting.put_events` puts events on a region's bus, moto's EventBridge matches the synthesized
rules and sends them to the intake queue, and :meth:`EventRouting.pump` does what the Lambda event-source
mapping does: it receives up to the mapping's batch size, invokes the real function with an SQS event, and
deletes the records the function did not report as failed (``ReportBatchItemFailures``). moto's own mapping
(which would invoke through its Docker path) is detached: patch ``event-source-mapping-pumped``. moto offers
every put event to schedule-only rules (no pattern matches all) and cannot deliver to a Lambda target: the
harness routes rules as EventBridge does (``events-routing``): a schedule rule never receives a put event, a
Lambda target is invoked with the event, and a target without an input transformer receives the whole event
(moto's default template drops ``account``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventSource:
    """A deployed SQS event-source mapping the harness pumps (moto's own is detached)."""

    logical_id: str
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    report_failures: bool
    region: str = ""


@dataclass(frozen=True)
class PumpedBatch:
    """One batch the pump handed to a function: how many records, how many it reported failed."""

    function_name: str
    records: int
    failed: int
    error: str | None


def event_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """A PutEvents entry for an EventBridge-shaped event (what ``put_events`` then delivers as it)."""
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event.get("detail", {})),
        "Resources": list(event.get("resources", [])),
    }
    if event.get("time"):
        from datetime import datetime

        entry["Time"] = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return entry


def _sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as the Lambda event-source mapping hands it to a function."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def as_delivered(event: Mapping[str, Any]) -> dict[str, Any]:
    """moto's event as EventBridge hands it to a target: ``time`` as ISO 8601 (moto keeps epoch seconds),
    without moto's ``ingestion-time``."""
    delivered = {k: v for k, v in dict(event).items() if k != "ingestion-time"}
    moment = delivered.get("time")
    if isinstance(moment, int | float) or (isinstance(moment, str) and moment.isdigit()):
        from datetime import UTC, datetime

        delivered["time"] = datetime.fromtimestamp(float(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def arn_region(arn: str, default: str) -> str:
    """The region field of an ARN (``default`` when it has none)."""
    parts = str(arn).split(":")
    return parts[3] if len(parts) > 4 and parts[3] else default


class EventRouting:
    """Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`: buses, rules, queues, pumps."""

    # Provided by EmbeddedAws.
    region: str
    account: str
    templates: dict[str, dict[str, Any]]
    stacks: dict[str, dict[str, str]]
    patches: dict[str, list[str]]
    event_sources: list[EventSource]
    pumped: list[PumpedBatch]
    _original_send_to_targets: Any
    client: Callable[..., Any]
    invoke: Callable[..., Any]
    stack_region: Callable[[str], str]

    def put_events(
        self, entries: list[Mapping[str, Any]], *, pump: bool = True, region: str | None = None
    ) -> dict[str, Any]:
        """``PutEvents`` on the bus of ``region`` (default: home); with ``pump`` the queues are then pumped.

        ``entries`` are PutEvents entries (``Source``, ``DetailType``, ``Detail`` ...) or whole
        EventBridge events (``source``, ``detail-type``, ``detail`` ...), converted by :func:`event_entry`.
        The synthesized rules decide where each goes (moto's EventBridge matches their patterns).
        Raises when the bus refused an entry.
        """
        converted = [event_entry(e) if "Source" not in e else dict(e) for e in entries]
        response = dict(self.client("events", region=region).put_events(Entries=converted))
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the bus refused events: {response['Entries']}")
        if pump:
            self.pump()
        return response

    def pump(self, *, max_batches: int = 1000) -> int:
        """Deliver what waits in the pumped queues, as the event-source mapping would. Returns batches.

        Per mapping: receive up to its batch size, invoke the function with the SQS event, delete the
        records it processed (all of them, or with ``ReportBatchItemFailures`` all but those it lists;
        none when the function failed: they return after the queue's visibility timeout, as in Lambda).
        Stops when no queue has a visible message. The event-source mapping is Lambda's own poller, in
        the function's region: a region that is down (a drill's region outage) is not pumped.
        """
        batches = 0
        while batches < max_batches:
            moved = False
            for source in self.event_sources:
                if not self._region_answers(source.region):
                    continue
                sqs = self.client("sqs", region=source.region)
                messages = self._receive(sqs, source)
                if not messages:
                    continue
                moved = True
                batches += 1
                self._deliver_batch(sqs, source, messages)
            if not moved:
                break
        return batches

    def _region_answers(self, region: str) -> bool:
        return True  # the harness's RegionOutage overrides this while a region is down

    def _receive(self, sqs: Any, source: EventSource) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            page = sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(10, source.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not page:
                break
            messages += page
        return messages

    def _deliver_batch(self, sqs: Any, source: EventSource, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [_sqs_record(m, source.queue_arn) for m in messages]}
        response = self.client("lambda", region=source.region).invoke(
            FunctionName=source.function_name, Payload=json.dumps(event)
        )
        payload = json.loads(response["Payload"].read() or b"null")
        error = response.get("FunctionError")
        failed: set[str] = set()
        if error:
            failed = {m["MessageId"] for m in messages}
        elif source.report_failures and isinstance(payload, dict):
            failed = {str(f.get("itemIdentifier")) for f in payload.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        self.pumped.append(PumpedBatch(source.function_name, len(messages), len(failed), error))

    def _detach_event_sources(self) -> None:
        """Record each SQS event-source mapping; detach moto's own (patch ``event-source-mapping-pumped``)."""
        from moto.sqs.models import sqs_backends

        for name, template in self.templates.items():
            region = self.stack_region(name)
            lambda_client, sqs = self.client("lambda", region=region), self.client("sqs", region=region)
            queues = sqs_backends[self.account][region].queues
            for logical_id, resource in template["Resources"].items():
                if (
                    resource["Type"] != "AWS::Lambda::EventSourceMapping"
                    or logical_id not in self.stacks[name]
                ):
                    continue
                mapping = lambda_client.get_event_source_mapping(UUID=self.stacks[name][logical_id])
                queue_arn = str(mapping["EventSourceArn"])
                if ":sqs:" not in queue_arn:
                    continue
                queue_name = queue_arn.rsplit(":", 1)[1]
                function_arn = str(mapping["FunctionArn"])
                self.event_sources.append(
                    EventSource(
                        logical_id=logical_id,
                        queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                        queue_arn=queue_arn,
                        function_name=function_arn.split(":function:", 1)[1].split(":", 1)[0],
                        batch_size=int(mapping.get("BatchSize") or 10),
                        report_failures="ReportBatchItemFailures"
                        in (mapping.get("FunctionResponseTypes") or []),
                        region=region,
                    )
                )
                queue = queues.get(queue_name)
                if queue is not None:
                    queue.lambda_event_source_mappings.clear()
                self.patches.setdefault(name, []).append(f"event-source-mapping-pumped:{logical_id}")

    def _route_events(self) -> None:
        """Rules as EventBridge routes them (see ``events-routing`` in the module docstring)."""
        from moto.events.models import Rule

        harness = self
        original = self._original_send_to_targets = Rule.send_to_targets

        def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
            if rule.scheduled_expression and not rule.event_pattern.get_pattern():
                return  # a schedule rule fires on its schedule, never on a put event
            if not rule.event_pattern.matches_event(event):
                return
            lambda_targets = [t for t in rule.targets if ":lambda:" in str(t.get("Arn", ""))]
            others = [t for t in rule.targets if t not in lambda_targets]
            for target in lambda_targets:
                arn = str(target["Arn"])
                name = arn.split(":function:", 1)[1].split(":", 1)[0]
                region = arn_region(arn, harness.region)
                delivered = as_delivered(event)
                threading.Thread(
                    target=harness.invoke, args=(name, delivered), kwargs={"region": region}, daemon=True
                ).start()
            plain = [t for t in others if not t.get("InputTransformer")]
            shaped = [t for t in others if t.get("InputTransformer")]
            whole = {k: v for k, v in dict(event).items() if k != "ingestion-time"}
            for targets, payload, transform in ((plain, whole, False), (shaped, event, transform_input)):
                if not targets:
                    continue
                saved = rule.targets
                rule.targets = targets
                try:
                    original(rule, payload, transform)  # type: ignore[arg-type]
                finally:
                    rule.targets = saved

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign, assignment]

    def _unroute_events(self) -> None:
        if self._original_send_to_targets is not None:
            from moto.events.models import Rule

            Rule.send_to_targets = self._original_send_to_targets  # type: ignore[method-assign]
