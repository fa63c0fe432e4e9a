"""Scheduled maintenance on a frozen clock: declaring a window, its schedule, its ticks, expected alarms,
the workflow's cadence and what the Statuspage JSON shows at each phase."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from maintenance_fakes import NOW, World

from outage_comms.incident import Incident
from outage_comms.intake.normalise import Rejection, Signal, to_signal
from outage_comms.maintenance import (
    CADENCE_MARGIN_MINUTES,
    Tick,
    apply_tick,
    cadence_minutes,
    schedule_plan,
)
from outage_comms.plan import Plan
from outage_comms.ports import TaskRegionUnreachableError
from outage_comms.status.site import build_site
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.timing import Clock, timing_for

pytestmark = pytest.mark.unit

PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/OutageCommsCommunicationsManager/marina"
START = NOW + timedelta(days=3)
END = START + timedelta(hours=2)


def schedule_request(**changes: Any) -> dict[str, Any]:
    return {
        "action": "schedule_maintenance",
        "request_id": "req-maint-1",
        "principal": PRINCIPAL,
        "components": ["sync", "search"],
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "note": {"en": "Sync may pause for a few minutes", "pt-BR": "A sincronização pode pausar"},
        **changes,
    }


def normalise(plan: Plan, raw: dict[str, Any], now: datetime = NOW) -> Signal | Rejection:
    return to_signal(raw, plan, received_at=now)


def declared(world: World, now: datetime = NOW, **changes: Any) -> Incident:
    signal = normalise(world.plan, schedule_request(**changes), now)
    assert isinstance(signal, Signal), signal
    outcome = world.apply(signal, now)
    assert outcome["kind"] == "open", outcome
    return world.incidents.get(outcome["incident_id"])


def tick(window: Incident, kind: str, at: datetime, hours: int | None = None) -> Tick:
    return Tick.model_validate({"incident_id": window.id, "kind": kind, "at": at, "hours_before": hours})


def run_tick(world: World, t: Tick, now: datetime) -> dict[str, Any]:
    return apply_tick(
        t,
        plan=world.plan,
        incidents=world.incidents,
        workflow=world.workflow,
        changes=world.changes,
        status=world.status,
        clock=lambda: now,
        sleep=lambda _: None,
    ).as_dict()


def alarm_at(
    event: Callable[[str], dict[str, Any]], moment: datetime, name: str = "alarm_metric_alarm"
) -> dict[str, Any]:
    raw = event(name)
    raw["id"] = f"{name}-{moment.isoformat()}"
    raw["time"] = moment.isoformat().replace("+00:00", "Z")
    raw["detail"]["state"]["timestamp"] = moment.isoformat()
    return raw


# ---------------------------------------------------------------------------------------------
# Declaring
# ---------------------------------------------------------------------------------------------


def test_a_scheduled_window_becomes_its_own_maintenance_record(plan: Plan) -> None:
    world = World(plan)
    window = declared(world)
    assert window.maintenance_phase == "scheduled"
    assert window.scenario is Scenario.MAINTENANCE_SCHEDULED
    assert (window.scheduled_for, window.scheduled_until) == (START, END)
    assert window.severity == "sev4"  # the plan's least severe level (impact none)
    assert window.components == ("sync", "search")
    assert set(window.audiences) == {a for c in ("sync", "search") for a in plan.component(c).audiences}
    assert world.workflow.started == [window.id]  # the declaration goes out at once


@pytest.mark.parametrize(
    ("changes", "code", "says"),
    [
        ({"starts_at": (NOW - timedelta(hours=1)).isoformat()}, "window_in_past", "in the past"),
        ({"ends_at": (START - timedelta(minutes=5)).isoformat()}, "window_end_before_start", "not after"),
        ({"ends_at": (START + timedelta(days=8)).isoformat()}, "window_too_long", "split the work"),
        (
            {
                "starts_at": (NOW + timedelta(days=400)).isoformat(),
                "ends_at": (NOW + timedelta(days=400, hours=1)).isoformat(),
            },
            "window_too_far",
            "days ahead",
        ),
        ({"components": ["sync", "billing"]}, "unknown_component", "billing"),
        ({"components": []}, "missing_components", "components"),
        ({"ends_at": None}, "missing_window", "'ends_at'"),
    ],
)
def test_a_bad_window_is_refused_with_the_problem_and_the_fix(
    plan: Plan, changes: dict[str, Any], code: str, says: str
) -> None:
    raw = {k: v for k, v in schedule_request(**changes).items() if v is not None}
    rejection = normalise(plan, raw)
    assert isinstance(rejection, Rejection)
    assert rejection.code == code
    assert says in rejection.reason


def test_completing_needs_the_windows_id(plan: Plan) -> None:
    rejection = normalise(plan, {"action": "complete_maintenance", "request_id": "r", "principal": PRINCIPAL})
    assert isinstance(rejection, Rejection) and rejection.code == "missing_incident_id"


def test_a_window_never_joins_an_open_incident_on_the_same_component(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    world = World(plan)
    alarm = normalise(plan, alarm_at(event, NOW - timedelta(minutes=5)))
    assert isinstance(alarm, Signal)
    incident_id = world.apply(alarm, NOW)["incident_id"]
    window = declared(world)
    assert window.id != incident_id
    assert world.incidents.get(incident_id).timeline[-1].event_id == alarm.event_id  # untouched


def test_an_alarm_before_the_window_opens_a_real_incident_not_the_window(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    world = World(plan)
    window = declared(world)
    alarm = normalise(plan, alarm_at(event, NOW + timedelta(hours=1)))
    outcome = world.apply(alarm, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert outcome["kind"] == "open" and outcome["incident_id"] != window.id
    assert world.incidents.get(window.id).expected_signals == 0


# ---------------------------------------------------------------------------------------------
# The schedule plan
# ---------------------------------------------------------------------------------------------


def test_declared_three_days_ahead_every_moment_is_scheduled(plan: Plan) -> None:
    window = declared(World(plan))
    ticks = schedule_plan(plan, window, NOW)
    verify = timedelta(minutes=plan.maintenance.verify_minutes)
    assert [(t.kind, t.at) for t in ticks] == [
        ("reminder", START - timedelta(hours=24)),
        ("reminder", START - timedelta(hours=1)),
        ("start", START),
        ("end", END),
        ("complete", END + verify),
    ]
    assert ticks[0].at_expression() == "at(2026-11-29T14:30:00)"
    assert ticks[0].name == f"{window.id}-reminder-24h"
    assert len({t.name for t in ticks}) == len(ticks)
    assert json.loads(ticks[2].model_dump_json())["kind"] == "start"


def test_declared_thirty_minutes_ahead_no_reminder_is_scheduled(plan: Plan) -> None:
    start = NOW + timedelta(minutes=30)
    window = declared(
        World(plan), starts_at=start.isoformat(), ends_at=(start + timedelta(hours=1)).isoformat()
    )
    assert [t.kind for t in schedule_plan(plan, window, NOW)] == ["start", "end", "complete"]


# ---------------------------------------------------------------------------------------------
# Ticks on a frozen clock
# ---------------------------------------------------------------------------------------------


def test_a_tick_whose_waiting_execution_is_in_a_region_that_is_down_stores_the_phase(plan: Plan) -> None:
    """Two regions (issue 17): the token was issued by the other engine, whose region does not answer.
    The tick does not fail: the phase is stored, and the execution that continues the incident reads it."""
    world = World(plan)
    window = declared(world)
    start = next(t for t in schedule_plan(plan, window, NOW) if t.kind == "start")

    def region_down(token: str, update: Any) -> None:
        raise TaskRegionUnreachableError("eu-central-1")

    world.workflow.deliver_update = region_down  # type: ignore[method-assign]
    world.wait_for_update(window.id, "token-of-the-standby")
    outcome = run_tick(world, start, START)
    assert (outcome["kind"], outcome["workflow"]) == ("update", "update_stored_region_down")
    assert world.incidents.get(window.id).maintenance_phase == "in_progress"


def test_each_tick_moves_the_window_and_hands_the_update_to_the_waiting_workflow(plan: Plan) -> None:
    world = World(plan)
    window = declared(world)
    ticks = {
        t.name.rsplit("-", 1)[-1] if t.kind != "reminder" else f"r{t.hours_before}": t
        for t in schedule_plan(plan, window, NOW)
    }

    world.wait_for_update(window.id, "token-a")
    outcome = run_tick(world, ticks["r24"], ticks["r24"].at)
    assert (outcome["kind"], outcome["workflow"], outcome["phase"]) == (
        "update",
        "update_delivered",
        "scheduled",
    )
    assert world.workflow.delivered[-1] == ("token-a", world.workflow.delivered[-1][1])
    assert world.workflow.delivered[-1][1]["scenario"] == "maintenance_scheduled"

    world.wait_for_update(window.id, "token-b")
    run_tick(world, ticks["start"], START)
    live = world.incidents.get(window.id)
    assert (live.maintenance_phase, live.scenario, live.status) == (
        "in_progress",
        Scenario.MAINTENANCE_IN_PROGRESS,
        "identified",
    )
    token, update = world.workflow.delivered[-1]
    assert (token, update["scenario"], update["incident_id"]) == (
        "token-b",
        "maintenance_in_progress",
        window.id,
    )

    world.wait_for_update(window.id, "token-c")
    delivered = len(world.workflow.delivered)
    outcome = run_tick(world, ticks["end"], END)
    assert outcome["phase"] == "verifying" and outcome["workflow"] == "status_refreshed"
    assert len(world.workflow.delivered) == delivered  # customers are not messaged for verifying
    assert world.status.refreshed == [window.id]

    complete_at = END + timedelta(minutes=plan.maintenance.verify_minutes)
    outcome = run_tick(world, ticks["complete"], complete_at)
    done = world.incidents.get(window.id)
    assert (done.maintenance_phase, done.scenario, done.status, done.resolved_at) == (
        "completed",
        Scenario.MAINTENANCE_COMPLETED,
        "resolved",
        complete_at,
    )
    token, update = world.workflow.delivered[-1]
    assert (token, update["status"], update["scenario"]) == ("token-c", "resolved", "maintenance_completed")


def test_a_tick_delivered_twice_changes_nothing_the_second_time(plan: Plan) -> None:
    world = World(plan)
    window = declared(world)
    start = tick(window, "start", START)
    world.wait_for_update(window.id, "token-a")
    first = run_tick(world, start, START)
    saves, delivered = world.incidents.saves, len(world.workflow.delivered)
    world.wait_for_update(window.id, "token-b")
    again = run_tick(world, start, START + timedelta(seconds=30))
    assert again["kind"] == "ignore" and "already applied" in again["reason"]
    assert again["version"] == first["version"]
    assert (world.incidents.saves, len(world.workflow.delivered)) == (saves, delivered)


def test_cancelling_closes_the_window_and_later_ticks_are_ignored(plan: Plan) -> None:
    world = World(plan)
    window = declared(world)
    cancel = normalise(
        plan,
        {
            "action": "cancel_maintenance",
            "request_id": "req-cancel",
            "principal": PRINCIPAL,
            "incident_id": window.id,
        },
        NOW + timedelta(hours=2),
    )
    assert isinstance(cancel, Signal)
    world.wait_for_update(window.id, "token-a")
    outcome = world.apply(cancel, NOW + timedelta(hours=2))
    closed = world.incidents.get(window.id)
    assert (outcome["kind"], closed.maintenance_phase, closed.status) == ("resolve", "cancelled", "resolved")
    assert closed.public_note["en"].startswith("We will tell you before we plan this work again")
    assert world.workflow.delivered[-1][1]["change"] == "resolve"
    late = run_tick(world, tick(window, "start", START), START)
    assert late["kind"] == "ignore" and world.incidents.get(window.id).version == closed.version


def test_completing_a_real_incident_as_maintenance_is_refused(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    world = World(plan)
    alarm = normalise(plan, alarm_at(event, NOW))
    incident_id = world.apply(alarm, NOW)["incident_id"]  # type: ignore[arg-type]
    complete = normalise(
        plan,
        {
            "action": "complete_maintenance",
            "request_id": "r-c",
            "principal": PRINCIPAL,
            "incident_id": incident_id,
        },
    )
    outcome = world.apply(complete, NOW)  # type: ignore[arg-type]
    assert outcome["kind"] == "ignore" and "not a maintenance window" in outcome["reason"]
    assert world.incidents.get(incident_id).is_open


# ---------------------------------------------------------------------------------------------
# Alarms during the window
# ---------------------------------------------------------------------------------------------


def in_progress(world: World) -> Incident:
    window = declared(world)
    run_tick(world, tick(window, "start", START), START)
    return world.incidents.get(window.id)


def test_an_alarm_inside_a_running_window_is_expected_and_opens_no_incident(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    world = World(plan)
    window = in_progress(world)
    at = START + timedelta(minutes=10)
    outcome = world.apply(normalise(plan, alarm_at(event, at), at), at)  # type: ignore[arg-type]
    assert (outcome["kind"], outcome["incident_id"], outcome["announced"]) == ("record", window.id, False)
    tagged = world.incidents.get(window.id)
    assert tagged.expected_signals == 1 and tagged.timeline[-1].kind == "expected"
    assert [i.id for i in world.incidents.items.values()] == [window.id]
    im = event("im_start_incident")
    assert world.apply(normalise(plan, im, at), at)["kind"] == "record"  # type: ignore[arg-type]
    assert world.incidents.get(window.id).expected_signals == 2


def test_with_expected_alarms_off_an_alarm_inside_the_window_opens_an_incident(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    off = plan.model_copy(
        update={"maintenance": plan.maintenance.model_copy(update={"expected_alarms": False})}
    )
    world = World(off)
    window = in_progress(world)
    at = START + timedelta(minutes=10)
    outcome = world.apply(normalise(off, alarm_at(event, at), at), at)  # type: ignore[arg-type]
    assert outcome["kind"] == "open" and outcome["incident_id"] != window.id
    assert world.incidents.get(window.id).expected_signals == 0


def test_an_alarm_for_a_component_outside_the_window_behaves_as_before(
    plan: Plan, event: Callable[[str], dict[str, Any]]
) -> None:
    world = World(plan)
    window = declared(world, components=["search"])
    run_tick(world, tick(window, "start", START), START)
    at = START + timedelta(minutes=10)
    outcome = world.apply(normalise(plan, alarm_at(event, at), at), at)  # type: ignore[arg-type]  # sync
    assert outcome["kind"] == "open" and outcome["incident_id"] != window.id


# ---------------------------------------------------------------------------------------------
# The workflow's cadence
# ---------------------------------------------------------------------------------------------


def test_the_cadence_of_a_scheduled_window_reaches_its_next_notification_plus_a_margin(plan: Plan) -> None:
    window = declared(World(plan))
    minutes = cadence_minutes(plan, window, NOW)
    until_reminder = (START - timedelta(hours=24) - NOW).total_seconds() / 60
    assert minutes == until_reminder + CADENCE_MARGIN_MINUTES
    timing = timing_for(plan, window.severity, Clock(), incident=window, now=NOW)
    assert timing["cadence_seconds"] == (until_reminder + CADENCE_MARGIN_MINUTES) * 60
    # A real incident of the same severity keeps the plan's cadence.
    assert (
        timing_for(plan, window.severity, Clock())["cadence_minutes"] == plan.severity("sev4").cadence_minutes
    )


def test_an_in_progress_windows_cadence_skips_the_silent_verifying_moment(plan: Plan) -> None:
    world = World(plan)
    window = in_progress(world)
    completes = END + timedelta(minutes=plan.maintenance.verify_minutes)
    assert (
        cadence_minutes(plan, window, START)
        == (completes - START).total_seconds() / 60 + CADENCE_MARGIN_MINUTES
    )


# ---------------------------------------------------------------------------------------------
# The Statuspage JSON at each phase
# ---------------------------------------------------------------------------------------------


def api(plan: Plan, window: Incident, now: datetime) -> dict[str, Any]:
    site = build_site(plan, [window], (), now)
    return {
        key.removeprefix("api/v2/"): json.loads(a.body)
        for key, a in site.items()
        if key.startswith("api/v2/")
    }


def listed(document: dict[str, Any], window_id: str) -> list[dict[str, Any]]:
    return [m for m in document["scheduled_maintenances"] if m["id"] == window_id]


@pytest.mark.parametrize(
    ("ticks", "now", "status", "upcoming", "active", "component"),
    [
        ((), NOW, "scheduled", True, False, "operational"),
        (("start",), START + timedelta(minutes=1), "in_progress", False, True, "under_maintenance"),
        (("start", "end"), END + timedelta(minutes=1), "verifying", False, True, "under_maintenance"),
        (("start", "end", "complete"), END + timedelta(hours=1), "completed", False, False, "operational"),
    ],
)
def test_the_statuspage_json_shows_each_phase(
    plan: Plan,
    ticks: tuple[str, ...],
    now: datetime,
    status: str,
    upcoming: bool,
    active: bool,
    component: str,
) -> None:
    world = World(plan)
    window = declared(world)
    moments = {
        "start": START,
        "end": END,
        "complete": END + timedelta(minutes=plan.maintenance.verify_minutes),
    }
    for kind in ticks:
        run_tick(world, tick(window, kind, moments[kind]), moments[kind])
    window = world.incidents.get(window.id)
    docs = api(plan, window, now)

    (everything,) = listed(docs["scheduled-maintenances.json"], window.id)
    assert everything["status"] == status
    assert (everything["scheduled_for"], everything["scheduled_until"]) == (
        "2026-11-30T14:30:00.000Z",
        "2026-11-30T16:30:00.000Z",
    )
    assert bool(listed(docs["scheduled-maintenances/upcoming.json"], window.id)) is upcoming
    assert bool(listed(docs["scheduled-maintenances/active.json"], window.id)) is active
    assert bool(listed(docs["summary.json"], window.id)) is (upcoming or active)
    assert not [i for i in docs["incidents/unresolved.json"]["incidents"] if i["id"] == window.id]
    components = {c["id"]: c["status"] for c in docs["components.json"]["components"]}
    assert components["sync"] == component and components["search"] == component
    assert components["sign-in"] == "operational"
    assert everything["incident_updates"][0]["status"] == status  # newest first


def test_messages_promise_the_next_scheduled_notification_not_the_severity_cadence(plan: Plan) -> None:
    from outage_comms.workflow.updates import facts_for

    world = World(plan)
    window = in_progress(world)
    facts = facts_for(plan, window, Scenario.MAINTENANCE_IN_PROGRESS, START)
    assert facts.next_update_at == END + timedelta(minutes=plan.maintenance.verify_minutes)


def test_the_status_page_shows_a_running_windows_times(plan: Plan) -> None:
    world = World(plan)
    window = in_progress(world)
    site = build_site(plan, [window], (), START + timedelta(minutes=5))
    home = site["index.html"].body.decode("utf-8")
    active = home.split('id="active"', 1)[1].split("</section>", 1)[0]
    shown = "From 30 Nov, 14:30 UTC to 30 Nov, 16:30 UTC"  # the window, in the reader's time zone
    assert f'<p class="st">{shown}</p>' in active
    assert "Next update by 30 Nov, 16:45 UTC" in active  # its completion, not the severity's cadence
    page = next(a for key, a in site.items() if key.endswith(".html") and window.id.lower() in key)
    assert shown in page.body.decode("utf-8")


def test_verifying_asks_the_status_publisher_to_rebuild_the_site_asynchronously() -> None:
    import botocore.session
    from botocore.stub import Stubber

    from outage_comms.maintenance_schedules import LambdaStatusRefresh

    client = botocore.session.get_session().create_client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "outage-comms-status-publisher",
                "InvocationType": "Event",
                "Payload": b'{"incident_id": "inc-20261127-1430-abcdef"}',
            },
        )
        LambdaStatusRefresh("outage-comms-status-publisher", lambda_client=client).refresh(
            "inc-20261127-1430-abcdef"
        )
        stub.assert_no_pending_responses()
