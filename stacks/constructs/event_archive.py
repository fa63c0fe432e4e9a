"""The ``outage-comms`` event bus, an archive of everything that reaches it, and the intake's DLQ."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from outage_comms_cdk.constructs.dead_letters import dead_letter_queue
from outage_comms_cdk.settings import physical_name

EVENT_BUS_NAME = "outage-comms"
ARCHIVE_RETENTION = Duration.days(365)


class EventArchive(Construct):
    """Where incident events arrive, are kept for replay, and where the unusable ones go.

    * ``bus``: the custom bus every trigger (alarm, Health, Incident Manager, CLI) is routed to.
    * ``archive``: every event that reaches the bus, encrypted with the customer-managed key, so
      a drill or a post-incident review can replay exactly what happened.
    * ``dead_letter_queue``: events the intake rejects or cannot parse, and EventBridge
      deliveries that failed; kept for the 14 days SQS allows.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bus_name: str = EVENT_BUS_NAME,
        archive_retention: Duration = ARCHIVE_RETENTION,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=physical_name(self, bus_name),
            description="Outage Comms: incident signals and updates",
        )
        self.archive = events.Archive(
            self,
            "Archive",
            source_event_bus=self.bus,
            description=f"Every event that reached the {bus_name} bus",
            # An empty prefix matches every event: the archive keeps all of them.
            event_pattern=events.EventPattern(source=events.Match.prefix("")),
            retention=archive_retention,
            kms_key=key,
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=key,
            holds="EventBridge targets, Lambda on-failure destinations and the intake's rejected events",
        )
