"""The status page's subscribe form, end to end, in Chromium against the embedded deployment (issue 12, 7).

The app is synthesized by ``app.py`` and deployed into moto with the status stack. The status publisher
(the deployed function) writes the site into the status bucket; a small router on 127.0.0.1 does what
the synthesized CloudFront distribution does: objects from the status bucket for every path (the
viewer-request rewrite ``/`` -> ``index.html``), and for the ``/api/*`` behaviour the request goes to the
real subscribe handler as API Gateway's proxy event, with the path rewritten, the origin path (stage)
and only the headers of the synthesized origin request policy forwarded. Chromium fills the form with
JavaScript on and off, at desktop width and 390 px; each submission must leave a pending subscriber in
the subscribers table and a confirmation email in SES, and the page must say so.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from outage_comms.subscribers.store import Subscriber, SubscriberStore, subscriber_id
from outage_comms_embedded import EmbeddedAws, synthesize_app
from tests.e2e.status.test_status_page_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
CHECK_INBOX = "If the address can receive our updates, a confirmation is on its way."


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")
    cdk_out = Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("sub-cdk.out"), EXAMPLE_PLAN)
    with EmbeddedAws(cdk_out, with_status_site=True) as embedded:
        yield embedded


def _api_route(aws: EmbeddedAws) -> dict[str, Any]:
    """The synthesized ``/api/*`` behaviour: its origin path and the headers its policy forwards."""
    for template in aws.templates.values():
        resources = template["Resources"]
        for resource in resources.values():
            if resource["Type"] != "AWS::CloudFront::Distribution":
                continue
            config = resource["Properties"]["DistributionConfig"]
            (behaviour,) = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == "/api/*"]
            origin = next(o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])
            policy = resources[behaviour["OriginRequestPolicyId"]["Ref"]]["Properties"]
            headers = policy["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
            assert "POST" in behaviour["AllowedMethods"]
            return {"origin_path": origin["OriginPath"], "headers": {h.lower() for h in headers}}
    raise AssertionError("the synthesized distribution has no /api/* behaviour")


def _proxy_event(method: str, path: str, headers: dict[str, str], body: str, stage: str) -> dict[str, Any]:
    """API Gateway (REST, Lambda proxy) event, as the ``/subscriptions`` resource would get it."""
    query = urlsplit(path).query
    resource = urlsplit(path).path
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p) or None
    return {
        "resource": resource,
        "path": resource,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{resource}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "embedded",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def status_url(aws: EmbeddedAws) -> Iterator[str]:
    published = aws.invoke(aws.function_name("publish_status"), {})
    assert "errorType" not in published, published
    objects = aws.status_objects()
    assert "index.html" in objects and "assets/subscribe.js" in objects, sorted(objects)[:20]
    route = _api_route(aws)
    subscribe_function = aws.function_name("subscribe_api")

    class Router(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            key = urlsplit(self.path).path.lstrip("/")
            key = key + "index.html" if key == "" or key.endswith("/") else key
            body = aws.status_objects().get(key)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            kind = "text/html" if key.endswith(".html") else "text/css" if key.endswith(".css") else ""
            kind = kind or ("text/javascript" if key.endswith(".js") else "application/octet-stream")
            self.send_response(200)
            self.send_header("Content-Type", kind + "; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if not self.path.startswith("/api/"):
                self.send_response(403)  # the default (S3) behaviour allows GET/HEAD/OPTIONS only
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            forwarded = {k: v for k, v in self.headers.items() if k.lower() in route["headers"]}
            path = self.path.removeprefix("/api")  # the synthesized viewer-request function
            stage = route["origin_path"].strip("/")
            answer = aws.invoke(subscribe_function, _proxy_event("POST", path, forwarded, body, stage))
            self.send_response(int(answer["statusCode"]))
            for name, value in (answer.get("headers") or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(str(answer.get("body") or "").encode("utf-8"))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _pending(aws: EmbeddedAws, address: str) -> Subscriber | None:
    store = SubscriberStore.named(aws.physical_id("AWS::DynamoDB::Table", contains="Subscribers"))
    return store.get(subscriber_id("email", address))


def _confirmation_sent(aws: EmbeddedAws, address: str) -> bool:
    return any(address in list(m.destinations.get("ToAddresses", [])) for m in aws.sent_emails())


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "390px"])
def test_the_subscribe_form_creates_a_pending_subscription_and_sends_the_confirmation(
    aws: EmbeddedAws, status_url: str, browser: Any, javascript: bool, width: int
) -> None:
    address = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(status_url + "/")
        form = page.locator("form.sub")
        assert form.get_attribute("action") == "/api/subscriptions"
        page.fill("#email", address)
        assert page.locator("#email").bounding_box()["width"] <= width  # type: ignore[index]
        page.locator("form.sub button[type=submit]").click()
        if javascript:
            message = page.locator("form.sub .sub-msg")
            message.wait_for(state="visible", timeout=15_000)
            assert CHECK_INBOX in message.inner_text()
            assert page.url.rstrip("/") == status_url  # stayed on the status page
        else:
            page.wait_for_url("**/api/subscriptions", timeout=15_000)
            assert CHECK_INBOX in page.locator("body").inner_text()
            page.get_by_role("link", name="Back to the status page").click()
            page.wait_for_url(status_url + "/")
        item = _pending(aws, address)
        assert item is not None and item.status == "pending", item
        assert item.locale == "en" and item.channel == "email"
        aws.wait_until(lambda: _confirmation_sent(aws, address), what="confirmation email", timeout=15)
    finally:
        context.close()


def test_a_text_plain_cross_site_post_is_refused(aws: EmbeddedAws, status_url: str) -> None:
    import urllib.error
    import urllib.request

    address = f"forged-{uuid.uuid4().hex[:8]}@example.org"
    body = json.dumps({"channel": "email", "address": address, "locale": "en"}).encode()
    request = urllib.request.Request(
        status_url + "/api/subscriptions", data=body, headers={"Content-Type": "text/plain"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 400
    assert "application/json" in refused.value.read().decode()
    assert _pending(aws, address) is None
