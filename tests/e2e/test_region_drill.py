"""Issue 17's proof on the embedded AWS: the default drill's story survives a primary region outage.

Both engines of tests/fixtures/two_region_plan.yaml are synthesized and deployed into moto (a backend per
region). The story is ``drills/default.yaml`` with ``{at: 10m, action: region_outage, region: primary}``
and ``{at: 40m, action: region_recovery, region: primary}``: from plan minute 10 every call to eu-west-1
fails; the drill plays CloudWatch's engine-health alarm onto the standby's bus, the standby's real
failover function takes the incident over and resumes it in its own execution of the synthesized state
machine; after recovery it hands the incident back between updates.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from outage_comms.plan import Plan, load_plan

#: ``make test`` runs it (issue 17's failback race is fixed: tests/integration/regions/test_failback_race.py);
#: ``make region-drill`` runs it alone. ``OUTAGE_COMMS_REGION_DRILL=0`` skips it (a quick local loop).
RUN_ENV = "OUTAGE_COMMS_REGION_DRILL"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get(RUN_ENV) == "0", reason=f"the two-region drill skipped ({RUN_ENV}=0)"),
]

ROOT = Path(__file__).resolve().parents[2]
TWO_REGIONS = ROOT / "tests" / "fixtures" / "two_region_plan.yaml"
#: Point at a cdk.out that ``synthesize_app`` wrote for the two-region plan to skip synthesis.
REUSE_ENV = "OUTAGE_COMMS_EMBEDDED_TWO_REGION_CDK_OUT"
Drilled = tuple[dict[str, Any], Path, float]
OUTAGE = {"at": "10m", "action": "region_outage", "region": "primary"}
RECOVERY = {"at": "40m", "action": "region_recovery", "region": "primary"}


def region_story(plan: Plan) -> Any:
    """``drills/default.yaml`` with the primary down from plan minute 10 to 40."""
    from outage_comms_cli.drills.scenario import DEFAULT_SCENARIO, parse_scenario

    data = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    data["name"] = "region-outage"
    data["events"] = sorted(
        [*data["events"], OUTAGE, RECOVERY], key=lambda e: float(str(e["at"]).removesuffix("m"))
    )
    return parse_scenario(data, "region-outage (default + outage)", plan)


@pytest.fixture(scope="module")
def two_region_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        return Path(reuse)
    from outage_comms_embedded import synthesize_app

    return synthesize_app(tmp_path_factory.mktemp("two-region-cdk.out"), TWO_REGIONS)


@pytest.fixture(scope="module")
def drilled(
    two_region_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path, float]:
    from outage_comms_cli.drills.embedded import REUSE_CDK_OUT_ENV, run_embedded_drill

    plan = load_plan(TWO_REGIONS)
    out = tmp_path_factory.mktemp("region-drill")
    saved = os.environ.get(REUSE_CDK_OUT_ENV)
    os.environ[REUSE_CDK_OUT_ENV] = str(two_region_cdk_out)
    started = time.perf_counter()
    try:
        summary = run_embedded_drill(
            plan, out, plan_path=TWO_REGIONS, scenario=region_story(plan), seconds_per_minute=1.0
        )
    finally:
        if saved is None:
            os.environ.pop(REUSE_CDK_OUT_ENV, None)
        else:
            os.environ[REUSE_CDK_OUT_ENV] = saved
    return summary, out, time.perf_counter() - started


def test_the_default_story_succeeds_across_a_primary_outage(drilled: Drilled) -> None:
    summary, _, _ = drilled
    regions = summary["regions"]
    assert summary["status"] == "SUCCEEDED", summary.get("executions")
    # the outage really cut the primary off: calls refused, its own machinery held until recovery
    cut = sum(regions["calls_refused"].values()) + sum(regions["calls_held_until_recovery"].values())
    assert cut > 0 and set(regions["calls_refused"]) | set(regions["calls_held_until_recovery"]) == {
        "eu-west-1"
    }
    # the standby took the incident over after the alarm, and handed it back after the recovery (between
    # updates: the failback no longer waits for a live lease, which nothing renews between updates)
    owners = [o["region"] for o in regions["owners"]]
    assert owners == ["eu-west-1", "eu-central-1", "eu-west-1"], regions["owners"]
    assert regions["owners"][1]["minute"] >= regions["alarm_changes"][0]["minute"] >= regions["outage_minute"]
    back, ok = regions["owners"][2]["minute"], regions["alarm_changes"][1]["minute"]
    assert back >= ok >= regions["recovery_minute"], regions
    # no execution is left running or waiting: the old owners were stopped or ended fenced out
    assert "RUNNING" not in summary["executions"].values(), summary["executions"]
    # 0 customer messages sent twice, 0 updates lost, across failover and failback
    assert regions["customer_messages_sent_twice"] == 0, regions["sent_twice"]
    assert regions["updates_lost"] == [], regions["sent_by_region"]
    # the standby's first message: the update the person posted during the outage, within the sev1 cadence
    to_standby = regions["outage_to_standby_first_message_minutes"]
    assert to_standby is not None and 0 < to_standby <= 30, regions
    identified = next(u for u in regions["sent_by_region"] if u.endswith("identified"))
    assert regions["sent_by_region"][identified] == ["eu-central-1"]


def test_the_updates_stay_on_time_and_approvals_complete(drilled: Drilled) -> None:
    summary, out, _ = drilled
    record = json.loads((out / "record.json").read_text())
    decisions = [a["decision"] for a in record["approvals"]]
    assert decisions and set(decisions) == {"approved"}, record["approvals"]
    # the same story without an outage scores 97 (tests/e2e/test_drill_plan_clock.py): the outage costs
    # nothing the report measures (first message, cadence, approvals, internal notice)
    assert summary["record"]["score"] >= 95, summary["record"]
    first = record["first_message_minute"]
    assert first is not None and first < 10  # the first message, before the outage


def test_resolution_and_summary_go_out_once_after_recovery(drilled: Drilled) -> None:
    summary, _, _ = drilled
    regions = summary["regions"]
    sent, at = regions["sent_by_region"], regions["first_delivered_minute"]
    resolved = [u for u in sent if u.endswith("resolved")]
    summaries = [u for u in sent if u.endswith("post_incident_summary")]
    assert len(resolved) == 1 and len(summaries) == 1, sent
    for update in (*resolved, *summaries):  # once, by one region, after the primary recovered
        assert len(sent[update]) == 1 and at[update] > regions["recovery_minute"], (update, sent, at)


def test_the_resolve_goes_out_on_time_through_the_recovered_primary(drilled: Drilled) -> None:
    # the person resolves through the recovered primary's intake, around the hand-back: it wakes whichever
    # execution drives the incident (a task token is answered in the region that issued it), so the resolution
    # goes out within the plan's step (two approvers), not after a reminder, escalation and holding update
    summary, out, _ = drilled
    regions = summary["regions"]
    record = json.loads((out / "record.json").read_text())
    posted = next(
        s["minute"] for s in record["steps"] if s["actor"] == "drill script" and s["kind"] == "resolve"
    )
    (resolved,) = [u for u in regions["sent_by_region"] if u.endswith("resolved")]
    assert regions["first_delivered_minute"][resolved] - posted <= 5, (
        posted,
        regions["first_delivered_minute"],
    )
    assert not [u for u in regions["updates_rendered"] if u.endswith("holding_update")], regions[
        "updates_rendered"
    ]


def test_the_status_site_shows_every_update(drilled: Drilled) -> None:
    summary, out, _ = drilled
    site = summary["status_site"]
    incidents_file = out / "status" / site["drill_prefix"].strip("/") / "api" / "v2" / "incidents.json"
    listed = json.loads(incidents_file.read_text())["incidents"]
    (incident,) = [i for i in listed if i["id"] == summary["incident_id"]]
    shown = [(u["status"], u["body"]) for u in incident["incident_updates"]]
    sent = summary["regions"]["sent_by_region"]
    assert len(shown) + bool(incident.get("postmortem_body")) >= len(sent), (shown, sent)  # the outage's too
    assert len(set(shown)) == len(shown), shown  # and none twice (a fenced-out region publishes nothing)


def test_the_drill_stays_within_its_time_budget(drilled: Drilled) -> None:
    _, _, seconds = drilled
    assert seconds < 420, f"the two-region drill took {seconds:.0f} s (deploy of both regions included)"
