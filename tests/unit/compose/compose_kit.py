"""A compose page on moto: the incident API's real intake path (tables, idempotency, hand-off queue),
one declared incident, a signed compose link, and a way to call the page as API Gateway would.

Shared by the compose page's unit tests and its security proofs. Use as a context manager.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "intake"))
sys.path.insert(0, str(ROOT / "lambdas"))  # handlers.* as in the asset

from intake_harness import IntakeWorld, create_world, example_plan, load_event  # noqa: E402

from outage_comms.compose.links import compose_reference  # noqa: E402
from outage_comms.compose.page import ComposeResponse, handle_compose  # noqa: E402
from outage_comms.incident import Incident  # noqa: E402
from outage_comms.intake.normalise import Signal, to_signal  # noqa: E402
from outage_comms.intake.runtime import IntakeDependencies  # noqa: E402
from outage_comms.plan import Plan  # noqa: E402
from outage_comms.workflow.approval import ReviewSigner  # noqa: E402
from outage_comms.workflow.review_request import ReviewRequest  # noqa: E402

ACCOUNT = "111122223333"
COMMS = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsManager/marina"
DEPUTY = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsDeputy/joao"
INCIDENT_MANAGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsIncidentManager/priya"
STRANGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/SomeDeveloper/eve"
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
LINK_MINUTES = 60


@dataclass
class ComposeWorld:
    plan: Plan
    world: IntakeWorld
    dependencies: IntakeDependencies
    incident_id: str
    signer: ReviewSigner = field(default_factory=lambda: ReviewSigner(b"k" * 48))
    reference: str = ""

    def __post_init__(self) -> None:
        self.reference = self.new_reference()

    def new_reference(self, *, incident_id: str | None = None, minutes: int = LINK_MINUTES) -> str:
        return compose_reference(self.signer, incident_id or self.incident_id, now=NOW, minutes=minutes)

    def incident(self) -> Incident:
        return self.dependencies.incidents.get(self.incident_id)

    def call(
        self,
        method: str,
        caller: str | None = COMMS,
        form: dict[str, str] | None = None,
        *,
        reference: str | None = None,
        incident: str | None = None,
        now: datetime = NOW,
    ) -> ComposeResponse:
        request = ReviewRequest(
            method,
            incident or self.incident_id,
            self.reference if reference is None else reference,
            caller,
            form or {},
        )
        return handle_compose(
            request,
            plan=self.plan,
            incidents=self.dependencies.incidents,
            apply=self.dependencies.apply,
            signer=self.signer,
            now=now,
        )

    def csrf(self, page: ComposeResponse) -> str:
        return page.body.split("name=csrf value='", 1)[1].split("'", 1)[0]

    def form(self, action: str = "post", **fields: str) -> dict[str, str]:
        """The update form as the page shows it (defaults), with ``fields`` changed."""
        page = self.call("GET")
        assert page.status == 200, page.body
        incident = self.incident()
        values = {
            "csrf": self.csrf(page),
            "action": action,
            "status": incident.status,
            "scenario": "holding_update",
            **{f"component:{c}": "on" for c in incident.components},
            **{f"note:{code}": incident.public_note.get(code, "") for code in self.plan.locale_codes},
        }
        return values | fields

    def handoffs(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.world.drain(self.world.intake_queue_url)]


def declare(plan: Plan, dependencies: IntakeDependencies) -> str:
    raw = load_event("human_declare")
    signal = to_signal(raw, plan, received_at=NOW - timedelta(minutes=20))
    assert isinstance(signal, Signal), signal
    outcome = dependencies.apply(signal=signal)
    return str(outcome["incident_id"])


@contextmanager
def compose_world(plan: Plan | None = None) -> Iterator[ComposeWorld]:
    from moto import mock_aws

    plan = plan or example_plan()
    with mock_aws():
        world = create_world()
        dependencies = world.api_dependencies(plan)
        incident_id = declare(plan, dependencies)
        made = ComposeWorld(plan, world, dependencies, incident_id)
        made.handoffs()  # the declaration's own hand-off
        yield made
