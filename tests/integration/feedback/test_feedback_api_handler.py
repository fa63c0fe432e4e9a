"""The feedback API handler, through API Gateway proxy events, on moto (DynamoDB + Secrets Manager)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from feedback_tables import put_update

from outage_comms.feedback import runtime
from outage_comms.feedback.store import DynamoFeedbackStore
from outage_comms.vocabulary import Channel, Scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
INCIDENT = "inc-20261127-1405-3fa2c1"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@pytest.fixture
def feedback_api() -> Any:
    import handlers.feedback_api as module  # the Lambda asset's layout: lambdas/ is the task root

    return module


class Context(LambdaContext):
    function_name = "feedback-api"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:feedback-api"
    aws_request_id = "req-1"


@pytest.fixture
def deployed(feedback_table: str, workflow_table: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secret_arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=f"feedback-key-{feedback_table}", SecretString="s" * 64
    )["ARN"]
    environment = {
        "FEEDBACK_TABLE": feedback_table,
        "FEEDBACK_SECRET_ARN": secret_arn,
        "FEEDBACK_BASE_URL": "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1/",
        "WORKFLOW_TABLE": workflow_table,
        "PLAN_PATH": str(ROOT / "plans" / "example.yaml"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    put_update(workflow_table, INCIDENT, "002-identified")
    return environment


def link(channel: Channel = Channel.EMAIL, locale: str = "en", update_id: str = "002-identified") -> str:
    linker = runtime.feedback_linker()
    assert linker is not None
    return linker.urls(
        incident_id=INCIDENT,
        update_id=update_id,
        channel=channel,
        locale=locale,
        scenario=Scenario.IDENTIFIED,
        now=datetime.now(UTC),
    ).yes


def event(
    url_or_path: str, method: str = "GET", body: str | None = None, ip: str = "198.51.100.7"
) -> dict[str, Any]:
    path = "/" + url_or_path.split("/v1/", 1)[-1].lstrip("/")
    parts = path.strip("/").split("/")
    headers = {"User-Agent": BROWSER, "Accept": "text/html"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    resource = "/f/{token}/{action}" if len(parts) == 3 else "/f/{token}"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "pathParameters": {"token": parts[1], "action": parts[2]}
        if len(parts) == 3
        else {"token": parts[1]}
        if len(parts) == 2
        else None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "v1",
            "requestId": "r-1",
            "identity": {"sourceIp": ip, "userAgent": BROWSER},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def metrics_in(output: str) -> list[dict[str, Any]]:
    found = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    found.append(
                        {"name": metric["Name"], **{d: document[d] for d in directive["Dimensions"][0]}}
                    )
    return found


def test_a_click_counts_thanks_and_emits_the_vote_metric(
    feedback_api: Any, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    response = feedback_api.handler(event(link(Channel.SMS, "pt-BR").replace("/y", "/n")), Context())
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "Obrigado pela resposta" in response["body"]
    votes = [m for m in metrics_in(capsys.readouterr().out) if m["name"] == "FeedbackVotes"]
    assert votes == [{"name": "FeedbackVotes", "vote": "no", "channel": "sms", "service": "feedback-api"}]
    store = DynamoFeedbackStore.named(deployed["FEEDBACK_TABLE"])
    assert store.counts(INCIDENT)["by_channel"] == {"sms": {"yes": 0, "no": 1, "comments": 0}}


def test_a_replay_forgery_and_unknown_update_are_refused_with_reasons(
    feedback_api: Any, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = link()
    assert feedback_api.handler(event(url), Context())["statusCode"] == 200
    assert feedback_api.handler(event(url), Context())["statusCode"] == 409
    token = url.split("/")[-2]
    forged = url.replace(token, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert feedback_api.handler(event(forged), Context())["statusCode"] == 403
    assert feedback_api.handler(event(link(update_id="007-identified")), Context())["statusCode"] == 404
    assert feedback_api.handler(event("/nothing/here"), Context())["statusCode"] == 404
    refused = [m["reason"] for m in metrics_in(capsys.readouterr().out) if m["name"] == "FeedbackRefused"]
    assert refused == ["replay", "forged", "unknown_update", "not_found"]
    assert DynamoFeedbackStore.named(deployed["FEEDBACK_TABLE"]).counts(INCIDENT)["yes"] == 1


def test_the_comment_form_posts_back_and_is_stored(feedback_api: Any, deployed: dict[str, str]) -> None:
    url = link()
    page = feedback_api.handler(event(url), Context())["body"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf and 'action="comment"' in page
    comment_path = url.rsplit("/", 1)[0] + "/comment"
    body = urlencode({"csrf": csrf.group(1), "comment": "Tell us which features <b>work</b>."})
    response = feedback_api.handler(event(comment_path, "POST", body), Context())
    assert response["statusCode"] == 200 and "Thank you for your comment" in response["body"]
    (comment,) = DynamoFeedbackStore.named(deployed["FEEDBACK_TABLE"]).comments(INCIDENT)
    assert comment.text == "Tell us which features <b>work</b>." and comment.vote == "yes"
    bad = urlencode({"csrf": "forged", "comment": "spam"})
    assert feedback_api.handler(event(comment_path, "POST", bad), Context())["statusCode"] == 403


def test_render_gets_no_linker_without_a_base_url(
    deployed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runtime.feedback_linker() is not None
    runtime.feedback_linker.cache_clear()
    monkeypatch.delenv("FEEDBACK_BASE_URL")
    assert runtime.feedback_linker() is None


def test_the_compact_forms_answer_page_counts_a_button_press_once(
    feedback_api: Any, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the one link of an SMS too short for two: .../f/<token> (one tap to open, one to answer)
    page_url = link(Channel.SMS, "pt-BR").rsplit("/", 1)[0]
    shown = feedback_api.handler(event(page_url), Context())
    assert shown["statusCode"] == 200 and 'name="vote" value="no"' in shown["body"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', shown["body"])
    assert csrf
    # When the customer presses "Não", then presses it again
    body = urlencode({"vote": "no", "csrf": csrf.group(1)})
    first = feedback_api.handler(event(page_url, "POST", body), Context())
    second = feedback_api.handler(event(page_url, "POST", body), Context())
    forged = feedback_api.handler(
        event(page_url, "POST", urlencode({"vote": "yes", "csrf": "x"}), ip="203.0.113.9"), Context()
    )
    # Then one answer counts, in the link's channel and locale; the rest are refused with reasons
    assert (first["statusCode"], second["statusCode"], forged["statusCode"]) == (200, 409, 403)
    counts = DynamoFeedbackStore.named(deployed["FEEDBACK_TABLE"]).counts(INCIDENT)
    assert (counts["yes"], counts["no"]) == (0, 1)
    assert counts["by_channel"] == {"sms": {"yes": 0, "no": 1, "comments": 0}}
    assert counts["by_locale"] == {"pt-BR": {"yes": 0, "no": 1, "comments": 0}}
    emitted = [{k: v for k, v in m.items() if k != "service"} for m in metrics_in(capsys.readouterr().out)]
    assert {"name": "FeedbackVotes", "vote": "no", "channel": "sms"} in emitted
    assert {"name": "FeedbackRefused", "reason": "replay"} in emitted
    assert {"name": "FeedbackRefused", "reason": "csrf"} in emitted


def test_each_email_recipient_answers_once_with_their_own_link(
    feedback_api: Any, deployed: dict[str, str]
) -> None:
    from outage_comms.channels import personalise
    from outage_comms.channels.email import EmailSender, email_contents
    from outage_comms.channels.personalise import RecipientLinks
    from outage_comms.feedback.messages import feedback_line
    from outage_comms.plan import load_plan
    from outage_comms.subscribers.store import Member
    from outage_comms.subscribers.tokens import TokenSigner

    # Given an email update carrying the update's shared link, sent by the deliver function
    # (FEEDBACK_SECRET_ARN set, as the workflow stack sets it)
    personalise._feedback_signer.cache_clear()
    plan = load_plan(ROOT / "plans" / "example.yaml")
    linker = runtime.feedback_linker()
    assert linker is not None
    urls = linker.urls(
        incident_id=INCIDENT,
        update_id="002-identified",
        channel=Channel.EMAIL,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=datetime.now(UTC),
    )
    shared = urls.yes.split("/")[-2]
    body = f"We found the cause.\n\n{feedback_line('en', urls)}"
    assert plan.channels.email is not None
    sender = EmailSender(
        client=None,
        settings=plan.channels.email,
        contents=email_contents(plan, {"en": {"subject": "Update", "body": body}}, {}),
        links=RecipientLinks(
            signer=TokenSigner(b"t" * 32),
            unsubscribe_base="https://api.example/v1/unsubscribe",
            incident_id=INCIDENT,
        ),
        default_locale="en",
        incident_id=INCIDENT,
    )
    texts = [
        sender.request(Member(id=f"email-{n}", channel="email", address=f"p{n}@example.com", locale="en"))[
            "Content"
        ]["Simple"]["Body"]["Text"]["Data"]
        for n in range(3)
    ]
    yes_links = [re.findall(r"https://\S+/f/[A-Za-z0-9_-]+/y", text)[0] for text in texts]
    assert len(set(yes_links)) == 3 and shared not in "".join(texts)
    # When all three answer from one office network, and each forwards their link to 5 others
    statuses = [
        feedback_api.handler(event(url, ip="198.51.100.7"), Context())["statusCode"] for url in yes_links
    ]
    replays = [
        feedback_api.handler(event(url, ip=f"203.0.113.{n}"), Context())["statusCode"]
        for url in yes_links
        for n in range(5)
    ]
    # Then three answers count: one per recipient, none for the forwards
    assert statuses == [200, 200, 200] and set(replays) == {409}
    assert DynamoFeedbackStore.named(deployed["FEEDBACK_TABLE"]).counts(INCIDENT)["yes"] == 3
