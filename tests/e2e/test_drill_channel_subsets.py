"""Any subset of channels and any set of locales, end to end on the embedded AWS.

A team's plan, not the example: a payments company in English and German (the German words supplied
by the team, as a translation of the shipped English files), with email, Slack and the status page
only — no SNS topic, no SMS, no chat app. It lints clean of locale findings, synthesizes (no output or
construct for a channel that is off) and drills to SUCCEEDED with messages in both locales.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan_builder import GERMAN, PlanSpec, write_plan_folder

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: ledgerly-checkout
description: A critical checkout failure, one approver, an identified update, the resolution.
opening: major_outage
events:
  - at: 0m
    action: alarm
    component: checkout
    severity: sev1
  - at: 10m
    action: update
    after: previous_update_out
    scenario: identified
    status: identified
    note:
      en: We found the cause and are fixing it
      de: Wir haben die Ursache gefunden und beheben sie
  - at: 20m
    action: resolve
    after: previous_update_out
approvals:
  - update: any
    by: [communications_manager]
    decision: approve
    after: 1m
approve_post_incident_summary: true
expect:
  internal_notice_within: 5m
  reminders: 0
  escalations: 0
"""

GERMAN_WORDS = {
    **GERMAN,
    "is down and we're working on it": "ist gestört, wir arbeiten daran",
    "We'll send the next update by": "Das nächste Update senden wir bis",
    "We're very sorry for the trouble.": "Bitte entschuldigen Sie die Störung.",
}


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
        **env,
    }
    environment.pop("OUTAGE_COMMS_EMBEDDED_CDK_OUT", None)  # this plan synthesizes its own app
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def test_email_slack_status_page_plan_in_english_and_german_drills_to_succeeded(tmp_path: Path) -> None:
    team = tmp_path / "ledgerly"
    team.mkdir()
    plan = write_plan_folder(
        team,
        PlanSpec(locales=("en", "de"), channels=("email", "slack", "status_page")),
        translations={"de": GERMAN_WORDS},
    )
    scenario = team / "checkout.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    cli = str(Path(sys.executable).parent / "outage-comms")
    env = {"TEMPLATES_DIR": str(team / "templates")}

    linted = run([cli, "lint", str(plan), "--format", "json"], cwd=team, **env)
    findings = json.loads(linted.stdout)["findings"] if linted.stdout.strip().startswith("{") else []
    assert not [f for f in findings if f["code"].startswith(("locale.", "template", "plan"))], linted.stdout

    out = tmp_path / "drill"
    drilled = run(
        [cli, "drill", "--plan", str(plan), "--scenario", str(scenario), "--out", str(out),
         "--seconds-per-minute", "0.3"],
        cwd=team, **env,
    )  # fmt: skip
    assert drilled.returncode == 0, drilled.stdout[-4000:] + drilled.stderr[-4000:]
    assert "Traceback" not in drilled.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED", summary
    assert set(summary["channels"]) == {"email", "slack", "status_page"}
    assert not (out / "deliveries" / "sns").exists()  # no topic, no SNS deliveries, no crash

    emails = [p.read_text() for p in sorted((out / "deliveries" / "email").glob("*.txt"))]
    german = [e for e in emails if e.startswith("To: game-day.de@")]
    english = [e for e in emails if e.startswith("To: game-day@")]
    assert german and english and len(german) == len(english), [e[:200] for e in emails]
    # Each reader's words: the team's German (the drill note, translated phrases) and German formatting
    # from Babel in Berlin time ("2. Dez., 08:38 MEZ"); English stays English ("2 Dec, 07:38 UTC").
    assert all("[ÜBUNG]" in e for e in german) and all("[DRILL]" in e for e in english)
    # The engineer's note reaches each reader in their language (when the update went out on its own)
    noted = any("We found the cause" in e for e in english)
    assert noted == any("Wir haben die Ursache" in e for e in german)
    assert not any("Wir haben die Ursache" in e for e in english)
    assert any("nächstes Update" in e for e in german)
    german_time = re.compile(r"\b\d{1,2}\. \w{3,4}\.?, \d{2}:\d{2} MEZ\b")  # "10. März," "3. Dez.,"
    english_time = re.compile(r"\b\d{1,2} \w{3}, \d{2}:\d{2} UTC\b")
    assert all(german_time.search(e) for e in german), german[0][-3000:]
    assert all(english_time.search(e) and not german_time.search(e) for e in english)
    assert summary["customer_messages"] == len(emails)
    # The status page of each locale, numbers as the locale writes them (published under drill/)
    site = out / "status" / plan_data_prefix()
    assert "100.00%" in (site / "index.html").read_text()
    assert "100,00\xa0%" in (site / "de" / "index.html").read_text()
    slack = list((out / "deliveries" / "slack").glob("*.http"))
    assert slack, "Slack received nothing"


def plan_data_prefix() -> str:
    """The drill status page's folder (the plan's default ``drill.status_prefix``)."""
    from outage_comms.plan import DrillSettings

    return DrillSettings().status_prefix.rstrip("/")


@pytest.mark.parametrize("channels", [("status_page",), ("email", "in_app")])
def test_a_plan_with_few_channels_synthesizes_without_their_outputs(tmp_path: Path, channels) -> None:
    """Only what the plan switches on: no subscriber or drill topic output without SNS, no SMS replies."""
    from outage_comms_embedded import synthesize_app

    plan = write_plan_folder(tmp_path / "team", PlanSpec(locales=("en",), channels=channels))
    cdk_out = synthesize_app(tmp_path / "cdk.out", plan)
    outputs: set[str] = set()
    for template in cdk_out.glob("*.template.json"):
        outputs |= set(json.loads(template.read_text()).get("Outputs", {}))
    assert outputs, "nothing synthesized"
    assert not outputs & {"SubscribersTopicArn", "DrillTopicArn", "SmsRepliesTopicArn"}, outputs


def test_a_status_page_only_english_plan_drills_to_succeeded(tmp_path: Path) -> None:
    """No email, no chat app: the approver finds the review link in the team chat topic; the status page
    is the only public surface."""
    team = tmp_path / "team"
    team.mkdir()
    plan = write_plan_folder(team, PlanSpec(locales=("en",), channels=("status_page",)))
    scenario = team / "checkout.yaml"
    scenario.write_text(SCENARIO.replace("      de: Wir haben die Ursache gefunden und beheben sie\n", ""))
    out = tmp_path / "drill"
    cli = str(Path(sys.executable).parent / "outage-comms")
    drilled = run(
        [cli, "drill", "--plan", str(plan), "--scenario", str(scenario), "--out", str(out),
         "--seconds-per-minute", "0.3"],
        cwd=team,
    )  # fmt: skip
    assert drilled.returncode == 0, drilled.stdout[-4000:] + drilled.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED" and set(summary["channels"]) == {"status_page"}, summary
    assert summary["channels"]["status_page"]["outcome"] == "published", summary["channels"]
    assert "100.00%" in (out / "status" / plan_data_prefix() / "index.html").read_text()
