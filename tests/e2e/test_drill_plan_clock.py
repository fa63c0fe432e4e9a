"""The drill on the plan clock: the same short story twice, once while a busy process competes for the
CPU, gives the same score and the same customer texts (ids, links and tokens aside). The alarm enters
through EventBridge, the intake queue and the real intake function."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from outage_comms.plan import load_plan
from outage_comms_cli.drills.scenario import parse_scenario
from outage_comms_cli.quality import delivered_text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_FOLDERS = ("sns", "email", "sms", "voice", "push")
SHORT_STORY: dict[str, Any] = {
    "name": "short",
    "description": "A sev1 alarm, both managers approve, resolved ten plan minutes later.",
    "opening": "major_outage",
    "start": "2026-03-10T14:00:00Z",
    "events": [
        {"at": "0m", "action": "alarm", "component": "sign-in", "severity": "sev1"},
        {"at": "10m", "action": "resolve", "after": "previous_update_out"},
    ],
    "approvals": [
        {
            "update": "any",
            "by": ["communications_manager", "incident_manager"],
            "decision": "approve",
            "after": "1m",
        }
    ],
    "approve_post_incident_summary": False,
}


def _normalised(text: str) -> str:
    text = re.sub(r"https?://\S+", "<link>", text)
    text = re.sub(r"\binc-\d{8}-\d{4}-[0-9a-f]+\b", "<incident>", text)
    return re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>", text)


def _customer_texts(out: Path) -> list[str]:
    texts = []
    for folder in CUSTOMER_FOLDERS:
        for path in (
            sorted((out / "deliveries" / folder).glob("*")) if (out / "deliveries" / folder).exists() else []
        ):
            texts.append(
                f"{folder}: {_normalised(delivered_text(path.name, path.read_text(encoding='utf-8')))}"
            )
    return sorted(texts)


def _drill(out: Path, cdk_out: Path) -> dict[str, Any]:
    from outage_comms_cli.drills.embedded import run_embedded_drill

    plan_path = ROOT / "plans" / "example.yaml"
    plan = load_plan(plan_path)
    os.environ["OUTAGE_COMMS_EMBEDDED_CDK_OUT"] = str(cdk_out)
    try:
        return run_embedded_drill(
            plan, out, plan_path=plan_path, scenario=parse_scenario(SHORT_STORY), seconds_per_minute=1.0
        )
    finally:
        os.environ.pop("OUTAGE_COMMS_EMBEDDED_CDK_OUT", None)


def test_the_same_story_scores_and_reads_the_same_under_cpu_load(tmp_path: Path, drill_cdk_out: Path) -> None:
    quiet = _drill(tmp_path / "quiet", drill_cdk_out)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # competes for the CPU
    try:
        loaded = _drill(tmp_path / "loaded", drill_cdk_out)
    finally:
        busy.kill()
        busy.wait()
    # The alarm went through the bus, the intake queue and the intake function
    for summary in (quiet, loaded):
        assert "OutageCommsIntake" in summary["moto_patches"], summary["moto_patches"]
        assert summary["customer_messages"] > 0
    # Same score, same verdicts, same customer texts
    assert quiet["record"]["score"] == loaded["record"]["score"], (quiet["record"], loaded["record"])
    first = json.loads((tmp_path / "quiet" / "record.json").read_text())
    second = json.loads((tmp_path / "loaded" / "record.json").read_text())
    assert first["start"] == second["start"] == "2026-03-10T14:00:00Z"
    assert _customer_texts(tmp_path / "quiet") == _customer_texts(tmp_path / "loaded")
    # Processing is measured apart, in wall seconds, and reported beside the plan-clock figures
    assert first["processing_seconds"] > 0 and second["processing_seconds"] > 0
    assert "Handler processing is measured apart" in (tmp_path / "quiet" / "report.md").read_text()
    # The terminal stays quiet: moto's own lines are in the output folder's log
    log = (tmp_path / "quiet" / "embedded-aws.log").read_text()
    assert "No Moto CloudFormation support" in log


def test_the_maintenance_story_runs_on_its_schedules(tmp_path: Path, drill_cdk_out: Path) -> None:
    from outage_comms_cli.drills.embedded import run_embedded_drill
    from outage_comms_cli.drills.scenario import DRILLS_DIR, load_scenario

    plan_path = ROOT / "plans" / "example.yaml"
    plan = load_plan(plan_path)
    os.environ["OUTAGE_COMMS_EMBEDDED_CDK_OUT"] = str(drill_cdk_out)
    try:
        summary = run_embedded_drill(
            plan,
            tmp_path,
            plan_path=plan_path,
            scenario=load_scenario(DRILLS_DIR / "maintenance.yaml", plan),
            seconds_per_minute=0.2,
        )
    finally:
        os.environ.pop("OUTAGE_COMMS_EMBEDDED_CDK_OUT", None)
    # Scheduled through the incident API, then its schedules fired on the plan clock: reminder, start,
    # end, completion; the second window was cancelled through the API
    assert summary["status"] == "SUCCEEDED", summary["status"]
    texts = [entry["text"] for entry in summary["timeline"]]
    window = summary["incident_id"]
    for kind in ("reminder-1h", "start", "end", "complete"):
        assert any(t.startswith(f"{window}-{kind} fired") for t in texts), (kind, texts[-20:])
    assert any("cancelled (200)" in t for t in texts)
    delivered = {
        p.name.split("-", 1)[1].split(".")[0] for p in (tmp_path / "deliveries" / "sns").glob("*.txt")
    }
    assert {"maintenance_scheduled", "maintenance_in_progress", "maintenance_completed"} <= delivered
    # A drilled window stays a drill: the status publisher wrote only under the drill prefix
    assert summary["drill"] is True and summary["status_site"]["public_objects"] == 0
