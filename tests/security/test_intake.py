"""Security proof, areas "input validation", "intake fuzz" and "duplicate replay" (issue 11: findings
2 and 11 at the door, 8's incident-API half, 12, and the intake figures).

* **input validation** — every human field (title, each plan locale's note, components, severity,
  request id) × control characters (C0, C1, every ANSI escape form), bidi embeddings, overrides and
  isolates, noncharacters, lone surrogates, line separators and oversize, through the real incident
  API handler on moto and through the CLI: each is refused with a 4xx naming the field (the CLI
  before any call, with the same words), nothing is stored; decomposed text is stored in NFC. Text
  AWS sends (Incident Manager timeline data and titles, the runbook title, alarm reasons) cannot be
  refused, so it must come out clean.
* **intake fuzz** — seeded bodies (documented events bent out of shape, junk, deep nesting, huge
  strings; 10,000 at full scale) through the real intake handler on moto: 0 crashes (an escaping
  exception or a failed record) and 0 events lost (every one applied, or archived with a reason).
* **duplicate replay** — the same event ×1,000, the same state change under new EventBridge ids,
  the same API request id and the same workflow hand-off, repeatedly: exactly one incident, one
  execution, one announcement; a waiting execution is resumed once.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "intake"))
sys.path.insert(0, str(ROOT / "lambdas"))

from intake_fuzz_cases import fuzz_bodies  # noqa: E402
from intake_harness import (  # noqa: E402
    ACCOUNT,
    FakeContext,
    IntakeWorld,
    batches,
    create_world,
    example_plan,
    load_event,
    set_environment,
    sqs_batch,
)

set_environment()

from handlers.incident_api import handler as api_handler  # noqa: E402
from handlers.intake import handler as intake_handler  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from outage_comms.human_text import forbidden_character  # noqa: E402
from outage_comms.intake.normalise import Rejection, to_signal  # noqa: E402
from outage_comms.intake.runtime import IntakeDependencies  # noqa: E402
from outage_comms.plan import Plan  # noqa: E402
from tests.security.figures import Figures, scaled  # noqa: E402

CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/OutageCommsCommunicationsManager/marina"

#: One representative of every class the door refuses.
UNSAFE = {
    "NUL": "\x00",
    "BEL": "\x07",
    "backspace": "\x08",
    "vertical tab": "\x0b",
    "form feed": "\x0c",
    "ESC": "\x1b",
    "ANSI colour": "\x1b[31m",
    "ANSI clear screen": "\x1b[2J\x1b[H",
    "ANSI OSC 8 hyperlink": "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "ANSI cursor up": "\x1b[1A",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "C1 CSI": "\x9b31m",
    "LRE": "\u202a",
    "RLE": "\u202b",
    "PDF": "\u202c",
    "LRO": "\u202d",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "RLI": "\u2067",
    "FSI": "\u2068",
    "PDI": "\u2069",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "BOM": "\ufeff",
    "U+FFFE": "\ufffe",
    "U+FFFF": "\uffff",
    "U+FDD0": "\ufdd0",
    "U+1FFFE": "\U0001fffe",
    "U+10FFFF": "\U0010ffff",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
}


def human_fields(plan: Plan) -> dict[str, int]:
    """Every text field a person fills in, with its limit (notes: one per plan locale)."""
    from outage_comms.intake.sources.human import ID_LIMIT, NOTE_LIMIT, REQUEST_ID_LIMIT, TITLE_LIMIT

    fields = {
        "title": TITLE_LIMIT,
        "request_id": REQUEST_ID_LIMIT,
        "components": ID_LIMIT,
        "severity": ID_LIMIT,
    }
    fields.update({f"note.{locale}": NOTE_LIMIT for locale in plan.locale_codes})
    return fields


def body_with(plan: Plan, field: str, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "components": [plan.components[0].id],
        "title": "Sign-in is slow",
        "note": {locale: "Some customers cannot sign in." for locale in plan.locale_codes},
    }
    if field.startswith("note."):
        body["note"][field.removeprefix("note.")] = text
    elif field == "components":
        body["components"] = [text]
    else:
        body[field] = text
    return body


def api_event(body: dict[str, Any] | str, incident_id: str | None = None) -> dict[str, Any]:
    path, resource = "/incidents", "/incidents"
    if incident_id is not None:
        path, resource = f"/incidents/{incident_id}/updates", "/incidents/{incident_id}/updates"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"incident_id": incident_id} if incident_id else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "POST",
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "identity": {"userArn": CALLER, "caller": "AROAEXAMPLE:marina", "sourceIp": "203.0.113.9"},
        },
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def call_api(
    dependencies: IntakeDependencies, body: dict[str, Any] | str, incident_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    response = api_handler(
        api_event(body, incident_id),
        FakeContext(function_name="outage-comms-incident-api"),
        dependencies=dependencies,
    )
    return int(response["statusCode"]), json.loads(response["body"])


@pytest.fixture
def world() -> Iterator[IntakeWorld]:
    with mock_aws():
        yield create_world()


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------


def _check_refusal(f: Figures, case: str, field: str, status: int, answer: dict[str, Any]) -> None:
    if status >= 500:
        f.crash(f"{case}: {status} {answer}")
    elif status < 400:
        f.wrong(f"{case}: {status} {answer}")
    elif field.split(".")[0] not in answer.get("message", ""):
        f.wrong(f"{case}: the 4xx does not name the field: {answer}")


def test_every_human_field_refuses_unsafe_and_oversized_text_at_the_api(
    figures: Any, world: IntakeWorld, plan: Plan
) -> None:
    f = figures("input validation")
    dependencies = world.api_dependencies(plan)
    rng = random.Random(2)
    for field, limit in human_fields(plan).items():
        cases = {name: f"Sign-in {char} is slow" for name, char in UNSAFE.items()}
        cases["oversize"] = "x" * (limit + 1)
        cases["oversize after NFC"] = "e\u0301" * (limit + 1)
        for name, text in cases.items():
            f.tried += 1
            status, answer = call_api(dependencies, body_with(plan, field, text))
            _check_refusal(f, f"{field} × {name}", field, status, answer)
        # Random positions and mixtures, so no test passes only for the strings above.
        for _ in range(scaled(ci=5, full=50)):
            chars = rng.sample(sorted(UNSAFE.values()), 2)
            words = ["Sign-in", "is", "slow", "for", "some"]
            words.insert(rng.randrange(len(words) + 1), chars[0])
            words.insert(rng.randrange(len(words) + 1), chars[1])
            f.tried += 1
            status, answer = call_api(dependencies, body_with(plan, field, " ".join(words)))
            _check_refusal(f, f"{field} × {chars!r}", field, status, answer)
    if dependencies.incidents.list_recent():
        f.wrong("an incident was stored from a refused request")
    assert f.clean, f.failure_message()


def test_decomposed_text_is_stored_in_nfc_and_ordinary_text_passes(
    figures: Any, world: IntakeWorld, plan: Plan
) -> None:
    f = figures("input validation")
    dependencies = world.api_dependencies(plan)
    for text in ("Cafe\u0301 e pa\u0303o", "Zu\u0308rich • 東京", "👩🏽‍💻 back ✅", "Linha 1\nLinha 2\tfim"):
        f.tried += 1
        body = body_with(plan, f"note.{plan.locale_codes[0]}", text)
        status, answer = call_api(dependencies, body)
        if status >= 500:
            f.crash(f"{text!r}: {answer}")
            continue
        if status not in (200, 201):
            f.wrong(f"ordinary text refused: {text!r}: {answer}")  # refusing good words is wrong too
            continue
        stored = dependencies.incidents.get(answer["incident_id"]).public_note[plan.locale_codes[0]]
        if stored != unicodedata.normalize("NFC", text):
            f.wrong(f"{text!r} stored as {stored!r}")
    assert f.clean, f.failure_message()


def test_the_cli_refuses_the_same_text_before_calling(figures: Any, plan: Plan) -> None:
    import typer

    from outage_comms_cli.incident_commands import register

    f = figures("input validation")
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    options: list[tuple[str, list[str]]] = []
    for name, char in UNSAFE.items():
        if 0xD800 <= ord(char[0]) <= 0xDFFF:
            continue  # a shell argument cannot carry a lone surrogate (the OS hands the CLI bytes)
        options.append((f"title × {name}", ["--title", f"Sign-in {char} slow"]))
        for locale in plan.locale_codes:
            options.append((f"note.{locale} × {name}", ["--note", f"{locale}=Sign-in {char} slow"]))
    options.append(("title × oversize", ["--title", "t" * 301]))
    options += [(f"note.{c} × oversize", ["--note", f"{c}={'x' * 2001}"]) for c in plan.locale_codes]
    for case, extra in options:
        f.tried += 1
        result = runner.invoke(
            app, ["declare", "-c", plan.components[0].id, "--api-url", "http://127.0.0.1:9/v1", *extra]
        )
        field = case.split(" × ")[0]
        if result.exception and not isinstance(result.exception, SystemExit):
            f.crash(f"{case}: {result.exception!r}")
        elif result.exit_code != 2 or "cannot reach" in result.output:
            f.wrong(f"{case}: exit {result.exit_code}: {result.output[:200]}")
        elif f"'{field}'" not in result.output:
            f.wrong(f"{case}: the refusal does not name the field: {result.output[:200]}")
    assert f.clean, f.failure_message()


def test_text_aws_sends_comes_out_clean(figures: Any, plan: Plan) -> None:
    f = figures("input validation")
    doors: list[tuple[str, dict[str, Any], tuple[str, ...]]] = []
    for name, char in UNSAFE.items():
        timeline = load_event("im_create_timeline_event")
        timeline["detail"]["requestParameters"]["eventData"] = f"Rolled back {char} deploy"
        start = load_event("im_start_incident")
        start["detail"]["requestParameters"]["title"] = f"component:{plan.components[0].id} down {char}"
        runbook = load_event("runbook_input")
        runbook["Title"] = f"Checkout {char} failing"
        alarm = load_event("alarm_metric_alarm")
        alarm["detail"]["state"]["reason"] = f"Threshold {char} crossed"
        doors += [
            (f"timeline × {name}", timeline, ("detail",)),
            (f"start × {name}", start, ("internal_title",)),
        ]
        doors += [
            (f"runbook × {name}", runbook, ("internal_title",)),
            (f"alarm × {name}", alarm, ("detail",)),
        ]
    for case, raw, _ in doors:
        f.tried += 1
        try:
            signal = to_signal(json.loads(json.dumps(raw)), plan)
        except Exception as exc:  # to_signal promises never to raise
            f.crash(f"{case}: {exc!r}")
            continue
        if isinstance(signal, Rejection):
            f.wrong(f"{case}: an AWS event was refused for its text ({signal.code}); it should be cleaned")
            continue
        texts = [signal.internal_title, signal.detail, signal.event_id, *signal.public_note.values()]
        if any(forbidden_character(t) is not None for t in texts):
            f.wrong(f"{case}: {texts!r}")
    assert f.clean, f.failure_message()


# ---------------------------------------------------------------------------------------------
# intake fuzz
# ---------------------------------------------------------------------------------------------


def test_fuzzed_events_never_crash_intake_and_every_rejection_is_archived_with_a_reason(
    figures: Any, world: IntakeWorld, plan: Plan
) -> None:
    f = figures("intake fuzz")
    dependencies = world.dependencies(plan)
    count = scaled(ci=250, full=10_000)
    archived = without_reason = 0
    for index, body in fuzz_bodies(count, seed=11):
        f.tried += 1
        try:
            response = intake_handler(sqs_batch([body]), FakeContext(), dependencies=dependencies)
        except Exception as exc:
            f.crash(f"#{index} {type(exc).__name__}: {body[:120]!r}")
            continue
        if response["batchItemFailures"]:
            f.crash(f"#{index} failed record (would dead-letter without a reason): {body[:120]!r}")
        for message in world.drain(world.rejected_queue_url):
            archived += 1
            reason = message.get("MessageAttributes", {}).get("rejection_reason", {}).get("StringValue", "")
            if len(reason) < 20:
                without_reason += 1
                f.loss(f"#{index} archived without a reason: {body[:120]!r}")
    f.extra.update(
        {
            "events": count,
            "archived_with_reason": archived - without_reason,
            "dead_letters_without_reason": without_reason,
        }
    )
    assert f.clean, f.failure_message()


# ---------------------------------------------------------------------------------------------
# duplicate replay
# ---------------------------------------------------------------------------------------------


class CountingGateway:
    """The real Step Functions gateway, counting what reaches the workflow (each may message customers)."""

    def __init__(self, real: Any) -> None:
        self.real, self.starts, self.deliveries = real, 0, 0

    def start(self, incident: Any) -> str:
        self.starts += 1
        return str(self.real.start(incident))

    def deliver_update(self, token: str, update: Any) -> None:
        self.deliveries += 1


class NoExecution:
    def start(self, incident: Any) -> str:
        return str(incident.id)


def _replay(world: IntakeWorld, dependencies: IntakeDependencies, bodies: list[Any]) -> list[str]:
    crashes = []
    for batch in batches(bodies):
        try:
            response = intake_handler(sqs_batch(batch), FakeContext(), dependencies=dependencies)
        except Exception as exc:
            crashes.append(repr(exc))
            continue
        crashes += [f"failed {item}" for item in response["batchItemFailures"]]
    return crashes


def test_the_same_event_replayed_opens_one_incident_and_announces_once(
    figures: Any, world: IntakeWorld, plan: Plan
) -> None:
    from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

    f = figures("duplicate replay")
    gateway = CountingGateway(StepFunctionsWorkflowGateway(world.state_machine_arn))
    dependencies = world.dependencies(plan, workflow=gateway)
    event = load_event("alarm_metric_alarm")
    times = scaled(ci=40, full=1_000)
    # The same event (same id) x N, then the same state change under N new EventBridge ids
    renamed = []
    for n in range(times):
        again = copy.deepcopy(event)
        again["id"] = str(uuid.UUID(int=n + 1))
        renamed.append(again)
    for label, bodies in (("same id", [event] * times), ("new ids", renamed)):
        f.tried += len(bodies)
        for crash in _replay(world, dependencies, bodies):
            f.crash(f"{label}: {crash}")
    incidents = dependencies.incidents.list_recent(limit=10_000)
    announced = len(world.drain(world.changes_queue_url))
    executions = len(world.executions())
    if len(incidents) != 1:
        f.wrong(f"{len(incidents)} incidents from one state change")
    if executions != 1 or gateway.deliveries:
        f.wrong(f"{executions} executions, {gateway.deliveries} updates for one state change")
    if announced != 1:
        f.wrong(f"{announced} 'Incident Changed' announcements for one state change")
    if world.drain(world.rejected_queue_url):
        f.loss("a replayed duplicate was archived as a failure")
    f.extra.update({"incidents": len(incidents), "executions": executions, "announcements": announced})
    assert f.clean, f.failure_message()


def test_the_same_api_request_and_the_same_handoff_replayed_resume_the_workflow_once(
    figures: Any, world: IntakeWorld, plan: Plan
) -> None:
    f = figures("duplicate replay")
    api = world.api_dependencies(plan)
    gateway = CountingGateway(NoExecution())
    intake = world.dependencies(plan, workflow=gateway)
    times = scaled(ci=20, full=200)
    declare = body_with(plan, "title", "Sign-in is slow")
    answers = set()
    for _ in range(times):
        f.tried += 1
        status, answer = call_api(api, declare)
        if status >= 500:
            f.crash(str(answer))
        answers.add(answer.get("incident_id"))
    handoffs = [m["Body"] for m in world.drain(world.intake_queue_url)]
    incident_id = next(iter(answers))
    # The execution now waits; one person's update is posted N times (same request id) and its
    # hand-off delivered N times (SQS is at-least-once)
    api.incidents.set_update_token(incident_id, "waiting-task-token")
    update = {
        "request_id": "update-1",
        "status": "identified",
        "note": {plan.locale_codes[0]: "Fix deployed"},
    }
    for _ in range(times):
        f.tried += 1
        status, answer = call_api(api, update, incident_id)
        if status >= 500:
            f.crash(str(answer))
    handoffs += [m["Body"] for m in world.drain(world.intake_queue_url)]
    handoffs += handoffs[-1:] * times
    for crash in _replay(world, intake, handoffs):
        f.crash(crash)
    if len(answers) != 1 or len(api.incidents.list_recent()) != 1:
        f.wrong(f"{len(answers)} incident ids from one request id")
    if gateway.starts != 1 or gateway.deliveries != 1:
        f.wrong(
            f"{gateway.starts} starts and {gateway.deliveries} resumptions for one declaration and one update"
        )
    f.extra.update({"starts": gateway.starts, "resumptions": gateway.deliveries})
    assert f.clean, f.failure_message()
