"""An embedded AWS for Outage Comms: the synthesized app deployed into moto, handlers run in-process.

Used by the integration tests and by ``outage-comms drill``. See :mod:`.harness`.
"""

from outage_comms_embedded.harness import (
    ACCOUNT,
    REGION,
    EmbeddedAws,
    EventSource,
    Invocation,
    PumpedBatch,
    event_entry,
    synthesize_app,
)

__all__ = [
    "ACCOUNT",
    "REGION",
    "EmbeddedAws",
    "EventSource",
    "Invocation",
    "PumpedBatch",
    "event_entry",
    "synthesize_app",
]
