"""Issue 11, findings 4 and 5: a decision counts only once the workflow took it, and only for text both saw.

* The review link dies no later than the task it completes (``entered_at`` + the task's timeout).
* A decision is claimed, then sent (``SendTaskSuccess``, validated by botocore's Stubber), and recorded
  only after the send succeeded; a task that is gone gives "too late, nothing was sent" (410).
* Dual approval binds to the hash of the exact text: an edit resets the approvals, a stale page gets 409.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.adapters import send_task_success
from outage_comms.workflow.approval import Reference, ReviewSigner, content_hash
from outage_comms.workflow.approval_store import (
    STALE_CLAIM_SECONDS,
    ApprovalStore,
    DynamoApprovalStore,
    InMemoryApprovalStore,
)
from outage_comms.workflow.review import ReviewRequest, ReviewResponse, handle_review
from outage_comms.workflow.steps import Services, request_approval
from outage_comms.workflow.store import InMemoryWorkflowStore

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[3] / "plans" / "example.yaml"
INCIDENT = "inc-20261127-1405-abc123"
UPDATE = "001-major_outage"
COMMS = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsManager/marina"
DEPUTY = "arn:aws:sts::111122223333:assumed-role/OutageCommsCommunicationsDeputy/joao"
NOW = datetime(2026, 11, 27, 14, 10, tzinfo=UTC)
TEXT = {"sns": {"en": {"subject": "Down", "body": "We are down."}}}


def role_of(caller: str) -> str:
    account, role = caller.split(":")[4], caller.split("/")[1]
    return f"arn:aws:iam::{account}:role/{role}"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


class Gate:
    """One stored approval request, its link, and what reached Step Functions."""

    def __init__(
        self,
        plan: Plan,
        *,
        dual: bool = False,
        approvals: ApprovalStore | None = None,
        send: Callable[[str, dict[str, Any]], None] | None = None,
        request_id: str = "req-1",
    ) -> None:
        self.plan, self.request_id = plan, request_id
        self.store = InMemoryWorkflowStore()
        self.approvals = approvals or InMemoryApprovalStore()
        self.signer = ReviewSigner(b"k" * 48)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.send = send
        messages = {"sns": {"en": {"fields": dict(TEXT["sns"]["en"])}}}
        record = {"update_id": UPDATE, "scenario": "major_outage", "severity": "sev1"}
        self.store.put_update(INCIDENT, UPDATE, {**record, "messages": messages, "blocked": []})
        expires = int((NOW + timedelta(minutes=10)).timestamp())
        self.approvals.put(
            {
                "request_id": request_id,
                "incident_id": INCIDENT,
                "update_id": UPDATE,
                "role": "communications_manager",
                "task_token": "secret-task-token",
                "expires_at": expires,
                "allowed_principals": [role_of(COMMS), role_of(DEPUTY)],
                "dual": dual,
                "requested_at": NOW.isoformat(),
                "content_hash": content_hash(TEXT),
            }
        )
        self.reference = self.signer.sign(Reference(request_id, INCIDENT, expires))

    def _send(self, token: str, output: dict[str, Any]) -> None:
        if self.send is not None:
            self.send(token, output)
        with self._lock:
            self.sent.append((token, output))

    def page(self, caller: str = COMMS, now: datetime = NOW) -> ReviewResponse:
        return self.call("GET", caller=caller, now=now)

    def token(self, caller: str) -> str:
        """A genuine CSRF token for the text under review now."""
        record = self.approvals.get(self.request_id)
        assert record is not None
        return self.signer.csrf_token(self.request_id, role_of(caller), record["content_hash"])

    def csrf_from(self, page: ReviewResponse) -> str:
        return page.body.split("name=csrf value='", 1)[1].split("'", 1)[0]

    def post(self, caller: str, csrf: str, decision: str = "approve", **edits: str) -> ReviewResponse:
        return self.call("POST", caller=caller, form={"csrf": csrf, "decision": decision, **edits})

    def decide(self, caller: str, decision: str = "approve", **edits: str) -> ReviewResponse:
        """Open the page now, then press the button."""
        return self.post(caller, self.csrf_from(self.page(caller)), decision, **edits)

    def call(
        self,
        method: str,
        *,
        caller: str,
        form: dict[str, str] | None = None,
        now: datetime = NOW,
        reference: str | None = None,
    ) -> ReviewResponse:
        return handle_review(
            ReviewRequest(method, INCIDENT, reference or self.reference, caller, form or {}),
            plan=self.plan,
            store=self.store,
            approvals=self.approvals,
            signer=self.signer,
            send_task_success=self._send,
            now=now,
        )

    @property
    def state(self) -> str:
        return str(self.approvals.get(self.request_id)["state"])  # type: ignore[index]


def stubbed_send(*errors: str) -> tuple[Callable[[str, dict[str, Any]], None], Stubber]:
    """The real adapter over a Stubber-validated Step Functions client answering ``errors`` in turn."""
    sfn = boto3.client(
        "stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(sfn)
    for code in errors:
        params = {"taskToken": "secret-task-token", "output": ANY}
        if code == "ok":
            stub.add_response("send_task_success", {}, params)
        else:
            stub.add_client_error("send_task_success", service_error_code=code, expected_params=params)
    stub.activate()
    return lambda token, output: send_task_success(token, output, stepfunctions=sfn), stub


# -- finding 4: late approvals ------------------------------------------------------------------------


class _Notes:
    def __init__(self) -> None:
        self.emails: list[str] = []

    def chat(self, document: dict[str, Any]) -> str | None:
        return None

    def email(self, to: str, subject: str, text: str) -> str | None:
        self.emails.append(text)
        return None


def test_the_review_link_expires_no_later_than_the_task(plan: Plan) -> None:
    # Given a task that entered its state 40 s before the function ran, with a 600 s timeout
    store, approvals, signer = InMemoryWorkflowStore(), InMemoryApprovalStore(), ReviewSigner(b"k" * 48)
    messages = {"sns": {"en": {"fields": dict(TEXT["sns"]["en"])}}}
    store.put_update(INCIDENT, UPDATE, {"update_id": UPDATE, "scenario": "major_outage", "severity": "sev1",
                                        "messages": messages, "blocked": []})  # fmt: skip
    services = Services(
        plan=plan, repository=None, store=store, notifier=_Notes(), channel=lambda _c: None,  # type: ignore[arg-type]
        signer=lambda: signer, send_task_success=lambda *_: None, execution_running=lambda _: False,
        review_base_url="https://review.example", now=lambda: NOW, approvals=approvals,
    )  # fmt: skip
    entered = NOW - timedelta(seconds=40)
    event = {"incident_id": INCIDENT, "update_id": UPDATE, "token": "t", "timeout_seconds": 600,
             "entered_at": entered.isoformat().replace("+00:00", "Z")}  # fmt: skip
    # When the approval is requested
    result = request_approval(event, services)
    # Then neither the link nor the stored request outlives the task's deadline
    deadline = (entered + timedelta(seconds=600)).timestamp()
    assert result["expires_at"] <= deadline
    reference = signer.verify(result["review_link"].rsplit("/", 1)[1], incident_id=INCIDENT, now=NOW)
    assert reference.expires_at <= deadline
    record = approvals.get(result["request_id"])
    assert record is not None and record["expires_at"] <= deadline
    assert record["content_hash"] == content_hash(TEXT)
    assert "token" not in result["review_link"]


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_decision_after_the_task_is_gone_is_too_late_and_not_recorded(plan: Plan, code: str) -> None:
    send, stub = stubbed_send(code)
    gate = Gate(plan, send=send)
    response = gate.decide(COMMS)
    stub.assert_no_pending_responses()
    assert response.status == 410 and "nothing was sent" in response.body.lower()
    assert response.decided is None
    assert gate.state == "too_late"
    assert gate.store.get_update(INCIDENT, UPDATE).get("approval") is None  # not "approved" anywhere
    assert gate.page().status == 410  # and the page keeps saying so
    assert gate.post(DEPUTY, gate.token(DEPUTY)).status == 410


def test_another_send_failure_is_a_retryable_error_not_an_approval(plan: Plan) -> None:
    send, stub = stubbed_send("ThrottlingException", "ok")
    gate = Gate(plan, send=send)
    failed = gate.decide(COMMS)
    assert failed.status == 503 and failed.decided is None and "try again" in failed.body.lower()
    assert failed.as_api_response()["headers"]["Retry-After"]
    assert gate.state == "open" and gate.store.get_update(INCIDENT, UPDATE).get("approval") is None
    retried = gate.decide(COMMS)
    stub.assert_no_pending_responses()
    assert retried.status == 200 and retried.decided == "approved" and gate.state == "decided"
    approval = gate.store.get_update(INCIDENT, UPDATE)["approval"]
    assert approval["sent"] is True and approval["content_hash"] == content_hash(TEXT)


def test_a_claim_left_by_a_crashed_caller_is_taken_over_only_when_stale(plan: Plan) -> None:
    gate = Gate(plan)
    gate.approvals.claim("req-1", "crashed", None, NOW.timestamp())
    assert gate.decide(COMMS).status == 409 and gate.sent == []
    later = NOW + timedelta(seconds=STALE_CLAIM_SECONDS + 1)
    page = gate.page(now=later)
    response = gate.call("POST", caller=COMMS, form={"csrf": gate.csrf_from(page), "decision": "approve"},
                         now=later)  # fmt: skip
    assert response.status == 200 and len(gate.sent) == 1


# -- finding 5: dual approval bound to the text both saw ---------------------------------------------


def test_the_second_approver_cannot_edit_and_approve_alone(plan: Plan) -> None:
    gate = Gate(plan, dual=True)
    assert gate.decide(COMMS).status == 202
    # When the second approver edits, the edit is their approval of the new text only
    edited = gate.decide(DEPUTY, "edit", **{"text:sns:en:body": "Notes do not open. We are on it."})
    assert edited.status == 202 and gate.sent == []
    # Then the first approver must approve the new text: their old page is stale
    assert gate.decide(DEPUTY).status == 202 and gate.sent == []  # the editor again: still one person
    final = gate.decide(COMMS)
    assert final.status == 200
    ((_, output),) = gate.sent
    assert output["approvers"] == [role_of(DEPUTY), role_of(COMMS)]
    new_text = {"sns": {"en": {"subject": "Down", "body": "Notes do not open. We are on it."}}}
    assert output["content_hash"] == content_hash(new_text) and output["edited"] is True
    update = gate.store.get_update(INCIDENT, UPDATE)
    assert update["messages"]["sns"]["en"]["fields"]["body"] == "Notes do not open. We are on it."
    assert update["approval"]["final_messages"]["sns"]["en"]["fields"]["body"].startswith("Notes do not")


def test_a_stale_page_cannot_approve_text_edited_after_it_was_shown(plan: Plan) -> None:
    gate = Gate(plan, dual=True)
    stale = gate.csrf_from(gate.page(DEPUTY))  # the deputy opens the page ...
    assert gate.decide(COMMS, "edit", **{"text:sns:en:body": "Changed after you looked."}).status == 202
    response = gate.post(DEPUTY, stale)  # ... and approves what they saw, after it changed
    assert response.status == 409 and "changed" in response.body.lower()
    assert gate.sent == [] and gate.approvals.get("req-1")["approvers"] == [role_of(COMMS)]  # type: ignore[index]
    stale_edit = gate.post(DEPUTY, stale, "edit", **{"text:sns:en:body": "My older edit."})
    assert stale_edit.status == 409 and gate.sent == []


def test_a_stale_page_of_a_single_approval_cannot_approve_edited_text(plan: Plan) -> None:
    gate = Gate(plan)
    stale = gate.csrf_from(gate.page(DEPUTY))
    assert gate.decide(COMMS, "edit", **{"text:sns:en:body": "We fixed the words."}).status == 200
    assert gate.post(DEPUTY, stale).status == 410 and len(gate.sent) == 1


def test_a_token_for_one_text_cannot_be_reused_for_another(plan: Plan) -> None:
    gate = Gate(plan, dual=True)
    forged = gate.signer.csrf_token("req-1", role_of(DEPUTY), "0" * 64)
    assert gate.post(DEPUTY, forged).status == 409  # a genuine token, but for text never shown
    tampered = content_hash(TEXT) + "." + forged.split(".", 1)[1]
    assert gate.post(DEPUTY, tampered).status == 403
    assert gate.sent == []


# -- races: the conditional claim sends once ---------------------------------------------------------


def _table(name: str) -> DynamoApprovalStore:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoApprovalStore(table_name=name, client=client)


@pytest.mark.parametrize("dual", [False, True])
def test_concurrent_approvals_send_exactly_once(
    plan: Plan, dual: bool, item_atomic_moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        gate = Gate(plan, dual=dual, approvals=_table("approvals"))
        pages = {caller: gate.csrf_from(gate.page(caller)) for caller in (COMMS, DEPUTY)}
        results: list[int] = []
        barrier = threading.Barrier(16)

        def press(caller: str) -> None:
            barrier.wait()
            results.append(gate.post(caller, pages[caller]).status)

        threads = [threading.Thread(target=press, args=(COMMS if i % 2 else DEPUTY,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(gate.sent) == 1, results
        assert results.count(200) == 1 and all(s in (200, 202, 409, 410) for s in results), results
        assert gate.state == "decided"


# -- finding 11: bad input on the review page is a 4xx ------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"httpMethod": "POST", "body": "csrf=%C3%A9%E2%82%AC&decision=approve"},  # non-ASCII CSRF
        {"httpMethod": "POST", "body": "csrf=\u00e9\u20ac&decision=approve"},
        {"httpMethod": "POST", "body": "not base64!!", "isBase64Encoded": True},
        {"httpMethod": "POST", "body": "//79", "isBase64Encoded": True},  # base64 of invalid UTF-8
        {"httpMethod": "POST", "body": "decision=approve&decision=reject&csrf=x"},
        {"httpMethod": "POST", "body": {"decision": "approve"}},
        {"httpMethod": "POST", "body": "a=" + "x" * 600_000},
        {"httpMethod": "POST", "body": "&".join(f"f{i}=1" for i in range(2000))},
        {"httpMethod": ["POST"], "body": ""},
        {"httpMethod": "POST", "pathParameters": "incident"},
        {"httpMethod": "POST", "pathParameters": {"incident_id": 5, "reference": None}},
        {"httpMethod": "POST", "requestContext": "x", "body": "csrf=1"},
        {"httpMethod": "DELETE"},
        {"httpMethod": "POST", "body": "csrf=%ff%fe&decision=%00"},
        {"httpMethod": "POST", "body": "text:sns:en:body=%1b%5b31m&decision=edit&csrf=x"},
    ],
)
def test_bad_input_gets_a_4xx_never_a_crash(plan: Plan, event: dict[str, Any]) -> None:
    from handlers.workflow_review_page import handler

    gate = Gate(plan)
    services = Services(
        plan=plan, repository=None, store=gate.store, notifier=_Notes(), channel=lambda _c: None,  # type: ignore[arg-type]
        signer=lambda: gate.signer, send_task_success=gate._send, execution_running=lambda _: False,
        approvals=gate.approvals,
    )  # fmt: skip
    full = {
        "pathParameters": {"incident_id": INCIDENT, "reference": gate.reference},
        "requestContext": {"identity": {"userArn": COMMS}},
        **event,
    }
    response = handler(full, _Context(), services=services)
    assert 400 <= response["statusCode"] < 500, response
    assert gate.sent == []


def test_control_characters_in_an_edit_are_refused_with_their_position(plan: Plan) -> None:
    gate = Gate(plan)
    response = gate.decide(COMMS, "edit", **{"text:sns:en:body": "We are \x1b[31mdown"})
    assert response.status == 422 and "U+001B" in response.body and gate.sent == []


class _Context:
    function_name = "review"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:review"
    aws_request_id = "req"


def test_a_link_has_one_spelling_only(plan: Plan) -> None:
    """base64 ignores stray characters and a MAC's last character carries spare bits: neither may pass."""
    gate = Gate(plan)
    payload, mac = gate.reference.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(mac[-1])
    same_bits = alphabet[last ^ 1]  # the low bits of the 43rd character are padding: same 32 bytes
    for variant in (f"{payload}.{mac[:-1]}{same_bits}", f"{payload}.{mac}\x00", f"{payload}\n.{mac}"):
        refused = gate.call("POST", caller=COMMS, form={"csrf": gate.token(COMMS), "decision": "approve"},
                            reference=variant)  # fmt: skip
        assert refused.status == 403, variant
    assert gate.sent == []


def test_the_summary_review_page_asks_for_what_nobody_typed_when_resolving(plan: Plan) -> None:
    # Given a post-incident summary drafted without a typed cause (en) and fix (both locales)
    gate = Gate(plan)
    update = gate.store.get_update(INCIDENT, UPDATE)
    assert update is not None
    gaps = {"en": ["cause", "fix"], "pt-BR": ["fix"]}
    gate.store.put_update(
        INCIDENT, UPDATE, {**update, "scenario": "post_incident_summary", "summary_gaps": gaps}
    )
    # When the approver opens the review page
    page = gate.page()
    # Then the page names each missing part per locale, before anything is approved
    assert page.status == 200
    assert "Nobody typed these when resolving" in page.body
    assert "<li>en: what went wrong (the cause), how it was fixed</li>" in page.body
    assert "<li>pt-BR: how it was fixed</li>" in page.body
    # and an ordinary update's page says nothing of the kind
    assert "Nobody typed these" not in Gate(plan).page().body
