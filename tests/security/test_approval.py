"""Security proofs of the approval gate (issue 11: findings 4, 5, 8 and the review page's part of 11).

Areas: "approval" (forged, expired, replayed, late, cross-incident links; dual approval with edits and
stale pages; concurrent presses; script injection rendered in Chromium), "public endpoints" (the review
page fuzzed with Hypothesis: only 2xx/4xx), "least privilege" (every role of the synthesized app
against the table of task tokens).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import random
import secrets
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.adapters import send_task_success
from outage_comms.workflow.approval import Reference, ReviewSigner, content_hash
from outage_comms.workflow.approval_store import ApprovalStore, DynamoApprovalStore, InMemoryApprovalStore
from outage_comms.workflow.review import SECURITY_HEADERS, ReviewRequest, ReviewResponse, handle_review
from outage_comms.workflow.steps import Services
from outage_comms.workflow.store import InMemoryWorkflowStore
from tests.security.figures import scaled

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lambdas"))  # handlers.* as in the asset

INCIDENT, OTHER_INCIDENT, UPDATE = "inc-20261127-1405-abc123", "inc-20261127-1405-def456", "001-major_outage"
ACCOUNT = "111122223333"
COMMS = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsManager/marina"
DEPUTY = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsDeputy/joao"
STRANGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/SomeDeveloper/eve"
NOW = datetime(2026, 11, 27, 14, 10, tzinfo=UTC)
EXPIRES = int((NOW + timedelta(minutes=10)).timestamp())
TEXT = {"sns": {"en": {"subject": "Down", "body": "We are down."}}}


def role_of(caller: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{caller.split('/')[1]}"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


class Gate:
    """A stored approval request, its signed link, and every decision that reached Step Functions."""

    def __init__(
        self,
        plan: Plan,
        *,
        dual: bool = False,
        approvals: ApprovalStore | None = None,
        send: Callable[[str, dict[str, Any]], None] | None = None,
        text: dict[str, Any] | None = None,
        blocked: list[dict[str, Any]] | None = None,
    ) -> None:
        self.plan, self.signer = plan, ReviewSigner(b"k" * 48)
        self.store, self.approvals = InMemoryWorkflowStore(), approvals or InMemoryApprovalStore()
        self.sent: list[dict[str, Any]] = []
        self._send, self._lock = send, threading.Lock()
        text = text or TEXT
        messages = {c: {loc: {"fields": dict(f)} for loc, f in by.items()} for c, by in text.items()}
        self.store.put_update(
            INCIDENT,
            UPDATE,
            {
                "update_id": UPDATE,
                "scenario": "major_outage",
                "severity": "sev1",
                "messages": messages,
                "blocked": blocked or [],
            },
        )
        self.approvals.put(
            {
                "request_id": "req-1",
                "incident_id": INCIDENT,
                "update_id": UPDATE,
                "role": "communications_manager",
                "task_token": "secret-task-token",
                "expires_at": EXPIRES,
                "allowed_principals": [role_of(COMMS), role_of(DEPUTY)],
                "dual": dual,
                "requested_at": NOW.isoformat(),
                "content_hash": content_hash(text),
            }
        )
        self.reference = self.signer.sign(Reference("req-1", INCIDENT, EXPIRES))

    def send(self, token: str, output: dict[str, Any]) -> None:
        if self._send is not None:
            self._send(token, output)
        with self._lock:
            self.sent.append(output)

    def call(
        self,
        method: str,
        caller: str,
        form: dict[str, str] | None = None,
        *,
        reference: str | None = None,
        incident: str = INCIDENT,
        now: datetime = NOW,
    ) -> ReviewResponse:
        return handle_review(
            ReviewRequest(method, incident, reference or self.reference, caller, form or {}),
            plan=self.plan,
            store=self.store,
            approvals=self.approvals,
            signer=self.signer,
            send_task_success=self.send,
            now=now,
        )

    def token(self, caller: str, text_hash: str | None = None) -> str:
        record = self.approvals.get("req-1")
        assert record is not None
        return self.signer.csrf_token("req-1", role_of(caller), text_hash or record["content_hash"])

    def services(self) -> Services:
        return Services(
            plan=self.plan,
            repository=None,
            store=self.store,
            notifier=None,
            channel=lambda _c: None,  # type: ignore[arg-type]
            signer=lambda: self.signer,
            send_task_success=self.send,
            execution_running=lambda _: False,
            approvals=self.approvals,
        )


def _csrf(page: ReviewResponse) -> str:
    return page.body.split("name=csrf value='", 1)[1].split("'", 1)[0]


def _forged_references(gate: Gate, count: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(kind, reference) of links nobody was given."""
    genuine = gate.reference
    other_key = ReviewSigner(b"x" * 48)
    payload, mac = genuine.split(".")
    makers: list[Callable[[], tuple[str, str]]] = [
        lambda: ("random", secrets.token_urlsafe(rng.randint(0, 120))),
        lambda: ("other key", other_key.sign(Reference("req-1", INCIDENT, EXPIRES + rng.randint(0, 9999)))),
        lambda: ("tampered mac", f"{payload}.{mac[:-3]}{''.join(rng.choices('ABCxyz019_-', k=3))}"),
        lambda: ("tampered payload", _tamper(payload, rng) + "." + mac),
        lambda: (
            "longer expiry",
            base64.urlsafe_b64encode(json.dumps({"r": "req-1", "i": INCIDENT, "e": EXPIRES + 86400}).encode())
            .decode()
            .rstrip("=")
            + "."
            + mac,
        ),
        lambda: ("truncated", genuine[: rng.randint(0, len(genuine) - 1)]),
        lambda: ("non-ascii", genuine + rng.choice(["é", "\u202e", "\x00", "😀"])),
    ]
    for i in range(count):
        yield makers[i % len(makers)]()


def _tamper(text: str, rng: random.Random) -> str:
    position = rng.randrange(len(text))
    replacement = rng.choice([c for c in "ABCDEFabcdef0123456789-_" if c != text[position]])
    return text[:position] + replacement + text[position + 1 :]


def test_forged_expired_replayed_and_cross_incident_links_never_decide(plan: Plan, figures: Any) -> None:
    f, rng = figures("approval"), random.Random(11)
    gate = Gate(plan)
    attempts: list[tuple[str, Callable[[], ReviewResponse]]] = []
    for kind, reference in _forged_references(gate, scaled(ci=70, full=1400), rng):
        form = {"csrf": gate.token(COMMS), "decision": rng.choice(["approve", "edit", "reject"])}
        attempts.append(
            (f"forged {kind}", functools.partial(gate.call, "POST", COMMS, form, reference=reference))
        )
    for minutes in (10, 11, 60, 60 * 24 * 30):
        later = NOW + timedelta(minutes=minutes)
        form = {"csrf": gate.token(COMMS), "decision": "approve"}
        attempts.append(
            (f"expired +{minutes}m", functools.partial(gate.call, "POST", COMMS, form, now=later))
        )
    cross = {"csrf": gate.token(COMMS), "decision": "approve"}
    attempts.append(
        ("cross-incident path", functools.partial(gate.call, "POST", COMMS, cross, incident=OTHER_INCIDENT))
    )
    other = gate.signer.sign(
        Reference("req-1", OTHER_INCIDENT, EXPIRES)
    )  # signed, but the request is INCIDENT's
    attempts.append(
        (
            "cross-incident request",
            functools.partial(gate.call, "POST", COMMS, cross, reference=other, incident=OTHER_INCIDENT),
        )
    )
    for caller in (STRANGER, "", "arn:aws:iam::999999999999:role/OutageCommsCommunicationsManager"):
        form = {
            "csrf": gate.signer.csrf_token("req-1", role_of(caller) if caller else "", content_hash(TEXT)),
            "decision": "approve",
        }
        attempts.append((f"not an approver {caller!r}", functools.partial(gate.call, "POST", caller, form)))
    for csrf in ("", "x", gate.token(DEPUTY), gate.token(COMMS)[:-1] + "A", "é" * 108):
        attempts.append(
            (
                f"bad csrf {csrf!r}",
                functools.partial(gate.call, "POST", COMMS, {"csrf": csrf, "decision": "approve"}),
            )
        )
    for label, attempt in attempts:
        f.tried += 1
        try:
            response = attempt()
        except Exception as error:  # the page must answer, whatever it is sent
            f.crash(f"{label}: {error!r}")
            continue
        if response.status >= 500:
            f.crash(f"{label}: {response.status}")
        elif response.status < 400 or gate.sent:
            f.wrong(f"{label}: {response.status}, sent {len(gate.sent)}")
    # replayed: one genuine approval, then the same press (and the other approver's) again and again
    assert gate.call("POST", COMMS, {"csrf": gate.token(COMMS), "decision": "approve"}).status == 200
    for i in range(scaled(ci=20, full=300)):
        f.tried += 1
        caller = COMMS if i % 2 else DEPUTY
        response = gate.call(
            "POST",
            caller,
            {
                "csrf": gate.signer.csrf_token("req-1", role_of(caller), content_hash(TEXT)),
                "decision": rng.choice(["approve", "reject", "edit"]),
            },
        )
        if response.status != 410 or len(gate.sent) != 1:
            f.wrong(f"replay {i}: {response.status}, sent {len(gate.sent)}")
    f.extra["replays_sent"] = len(gate.sent) - 1
    assert f.clean, f.failure_message()


def _stubbed(*codes: str) -> tuple[Callable[[str, dict[str, Any]], None], Stubber]:
    sfn = boto3.client(
        "stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(sfn)
    for code in codes:
        params = {"taskToken": "secret-task-token", "output": ANY}
        if code == "ok":
            stub.add_response("send_task_success", {}, params)
        else:
            stub.add_client_error("send_task_success", service_error_code=code, expected_params=params)
    stub.activate()
    return lambda token, output: send_task_success(token, output, stepfunctions=sfn), stub


@pytest.mark.parametrize("dual", [False, True])
def test_late_decisions_are_too_late_and_failed_sends_are_never_approved(
    plan: Plan, figures: Any, dual: bool
) -> None:
    f = figures("approval")
    gone, failing = (
        ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"],
        ["ThrottlingException", "InternalError"],
    )
    for round_ in range(scaled(ci=4, full=40)):
        for code in gone + failing:
            f.tried += 1
            send, stub = _stubbed(code, *(["ok"] if code in failing else []))
            gate = Gate(plan, dual=dual, send=send)
            if dual:
                gate.call("POST", DEPUTY, {"csrf": gate.token(DEPUTY), "decision": "approve"})
            response = gate.call("POST", COMMS, {"csrf": gate.token(COMMS), "decision": "approve"})
            record = gate.approvals.get("req-1") or {}
            approval = gate.store.get_update(INCIDENT, UPDATE).get("approval")
            if (isinstance(response, ReviewResponse) and response.status == 200) or approval is not None:
                f.wrong(f"{code} (round {round_}): {response.status}, approval {approval}")
            expected = (410, "too_late") if code in gone else (503, "open")
            if (response.status, record.get("state")) != expected:
                f.wrong(f"{code}: {response.status}/{record.get('state')}, expected {expected}")
            if code in failing:  # pressing again once the service is back decides, once
                again = gate.call("POST", COMMS, {"csrf": gate.token(COMMS), "decision": "approve"})
                if again.status != 200 or (gate.approvals.get("req-1") or {}).get("state") != "decided":
                    f.wrong(f"{code} retry: {again.status}")
            stub.assert_no_pending_responses()
    assert f.clean, f.failure_message()


def test_dual_approval_needs_two_people_who_saw_the_exact_text(plan: Plan, figures: Any) -> None:
    """Random sequences of page loads, approvals and edits by two approvers (stale pages included).

    The oracle: whenever a decision is sent, its text hash is the text in the update, and each of its
    two approvers pressed Approve (or saved an edit producing it) on a page showing exactly that text.
    """
    f, rng = figures("approval"), random.Random(5)
    for sequence in range(scaled(ci=150, full=3000)):
        gate = Gate(plan, dual=True)
        pages: dict[str, str] = {}  # caller -> the CSRF of the page they last opened
        endorsed: dict[str, set[str]] = {
            COMMS: set(),
            DEPUTY: set(),
        }  # hashes each pressed on a matching page
        for step in range(rng.randint(2, 9)):
            f.tried += 1
            caller, action = rng.choice([COMMS, DEPUTY]), rng.choice(["open", "approve", "approve", "edit"])
            if action == "open" or caller not in pages:
                page = gate.call("GET", caller)
                if page.status == 200:
                    pages[caller] = _csrf(page)
                continue
            shown = pages[caller].split(".")[0]
            form = {"csrf": pages[caller], "decision": "edit" if action == "edit" else "approve"}
            if action == "edit":
                form["text:sns:en:body"] = f"Edit {sequence}-{step} by {caller[-5:]}."
            before = (gate.approvals.get("req-1") or {}).get("content_hash")
            response = gate.call("POST", caller, form)
            if response.status >= 500:
                f.crash(f"seq {sequence} step {step}: {response.status}")
            if response.status in (200, 202):
                if shown != before:
                    f.wrong(f"seq {sequence}: a page of older text was accepted ({action})")
                after = (gate.approvals.get("req-1") or {}).get("content_hash")
                endorsed[caller].add(str(after))
        for output in gate.sent:
            text = {
                c: {loc: m["fields"] for loc, m in by.items()}
                for c, by in gate.store.get_update(INCIDENT, UPDATE)["messages"].items()
            }
            people = [c for c in (COMMS, DEPUTY) if output["content_hash"] in endorsed[c]]
            if (
                output["content_hash"] != content_hash(text)
                or len(set(output["approvers"])) < 2
                or len(people) < 2
            ):
                f.wrong(f"seq {sequence}: sent {output} endorsed by {people}")
        if len(gate.sent) > 1:
            f.wrong(f"seq {sequence}: {len(gate.sent)} decisions sent")
    assert f.clean, f.failure_message()


def test_concurrent_presses_send_exactly_one_decision(
    plan: Plan, figures: Any, item_atomic_moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import mock_aws

    f = figures("approval")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        for race in range(scaled(ci=6, full=60)):
            name = f"approvals-{race}"
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
            )
            gate = Gate(
                plan, dual=race % 2 == 1, approvals=DynamoApprovalStore(table_name=name, client=client)
            )
            statuses: list[int] = []
            barrier = threading.Barrier(12)

            def press(
                i: int,
                gate: Gate = gate,
                barrier: threading.Barrier = barrier,
                statuses: list[int] = statuses,
                with_reject: bool = race % 3 == 0,
            ) -> None:
                caller = COMMS if i % 2 else DEPUTY
                decision = "reject" if i == 11 and with_reject else "approve"
                barrier.wait()
                statuses.append(
                    gate.call("POST", caller, {"csrf": gate.token(caller), "decision": decision}).status
                )

            threads = [threading.Thread(target=press, args=(i,)) for i in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            f.tried += len(threads)
            if len(gate.sent) != 1 or statuses.count(200) != 1:
                f.wrong(f"race {race}: {len(gate.sent)} sent, statuses {sorted(statuses)}")
            if any(s >= 500 for s in statuses):
                f.crash(f"race {race}: {sorted(statuses)}")
    assert f.clean, f.failure_message()


# -- the review page, fuzzed: only 2xx / 4xx -----------------------------------------------------------

_texts = st.one_of(
    st.text(max_size=60), st.sampled_from(["", "approve", "edit", "reject", "\x00", "é€", "%ff"])
)
_values = st.one_of(
    st.none(),
    _texts,
    st.integers(),
    st.booleans(),
    st.lists(_texts, max_size=2),
    st.dictionaries(_texts, _texts, max_size=2),
)
_field_names = st.one_of(
    st.sampled_from(
        [
            "csrf",
            "decision",
            "text:sns:en:body",
            "text:sns:en:subject",
            "text:sns",
            "text:x:y:z",
            "text:sns:en:body:extra",
        ]
    ),
    _texts,
)


@st.composite
def review_events(draw: st.DrawFn, gate: Gate) -> dict[str, Any]:
    fields = draw(st.lists(st.tuples(_field_names, _texts), max_size=6))
    if draw(st.booleans()):
        fields.append(("csrf", draw(st.sampled_from([gate.token(COMMS), gate.token(DEPUTY), "x", "é"]))))
    body: Any = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in fields)
    encoded = draw(st.sampled_from([False, True, "yes", None]))
    if encoded is True and draw(st.booleans()):
        body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    body = draw(st.one_of(st.just(body), _values, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
    params = draw(
        st.one_of(
            st.just({"incident_id": INCIDENT, "reference": gate.reference}),
            st.fixed_dictionaries({"incident_id": _values, "reference": _values}),
            _values,
        )
    )
    caller = draw(st.sampled_from([COMMS, DEPUTY, STRANGER, "", None, 5]))
    return {
        "httpMethod": draw(st.one_of(st.sampled_from(["GET", "POST", "post", "PUT", "HEAD"]), _values)),
        "pathParameters": params,
        "body": body,
        "isBase64Encoded": encoded,
        "requestContext": draw(
            st.sampled_from([{"identity": {"userArn": caller}}, {"identity": None}, None, "x"])
        ),
    }


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def test_the_review_page_never_answers_5xx_to_bad_input(plan: Plan, figures: Any) -> None:
    from handlers.workflow_review_page import handler

    f = figures("public endpoints")
    gate = Gate(plan)
    services = gate.services()

    @settings(
        max_examples=scaled(ci=300, full=5000),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(event=review_events(gate))
    def run(event: dict[str, Any]) -> None:
        f.tried += 1
        try:
            response = handler(event, _Context(), services=services)
        except Exception as error:
            f.crash(f"{type(error).__name__}: {error} for {repr(event)[:200]}")
            return
        status = response["statusCode"]
        if status >= 500 or status < 200:
            f.crash(f"{status} for {repr(event)[:200]}")

    run()
    assert f.clean, f.failure_message()


class _Context:
    function_name, memory_limit_in_mb, aws_request_id = "review", 256, "req"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:review"


# -- least privilege: who can reach the task tokens --------------------------------------------------


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every stack's template of the app as synthesized for the example plan (reused if prepared)."""
    from outage_comms_embedded import synthesize_app

    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
    out = (
        Path(reuse)
        if reuse
        else synthesize_app(tmp_path_factory.mktemp("cdk.out"), ROOT / "plans" / "example.yaml")
    )
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in out.glob("*.template.json")
    }


APPROVAL_FUNCTIONS = {
    "workflow_request_approval": {"dynamodb:PutItem"},
    "workflow_review_page": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
}


def test_only_the_approval_functions_reach_the_task_tokens(
    synthesized: dict[str, dict[str, Any]], figures: Any
) -> None:
    f = figures("least privilege")
    (table,) = [
        (stack, lid)
        for stack, t in synthesized.items()
        for lid, r in t["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"]["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    ]
    for stack, template in synthesized.items():
        resources = template["Resources"]
        handlers = {
            r["Properties"]["Role"]["Fn::GetAtt"][0]: r["Properties"]["Handler"].split(".")[-2]
            for r in resources.values()
            if r["Type"] == "AWS::Lambda::Function" and "Fn::GetAtt" in r["Properties"].get("Role", {})
        }
        reach: dict[str, set[str]] = {
            lid: set() for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"
        }
        for lid, resource in resources.items():
            props = resource.get("Properties", {})
            documents = (
                [(props.get("Roles", []), props["PolicyDocument"])]
                if resource["Type"] == "AWS::IAM::Policy"
                else [([{"Ref": lid}], p["PolicyDocument"]) for p in props.get("Policies", [])]
                if resource["Type"] == "AWS::IAM::Role"
                else []
            )
            for roles, document in documents:
                for statement in document["Statement"]:
                    text = json.dumps(statement.get("Resource"))
                    if (stack == table[0] and f'"{table[1]}"' in text) or text in ('"*"', '["*"]'):
                        for role in roles:
                            if "Ref" in role:
                                actions = statement["Action"]
                                reach.setdefault(role["Ref"], set()).update(
                                    a
                                    for a in ([actions] if isinstance(actions, str) else actions)
                                    if a.startswith("dynamodb")
                                )
        for role, actions in reach.items():
            f.tried += 1
            allowed = APPROVAL_FUNCTIONS.get(handlers.get(role, ""), set()) if stack == table[0] else set()
            if not actions <= allowed:
                f.wrong(f"{stack}/{role} ({handlers.get(role, 'no function')}): {sorted(actions - allowed)}")
    assert f.tried >= 20
    assert f.clean, f.failure_message()


# -- human words on the review page, in Chromium: never a script --------------------------------------

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAYLOADS = [
    "<script>window.__xss=1</script>",
    "</textarea><script>window.__xss=2</script>",
    "'><img src=x onerror=window.__xss=3>",
    '"><svg onload=window.__xss=4>',
    '</textarea><img src=x onerror="window.__xss=5">',
    "<iframe srcdoc='<script>parent.__xss=6</script>'></iframe>",
    "javascript:window.__xss=7",
    "</legend><details open ontoggle=window.__xss=8>",
    "<a href='javascript:window.__xss=9' id=clickme>x</a>",
    "&lt;script&gt;window.__xss=10&lt;/script&gt;",
    "<style>@import 'http://127.0.0.1:1/x.css';</style>",
    "</label></fieldset></form><form action=//evil><button>",
    "<math><mtext></textarea><img src=x onerror=window.__xss=11>",
    "\u202e<script>window.__xss=12</script>",
    "<base href='http://127.0.0.1:1/'>",
]


def test_human_words_rendered_on_the_review_page_never_run_in_chromium(plan: Plan, figures: Any) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required under CI: bash scripts/install-system-deps.sh chromium")
        pytest.skip("Chromium is not installed (bash scripts/install-system-deps.sh chromium)")
    from playwright.sync_api import sync_playwright

    f = figures("approval")
    # Every payload in every human field of one update: message text (each channel and locale), the
    # guard's reasons (they quote the words) and a recorded approver's name.
    text: dict[str, Any] = {
        f"sns{i}": {"en": {"subject": p[:100], "body": p}, "pt-BR": {"body": p}}
        for i, p in enumerate(PAYLOADS)
    }
    # The previews too: the email in its sandboxed frame, the SMS bubble, the social post, the chat card.
    joined = "\n\n".join(PAYLOADS)
    text |= {
        "email": {"en": {"subject": PAYLOADS[0], "body": joined}},
        "sms": {"en": {"body": joined}},
        "mastodon": {"en": {"body": joined}},
        "slack": {"en": {"title": PAYLOADS[1], "body": joined}},
        "voice": {"en": {"body": joined}},
    }
    blocked = [{"channel": "sms", "locale": "en", "reasons": list(PAYLOADS)}]
    gate = Gate(plan, dual=True, text=text, blocked=blocked)
    for payload in PAYLOADS:
        gate.approvals.approve("req-1", payload, content_hash(text))
    page = gate.call("GET", COMMS)
    assert page.status == 200 and all(str(escape(p)) in page.body for p in PAYLOADS)  # shown, as text
    served = _serve({"/review.html": page.body})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for with_csp in (False, True):  # without the CSP: the escaping alone must hold
                    f.tried += 4 * len(PAYLOADS)
                    for ran in _executed(browser, f"{served.url}/review.html?csp={int(with_csp)}"):
                        f.wrong(f"csp={with_csp}: {ran}")
                    f.extra[f"payload_placements_csp_{int(with_csp)}"] = 4 * len(PAYLOADS)
            finally:
                browser.close()
    finally:
        served.stop()
    assert f.clean, f.failure_message()


_INJECTED = (
    "script, img, svg, math, base, a:not([href^='#']), object, embed, link, meta[http-equiv], body style, "
    "[onerror], [onload], [ontoggle], [onclick], [onfocus]"
)


def _executed(browser: Any, url: str, *, forms: int = 1) -> list[str]:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        ran = [f"window.__xss={page.evaluate('window.__xss')}"] if page.evaluate("window.__xss") else []
        # The page's own elements are one form, <details> sections and sandboxed preview frames: nothing
        # a payload could add (a script, an image, a link, a frame that may run scripts, a handler).
        injected = sum(frame.locator(_INJECTED).count() for frame in page.frames)
        frames = page.locator("iframe").count()
        unsandboxed = page.locator("iframe:not([sandbox=''])").count()
        return (
            ran
            + dialogs
            + ([f"{injected} injected elements"] if injected else [])
            + ([f"{unsandboxed} of {frames} frames may run scripts"] if unsandboxed else [])
            + ([f"{page.locator('form').count()} forms"] if page.locator("form").count() != forms else [])
        )
    finally:
        page.close()


class _Served:
    def __init__(self, server: http.server.ThreadingHTTPServer) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(pages: dict[str, str]) -> _Served:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            body = pages.get(path, "").encode()
            self.send_response(200 if body else 404)
            for name, value in SECURITY_HEADERS.items():
                if name != "Content-Security-Policy" or query == "csp=1":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return _Served(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
