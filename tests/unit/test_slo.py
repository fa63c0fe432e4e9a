"""Communication SLO computations (outage_comms/slo.py): pure, frozen clock, in-memory workflow store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outage_comms import slo
from outage_comms.incident import Incident, IncidentSource
from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.steps import Services
from outage_comms.workflow.store import CustomerUpdate, InMemoryWorkflowStore

pytestmark = pytest.mark.unit

PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(PLAN)


def incident(
    suffix: str, *, severity: str = "sev2", started: datetime = NOW - timedelta(hours=1), **changes: Any
) -> Incident:
    fields: dict[str, Any] = {
        "id": f"inc-20261127-1300-{suffix}",
        "internal_title": "search down",
        "public_title": {"en": "Search is down", "pt-BR": "A busca está fora do ar"},
        "components": ("search",),
        "severity": severity,
        "status": "investigating",
        "scenario": "partial_outage",
        "audiences": ("all",),
        "started_at": started,
        "updated_at": started,
        "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
    }
    return Incident.model_validate({**fields, **changes})


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every EMF document printed, with each metric's value list unwrapped (one datapoint each)."""
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    for document in documents:
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            (document[metric["Name"]],) = document[metric["Name"]]
    return documents


# -- gap ratio, first message, approval target -------------------------------------------------


def test_gap_ratio_is_the_gap_as_a_percentage_of_the_promised_cadence(plan: Plan) -> None:
    # sev2 promises an update every 60 minutes; the tolerance is 10 %.
    on_time = slo.update_gap(plan, "sev2", gap_seconds=45 * 60)
    within_tolerance = slo.update_gap(plan, "sev2", gap_seconds=65 * 60)
    late = slo.update_gap(plan, "sev2", gap_seconds=67 * 60)

    assert on_time.ratio_percent == pytest.approx(75.0)
    assert on_time.cadence_seconds == 3600
    assert within_tolerance.ratio_percent == pytest.approx(108.33, abs=0.01)
    assert not within_tolerance.overdue
    assert late.overdue


def test_a_compressed_drill_clock_scales_the_cadence(plan: Plan) -> None:
    # 0.5 s per plan minute: sev1's 30-minute cadence is 15 s.
    gap = slo.update_gap(plan, "sev1", gap_seconds=15, seconds_per_minute=0.5)

    assert gap.cadence_seconds == 15
    assert gap.ratio_percent == pytest.approx(100.0)


def test_first_message_is_missed_only_after_the_severity_target(plan: Plan) -> None:
    # sev1 targets 10 minutes, sev3 30 minutes.
    assert not slo.first_message(plan, "sev1", 600).missed
    assert slo.first_message(plan, "sev1", 601).missed
    assert not slo.first_message(plan, "sev3", 601).missed


def test_approval_target_defaults_to_the_shortest_approval_timeout(plan: Plan) -> None:
    assert plan.slo.approval_latency_minutes is None
    assert slo.approval_target_seconds(plan) == 10 * 60  # sev1's 10-minute approval timeout
    explicit = plan.model_copy(update={"slo": plan.slo.model_copy(update={"approval_latency_minutes": 7})})
    assert slo.approval_target_seconds(explicit) == 7 * 60


def test_drill_and_compressed_clock_updates_are_drills() -> None:
    assert slo.is_drill({"drill": True, "seconds_per_minute": 60})
    assert slo.is_drill({"drill": False, "seconds_per_minute": 0.05})
    assert not slo.is_drill({"drill": False, "seconds_per_minute": 60})
    assert not slo.is_drill({})  # an update rendered before these fields existed: production


def test_support_desk_and_team_chat_are_not_customer_facing() -> None:
    assert slo.customer_facing("email") and slo.customer_facing("sms")
    assert not slo.customer_facing("support")
    assert not slo.customer_facing("slack")


def test_maintenance_and_post_incident_summary_are_off_cadence() -> None:
    assert slo.on_cadence("identified") and slo.on_cadence("holding_update") and slo.on_cadence("resolved")
    assert not slo.on_cadence("post_incident_summary")
    assert not slo.on_cadence("maintenance_in_progress")


def test_update_number_rejects_an_id_without_its_number() -> None:
    assert slo.update_number("012-identified") == 12
    with pytest.raises(ValueError, match="does not start with its number"):
        slo.update_number("identified")


# -- overdue detection (the watchdog's rule), frozen clock -------------------------------------


def test_overdue_uses_the_last_customer_update_and_the_cadence_with_tolerance(plan: Plan) -> None:
    # sev2: 60-minute cadence + 10 % = due 66 minutes after the last customer update.
    fresh, stale, never = incident("aaaaa1"), incident("aaaaa2"), incident("aaaaa3")
    last = {
        fresh.id: CustomerUpdate(2, "002-identified", "sev2", NOW - timedelta(minutes=65)),
        stale.id: CustomerUpdate(2, "002-identified", "sev2", NOW - timedelta(minutes=67)),
    }

    overdue = slo.overdue_incidents([fresh, stale, never], last.get, plan, NOW)

    assert [o.incident_id for o in overdue] == [stale.id, never.id]
    assert overdue[0].due_at == NOW - timedelta(minutes=1)
    assert overdue[0].overdue_seconds == 60
    # never told customers anything: due first_message_minutes (15) + 10 % after the start, an hour ago
    assert overdue[1].last_update_at is None
    assert overdue[1].due_at == NOW - timedelta(hours=1) + timedelta(minutes=16.5)


def test_a_new_incident_is_not_overdue_before_its_first_message_target(plan: Plan) -> None:
    young = incident("bbbbb1", severity="sev1", started=NOW - timedelta(minutes=10))  # target 10 + 10 %

    assert slo.overdue_incidents([young], lambda _: None, plan, NOW) == []
    assert (
        len(slo.overdue_incidents([young], lambda _: None, plan, NOW + timedelta(minutes=1, seconds=1))) == 1
    )


def test_drills_resolved_incidents_and_maintenance_are_never_overdue(plan: Plan) -> None:
    long_ago = NOW - timedelta(days=2)
    quiet = [
        incident("ccccc1", started=long_ago, drill=True),
        incident("ccccc2", started=long_ago, status="resolved", resolved_at=NOW),
        incident("ccccc3", started=long_ago, maintenance_phase="in_progress"),
    ]
    real = incident("ccccc4", started=long_ago)

    overdue = slo.overdue_incidents([*quiet, real], lambda _: None, plan, NOW)

    assert [o.incident_id for o in overdue] == [real.id]


def test_the_watchdog_round_always_emits_overdue_updates_even_zero(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    store = InMemoryWorkflowStore()

    slo.watch([], store, plan, NOW)
    slo.watch([incident("ddddd1", started=NOW - timedelta(days=1))], store, plan, NOW)

    documents = emitted(capsys)
    assert [d["OverdueUpdates"] for d in documents] == [0.0, 1.0]
    assert all(d["service"] == slo.SLO_SERVICE and "mode" not in d for d in documents)
    assert documents[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


# -- the customer-update mark: first message and gaps, exactly once per update -----------------


def update(
    number: int, *, severity: str = "sev2", scenario: str = "identified", **extra: Any
) -> dict[str, Any]:
    return {
        "incident_id": "inc-20261127-1300-eeeee1",
        "update_id": f"{number:03d}-{scenario}",
        "scenario": scenario,
        "severity": severity,
        "incident_started_at": (NOW - timedelta(minutes=12)).isoformat(),
        "drill": False,
        "seconds_per_minute": 60.0,
        **extra,
    }


def test_only_the_first_delivery_of_the_incident_is_the_first_message(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    store = InMemoryWorkflowStore()

    # Given two channels of update 001 and then one of 002 reach customers
    slo.reached_customers(plan, store, update(1), NOW, drill=False)
    slo.reached_customers(plan, store, update(1), NOW + timedelta(seconds=3), drill=False)
    slo.reached_customers(plan, store, update(2), NOW + timedelta(minutes=70), drill=False)

    by_name = {name: d for d in emitted(capsys) for name in d if name[0].isupper() and name != "_aws"}
    # Then: one first message (12 minutes, sev2 target 15 -> not missed) and one gap from 001's first delivery
    assert by_name["TimeToFirstExternalMessage"]["TimeToFirstExternalMessage"] == 720.0
    assert by_name["FirstMessageTargetMissed"]["FirstMessageTargetMissed"] == 0.0
    assert by_name["UpdateGap"]["UpdateGap"] == 70 * 60
    assert by_name["UpdateGapRatio"]["UpdateGapRatio"] == pytest.approx(116.67, abs=0.01)
    assert by_name["UpdateCadence"]["UpdateCadence"] == 3600
    assert store.last_customer_update("inc-20261127-1300-eeeee1") == CustomerUpdate(
        2, "002-identified", "sev2", NOW + timedelta(minutes=70)
    )


def test_a_late_branch_of_an_older_update_does_not_move_the_mark_back(plan: Plan) -> None:
    store = InMemoryWorkflowStore()
    slo.reached_customers(plan, store, update(3), NOW, drill=False)

    advanced, previous = store.advance_customer_update(
        "inc-20261127-1300-eeeee1", CustomerUpdate(2, "002-identified", "sev2", NOW + timedelta(seconds=1))
    )

    assert (advanced, previous) == (False, None)
    last = store.last_customer_update("inc-20261127-1300-eeeee1")
    assert last is not None and last.number == 3


def test_the_gap_is_held_to_the_cadence_the_previous_update_promised(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    store = InMemoryWorkflowStore()
    slo.reached_customers(plan, store, update(1, severity="sev3"), NOW, drill=False)
    capsys.readouterr()

    # escalated to sev1 meanwhile: the sev3 message had promised 120 minutes
    slo.reached_customers(plan, store, update(2, severity="sev1"), NOW + timedelta(minutes=60), drill=False)

    (ratio,) = [d for d in emitted(capsys) if "UpdateGapRatio" in d]
    assert ratio["severity"] == "sev3"
    assert ratio["UpdateGapRatio"] == pytest.approx(50.0)


def test_drill_datapoints_carry_mode_drill(plan: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    store = InMemoryWorkflowStore()

    slo.reached_customers(plan, store, update(1, drill=True), NOW, drill=True)

    documents = emitted(capsys)
    assert {d["mode"] for d in documents} == {"drill"}
    assert all(
        set(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == {"service", "severity", "mode"}
        for d in documents
    )


def test_approval_latency_leaves_out_the_post_incident_summary(capsys: pytest.CaptureFixture[str]) -> None:
    slo.record_approval(3 * 24 * 3600, "sev2", "post_incident_summary", drill=False)
    slo.record_approval(240, "sev2", "identified", drill=False)

    (latency,) = emitted(capsys)
    assert (latency["ApprovalLatency"], latency["severity"]) == (240, "sev2")


def test_a_measurement_that_fails_never_fails_the_delivery_it_measures(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    class BrokenStore(InMemoryWorkflowStore):
        def get_update(self, incident_id: str, update_id: str) -> dict[str, Any]:
            raise ConnectionError("DynamoDB unreachable")

    services = Services(
        plan=plan,
        repository=None,  # type: ignore[arg-type]
        store=BrokenStore(),
        notifier=None,  # type: ignore[arg-type]
        channel=lambda _: None,
        signer=None,  # type: ignore[arg-type]
        send_task_success=lambda *_: None,
        execution_running=lambda _: False,
    )
    event = {"incident_id": "inc-20261127-1300-eeeee1", "update_id": "001-identified", "channel": "email"}

    slo.record_delivery(event, {"status": "delivered"}, services)  # no exception: a retry would resend

    assert emitted(capsys) == []
