"""The plan's ``regions`` and ``incident_manager`` sections: schema, identities, lint completeness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from outage_comms.plan import (
    PlanError,
    channel_identities,
    incident_manager_impact,
    parse_plan,
    region_problems,
)
from outage_comms.vocabulary import Channel

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "plans" / "example.yaml"
TWO_REGION = REPO / "tests" / "fixtures" / "two_region_plan.yaml"


def plan_with(**sections: Any) -> Any:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data.update(sections)
    return parse_plan(data, "plan.yaml")


def test_no_regions_section_is_the_single_region_plan_as_before() -> None:
    plan = plan_with()
    assert plan.regions is None and plan.incident_manager is None
    assert region_problems(plan, "plan.yaml") == []
    # the primary's identities are channels.*
    identities = channel_identities(plan)
    assert identities[Channel.EMAIL] == plan.channels.email.from_address
    assert identities[Channel.SMS] == plan.channels.sms.origination_identity


def test_standby_must_differ_from_primary() -> None:
    with pytest.raises(PlanError) as error:
        plan_with(regions={"primary": "eu-west-1", "standby": "eu-west-1"})
    assert any("regions" in p.path for p in error.value.problems)


@pytest.mark.parametrize("region", ["Europe", "eu-west", "eu_west_1", ""])
def test_region_names_are_checked(region: str) -> None:
    with pytest.raises(PlanError):
        plan_with(regions={"primary": region})


def test_standby_identities_come_from_standby_channels_only() -> None:
    plan = plan_with(
        regions={
            "primary": "us-east-1",
            "standby": "us-west-2",
            "standby_channels": {
                "email_from_address": "status@west.example",
                "sms_origination_identity": "+15550001",
            },
        }
    )
    assert plan.regions.engine_regions == ["us-east-1", "us-west-2"]
    assert plan.regions.workload_regions == ["us-east-1"]
    standby = channel_identities(plan, "us-west-2")
    assert standby == {Channel.EMAIL: "status@west.example", Channel.SMS: "+15550001"}
    # the primary keeps channels.*
    assert channel_identities(plan, "us-east-1")[Channel.EMAIL] == plan.channels.email.from_address


def test_lint_names_every_channel_the_standby_cannot_send_on() -> None:
    plan = plan_with(
        regions={
            "primary": "us-east-1",
            "standby": "us-west-2",
            "standby_channels": {"email_from_address": "status@west.example"},
        }
    )
    problems = region_problems(plan, "plan.yaml")
    paths = sorted(p.path for p in problems)
    # example.yaml turns on email, sms, voice and push: three are missing in the standby
    assert paths == [
        "regions.standby_channels.push_application_id_parameter",
        "regions.standby_channels.sms_origination_identity",
        "regions.standby_channels.voice_origination_identity",
    ]
    assert all("us-west-2" in p.message for p in problems)


def test_lint_ignores_channels_that_are_off() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for channel in ("sms", "voice", "push"):
        data["channels"][channel]["enabled"] = False
    data["regions"] = {
        "primary": "us-east-1",
        "standby": "us-west-2",
        "standby_channels": {"email_from_address": "status@west.example"},
    }
    assert region_problems(parse_plan(data, "plan.yaml"), "plan.yaml") == []


def test_synthetic_check_alarm_must_be_mapped_and_needs_a_standby() -> None:
    plan = plan_with(
        regions={
            "primary": "us-east-1",
            "synthetic_check": {"urls": ["https://x.example"], "alarm_name": "zz"},
        }
    )
    paths = {p.path for p in region_problems(plan, "plan.yaml")}
    assert paths == {"regions.synthetic_check.alarm_name", "regions.synthetic_check"}


def test_the_two_region_fixture_is_complete() -> None:
    from outage_comms.plan import load_plan

    plan = load_plan(TWO_REGION)
    assert region_problems(plan, str(TWO_REGION)) == []


def test_incident_manager_impact_uses_the_most_severe_mapped_value_else_the_rank() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["severities"][0]["incident_manager_impact"] = [2, 1]
    data["severities"][1]["incident_manager_impact"] = []
    plan = parse_plan(data, "plan.yaml")
    assert incident_manager_impact(plan, plan.severities[0]) == 1
    assert incident_manager_impact(plan, plan.severities[1]) == 2  # its rank


def test_incident_manager_slack_ids_come_together() -> None:
    with pytest.raises(PlanError):
        plan_with(incident_manager={"slack_workspace_id": "T123"})
    plan = plan_with(incident_manager={})
    assert plan.incident_manager.enabled and not plan.incident_manager.create_replication_set
    assert plan.incident_manager.engage_roles == [
        "incident_manager",
        "communications_manager",
        "support_manager",
    ]
