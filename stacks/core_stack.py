"""The core stack: the key, the tables, the event bus with its archive and DLQ, the Lambda runtime."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from outage_comms_cdk.constructs.data_store import DataStore, replication_for
from outage_comms_cdk.constructs.encryption import EncryptionKey
from outage_comms_cdk.constructs.event_archive import EventArchive
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
from outage_comms_cdk.settings import DeploymentSettings, physical_name

PROJECT_TAG = ("project", "outage-comms")


class OutageCommsCoreStack(Stack):
    """State that outlives any one incident, and the runtime every later function is built from."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any
    ) -> None:
        kwargs.setdefault("termination_protection", True)
        kwargs.setdefault(
            "description",
            f"Outage Comms core for {settings.plan.organization.name}: tables, event bus, archive, key",
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(*PROJECT_TAG)

        self.encryption = EncryptionKey(self, "Encryption", alias=physical_name(self, "alias/outage-comms"))
        self.data = DataStore(
            self, "Data", key=self.encryption.key, replication=replication_for(self, settings.plan)
        )
        self.events = EventArchive(self, "Events", key=self.encryption.key)
        self.lambda_runtime = LambdaRuntime(
            self,
            "LambdaRuntime",
            plan=settings.plan,
            key=self.encryption.key,
            powertools_layer_version=settings.powertools_layer_version,
            templates_dir=settings.templates_dir,
        )

        outputs = {
            "IncidentsTableName": self.data.incidents.table_name,
            "SubscribersTableName": self.data.subscribers.table_name,
            "IdempotencyTableName": self.data.idempotency.table_name,
            "EventBusName": self.events.bus.event_bus_name,
            "EventBusArn": self.events.bus.event_bus_arn,
            "DeadLetterQueueUrl": self.events.dead_letter_queue.queue_url,
            "KeyArn": self.encryption.key.key_arn,
        }
        if self.data.ownership is not None:  # a two-region engine (docs/regions.md)
            outputs["OwnershipTableName"] = self.data.ownership.table_name
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
