"""Every link the status site or a message points to on the status domain lands on an object that exists
(issue 14.5), through the edge's real URL rewrite (the CloudFront function, run in Node); the
publisher's state is never served."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from outage_comms.drill_mode import drill_site_plan
from outage_comms.plan import Plan
from outage_comms.rendering import UpdateFacts, build_context
from outage_comms.status import build_site
from outage_comms.status.publisher import MemoryStateStore, StatusPublisher
from outage_comms.status.site import Artefact, SiteOptions
from tests.status_site_fixtures import NOW, all_kinds, example_plan, major_outage

pytestmark = pytest.mark.unit
NODE = shutil.which("node")


def url_rewrite(paths: list[str]) -> list[dict[str, Any]]:
    """What the status site's viewer-request function answers for each path (Node runs the real code)."""
    from outage_comms_cdk.constructs.status_site import URL_REWRITE

    script = (
        URL_REWRITE
        + "\nconst paths = JSON.parse(process.argv[1]);"
        + "\nconsole.log(JSON.stringify(paths.map(uri => handler({request: {uri}}))));"
    )
    out = subprocess.run(
        [NODE or "node", "-e", script, json.dumps(paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return list(json.loads(out.stdout))


def object_key(response: dict[str, Any]) -> str | None:
    return response["uri"].lstrip("/") if "uri" in response else None


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return example_plan()


@pytest.mark.skipif(NODE is None, reason="Node.js runs the CloudFront function (CDK needs it anyway)")
def test_every_link_of_every_page_lands_on_a_published_object(plan: Plan) -> None:
    site = build_site(plan, all_kinds(), now=NOW)
    base = plan.organization.status_page_url.rstrip("/") + "/"
    wanted: dict[str, str] = {}
    for key, artefact in site.items():
        if not key.endswith(".html"):
            continue
        parser = Links()
        parser.feed(artefact.body.decode())
        for link in parser.found:
            absolute = urljoin(base + key, link)
            if absolute.startswith(base) and not urlsplit(absolute).path.startswith("/api/"):
                wanted[urlsplit(absolute).path] = key
    # the generic links a message carries, on the public site and the drill's
    drill = drill_site_plan(plan)
    for each in (plan, drill):
        links = build_context(
            each,
            UpdateFacts(
                component_ids=["sync"],
                severity_id="sev1",
                impact={},
                started_at=NOW,
                now=NOW,
                incident_id=major_outage().id,
            ),
            "en",
        )["links"]
        for name in ("status", "incident", "unsubscribe"):
            wanted[urlsplit(links[name]).path or "/"] = f"message link {name}"
    drilled = major_outage().model_copy(update={"drill": True})
    drill_keys = {plan.drill.status_prefix + key for key in build_site(drill, [drilled], now=NOW)}
    responses = url_rewrite(sorted(wanted))
    for path, response in zip(sorted(wanted), responses, strict=True):
        key = object_key(response)
        assert key in site or key in drill_keys, f"{path} (from {wanted[path]}) -> {response}"


@pytest.mark.skipif(NODE is None, reason="Node.js runs the CloudFront function (CDK needs it anyway)")
def test_the_publisher_state_is_never_served() -> None:
    [response] = url_rewrite(["/_publisher/state.json.gz"])
    assert response["statusCode"] == 404


def test_a_drill_publish_writes_its_unsubscribe_page_under_the_drill_prefix(plan: Plan) -> None:
    class Sink:
        def __init__(self) -> None:
            self.objects: dict[str, Artefact] = {}

        def etags(self) -> dict[str, str]:
            return {}

        def put_object(self, key: str, artefact: Artefact) -> None:
            self.objects[key] = artefact

        def invalidate(self, paths: list[str]) -> None:
            return None

    drill = major_outage().model_copy(update={"drill": True})

    class One:
        def get(self, incident_id: str) -> Any:
            return drill

        def list_recent(self, limit: int = 100) -> list[Any]:
            return [drill]

    sink = Sink()
    StatusPublisher(
        plan=plan,
        incidents=One(),  # type: ignore[arg-type]
        sink=sink,  # type: ignore[arg-type]
        options=SiteOptions(),
        clock=lambda: NOW,
        state_store=MemoryStateStore(),
    ).publish(drill.id)
    assert f"{plan.drill.status_prefix}unsubscribe/index.html" in sink.objects
    assert not any(not key.startswith(plan.drill.status_prefix) for key in sink.objects)
    page = sink.objects[f"{plan.drill.status_prefix}unsubscribe/index.html"].body.decode()
    assert re.search(r"<h1>[^<]+</h1>", page)
