"""Looking things up in the deployment, running executions and reading what people and customers got.

Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`: with two regions, each lookup prefers the
stacks of the region asked for (default: the home region), since both engines have the same resources.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from outage_comms_embedded.deploy import is_incident_state_machine


class Lookups:
    """Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`."""

    # Provided by EmbeddedAws.
    account: str
    region: str
    stacks: dict[str, dict[str, str]]
    outputs: dict[str, dict[str, str]]
    templates: dict[str, dict[str, Any]]
    client: Callable[..., Any]
    stack_region: Callable[[str], str]
    regions: list[str]

    def _stacks_in(self, region: str | None) -> list[str]:
        """Deployed stacks, those of ``region`` (default: home) first, then the others'."""
        wanted = region or self.region
        names = list(self.templates)
        return [n for n in names if self.stack_region(n) == wanted] + [
            n for n in names if self.stack_region(n) != wanted
        ]

    def physical_id(
        self, resource_type: str, *, stack: str | None = None, contains: str = "", region: str | None = None
    ) -> str:
        """The physical id of the one resource of ``resource_type`` whose logical id contains ``contains``
        (in ``region``'s stacks first: with two regions each has its own; a global table is one)."""
        kinds = {resource_type}
        if resource_type == "AWS::DynamoDB::Table":
            kinds.add("AWS::DynamoDB::GlobalTable")
        for names in (
            [n for n in self._stacks_in(region) if self.stack_region(n) == (region or self.region)],
            list(self.templates),
        ):
            found = [
                self.stacks[name][logical_id]
                for name in names
                if stack in (None, name)
                for logical_id, resource in self.templates[name]["Resources"].items()
                if resource["Type"] in kinds and contains in logical_id and logical_id in self.stacks[name]
            ]
            if len(found) == 1:
                return found[0]
        raise LookupError(f"{len(found)} resources of type {resource_type} matching {contains!r}")

    def output(self, name: str, *, region: str | None = None) -> str:
        """A stack output by name, from ``region``'s stacks first (default: home)."""
        for stack in self._stacks_in(region):
            if name in self.outputs.get(stack, {}):
                return self.outputs[stack][name]
        raise KeyError(name)

    def _incident_state_machine(self, region: str | None = None) -> tuple[str, str, dict[str, Any]]:
        """(stack, logical id, resource) of ``region``'s incident-comms state machine (channels has
        another)."""
        found = [
            (name, logical_id, resource)
            for name in self._stacks_in(region)
            for logical_id, resource in self.templates[name]["Resources"].items()
            if resource["Type"] == "AWS::StepFunctions::StateMachine"
            and is_incident_state_machine(resource["Properties"].get("StateMachineName"))
        ]
        if not found:
            raise LookupError("no incident state machine deployed")
        return found[0]

    @property
    def workflow_stack(self) -> str:
        """The name of the stack holding the (home region's) incident-comms state machine."""
        return self._incident_state_machine()[0]

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine_arn_in(self.region)

    def state_machine_arn_in(self, region: str) -> str:
        """The incident-comms state machine of ``region``."""
        stack, logical_id, _ = self._incident_state_machine(region)
        return self.stacks[stack][logical_id]

    # -- running executions ----------------------------------------------------------------------
    def start_execution(self, payload: Mapping[str, Any], name: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "stateMachineArn": self.state_machine_arn,
            "input": json.dumps(dict(payload)),
        }
        if name:
            kwargs["name"] = name
        return str(self.client("stepfunctions").start_execution(**kwargs)["executionArn"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions", region=execution_arn.split(":")[3])
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def states_entered(self, execution_arn: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")

    def wait_for_state(
        self, execution_arn: str, state: str, *, count: int = 1, timeout: float = 20.0
    ) -> None:
        self.wait_until(
            lambda: self.states_entered(execution_arn).count(state) >= count,
            timeout=timeout,
            what=f"state '{state}' entered {count}x",
        )

    def invoke(
        self, function_physical_name: str, event: Mapping[str, Any], *, region: str | None = None
    ) -> Any:
        """Invoke a function of ``region`` (default: home) as a caller would: while that region is down,
        a caller on the drill's own thread gets a connection error at once (no retries: a person whose
        link does not answer does not click five times)."""
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "lambda", region_name=region or self.region, config=Config(retries={"total_max_attempts": 1})
        )
        response = client.invoke(FunctionName=function_physical_name, Payload=json.dumps(dict(event)))
        return json.loads(response["Payload"].read())

    def function_name(self, handler_module: str, *, region: str | None = None) -> str:
        """The physical name of ``region``'s function whose handler is
        ``handlers.<handler_module>.handler``."""
        for name in self._stacks_in(region):
            for logical_id, resource in self.templates[name]["Resources"].items():
                if (
                    resource["Type"] == "AWS::Lambda::Function"
                    and resource["Properties"].get("Handler") == f"handlers.{handler_module}.handler"
                ):
                    return self.stacks[name][logical_id]
        raise LookupError(handler_module)

    # -- what people and customers received ------------------------------------------------------
    def sent_emails(self) -> list[Any]:
        """Every email sent through SES, in every region (the home region's first)."""
        from moto.ses.models import ses_backends

        return [m for region in self.regions for m in list(ses_backends[self.account][region].sent_messages)]

    def published(self, topic_arn: str) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        topic = sns_backends[self.account][topic_arn.split(":")[3]].topics[topic_arn]
        return [
            {"message_id": n[0], "message": n[1], "subject": n[2], "attributes": n[3]}
            for n in list(topic.sent_notifications)
        ]

    def status_objects(self) -> dict[str, bytes]:
        """Every object in the status bucket (``with_status_site``), key -> body, as published."""
        s3, bucket = self.client("s3"), self.output("StatusBucketName")
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        ]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def subscribe(
        self,
        channel: str,
        address: str,
        locale: str,
        *,
        components: tuple[str, ...] = ("*",),
        audiences: tuple[str, ...] = (),
        platform: str = "",
    ) -> str:
        """A confirmed, active subscriber in the deployed subscribers table (as after double opt-in)."""
        from outage_comms.subscribers.store import Subscriber, SubscriberStore, subscriber_id

        store = SubscriberStore.named(self.physical_id("AWS::DynamoDB::Table", contains="Subscribers"))
        sid = subscriber_id(channel, address)
        subscriber = Subscriber(
            id=sid,
            channel=channel,  # type: ignore[arg-type]
            address=address,
            locale=locale,
            components=components,
            audiences=audiences,
            platform=platform,
            created_at=int(time.time()),
        )
        store.activate(subscriber, now=int(time.time()))
        return sid
