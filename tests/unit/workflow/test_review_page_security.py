"""The review page refuses every way around the approval gate (pure domain, fake store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.approval import Reference, ReviewSigner, content_hash
from outage_comms.workflow.approval_store import InMemoryApprovalStore
from outage_comms.workflow.review import ReviewRequest, ReviewResponse, handle_review
from outage_comms.workflow.store import InMemoryWorkflowStore

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[3] / "plans" / "example.yaml"
INCIDENT = "inc-20261127-1405-abc123"
OTHER_INCIDENT = "inc-20261127-1405-def456"
COMMS = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsManager/marina"
DEPUTY = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsDeputy/joao"
STRANGER = "arn:aws:sts::111122223333:assumed-role/SomeDeveloper/eve"
NOW = datetime(2026, 11, 27, 14, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


class Gate:
    """A stored approval request, its signed link, and the task callbacks it caused."""

    def __init__(self, plan: Plan, *, dual: bool = False) -> None:
        self.plan = plan
        self.store = InMemoryWorkflowStore()
        self.approvals = InMemoryApprovalStore()
        self.signer = ReviewSigner(b"k" * 48)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.store.put_update(
            INCIDENT,
            "001-major_outage",
            {
                "update_id": "001-major_outage",
                "scenario": "major_outage",
                "messages": {"sns": {"en": {"fields": {"subject": "Down", "body": "We are down."}}}},
                "blocked": [],
            },
        )
        self.approvals.put(
            {
                "request_id": "req-1",
                "incident_id": INCIDENT,
                "update_id": "001-major_outage",
                "role": "communications_manager",
                "task_token": "secret-task-token",
                "expires_at": int((NOW + timedelta(minutes=10)).timestamp()),
                "allowed_principals": [
                    "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager",
                    "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy",
                ],
                "dual": dual,
                "requested_at": NOW.isoformat(),
                "content_hash": content_hash({"sns": {"en": {"subject": "Down", "body": "We are down."}}}),
            },
        )
        self.reference = self.signer.sign(
            Reference("req-1", INCIDENT, int((NOW + timedelta(minutes=10)).timestamp()))
        )

    def call(
        self,
        method: str,
        *,
        caller: str = COMMS,
        reference: str | None = None,
        incident: str = INCIDENT,
        form: dict[str, str] | None = None,
        now: datetime = NOW,
    ) -> ReviewResponse:
        request = ReviewRequest(method, incident, reference or self.reference, caller, form or {})
        return handle_review(
            request,
            plan=self.plan,
            store=self.store,
            approvals=self.approvals,
            signer=self.signer,
            send_task_success=lambda token, output: self.sent.append((token, output)),
            now=now,
        )

    def csrf(self, caller: str = COMMS) -> str:
        """The token the page would embed now (for the text it shows now)."""
        return self.signer.csrf_token("req-1", caller.replace("arn:aws:sts::", "arn:aws:iam::").replace(
            "assumed-role/", "role/").rsplit("/", 1)[0], self.approvals.get("req-1")["content_hash"])  # type: ignore[index]  # fmt: skip


def test_get_shows_every_message_and_never_decides(plan: Plan) -> None:
    gate = Gate(plan)
    page = gate.call("GET", form={"decision": "approve"})
    assert page.status == 200 and "We are down." in page.body and "name=csrf" in page.body
    assert gate.sent == [] and gate.approvals.get("req-1")["state"] == "open"  # type: ignore[index]
    assert "secret-task-token" not in page.body


def test_post_with_csrf_approves_once_and_records_the_approver(plan: Plan) -> None:
    gate = Gate(plan)
    response = gate.call("POST", form={"csrf": gate.csrf(), "decision": "approve"})
    assert response.status == 200
    ((token, output),) = gate.sent
    assert token == "secret-task-token"
    assert output["decision"] == "approved"
    assert output["approvers"] == ["arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"]
    assert gate.store.get_update(INCIDENT, "001-major_outage")["approval"]["final_messages"]["sns"]


def test_a_forged_reference_is_refused(plan: Plan) -> None:
    gate = Gate(plan)
    forged = ReviewSigner(b"x" * 48).sign(
        Reference("req-1", INCIDENT, int((NOW + timedelta(hours=1)).timestamp()))
    )
    for reference in (forged, gate.reference[:-2] + "AA", "not-a-reference"):
        assert (
            gate.call("POST", reference=reference, form={"csrf": gate.csrf(), "decision": "approve"}).status
            == 403
        )
    assert gate.sent == []


def test_an_expired_reference_is_too_late(plan: Plan) -> None:
    gate = Gate(plan)
    later = NOW + timedelta(minutes=11)
    response = gate.call("POST", now=later, form={"csrf": gate.csrf(), "decision": "approve"})
    assert response.status == 410 and "Too late" in response.body
    assert gate.sent == []


def test_a_replayed_reference_is_refused(plan: Plan) -> None:
    gate = Gate(plan)
    assert gate.call("POST", form={"csrf": gate.csrf(), "decision": "approve"}).status == 200
    assert (
        gate.call("POST", caller=DEPUTY, form={"csrf": gate.csrf(DEPUTY), "decision": "reject"}).status == 410
    )
    assert len(gate.sent) == 1


def test_a_reference_for_another_incident_is_refused(plan: Plan) -> None:
    gate = Gate(plan)
    response = gate.call("POST", incident=OTHER_INCIDENT, form={"csrf": gate.csrf(), "decision": "approve"})
    assert response.status == 403 and gate.sent == []


def test_a_principal_the_plan_does_not_list_cannot_see_or_approve(plan: Plan) -> None:
    gate = Gate(plan)
    assert gate.call("GET", caller=STRANGER).status == 403
    assert (
        gate.call("POST", caller=STRANGER, form={"csrf": gate.csrf(STRANGER), "decision": "approve"}).status
        == 403
    )
    assert gate.call("POST", caller="", form={"decision": "approve"}).status == 403
    assert gate.sent == []


@pytest.mark.parametrize("csrf", [None, "", "wrong-token", "csrf-of-another-principal"])
def test_missing_or_wrong_csrf_is_refused(plan: Plan, csrf: str | None) -> None:
    gate = Gate(plan)
    form = {"decision": "approve"}
    if csrf == "csrf-of-another-principal":
        form["csrf"] = gate.csrf(DEPUTY)
    elif csrf is not None:
        form["csrf"] = csrf
    assert gate.call("POST", form=form).status == 403
    assert gate.sent == []


def test_dual_approval_needs_two_different_approvers(plan: Plan) -> None:
    gate = Gate(plan, dual=True)
    assert gate.call("POST", form={"csrf": gate.csrf(), "decision": "approve"}).status == 202
    assert (
        gate.call("POST", form={"csrf": gate.csrf(), "decision": "approve"}).status == 202
    )  # same person again
    assert gate.sent == []
    assert (
        gate.call("POST", caller=DEPUTY, form={"csrf": gate.csrf(DEPUTY), "decision": "approve"}).status
        == 200
    )
    assert len(gate.sent[0][1]["approvers"]) == 2


def test_edits_that_fail_the_guard_are_refused(plan: Plan) -> None:
    gate = Gate(plan)
    form = {
        "csrf": gate.csrf(),
        "decision": "edit",
        "text:sns:en:body": "The RDS cluster in us-east-1 at 10.0.0.12 died.",
    }
    response = gate.call("POST", form=form)
    assert response.status == 422 and gate.sent == []
    good = {**form, "text:sns:en:body": "Notes may not open right now. We are fixing it."}
    assert gate.call("POST", form=good).status == 200
    final = gate.store.get_update(INCIDENT, "001-major_outage")["messages"]["sns"]["en"]["fields"]["body"]
    assert final == "Notes may not open right now. We are fixing it."
    assert gate.sent[0][1]["edited"] is True
