"""Every door's documented event becomes the right Signal, or a Rejection that says what to do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from outage_comms.intake.normalise import Rejection, Signal, default_severity, to_signal
from outage_comms.plan import Plan, parse_plan
from outage_comms.vocabulary import Scenario

pytestmark = pytest.mark.unit

EventFactory = Callable[[str], dict[str, Any]]
SignalOf = Callable[[Any], Signal]
RejectionOf = Callable[[Any], Rejection]

RECORD = (
    "arn:aws:ssm-incidents::111122223333:incident-record/nimbus-sync/0cc1ff9e-7a4b-4b2d-9d1f-5e4b7c1e2f11"
)


@pytest.mark.parametrize(
    ("name", "source_type", "intent", "components", "severity", "status", "scenario"),
    [
        ("alarm_metric_alarm", "alarm", "open", ("sync",), "sev3", None, None),
        ("alarm_metric_ok", "alarm", "update", ("sync",), None, "monitoring", Scenario.MONITORING),
        ("alarm_metric_insufficient_data", "alarm", "record", ("sync",), None, None, None),
        ("alarm_composite_alarm", "alarm", "open", ("public-api",), "sev3", None, None),
        ("alarm_tagged_severity", "alarm", "open", ("web-app",), "sev1", None, None),
        ("health_issue_open", "health", "open", ("sync",), "sev3", None, None),
        ("health_issue_closed", "health", "resolve", ("sync",), None, None, None),
        (
            "health_scheduled_change",
            "health",
            "open",
            ("attachments",),
            "sev4",
            "identified",
            Scenario.MAINTENANCE_SCHEDULED,
        ),
        ("im_start_incident", "incident_manager", "open", ("sync",), "sev2", None, None),
        ("im_update_impact", "incident_manager", "update", (), "sev1", None, None),
        ("im_update_resolved", "incident_manager", "resolve", (), None, None, None),
        ("im_create_timeline_event", "incident_manager", "record", (), None, None, None),
        ("runbook_input", "incident_manager", "open", ("sync",), "sev2", None, None),
        ("opsitem_create", "opsitem", "open", ("search",), "sev3", None, None),
        ("opsitem_update_resolved", "opsitem", "resolve", ("search",), "sev3", None, None),
        ("human_declare", "human", "open", ("sign-in", "public-api"), "sev2", None, Scenario.PARTIAL_OUTAGE),
        ("human_resolve", "human", "resolve", (), None, None, None),
    ],
)
def test_documented_events_become_signals(
    signal: SignalOf,
    name: str,
    source_type: str,
    intent: str,
    components: tuple[str, ...],
    severity: str | None,
    status: str | None,
    scenario: Scenario | None,
) -> None:
    got = signal(name)
    assert (got.source.type, got.intent, got.components, got.severity, got.status, got.scenario) == (
        source_type,
        intent,
        components,
        severity,
        status,
        scenario,
    )
    assert got.warnings == ()


@pytest.mark.parametrize(
    ("name", "code", "names"),
    [
        ("unknown_event", "unknown_source", "aws.ec2"),
        ("wrong_type_event", "invalid_event", "detail.state.value"),
        ("alarm_unmapped", "no_matching_component", "alarm_name_patterns"),
        ("health_account_notification", "health_category_not_announced", "accountNotification"),
    ],
)
def test_bad_events_are_rejected_with_a_reason_naming_the_field(
    rejection: RejectionOf, name: str, code: str, names: str
) -> None:
    got = rejection(name)
    assert got.code == code
    assert names in got.reason
    assert got.event is not None  # the original travels with the rejection to the DLQ


def test_the_sources_reference_is_what_follow_ups_use(signal: SignalOf) -> None:
    assert signal("alarm_metric_alarm").source.reference == (
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:sync-write-errors"
    )
    assert signal("im_start_incident").source.reference == RECORD
    assert signal("im_update_resolved").source.reference == RECORD
    assert signal("runbook_input").source.reference == RECORD
    assert signal("opsitem_create").source.reference == "oi-1a2b3c4d5e6f"
    assert signal("health_issue_open").source.reference == signal("health_issue_closed").source.reference


# --- alarms ---------------------------------------------------------------------------------


def test_alarm_name_patterns_are_case_sensitive(event: EventFactory, rejection: RejectionOf) -> None:
    raw = event("alarm_metric_alarm")
    raw["detail"]["alarmName"] = "SYNC-write-errors"
    raw["resources"] = []
    assert rejection(raw).code == "no_matching_component"


def test_alarm_maps_by_resource_tags_when_no_pattern_matches(event: EventFactory, signal: SignalOf) -> None:
    raw = event("alarm_tagged_severity")  # 'prod-alb-target-5xx' matches no pattern
    assert signal(raw).components == ("web-app",)
    raw["detail"]["alarmTags"] = {"component": "sync"}
    assert signal(raw).components == ("sync",)


def test_alarm_without_a_severity_tag_uses_the_least_severe_non_none_level(
    plan: Plan, signal: SignalOf
) -> None:
    assert default_severity(plan).id == "sev3"
    assert signal("alarm_metric_alarm").severity == "sev3"


def test_alarm_severity_tag_may_name_an_impact_word(event: EventFactory, signal: SignalOf) -> None:
    raw = event("alarm_tagged_severity")
    raw["detail"]["alarmTags"]["severity"] = "major"
    assert signal(raw).severity == "sev2"


def test_unknown_alarm_severity_tag_falls_back_with_a_warning(event: EventFactory, signal: SignalOf) -> None:
    raw = event("alarm_tagged_severity")
    raw["detail"]["alarmTags"]["severity"] = "P1"
    got = signal(raw)
    assert got.severity == "sev3"
    assert "P1" in got.warnings[0]


def test_composite_alarm_maps_through_the_alarms_in_its_rule(
    event: EventFactory, rejection: RejectionOf
) -> None:
    raw = event("alarm_composite_alarm")
    raw["detail"]["configuration"]["alarmRule"] = (
        'ALARM("billing-lag") AND OK(arn:aws:cloudwatch:x:1:alarm:batch)'
    )
    got = rejection(raw)
    assert got.code == "no_matching_component"
    assert "billing-lag, batch" in got.reason


def test_alarm_title_and_detail_stay_internal(signal: SignalOf) -> None:
    got = signal("alarm_metric_alarm")
    assert got.internal_title == "Alarm sync-write-errors is ALARM"
    assert "Threshold Crossed" in got.detail


# --- AWS Health -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "maps"),
    [("us-east-1", True), ("sa-east-1", True), ("global", True), ("eu-west-1", False)],
)
def test_health_regions_narrow_a_component(event: EventFactory, plan: Plan, region: str, maps: bool) -> None:
    raw = event("health_issue_open")
    raw["detail"]["service"] = "APIGATEWAY"
    raw["detail"]["eventRegion"] = region
    got = to_signal(raw, plan)
    assert isinstance(got, Signal) is maps
    if maps:
        assert isinstance(got, Signal) and got.components == ("public-api",)


def test_health_investigation_opens_like_an_issue(event: EventFactory, signal: SignalOf) -> None:
    raw = event("health_issue_open")
    raw["detail"]["eventTypeCategory"] = "investigation"
    assert signal(raw).intent == "open"


def test_health_maintenance_carries_its_window(event: EventFactory, signal: SignalOf) -> None:
    got = signal("health_scheduled_change")
    assert got.scheduled_for == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert got.scheduled_until == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    raw = event("health_scheduled_change")
    raw["detail"]["statusCode"] = "open"
    assert signal(raw).scenario is Scenario.MAINTENANCE_IN_PROGRESS


# --- Incident Manager -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "severity"), [(1, "sev1"), (2, "sev2"), (3, "sev3"), (4, "sev3"), (5, "sev4")]
)
def test_incident_manager_impact_maps_to_the_plan_severity(
    event: EventFactory, signal: SignalOf, impact: int, severity: str
) -> None:
    raw = event("im_start_incident")
    raw["detail"]["requestParameters"]["impact"] = impact
    assert signal(raw).severity == severity


def test_unmapped_impact_uses_the_same_impact_word_and_warns(
    example_data: dict[str, Any], event: EventFactory
) -> None:
    data = {**example_data, "severities": [dict(s) for s in example_data["severities"]]}
    data["severities"][0]["incident_manager_impact"] = []
    plan = parse_plan(data)
    raw = event("im_start_incident")
    raw["detail"]["requestParameters"]["impact"] = 1
    got = to_signal(raw, plan)
    assert isinstance(got, Signal)
    assert got.severity == "sev1"
    assert "incident_manager_impact 1" in got.warnings[0]


def test_start_incident_finds_the_component_from_its_trigger_alarm(
    event: EventFactory, signal: SignalOf
) -> None:
    raw = event("im_start_incident")
    raw["detail"]["requestParameters"]["title"] = "Notes are not syncing"
    raw["detail"]["requestParameters"]["relatedItems"] = []
    got = signal(raw)
    assert got.components == ("sync",)
    assert got.warnings == ()


def test_start_incident_guesses_from_title_words_with_a_warning(
    event: EventFactory, signal: SignalOf
) -> None:
    raw = event("im_start_incident")
    params = raw["detail"]["requestParameters"]
    params["title"] = "Search is down"
    del params["triggerDetails"]
    params["relatedItems"] = []
    got = signal(raw)
    assert got.components == ("search",)
    assert "component:<id>" in got.warnings[0]


def test_start_incident_naming_no_component_is_rejected(event: EventFactory, rejection: RejectionOf) -> None:
    raw = event("im_start_incident")
    params = raw["detail"]["requestParameters"]
    params["title"] = "Something is wrong"
    del params["triggerDetails"]
    params["relatedItems"] = []
    got = rejection(raw)
    assert got.code == "no_matching_component"
    assert "component:<id>" in got.reason


def test_start_incident_with_an_unknown_component_token_is_rejected(
    event: EventFactory, rejection: RejectionOf
) -> None:
    raw = event("im_start_incident")
    raw["detail"]["requestParameters"]["title"] = "component:billing charges fail"
    got = rejection(raw)
    assert got.code == "unknown_component"
    assert "billing" in got.reason


def test_failed_api_call_is_rejected(event: EventFactory, rejection: RejectionOf) -> None:
    raw = event("im_start_incident")
    raw["detail"]["errorCode"] = "AccessDeniedException"
    raw["detail"]["errorMessage"] = "not authorized"
    raw["detail"]["responseElements"] = None
    got = rejection(raw)
    assert got.code == "api_call_failed"
    assert "AccessDeniedException" in got.reason


def test_start_incident_without_impact_uses_the_default_and_says_so(
    event: EventFactory, signal: SignalOf
) -> None:
    raw = event("im_start_incident")
    del raw["detail"]["requestParameters"]["impact"]
    got = signal(raw)
    assert got.severity == "sev3"
    assert "no impact" in got.warnings[0]


def test_impact_out_of_range_is_rejected(event: EventFactory, rejection: RejectionOf) -> None:
    raw = event("im_update_impact")
    raw["detail"]["requestParameters"]["impact"] = 9
    got = rejection(raw)
    assert got.code == "invalid_event"
    assert "impact" in got.reason


def test_runbook_accepts_a_comma_separated_component_list(event: EventFactory, signal: SignalOf) -> None:
    raw = event("runbook_input")
    raw["Components"] = "sync, search"
    assert signal(raw).components == ("sync", "search")


def test_runbook_without_a_time_uses_the_receipt_time(event: EventFactory, plan: Plan) -> None:
    raw = event("runbook_input")
    del raw["StartedAt"]
    received = datetime(2026, 11, 27, 14, 6, tzinfo=UTC)
    got = to_signal(raw, plan, received_at=received)
    assert isinstance(got, Signal) and got.occurred_at == received


# --- OpsCenter ------------------------------------------------------------------------------


def test_opsitem_severity_token_wins_over_its_severity_field(event: EventFactory, signal: SignalOf) -> None:
    raw = event("opsitem_create")
    raw["detail"]["description"] += " severity:sev1"
    assert signal(raw).severity == "sev1"


def test_opsitem_of_another_type_is_rejected(event: EventFactory, rejection: RejectionOf) -> None:
    raw = event("opsitem_create")
    raw["detail"]["ops-item-type"] = "/aws/changerequest"
    assert rejection(raw).code == "opsitem_type_not_incident"


def test_opsitem_in_progress_means_identified(event: EventFactory, signal: SignalOf) -> None:
    raw = event("opsitem_update_resolved")
    raw["detail"]["status"] = "InProgress"
    got = signal(raw)
    assert (got.intent, got.status) == ("update", "identified")


# --- humans ---------------------------------------------------------------------------------


def test_human_request_may_arrive_over_eventbridge(event: EventFactory, signal: SignalOf) -> None:
    body = event("human_declare")
    wrapped = {
        "version": "0",
        "id": "0d1e2f3a-aaaa-4b5c-8d9e-0f1a2b3c4d5e",
        "detail-type": "Human Incident Request",
        "source": "outage-comms.human",
        "account": "111122223333",
        "time": "2026-11-27T14:05:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": body,
    }
    assert signal(wrapped) == signal(body)


@pytest.mark.parametrize(
    ("change", "code", "names"),
    [
        ({"components": ["billing"]}, "unknown_component", "billing"),
        ({"components": []}, "missing_components", "components"),
        ({"severity": "sev9"}, "unknown_severity", "severity"),
        ({"note": {"fr": "Bonjour"}}, "unknown_locale", "note"),
        ({"sevrity": "sev1"}, "invalid_event", "sevrity"),
        ({"action": "update"}, "missing_incident_id", "incident_id"),
    ],
)
def test_human_mistakes_are_rejected_with_the_field_named(
    event: EventFactory, rejection: RejectionOf, change: dict[str, Any], code: str, names: str
) -> None:
    got = rejection(event("human_declare") | change)
    assert got.code == code
    assert names in got.reason


# --- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"), [([], "not_an_object"), ("ALARM", "not_an_object"), ({}, "unknown_shape")]
)
def test_shapes_that_are_not_events_are_rejected(plan: Plan, raw: Any, code: str) -> None:
    got = to_signal(raw, plan)
    assert isinstance(got, Rejection) and got.code == code and got.reason
