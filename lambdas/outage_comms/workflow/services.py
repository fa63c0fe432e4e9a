"""What every workflow step is given: the plan and the ports (real adapters in Lambda, fakes in tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from outage_comms.channels.base import ChannelAdapter
from outage_comms.clock import now as clock_now
from outage_comms.drill_mode import PUBLIC_TARGET, AdapterFactory
from outage_comms.feedback.links import FeedbackLinker
from outage_comms.plan import Plan
from outage_comms.ports import FeedbackTally, IncidentRepository
from outage_comms.vocabulary import Channel
from outage_comms.workflow.approval import ReviewSigner
from outage_comms.workflow.approval_store import ApprovalStore, InMemoryApprovalStore
from outage_comms.workflow.delivery_ledger import DeliveryLedger
from outage_comms.workflow.store import WorkflowStore


class Notifier(Protocol):
    """Tells a person something: the team's chat and email."""

    def chat(self, document: dict[str, Any]) -> str | None: ...

    def email(self, to: str, subject: str, text: str) -> str | None: ...


@dataclass
class Services:
    plan: Plan
    repository: IncidentRepository
    store: WorkflowStore
    notifier: Notifier
    #: The channel's real adapter (the ``"public"`` target).
    channel: AdapterFactory
    signer: Callable[[], ReviewSigner]
    send_task_success: Callable[[str, dict[str, Any]], None]
    execution_running: Callable[[str], bool]
    review_base_url: str = ""
    #: The time people read (the plan clock in an embedded drill; real UTC in production).
    now: Callable[[], datetime] = clock_now
    #: The other targets' adapters, by target kind (a drill's: ``drill_mode.drill_adapters``). A kind
    #: missing here has no adapter: its channel is skipped.
    targets: Mapping[str, AdapterFactory] = field(default_factory=dict)
    #: Customer answers to the feedback links, for the post-incident summary (None: not configured).
    feedback_tally: FeedbackTally | None = None
    #: Makes the "Was this update helpful?" links of an update (None: this deployment has no feedback API).
    feedback_links: Callable[[], FeedbackLinker | None] = lambda: None
    #: Approval requests and their task tokens (their own table; only the approval functions reach it).
    approvals: ApprovalStore = field(default_factory=InMemoryApprovalStore)
    #: Exactly once per (incident, update, channel): claimed before each send (None: no ledger, fakes).
    deliveries: DeliveryLedger | None = None

    def adapter(self, channel: Channel, target: str) -> ChannelAdapter | None:
        """The adapter taking ``channel`` to ``target`` (the update's choice, made when it was rendered)."""
        factory = {PUBLIC_TARGET: self.channel, **self.targets}.get(target)
        return factory(channel) if factory is not None else None
