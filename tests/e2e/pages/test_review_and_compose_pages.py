"""The review and compose pages in headless Chromium (desktop and 390 px), served by their real handlers.

A small HTTP server on 127.0.0.1 turns each browser request into the API Gateway proxy event the page's
function receives (the caller's IAM identity as API Gateway would pass it after SigV4) and answers with
the handler's response. The review page shows a real update: every channel and locale of the example
plan, rendered by ``render_update``, behind a dual-approval request; the compose page runs on the
incident API's real intake path on moto. Screenshots go to ``out/screenshots/``.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.unit.compose.compose_kit import COMMS, DEPUTY, ROOT, compose_world

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip(
        "Chromium is not installed (run: bash scripts/install-system-deps.sh chromium); "
        "under CI this test fails instead of skipping",
        allow_module_level=True,
    )
SCREENSHOTS = ROOT / "out" / "screenshots"
PHONE = {"width": 390, "height": 844}
DEPUTY_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy"
DESKTOP = {"width": 1280, "height": 900}


class _Context:
    function_name, memory_limit_in_mb, aws_request_id = "page", 256, "req"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:page"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Served:
    url: str
    caller: list[str]


def _serve(routes: dict[str, Handler], caller: list[str]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """``/incidents/{id}/<route>/{reference}`` -> the route's handler, as API Gateway's proxy event."""

    class Gateway(http.server.BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path).path.strip("/").split("/")
            route = routes.get(parts[2]) if len(parts) == 4 and parts[0] == "incidents" else None
            if route is None:
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else None
            event = {
                "httpMethod": method,
                "path": self.path,
                "pathParameters": {"incident_id": parts[1], "reference": parts[3]},
                "requestContext": {"identity": {"userArn": caller[0]}},
                "body": body,
                "isBase64Encoded": False,
            }
            response = route(event)
            payload = str(response["body"]).encode("utf-8")
            self.send_response(int(response["statusCode"]))
            for name, value in response["headers"].items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class Pages:
    url: str
    caller: list[str]
    review_path: str
    compose_path: str
    gate: Any
    world: Any


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    from handlers.compose_page import handler as compose_handler
    from handlers.workflow_review_page import handler as review_handler

    from outage_comms.compose.links import compose_reference
    from outage_comms.vocabulary import Scenario
    from outage_comms.workflow.approval import Reference, content_hash
    from outage_comms.workflow.updates import render_update
    from tests.security.test_approval import UPDATE, Gate

    now = datetime.now(UTC)
    with compose_world() as world:
        incident = world.incident()
        messages, blocked = render_update(world.plan, incident, Scenario.MAJOR_OUTAGE, now)
        text = {c: {loc: dict(m["fields"]) for loc, m in by.items()} for c, by in messages.items()}
        gate = Gate(world.plan, dual=True, text=text, blocked=blocked)
        gate.store.merge_update(  # the rendered update as the workflow stores it (with its email HTML)
            "inc-20261127-1405-abc123", UPDATE, {"messages": messages, "severity": "sev1"}
        )
        expires = int((now + timedelta(minutes=12)).timestamp())
        gate.approvals.items["req-1"]["expires_at"] = expires  # the request as made now, 12 minutes left
        gate.approvals.approve("req-1", DEPUTY_ROLE, content_hash(text))  # the first of two approvers
        reference = gate.signer.sign(Reference("req-1", "inc-20261127-1405-abc123", expires))
        services = gate.services()
        compose_ref = compose_reference(world.signer, world.incident_id, now=now, minutes=60)
        caller = [COMMS]
        server, url = _serve(
            {
                "review": lambda event: review_handler(event, _Context(), services=services),
                "compose": lambda event: compose_handler(
                    event, _Context(), dependencies=world.dependencies, signer=world.signer
                ),
            },
            caller,
        )
        try:
            yield Pages(
                url,
                caller,
                f"/incidents/inc-20261127-1405-abc123/review/{reference}",
                f"/incidents/{world.incident_id}/compose/{compose_ref}",
                gate,
                world,
            )
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM is not None, "Chromium is required under CI: bash scripts/install-system-deps.sh chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, url: str, viewport: dict[str, int], scheme: str = "light") -> Any:
    page = browser.new_page(viewport=viewport, color_scheme=scheme)
    response = page.goto(url)
    assert response is not None and response.status == 200, response and response.status
    return page


def _layout_problems(page: Any, viewport: dict[str, int]) -> list[str]:
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        problems.append(f"content is {width} px wide in a {viewport['width']} px viewport")
    return problems


def _axe(page: Any) -> list[Any]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


@pytest.mark.parametrize(("viewport", "scheme"), [(PHONE, "light"), (PHONE, "dark"), (DESKTOP, "light")])
def test_the_review_page_fits_the_screen_with_approve_in_view_and_no_axe_violations(
    browser: Any, pages: Pages, viewport: dict[str, int], scheme: str
) -> None:
    page = _open(browser, pages.url + pages.review_path, viewport, scheme)
    try:
        assert _layout_problems(page, viewport) == []
        approve = page.get_by_role("button", name="Approve", exact=True)
        box = approve.bounding_box()
        assert box is not None and box["y"] + box["height"] <= viewport["height"], box
        # every channel is previewed; the email as customers see it, in a frame that runs no script
        assert page.locator("details.channel").count() == len(
            pages.gate.store.get_update("inc-20261127-1405-abc123", "001-major_outage")["messages"]
        )
        assert page.locator("iframe[sandbox='']").count() >= 1
        assert (
            (page.locator(".phone .meter").first.text_content() or "")
            .strip()
            .startswith(("1 part", "2 parts", "3 parts"))
        )
        assert page.get_by_text("Approvals 1 of 2").count() == 1
        assert _axe(page) == []
        name = {"width": "390" if viewport is PHONE else "desktop"}["width"]
        if scheme == "light":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"review-{name}.png"))
    finally:
        page.close()


def test_the_review_page_is_keyboard_usable_and_check_re_renders_edits_without_deciding(
    browser: Any, pages: Pages
) -> None:
    page = _open(browser, pages.url + pages.review_path, PHONE)
    try:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Approve"
        sms = page.locator("#c-sms")
        sms.locator("summary").first.click()
        sms.locator("details.edit summary").first.click()
        box = sms.locator("textarea").first
        box.fill("We are down. Details soon. Ação")  # a non-GSM character: UCS-2
        sms.get_by_role("button", name="Check edits").click()
        page.wait_for_load_state("load")
        assert "We are down. Details soon. Ação" in page.locator("#c-sms .bubble").first.inner_text()
        assert "UCS-2" in page.locator("#c-sms .meter").first.inner_text()
        assert page.locator("#c-sms details.edit[open]").count() >= 1  # the edited message stays open
        assert pages.gate.sent == []  # checked, never decided
        assert _layout_problems(page, PHONE) == []
    finally:
        page.close()


def test_the_compose_page_previews_and_posts_the_next_update(browser: Any, pages: Pages) -> None:
    page = _open(browser, pages.url + pages.compose_path, PHONE)
    try:
        assert _layout_problems(page, PHONE) == []
        assert _axe(page) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "compose-390.png"))
        before = pages.world.incident().version
        page.locator("input[name=status][value=identified]").check()
        page.locator("#note-en").fill("We found the cause and are fixing it.")
        page.locator("form#update").get_by_role("button", name="Preview").click()
        page.wait_for_load_state("load")
        assert "We found the cause and are fixing it" in page.locator("details.channel").first.inner_text()
        assert pages.world.incident().version == before  # a preview posts nothing
        assert _layout_problems(page, PHONE) == [] and _axe(page) == []
        page.locator("form#update").get_by_role("button", name="Post update").click()
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "Update posted"
        incident = pages.world.incident()
        assert incident.version == before + 1 and incident.status == "identified"
        assert incident.public_note["en"] == "We found the cause and are fixing it."
        assert [h["outage_comms_handoff"] for h in pages.world.handoffs()] == ["update"]
    finally:
        page.close()


def test_the_compose_page_on_a_desktop(browser: Any, pages: Pages) -> None:
    page = _open(browser, pages.url + pages.compose_path, DESKTOP, "dark")
    try:
        assert _layout_problems(page, DESKTOP) == [] and _axe(page) == []
        page.screenshot(path=str(SCREENSHOTS / "compose-desktop.png"))
    finally:
        page.close()


__all__ = ["DEPUTY"]
