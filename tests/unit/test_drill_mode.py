"""Drill mode: every drill message is marked (and fits its channel); drills and real incidents never mix."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from outage_comms.channels.base import ChannelPermanentError, Delivery, DeliveryResult
from outage_comms.drill_mode import (
    AUDIENCE,
    DRILL,
    DRILL_TARGETS,
    INJECTED_FAILURE,
    INTERNAL,
    NO_DRILL_TARGET,
    NO_MARKER,
    PUBLIC,
    PUBLIC_TARGET,
    SECRET,
    TOPIC,
    DrillAudience,
    Reach,
    drill_adapters,
    drill_marker,
    drill_web_plan,
    reach_for,
)
from outage_comms.guard import sms_size
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.plan import Plan, load_plan
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import CHANNEL_FORMAT, Channel, MessageFormat, Scenario
from outage_comms.workflow import steps
from outage_comms.workflow.updates import render_update

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
PRINCIPAL = "arn:aws:sts::111122223333:assumed-role/OutageCommsIncidentManager/priya"
EVENTS = ROOT / "tests" / "fixtures" / "events"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def declare(component: str, *, drill: bool, request_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": "declare",
        "request_id": request_id,
        "principal": PRINCIPAL,
        "components": [component],
        "severity": "sev2",
        "note": {"en": "Some customers cannot open notes", "pt-BR": "Alguns clientes não abrem as notas"},
        "at": "2026-11-27T14:05:00Z",
        "drill": drill,
        **extra,
    }


def signal_of(plan: Plan, raw: dict[str, Any]) -> Signal:
    result = to_signal(raw, plan, received_at=NOW)
    assert isinstance(result, Signal), result
    return result


def opened(plan: Plan, raw: dict[str, Any]) -> Incident:
    decision = decide(signal_of(plan, raw), {}, plan, NOW)
    assert decision.kind == "open" and decision.incident is not None
    return decision.incident


def alarm(*, drill: bool, event_id: str = "e-1", arn_suffix: str = "sync-write-errors") -> dict[str, Any]:
    event = json.loads((EVENTS / "alarm_metric_alarm.json").read_text())
    event["id"] = event_id
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{arn_suffix}"]
    event["detail"]["alarmName"] = arn_suffix
    if drill:
        event["detail"]["alarmTags"] = {"outage-comms-drill": "true"}
    return event


# ---------------------------------------------------------------------------------------------
# Marking: every format, both locales, still within the guard
# ---------------------------------------------------------------------------------------------

LEAD_FIELD = {
    MessageFormat.SNS: "subject",
    MessageFormat.EMAIL: "subject",
    MessageFormat.SMS: "body",
    MessageFormat.VOICE: "body",
    MessageFormat.PUSH: "title",
    MessageFormat.IN_APP: "title",
    MessageFormat.CHAT: "title",
    MessageFormat.SOCIAL: "body",
    MessageFormat.WEBHOOK: "title",
    MessageFormat.SUPPORT: "title",
    MessageFormat.STATUS_PAGE: "title",
}
SPOKEN = {"en": "This is a drill.", "pt-BR": "Isto é uma simulação."}


#: The post-incident summary renders from facts the summary step supplies (not an incident's alone).
RENDERED_FROM_AN_INCIDENT = [s for s in Scenario if s is not Scenario.POST_INCIDENT_SUMMARY]


@pytest.mark.parametrize("scenario", RENDERED_FROM_AN_INCIDENT)
def test_every_drill_message_starts_with_the_marker_and_passes_the_guard(
    plan: Plan, scenario: Scenario
) -> None:
    real = opened(plan, declare("sync", drill=False, request_id=f"real-{scenario.value}"))
    drill = real.model_copy(update={"drill": True})
    real_messages, real_blocked = render_update(plan, real, scenario, NOW)
    messages, blocked = render_update(plan, drill, scenario, NOW)
    # Links lead to the drill page (tested below); compare the words with the public page's links.
    drill_page = plan.organization.status_page_url.rstrip("/") + "/drill"
    messages = json.loads(
        json.dumps(messages).replace(drill_page, plan.organization.status_page_url.rstrip("/"))
    )
    # The marker never pushes a message over its channel's limits (SMS parts, push, social, subjects)
    assert blocked == real_blocked == []
    assert set(messages) == set(real_messages) == {c.value for c in plan.channels_for(scenario)}
    shortened: list[str] = []
    for channel_name, by_locale in messages.items():
        fmt = CHANNEL_FORMAT[Channel(channel_name)]
        assert set(by_locale) == {"en", "pt-BR"}
        for locale, record in by_locale.items():
            lead = LEAD_FIELD[fmt]
            expected = SPOKEN[locale] if fmt is MessageFormat.VOICE else plan.drill.marker[locale]
            assert record["fields"][lead].startswith(expected + " "), (channel_name, locale)
            # only the lead field changes: the rest is the real message, word for word
            real_fields = real_messages[channel_name][locale]["fields"]
            marked, words = record["fields"][lead], real_fields[lead]
            if marked != f"{expected} {words}":  # shortened to keep within the field's limit
                assert len(f"{expected} {words}") > len(marked) and marked.endswith("…")
                assert words.startswith(marked.removeprefix(expected + " ").removesuffix("…"))
                shortened.append(f"{channel_name}/{locale}/{lead}")
            also = {"body"} if fmt is MessageFormat.EMAIL else set()  # a forwarded email keeps no subject
            for name in also:
                assert record["fields"][name] == f"{expected} {real_fields[name]}", (channel_name, locale)
            assert {k: v for k, v in record["fields"].items() if k not in {lead, *also}} == {
                k: v for k, v in real_fields.items() if k not in {lead, *also}
            }
            assert not real_fields[lead].startswith(expected)
            if fmt is MessageFormat.EMAIL:  # the HTML's <title> and heading carry the marked subject too
                html = record["html"]
                subject = str(escape(record["fields"]["subject"]))
                assert f"<title>{subject}</title>" in html and html.count(subject) >= 2, (
                    channel_name,
                    locale,
                )
    # Only the push title may be shortened (50 characters: "[SIMULAÇÃO] " takes 12 of them)
    assert {s.split("/")[0] for s in shortened} <= {"push"}


def test_sms_parts_with_the_marker_measured_on_the_example_plan(plan: Plan) -> None:
    """The marker costs at most one extra part; every drill SMS stays within the plan's max_segments."""
    assert plan.channels.sms is not None
    worst: dict[str, tuple[int, int]] = {}
    for scenario in RENDERED_FROM_AN_INCIDENT:
        if Channel.SMS not in plan.channels_for(scenario):
            continue
        real = opened(plan, declare("sync", drill=False, request_id=f"sms-{scenario.value}"))
        plain, _ = render_update(plan, real, scenario, NOW)
        marked, _ = render_update(plan, real.model_copy(update={"drill": True}), scenario, NOW)
        for locale in ("en", "pt-BR"):
            before = sms_size(plain["sms"][locale]["fields"]["body"]).segments
            after = sms_size(marked["sms"][locale]["fields"]["body"]).segments
            assert after <= plan.channels.sms.max_segments
            assert after - before <= 1
            worst[locale] = max(worst.get(locale, (0, 0)), (after, before))
    assert set(worst) == {"en", "pt-BR"}


def test_marking_is_idempotent_and_voice_says_the_word(plan: Plan) -> None:
    once = drill_marker(plan).fields(MessageFormat.SMS, "pt-BR", {"body": "Sincronização lenta."})
    assert once == {"body": "[SIMULAÇÃO] Sincronização lenta."}
    assert drill_marker(plan).fields(MessageFormat.SMS, "pt-BR", once) == once
    voice = drill_marker(plan).fields(MessageFormat.VOICE, "en", {"body": "Sync is slow."})
    assert voice == {"body": "This is a drill. Sync is slow."}
    email = drill_marker(plan).fields(
        MessageFormat.EMAIL, "en", {"subject": "Sync is slow", "body": "Details."}
    )
    assert email == {"subject": "[DRILL] Sync is slow", "body": "[DRILL] Details."}


def test_internal_words_are_marked_only_for_drills(plan: Plan) -> None:
    assert drill_marker(plan).internal("Approve the update", "en") == "[DRILL] Approve the update"
    assert NO_MARKER.internal("Approve the update", "en") == "Approve the update"


# ---------------------------------------------------------------------------------------------
# Intake: a drill never joins (or blocks) a real incident, and the other way round
# ---------------------------------------------------------------------------------------------


def test_a_declared_drill_carries_its_flag_and_failures(plan: Plan) -> None:
    incident = opened(
        plan, declare("sync", drill=True, request_id="d-1", drill_failures=["sms", "sms", "slack"])
    )
    assert incident.drill is True
    assert incident.drill_failures == ("sms", "slack")


def test_a_tagged_alarm_opens_a_drill_and_the_same_alarm_untagged_does_not(plan: Plan) -> None:
    assert opened(plan, alarm(drill=True)).drill is True
    assert opened(plan, alarm(drill=False)).drill is False
    # different ids: the drill's incident id can never collide with the real one
    assert opened(plan, alarm(drill=True)).id != opened(plan, alarm(drill=False)).id


def test_a_real_signal_never_joins_a_drill_on_the_same_component(plan: Plan) -> None:
    drill = opened(plan, declare("sync", drill=True, request_id="d-2"))
    decision = decide(signal_of(plan, alarm(drill=False)), {"sync": drill}, plan, NOW)
    assert decision.kind == "open" and decision.incident is not None
    assert decision.incident.id != drill.id and decision.incident.drill is False


def test_a_drill_never_joins_a_real_incident_on_the_same_component(plan: Plan) -> None:
    real = opened(plan, alarm(drill=False))
    human = decide(signal_of(plan, declare("sync", drill=True, request_id="d-3")), {"sync": real}, plan, NOW)
    tagged = decide(signal_of(plan, alarm(drill=True, event_id="e-2")), {"sync": real}, plan, NOW)
    for decision in (human, tagged):
        assert decision.kind == "open" and decision.incident is not None
        assert decision.incident.drill is True and decision.incident.id != real.id


def test_a_drill_alarm_on_an_open_drill_joins_it(plan: Plan) -> None:
    drill = opened(plan, declare("sync", drill=True, request_id="d-4"))
    decision = decide(signal_of(plan, alarm(drill=True, event_id="e-3")), {"sync": drill}, plan, NOW)
    assert decision.incident is not None and decision.incident.id == drill.id


def test_a_request_marked_drill_never_changes_a_real_incident_named_by_id(plan: Plan) -> None:
    real = opened(plan, alarm(drill=False))
    update = {
        "action": "update",
        "request_id": "u-1",
        "principal": PRINCIPAL,
        "incident_id": real.id,
        "status": "identified",
        "drill": True,
    }
    decision = decide(signal_of(plan, update), {"reached:" + real.id: real}, plan, NOW)
    assert decision.kind == "ignore" and decision.incident is None
    # while the drill's own updates by id work with or without the flag
    drill = opened(plan, declare("sync", drill=True, request_id="d-5"))
    for flag in (True, False):
        named = {**update, "incident_id": drill.id, "drill": flag, "request_id": f"u-{flag}"}
        assert decide(signal_of(plan, named), {"reached:" + drill.id: drill}, plan, NOW).kind == "update"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"drill": False, "drill_failures": ["sms"]}, "only for drills"),
        ({"drill": True, "drill_failures": ["fax"]}, "not channels this plan delivers"),
        ({"drill": True, "drill_failures": ["status_page"]}, "status surfaces are published"),
    ],
)
def test_drill_failures_must_name_delivered_channels_of_a_drill(
    plan: Plan, changes: dict[str, Any], words: str
) -> None:
    raw = {**declare("sync", drill=False, request_id="f-1"), **changes}
    result = to_signal(raw, plan, received_at=NOW)
    assert isinstance(result, Rejection)
    assert result.code == "invalid_drill_failures"
    assert words in result.reason
    assert "sms" in result.reason or "'drill': true" in result.reason  # names the way out


# ---------------------------------------------------------------------------------------------
# Routing (the delivery step with fakes)
# ---------------------------------------------------------------------------------------------


@dataclass
class RecordingAdapter:
    channel: Channel
    deliveries: list[Delivery] = field(default_factory=list)

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        self.deliveries.append(delivery)
        return DeliveryResult(channel=self.channel.value, status="delivered")


def update_record(plan: Plan, incident: Incident) -> dict[str, Any]:
    messages, _ = render_update(plan, incident, Scenario.PARTIAL_OUTAGE, NOW)
    return {
        "update_id": "001-partial_outage",
        "incident_id": incident.id,
        "scenario": "partial_outage",
        "severity": incident.severity,
        "components": list(incident.components),
        "audiences": list(incident.audiences),
        "messages": messages,
        "blocked": [],
        **reach_for(plan, incident).record(),
    }


def services(
    plan: Plan, real: dict[Channel, RecordingAdapter], drill: dict[Channel, RecordingAdapter]
) -> Any:
    def refuse(channel: Channel) -> Any:
        raise AssertionError(f"a drill asked for the real {channel.value} adapter")

    return steps.Services(
        plan=plan,
        repository=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        notifier=None,  # type: ignore[arg-type]
        channel=lambda c: real.get(c) or refuse(c),
        signer=None,  # type: ignore[arg-type]
        send_task_success=lambda *_: None,
        execution_running=lambda _: False,
        targets={kind: drill.get for kind in DRILL_TARGETS},
    )


def test_a_drill_update_uses_only_drill_adapters_with_marked_words_for_the_drill_audience(plan: Plan) -> None:
    incident = opened(plan, declare("sync", drill=True, request_id="r-1"))
    drill_adapters = {c: RecordingAdapter(c) for c in (Channel.EMAIL, Channel.SNS)}
    svc = services(plan, {}, drill_adapters)
    record = update_record(plan, incident)
    assert steps._deliver(svc, record, Channel.EMAIL).status == "delivered"
    (sent,) = drill_adapters[Channel.EMAIL].deliveries
    assert sent.audiences == ("drill",)
    assert all(fields["subject"].startswith(plan.drill.marker[loc]) for loc, fields in sent.messages.items())
    # A reviewer's edit that dropped the marker is marked again at delivery
    edited = copy.deepcopy(record)
    edited["messages"]["sns"]["en"]["fields"]["subject"] = "Sync is slow"
    steps._deliver(svc, edited, Channel.SNS)
    assert drill_adapters[Channel.SNS].deliveries[0].messages["en"]["subject"] == "[DRILL] Sync is slow"


def test_a_drill_without_a_target_skips_and_names_why(plan: Plan) -> None:
    incident = opened(plan, declare("sync", drill=True, request_id="r-2"))
    result = steps._deliver(services(plan, {}, {}), update_record(plan, incident), Channel.MASTODON)
    assert (result.status, result.detail) == ("skipped", NO_DRILL_TARGET)


def test_injected_failures_fail_drills_only(plan: Plan) -> None:
    drill = opened(plan, declare("sync", drill=True, request_id="r-3", drill_failures=["sms"]))
    with pytest.raises(ChannelPermanentError, match=INJECTED_FAILURE):
        steps._deliver(services(plan, {}, {}), update_record(plan, drill), Channel.SMS)
    # A real incident's update never carries a failure list (even one forged into the incident)
    real = opened(plan, declare("sync", drill=False, request_id="r-4"))
    forged = real.model_copy(update={"drill_failures": ("sms",)})
    record = update_record(plan, forged)
    assert record["failures"] == [] and record["audience"] == PUBLIC
    sms = RecordingAdapter(Channel.SMS)
    assert steps._deliver(services(plan, {Channel.SMS: sms}, {}), record, Channel.SMS).status == "delivered"
    assert tuple(sms.deliveries[0].audiences) == real.audiences
    # nor does a record rendered before reach was stored (its old drill fields, read the old way)
    legacy = {k: v for k, v in record.items() if k not in Reach.of_record(plan, record).record()}
    legacy |= {"drill": False, "drill_failures": ["sms"]}
    assert steps._deliver(services(plan, {Channel.SMS: sms}, {}), legacy, Channel.SMS).status == "delivered"


def test_the_update_record_says_who_it_reaches_decided_when_rendered(plan: Plan) -> None:
    drill = opened(plan, declare("sync", drill=True, request_id="r-5", drill_failures=["sms"]))
    real = opened(plan, declare("sync", drill=False, request_id="r-6"))
    drilled, public = reach_for(plan, drill).record(), reach_for(plan, real).record()
    assert (drilled["audience"], public["audience"]) == (DRILL, PUBLIC)
    assert drilled["marker"] == plan.drill.marker and public["marker"] == {}
    assert drilled["spoken_marker"] == SPOKEN
    assert (drilled["recipients"], public["recipients"]) == (["drill"], list(real.audiences))
    assert drilled["failures"] == ["sms"] and public["failures"] == []
    assert drilled["site_url"].endswith("/drill") and public["site_url"] == plan.organization.status_page_url
    # every channel of a real update goes to its real target; no channel of a drill's ever does
    assert set(public["targets"].values()) == {PUBLIC_TARGET}
    assert PUBLIC_TARGET not in drilled["targets"].values()
    assert {c: drilled["targets"].get(c) for c in ("email", "sns", "slack", "chatbot", "status_page")} == {
        "email": AUDIENCE,
        "sns": TOPIC,
        "slack": SECRET,
        "chatbot": INTERNAL,
        "status_page": None,  # never sent in a drill
    }
    # the record survives the workflow table (JSON) and reads back as the same reach
    stored = json.loads(json.dumps(drilled))
    assert Reach.of_record(plan, stored).record() == drilled


def test_a_drill_update_rendered_before_reach_was_stored_still_reaches_only_the_drill(plan: Plan) -> None:
    incident = opened(plan, declare("sync", drill=True, request_id="r-7", drill_failures=["sms"]))
    record = update_record(plan, incident)
    legacy = {k: v for k, v in record.items() if k not in reach_for(plan, incident).record()}
    legacy |= {"drill": True, "drill_failures": ["sms"]}
    email = RecordingAdapter(Channel.EMAIL)
    svc = services(plan, {}, {Channel.EMAIL: email})
    assert steps._deliver(svc, legacy, Channel.EMAIL).status == "delivered"
    assert email.deliveries[0].audiences == ("drill",)
    with pytest.raises(ChannelPermanentError, match=INJECTED_FAILURE):
        steps._deliver(svc, legacy, Channel.SMS)


class Members:
    """What the subscriber index holds: who subscribed to what, in which audiences."""

    def __init__(self, members: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> None:
        self.rows = members
        self.queries: list[tuple[list[str], list[str]]] = []

    def members(
        self, components: Sequence[str], locales: Sequence[str], channel: str, audiences: Sequence[str] = ()
    ) -> Iterator[Member]:
        self.queries.append((list(components), list(audiences)))
        for address, subscribed, member_audiences in self.rows:
            if ("*" in subscribed or set(subscribed) & set(components)) and (
                not audiences or set(audiences) & set(member_audiences)
            ):
                yield Member(
                    id=address, channel=channel, address=address, locale="en", audiences=member_audiences
                )


def test_drill_audience_reaches_drill_members_on_any_component_and_nobody_else(plan: Plan) -> None:
    index = Members(
        [
            ("customer@example.com", ("*",), ("all-customers",)),
            ("enterprise@example.com", ("sync",), ("enterprise",)),
            ("tester@example.com", ("attachments",), ("drill",)),
        ]
    )
    found = list(DrillAudience(index, plan).members(["sync"], ["en"], "email", ["enterprise"]))
    assert [m.address for m in found] == ["tester@example.com"]
    assert index.queries == [([c.id for c in plan.components], ["drill"])]


def test_web_channels_in_a_drill_use_the_drill_secret_and_its_target(plan: Plan) -> None:
    secrets = {
        "outage-comms/drill/bluesky-app-password": {"app_password": "x", "handle": "drill.example.org"},
        "outage-comms/drill/webhook-signing-key": {"signing_key": "k"},
    }
    bluesky = drill_web_plan(plan, Channel.BLUESKY, secrets.__getitem__)
    assert bluesky is not None and bluesky.channels.bluesky is not None
    assert bluesky.channels.bluesky.handle == "drill.example.org"
    assert bluesky.channels.bluesky.app_password_secret == "outage-comms/drill/bluesky-app-password"
    assert plan.channels.bluesky is not None and plan.channels.bluesky.handle == "status.nimbusnotes.example"
    # a webhook drill secret without a test URL would post to the real receiver: refused
    from outage_comms.channels.base import ChannelUnavailableError

    with pytest.raises(ChannelUnavailableError, match="no drill target"):
        drill_web_plan(plan, Channel.WEBHOOK, secrets.__getitem__)
    no_secrets = plan.model_copy(update={"drill": plan.drill.model_copy(update={"webhook_secrets": {}})})
    assert drill_web_plan(no_secrets, Channel.SLACK, secrets.__getitem__) is None


def test_the_router_never_hands_out_the_customer_topic_or_an_unredirected_adapter(plan: Plan) -> None:
    real_sns = RecordingAdapter(Channel.SNS)

    def real(channel: Channel) -> Any:
        return real_sns if channel is Channel.SNS else RecordingAdapter(channel)

    adapters = drill_adapters(plan=plan, real=real, context=lambda: None, drill_topic=lambda: None)  # type: ignore[arg-type,return-value]
    drill = opened(plan, declare("sync", drill=True, request_id="router"))
    reach = reach_for(plan, drill)

    def route(channel: Channel) -> Any:
        factory = adapters.get(reach.target(channel))
        return factory(channel) if factory else None

    assert route(Channel.SNS) is None  # no drill topic: skipped, never the customers' topic
    assert route(Channel.EMAIL) is None  # not a subscriber channel we can redirect: not used
    assert route(Channel.STATUS_PAGE) is None  # no drill target at all
    assert isinstance(route(Channel.CHATBOT), RecordingAdapter)  # the team's own chat hears the drill
    assert set(adapters) == set(DRILL_TARGETS)


def test_a_drills_links_lead_to_the_drill_page_never_the_public_incident_page(plan: Plan) -> None:
    real = opened(plan, declare("sync", drill=False, request_id="links-real"))
    base = plan.organization.status_page_url.rstrip("/")
    drill_messages, _ = render_update(
        plan, real.model_copy(update={"drill": True}), Scenario.MAJOR_OUTAGE, NOW
    )
    real_messages, _ = render_update(plan, real, Scenario.MAJOR_OUTAGE, NOW)
    drill_text = json.dumps(drill_messages, ensure_ascii=False)
    # The example's templates link to the incident page: the real one there, the drill page in a drill.
    assert f"{base}/incidents/" in json.dumps(real_messages, ensure_ascii=False)
    assert f"{base}/drill/incidents/" in drill_text
    assert f"{base}/incidents/" not in drill_text
