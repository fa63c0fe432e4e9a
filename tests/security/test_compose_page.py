"""Security proofs of the compose page, equal to the review page's (issue 15): forged, expired, replayed
and cross-incident links, review links used as compose links (and back), callers who are not the plan's
managers, CSRF, GET never posts; the page fuzzed (only 2xx/4xx); people's words never run in Chromium.

Every attempt runs against the incident API's real intake path on moto (tables, idempotency, hand-off
queue): "posted" means the stored incident changed or a hand-off reached the intake queue.
"""

from __future__ import annotations

import base64
import functools
import json
import random
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from outage_comms.compose.page import ComposeResponse
from outage_comms.workflow.approval import Reference, ReviewSigner
from outage_comms.workflow.approval_store import InMemoryApprovalStore
from outage_comms.workflow.review import ReviewRequest, handle_review
from outage_comms.workflow.store import InMemoryWorkflowStore
from tests.security.figures import scaled
from tests.unit.compose.compose_kit import (
    COMMS,
    DEPUTY,
    LINK_MINUTES,
    NOW,
    STRANGER,
    ComposeWorld,
    compose_world,
)

OTHER_INCIDENT = "inc-20261127-1405-def456"


@pytest.fixture
def world() -> Iterator[ComposeWorld]:
    with compose_world() as made:
        yield made


def _posted(world: ComposeWorld, version: int) -> str | None:
    """What reached the incident or the workflow since ``version`` (None: nothing)."""
    handoffs = world.handoffs()
    now = world.incident().version
    if now != version or handoffs:
        return f"incident v{version} -> v{now}, {len(handoffs)} hand-off(s)"
    return None


def _forged(world: ComposeWorld, count: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    genuine = world.reference
    payload, mac = genuine.split(".")
    expires = int(NOW.timestamp()) + LINK_MINUTES * 60
    other_key = ReviewSigner(b"x" * 48)
    makers: list[Callable[[], tuple[str, str]]] = [
        lambda: ("random", secrets.token_urlsafe(rng.randint(0, 120))),
        lambda: ("other key", other_key.sign(Reference("compose:abc", world.incident_id, expires))),
        lambda: ("tampered mac", f"{payload}.{mac[:-3]}{''.join(rng.choices('ABCxyz019_-', k=3))}"),
        lambda: (
            "longer expiry",
            base64.urlsafe_b64encode(
                json.dumps({"r": "compose:abc", "i": world.incident_id, "e": expires + 86400}).encode()
            )
            .decode()
            .rstrip("=")
            + "."
            + mac,
        ),
        lambda: ("truncated", genuine[: rng.randint(0, len(genuine) - 1)]),
        lambda: ("non-ascii", genuine + rng.choice(["é", "\u202e", "\x00", "😀"])),
        # a genuine review link (same key, no compose: prefix) is not a compose link
        lambda: ("review link", world.signer.sign(Reference("req-1", world.incident_id, expires))),
    ]
    for i in range(count):
        yield makers[i % len(makers)]()


def test_forged_expired_replayed_foreign_links_and_bad_callers_never_post(
    world: ComposeWorld, figures: Any
) -> None:
    f, rng = figures("approval"), random.Random(15)
    version = world.incident().version
    genuine = world.form("post", **{"note:en": "A genuine update."})
    attempts: list[tuple[str, Callable[[], ComposeResponse]]] = []
    for kind, reference in _forged(world, scaled(ci=70, full=1400), rng):
        attempts.append(
            (f"forged {kind}", functools.partial(world.call, "POST", COMMS, genuine, reference=reference))
        )
    for minutes in (LINK_MINUTES, LINK_MINUTES + 1, 60 * 24, 60 * 24 * 30):
        later = NOW + timedelta(minutes=minutes)
        attempts.append(
            (f"expired +{minutes}m", functools.partial(world.call, "POST", COMMS, genuine, now=later))
        )
    other = world.new_reference(incident_id=OTHER_INCIDENT)  # signed, but for another incident
    attempts.append(
        (
            "cross-incident path",
            functools.partial(world.call, "POST", COMMS, genuine, incident=OTHER_INCIDENT),
        )
    )
    attempts.append(
        ("other incident's link", functools.partial(world.call, "POST", COMMS, genuine, reference=other))
    )
    attempts.append(
        (
            "other incident's link and path",
            functools.partial(world.call, "POST", COMMS, genuine, reference=other, incident=OTHER_INCIDENT),
        )
    )
    for caller in (STRANGER, "", None, "arn:aws:iam::999999999999:role/OutageCommsCommunicationsManager"):
        attempts.append((f"not a manager {caller!r}", functools.partial(world.call, "POST", caller, genuine)))
    deputy_token = world.signer.csrf_token(
        "compose:x", "arn:aws:iam::111122223333:role/OutageCommsCommunicationsDeputy", "0" * 64
    )
    for csrf in ("", "x", genuine["csrf"][:-1] + "A", deputy_token, "é" * 108):
        attempts.append(
            (
                f"bad csrf {csrf[:20]!r}",
                functools.partial(world.call, "POST", COMMS, genuine | {"csrf": csrf}),
            )
        )
    # the deputy's page token is bound to the deputy: the manager cannot post with it, nor the reverse
    attempts.append(("another person's form", functools.partial(world.call, "POST", DEPUTY, genuine)))
    # GET never posts, whatever the request carries
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        attempts.append(
            (f"{method} with a genuine form", functools.partial(world.call, method, COMMS, genuine))
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
        elif (label.startswith("GET") and response.status != 200) or (
            not label.startswith("GET") and response.status < 400
        ):
            f.wrong(f"{label}: {response.status}")
        posted = _posted(world, version)
        if posted:
            f.wrong(f"{label}: {posted}")
            version = world.incident().version
    # replayed: one genuine post, then the same form (and freshly loaded forms of the same link) again
    assert world.call("POST", COMMS, genuine).status == 200
    version = world.incident().version
    world.handoffs()
    for i in range(scaled(ci=10, full=100)):
        f.tried += 1
        caller = COMMS if i % 4 < 2 else DEPUTY
        form = world.form("post", **{"note:en": f"Replay {i}."}) if i % 2 else genuine  # fresh or used
        response = world.call("POST", caller, form)
        posted = _posted(world, version)
        if response.status < 400 or posted:
            f.wrong(f"replay {i} by {caller[-6:]}: {response.status}, {posted}")
    f.extra["replays_posted"] = world.incident().version - version
    assert f.clean, f.failure_message()


def test_a_compose_link_opens_no_review_page(world: ComposeWorld, figures: Any) -> None:
    """The same key signs both links: the review page finds no approval request for a compose link."""
    f = figures("approval")
    approvals = InMemoryApprovalStore()
    for method in ("GET", "POST"):
        f.tried += 1
        response = handle_review(
            ReviewRequest(method, world.incident_id, world.reference, COMMS, {"decision": "approve"}),
            plan=world.plan,
            store=InMemoryWorkflowStore(),
            approvals=approvals,
            signer=world.signer,
            send_task_success=lambda _t, _o: f.wrong("a compose link decided an approval"),
            now=NOW,
        )
        if response.status != 404:
            f.wrong(f"{method}: {response.status}")
    assert f.clean, f.failure_message()


# -- the compose page, fuzzed: only 2xx / 4xx ----------------------------------------------------------

_texts = st.one_of(
    st.text(max_size=60), st.sampled_from(["", "post", "preview", "resolve", "\x00", "é€", "%ff"])
)
_values = st.one_of(st.none(), _texts, st.integers(), st.booleans(), st.lists(_texts, max_size=2))
_field_names = st.one_of(
    st.sampled_from(
        [
            "csrf",
            "action",
            "status",
            "scenario",
            "note:en",
            "note:pt-BR",
            "note:xx",
            "component:search",
            "component:nope",
            "cause",
            "fix",
            "impact",
        ]
    ),
    _texts,
)


def test_the_compose_page_never_answers_5xx_to_bad_input(world: ComposeWorld, figures: Any) -> None:
    from urllib.parse import quote

    from handlers.compose_page import handler

    from tests.security.test_approval import _Context

    f = figures("public endpoints")
    version = world.incident().version
    csrf = world.form()["csrf"]

    def quoted(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    @st.composite
    def events(draw: st.DrawFn) -> dict[str, Any]:
        fields = draw(st.lists(st.tuples(_field_names, _texts), max_size=6))
        if draw(st.booleans()):
            fields.append(("csrf", draw(st.sampled_from([csrf, "x", "é"]))))
        body: Any = "&".join(f"{quoted(k)}={quoted(v)}" for k, v in fields)
        body = draw(st.one_of(st.just(body), _values))
        params = draw(
            st.one_of(
                st.just({"incident_id": world.incident_id, "reference": world.reference}),
                st.fixed_dictionaries({"incident_id": _values, "reference": _values}),
                _values,
            )
        )
        return {
            "httpMethod": draw(st.one_of(st.sampled_from(["GET", "POST", "post", "PUT"]), _values)),
            "pathParameters": params,
            "body": body,
            "isBase64Encoded": draw(st.sampled_from([False, True, None])),
            "requestContext": {"identity": {"userArn": draw(st.sampled_from([COMMS, STRANGER, None, 5]))}},
        }

    @settings(
        max_examples=scaled(ci=120, full=3000),
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(event=events())
    def run(event: dict[str, Any]) -> None:
        f.tried += 1
        try:
            response = handler(event, _Context(), dependencies=world.dependencies, signer=world.signer)
        except Exception as error:
            f.crash(f"{type(error).__name__}: {error} for {repr(event)[:200]}")
            return
        if not 200 <= response["statusCode"] < 500:
            f.crash(f"{response['statusCode']} for {repr(event)[:200]}")

    run()
    # the fuzz may post at most through a genuine CSRF token with a genuine action: never twice
    f.extra["versions_moved"] = world.incident().version - version
    if world.incident().version - version > 2:  # one update and one resolve per link, at most
        f.wrong(f"the link posted {world.incident().version - version} times")
    assert f.clean, f.failure_message()


def test_peoples_words_on_the_compose_page_never_run_in_chromium(world: ComposeWorld, figures: Any) -> None:
    from outage_comms.human_text import HumanTextError, check_text
    from tests.security.test_approval import CHROMIUM, CHROMIUM_ARGS, PAYLOADS, _executed, _serve

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (bash scripts/install-system-deps.sh chromium)")
    from playwright.sync_api import sync_playwright

    def accepted(text: str) -> bool:  # the words every door accepts (a bidi override never gets this far)
        try:
            check_text(text, field="note", limit=2000)
        except HumanTextError:
            return False
        return True

    f = figures("approval")
    payloads = [p for p in PAYLOADS if accepted(p)]
    # Given every payload as the words customers were told (they prefill the form and fill the previews)
    joined = "\n".join(payloads)
    posted = world.call("POST", COMMS, world.form("post", **{"note:en": joined, "note:pt-BR": payloads[1]}))
    assert posted.status == 200, posted.body
    page = world.call("GET", reference=world.new_reference())
    assert page.status == 200 and all(str(escape(p)) in page.body for p in payloads)
    served = _serve({"/compose.html": page.body})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for with_csp in (False, True):
                    f.tried += len(payloads)
                    for ran in _executed(browser, f"{served.url}/compose.html?csp={int(with_csp)}", forms=2):
                        f.wrong(f"csp={with_csp}: {ran}")
            finally:
                browser.close()
    finally:
        served.stop()
    assert f.clean, f.failure_message()
