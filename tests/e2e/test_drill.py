"""`make drill`'s command: a whole incident on the embedded AWS, written to the output folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_drill_runs_a_whole_incident_and_writes_every_delivery(tmp_path: Path) -> None:
    out = tmp_path / "drill"
    command = [
        str(Path(sys.executable).parent / "outage-comms"),
        "drill", "--plan", "plans/example.yaml", "--out", str(out), "--seconds-per-minute", "0.3",
    ]  # fmt: skip
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    drill_output = result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED"
    assert summary["reminders"] == 1
    customer = sorted((out / "deliveries" / "sns").glob("*.txt"))
    assert {p.name.split(".")[-2] for p in customer} == {"en", "pt-BR"}
    scenarios = {p.name.split("-", 1)[1].split(".")[0] for p in customer}
    assert {"major_outage", "identified", "resolved"} <= scenarios
    timeline = json.loads((out / "timeline.json").read_text())
    texts = [entry["text"] for entry in timeline]
    assert "Remind communications manager" in texts and "Create post-incident summary task" in texts
    report = (out / "report.md").read_text()
    assert "Time to first customer message" in report
    # Every enabled channel the workflow speaks through delivered, and the provider side received it
    from outage_comms.plan import load_plan
    from outage_comms.workflow.channels_plan import STATUS_SURFACES

    plan = load_plan(ROOT / "plans" / "example.yaml")
    channels = summary["channels"]
    assert set(channels) == {c.value for c in plan.channels.enabled()}
    for channel in plan.channels.enabled():
        result = channels[channel.value]
        if channel in STATUS_SURFACES:  # the status publisher's, reported with its outcome and why
            assert result["outcome"] and result["why"]
            continue
        assert result["outcome"] == "delivered", (channel, result)
        assert result["received"] >= 1, (channel, result)
        assert any((out / "deliveries" / channel.value).iterdir()), channel
    # The public face as the publisher builds it: page, Statuspage JSON and feeds, with the resolved incident
    status = out / "status"
    incidents = json.loads((status / "api" / "v2" / "incidents.json").read_text())["incidents"]
    assert [i["id"] for i in incidents] == [summary["incident_id"]]
    assert incidents[0]["status"] == "resolved"
    assert (status / "index.html").read_text().count("<html") == 1
    assert "Status page: python3 -m http.server" in drill_output
