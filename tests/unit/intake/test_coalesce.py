"""One incident per problem: repeats attach, escalations update, storms stay bounded."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outage_comms.incident import MAX_TIMELINE_ENTRIES
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Signal, to_signal
from outage_comms.plan import Plan, parse_plan
from outage_comms.vocabulary import Scenario

pytestmark = pytest.mark.unit

EventFactory = Callable[[str], dict[str, Any]]
SignalOf = Callable[[Any], Signal]
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def alarm(event: EventFactory, name: str, state: str, n: int, **tags: str) -> dict[str, Any]:
    """The documented alarm event for alarm ``name`` entering ``state``, as delivery number ``n``."""
    raw = event("alarm_metric_alarm")
    raw["id"] = f"00000000-0000-4000-8000-{n:012d}"
    raw["time"] = (datetime(2026, 11, 27, 14, 5, tzinfo=UTC) + timedelta(seconds=n)).isoformat()
    raw["resources"] = [f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"]
    raw["detail"]["alarmName"] = name
    raw["detail"]["state"]["value"] = state
    raw["detail"]["state"]["timestamp"] = raw["time"]
    if tags:
        raw["detail"]["alarmTags"] = dict(tags)
    return raw


def test_first_alarm_opens_an_incident_with_the_plans_words(store: Any, signal: SignalOf) -> None:
    decision = store.apply(signal("alarm_metric_alarm"))
    incident = decision.incident
    assert (decision.kind, decision.announce, decision.previous_version) == ("open", True, None)
    assert incident.components == ("sync",)
    assert incident.public_title == {"en": "Sync", "pt-BR": "Sincronização"}
    assert incident.audiences == ("all-customers",)
    assert (incident.status, incident.scenario) == ("investigating", Scenario.DEGRADED_PERFORMANCE)
    assert [e.kind for e in incident.timeline] == ["opened"]


def test_a_second_alarm_on_the_same_component_attaches(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    first = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 1)))
    second = store.apply(signal(alarm(event, "sync-read-latency", "ALARM", 2)))
    assert (second.kind, second.announce) == ("attach", False)
    assert second.incident.id == first.incident.id
    assert second.incident.version == 2 and second.previous_version == 1
    assert [e.kind for e in second.incident.timeline] == ["opened", "signal"]


def test_a_duplicate_delivery_is_ignored(store: Any, signal: SignalOf) -> None:
    store.apply(signal("alarm_metric_alarm"))
    again = store.apply(signal("alarm_metric_alarm"))
    assert again.kind == "ignore" and again.incident is None


def test_a_repeat_of_the_same_state_is_ignored(store: Any, signal: SignalOf, event: EventFactory) -> None:
    store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 1)))
    repeat = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 2)))
    assert repeat.kind == "ignore"


def test_a_retried_open_yields_the_same_incident_id(plan: Plan, signal: SignalOf) -> None:
    first = decide(signal("alarm_metric_alarm"), {}, plan, NOW).incident
    retried = decide(signal("alarm_metric_alarm"), {}, plan, NOW + timedelta(minutes=3)).incident
    assert first is not None and retried is not None
    assert first.id == retried.id == "inc-20261127-1405-c40a8d"


def test_escalation_is_an_update_of_the_same_incident(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    opened = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 1))).incident
    escalated = store.apply(signal(alarm(event, "sync-5xx", "ALARM", 2, severity="sev1")))
    assert (escalated.kind, escalated.announce) == ("escalate", True)
    assert escalated.incident.id == opened.id
    assert escalated.incident.severity == "sev1"
    assert escalated.incident.scenario is Scenario.MAJOR_OUTAGE  # followed the severity's default
    assert escalated.incident.timeline[-1].kind == "escalated"
    assert len(store.opened) == 1


def test_an_alarm_never_lowers_severity(store: Any, signal: SignalOf, event: EventFactory) -> None:
    store.apply(signal(alarm(event, "sync-5xx", "ALARM", 1, severity="sev1")))
    lower = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 2)))
    assert lower.kind == "attach" and lower.incident.severity == "sev1"


def test_ok_moves_to_monitoring_only_when_every_alarm_is_clear(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 1)))
    store.apply(signal(alarm(event, "sync-read-latency", "ALARM", 2)))

    one_clear = store.apply(signal(alarm(event, "sync-write-errors", "OK", 3)))
    assert (one_clear.kind, one_clear.incident.status) == ("attach", "investigating")
    assert "sync-read-latency" in one_clear.incident.timeline[-1].text

    all_clear = store.apply(signal(alarm(event, "sync-read-latency", "OK", 4)))
    assert (all_clear.kind, all_clear.announce) == ("update", True)
    assert (all_clear.incident.status, all_clear.incident.scenario) == ("monitoring", Scenario.MONITORING)

    back = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 5)))
    assert back.kind == "update"
    assert (back.incident.status, back.incident.scenario) == ("investigating", Scenario.DEGRADED_PERFORMANCE)
    assert len(store.opened) == 1


def test_insufficient_data_is_recorded_never_announced(store: Any, signal: SignalOf) -> None:
    store.apply(signal("alarm_metric_alarm"))
    recorded = store.apply(signal("alarm_metric_insufficient_data"))
    assert (recorded.kind, recorded.announce) == ("record", False)
    assert recorded.incident.timeline[-1].kind == "recorded"


def test_ok_or_insufficient_data_alone_opens_nothing(plan: Plan, signal: SignalOf) -> None:
    for name in ("alarm_metric_ok", "alarm_metric_insufficient_data"):
        assert decide(signal(name), {}, plan, NOW).kind == "ignore"


def test_a_signal_over_several_components_attaches_to_the_open_one(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    opened = store.apply(signal(alarm(event, "sync-write-errors", "ALARM", 1))).incident
    # Tag-mapped to web-app and named like a sync alarm: covers two components, one already open.
    both = store.apply(signal(alarm(event, "sync-edge-errors", "ALARM", 2, component="web-app")))
    assert both.kind == "update" and both.incident.id == opened.id
    assert both.incident.components == ("web-app", "sync")
    assert both.incident.public_title["en"] == "Web app and Sync"
    assert store.by_component["web-app"].id == opened.id
    assert len(store.opened) == 1


def test_incident_manager_lifecycle_follows_the_record(store: Any, signal: SignalOf) -> None:
    opened = store.apply(signal("im_start_incident")).incident
    assert (opened.severity, opened.scenario) == ("sev2", Scenario.PARTIAL_OUTAGE)

    # The response plan's runbook reports the same record: both doors, one incident.
    runbook = store.apply(signal("runbook_input"))
    assert runbook.kind == "ignore" and opened.id in runbook.reason
    assert len(store.opened) == 1

    noted = store.apply(signal("im_create_timeline_event"))
    assert (noted.kind, noted.announce) == ("record", False)

    escalated = store.apply(signal("im_update_impact"))
    assert escalated.kind == "escalate" and escalated.incident.severity == "sev1"

    resolved = store.apply(signal("im_update_resolved"))
    assert resolved.kind == "resolve"
    assert (resolved.incident.status, resolved.incident.scenario) == ("resolved", Scenario.RESOLVED)
    assert resolved.incident.resolved_at == datetime(2026, 11, 27, 15, 40, tzinfo=UTC)
    assert store.by_component == {}


def test_incident_manager_may_lower_severity_explicitly(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    store.apply(signal("im_start_incident"))
    raw = event("im_update_impact")
    raw["detail"]["requestParameters"]["impact"] = 3
    lowered = store.apply(signal(raw))
    assert (lowered.kind, lowered.incident.severity) == ("update", "sev3")


def test_an_alarm_on_an_incident_manager_incident_attaches(store: Any, signal: SignalOf) -> None:
    opened = store.apply(signal("im_start_incident")).incident
    assert store.apply(signal("alarm_metric_alarm")).incident.id == opened.id


def test_health_closed_resolves_the_incident_it_opened(store: Any, signal: SignalOf) -> None:
    opened = store.apply(signal("health_issue_open")).incident
    resolved = store.apply(signal("health_issue_closed"))
    assert resolved.kind == "resolve" and resolved.incident.id == opened.id


def test_maintenance_completes_rather_than_resolves(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    opened = store.apply(signal("health_scheduled_change")).incident
    assert (opened.status, opened.severity) == ("identified", "sev4")
    assert opened.scheduled_for == datetime(2026, 12, 1, 2, tzinfo=UTC)
    raw = event("health_scheduled_change")
    raw["id"] = "8a9b0c1d-2e3f-4a5b-6c7d-000000000002"
    raw["detail"]["statusCode"] = "open"
    started = store.apply(signal(raw))
    assert (started.kind, started.incident.scenario) == ("update", Scenario.MAINTENANCE_IN_PROGRESS)
    raw["id"] = "8a9b0c1d-2e3f-4a5b-6c7d-000000000003"
    raw["detail"]["statusCode"] = "closed"
    done = store.apply(signal(raw))
    assert (done.kind, done.incident.scenario) == ("resolve", Scenario.MAINTENANCE_COMPLETED)


def test_opsitem_create_then_resolve(store: Any, signal: SignalOf) -> None:
    opened = store.apply(signal("opsitem_create")).incident
    resolved = store.apply(signal("opsitem_update_resolved"))
    assert resolved.kind == "resolve" and resolved.incident.id == opened.id


def test_people_declare_update_and_resolve_by_incident_id(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    declared = store.apply(signal("human_declare")).incident
    assert declared.public_note["en"].startswith("Some customers")
    assert declared.audiences == ("all-customers", "enterprise", "developers")

    update = event("human_declare") | {
        "action": "update",
        "request_id": "r-2",
        "incident_id": declared.id,
        "status": "identified",
        "components": [],
        "note": {"en": "We found the cause.", "pt-BR": "Encontramos a causa."},
    }
    updated = store.apply(signal(update))
    assert (updated.kind, updated.incident.status) == ("update", "identified")
    assert updated.incident.timeline[-1].kind == "status"

    resolve = event("human_resolve") | {"incident_id": declared.id}
    resolved = store.apply(signal(resolve))
    assert (
        resolved.kind == "resolve"
        and resolved.incident.public_note["en"] == "Sign-in works again for everyone."
    )


def test_a_second_declaration_by_the_same_person_elsewhere_opens_its_own_incident(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    store.apply(signal("human_declare"))
    other = event("human_declare") | {"request_id": "r-9", "components": ["search"]}
    assert store.apply(signal(other)).kind == "open"
    assert len(store.opened) == 2


def test_timeline_stays_bounded_and_counts_what_it_drops(
    store: Any, signal: SignalOf, event: EventFactory
) -> None:
    store.apply(signal(alarm(event, "sync-0", "ALARM", 0)))
    for n in range(1, MAX_TIMELINE_ENTRIES + 50):
        store.apply(signal(alarm(event, f"sync-{n}", "ALARM", n)))
    incident = store.by_component["sync"]
    assert len(incident.timeline) == MAX_TIMELINE_ENTRIES
    assert incident.suppressed_signals == 50


@pytest.fixture
def twenty_component_plan(example_data: dict[str, Any]) -> Plan:
    data = copy.deepcopy(example_data)
    template = data["components"][0]
    data["components"] = [
        {
            **template,
            "id": f"svc{n:02d}",
            "name": {"en": f"Service {n}", "pt-BR": f"Serviço {n}"},
            "signals": {"alarm_name_patterns": [f"svc{n:02d}-*"]},
        }
        for n in range(20)
    ]
    return parse_plan(data)


def test_an_alarm_storm_opens_at_most_one_incident_per_component(
    twenty_component_plan: Plan, event: EventFactory
) -> None:
    # Given 10,000 alarm events in one minute: 5 alarms per component over 20 components, flapping
    # between states, some tagged more severe, some delivered twice.
    plan = twenty_component_plan
    rng = random.Random(20261127)
    signals = []
    for n in range(10_000):
        component = rng.randrange(20)
        state = rng.choice(["ALARM", "ALARM", "OK", "INSUFFICIENT_DATA"])
        tags = {"severity": rng.choice(["sev1", "sev2"])} if rng.random() < 0.05 else {}
        raw = alarm(event, f"svc{component:02d}-alarm{rng.randrange(5)}", state, n % 6000, **tags)
        got = to_signal(raw, plan)
        assert isinstance(got, Signal)
        signals.append(got)

    # When every signal goes through decide against the open incidents
    open_by_component: dict[str, Any] = {}
    opened: set[str] = set()
    kinds: dict[str, int] = {}
    started = time.perf_counter()
    for sig in signals:
        decision = decide(sig, open_by_component, plan, NOW)
        kinds[decision.kind] = kinds.get(decision.kind, 0) + 1
        if decision.incident is not None:
            if decision.kind == "open":
                opened.add(decision.incident.id)
            for component in decision.incident.components:
                open_by_component[component] = decision.incident
    elapsed = time.perf_counter() - started

    # Then at most 20 incidents were opened, escalations updated them in place
    assert len(opened) <= 20
    assert {i.id for i in open_by_component.values()} == opened
    assert kinds.get("escalate", 0) > 0
    assert elapsed < 30, f"decide took {elapsed:.1f}s for 10,000 signals"
