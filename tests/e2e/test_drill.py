"""`make drill`'s command: a game-day scenario on the embedded AWS, written to the output folder.

The default story (``drills/default.yaml``) runs through the CLI exactly as ``make drill`` does
(plus a faster clock); the Slack-down story runs in process. Both reuse the session's cdk.out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms.workflow.channels_plan import STATUS_SURFACES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def status_incidents(folder: Path) -> list[dict[str, object]]:
    incidents: list[dict[str, object]] = json.loads((folder / "api" / "v2" / "incidents.json").read_text())[
        "incidents"
    ]
    return incidents


def test_drill_runs_the_default_scenario_and_writes_every_delivery(
    tmp_path: Path, drill_cdk_out: Path
) -> None:
    out = tmp_path / "drill"
    command = [
        str(Path(sys.executable).parent / "outage-comms"),
        "drill", "--plan", "plans/example.yaml", "--out", str(out), "--seconds-per-minute", "0.3",
    ]  # fmt: skip
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
           "OUTAGE_COMMS_EMBEDDED_CDK_OUT": str(drill_cdk_out)}  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    drill_output, drill_errors = result.stdout, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["scenario_name"] == "default"
    assert summary["reminders"] == 1 and summary["escalations"] == 0
    customer = sorted((out / "deliveries" / "sns").glob("*.txt"))
    assert {p.name.split(".")[-2] for p in customer} == {"en", "pt-BR"}
    scenarios = {p.name.split("-", 1)[1].split(".")[0] for p in customer}
    assert {"major_outage", "identified", "resolved"} <= scenarios
    timeline = json.loads((out / "timeline.json").read_text())
    texts = [entry["text"] for entry in timeline]
    assert "Remind communications manager" in texts and "Incident closed" in texts
    assert "update posted (identified)" in texts and "incident resolved" in texts
    # The drill report: measures against the plan's targets, a score, three improvements, the chart
    report = (out / "report.md").read_text()
    assert "Time to first customer message" in report and "Score: " in report
    assert report.count("\n1. ") == 1 and "\n3. " in report
    record = json.loads((out / "record.json").read_text())
    assert record["target"] == "embedded" and record["seconds_per_minute"] == 0.3
    assert record["reminders"] == 1 and len(record["update_minutes"]) >= 3
    assert [a["decision"] for a in record["approvals"]][:3] == ["approved"] * 3
    assert ET.parse(out / "timeline.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert (out / "report.html").read_text().startswith("<!doctype html>")
    # Every enabled channel the workflow speaks through delivered, and the provider side received it
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
    # The status site as the real status publisher left it in the embedded (moto) status bucket:
    # status/ is that bucket's listing, read back, not regenerated
    status, site = out / "status", summary["status_site"]
    assert site["source"] == "published by the status publisher", site["headline"]
    assert site["publisher_runs"] >= 3 and site["publisher_failures"] == 0, site["publisher_errors"]
    assert sorted(p.relative_to(status).as_posix() for p in status.rglob("*") if p.is_file()) == site["keys"]
    # drill-mode runtime: only under the drill prefix; the public keys and the public dashboard untouched
    if summary["drill"]:
        prefix = plan.drill.status_prefix
        assert site["keys"] and all(key.startswith(prefix) for key in site["keys"]), site["keys"]
        assert site["drill_objects"] == len(site["keys"]) and site["public_objects"] == 0
        assert site["public_keys_written"] == [] and site["public_dashboard_unchanged"] is True
        assert "index.html" not in site["keys"] and "api/v2/summary.json" not in site["keys"]
        page = status / prefix.rstrip("/")
        assert channels["status_page"]["outcome"] == "published"
        assert f"{len(site['keys'])} objects under {prefix}" in channels["status_page"]["why"]
        headline = f"{len(site['keys'])} objects published under {prefix} by the status publisher"
        assert f"{headline}; public keys not written" in " ".join(drill_output.split())
    else:
        page = status
        assert channels["status_page"]["outcome"] == "published" and "index.html" in site["keys"]
    assert [i["id"] for i in status_incidents(page)] == [summary["incident_id"]]
    # the last publish ran after the resolution
    assert status_incidents(page)[0]["status"] in {"resolved", "postmortem"}
    assert (page / "index.html").read_text().count("<html") == 1
    assert "Status page: python3 -m http.server" in drill_output
    # Every delivered message reads as a person would write it (issue 14's Tests)
    quality = json.loads((out / "quality.json").read_text())
    assert len(quality) == len(summary["delivered_files"])
    problems = [(row["name"], row["findings"]) for row in quality if row["findings"]]
    assert not problems, problems[:5]  # no sentence twice, no None/null/{{ }} debris
    # Plan-clock times: the 45-minute story lasted about 45 minutes, from 14:00 on the plan clock
    assert record["start"] == "2026-03-10T14:00:00Z"
    assert 44 <= record["resolved_minute"] <= 50, record["resolved_minute"]
    resolved = [p for p in customer if "resolved" in p.name and p.name.endswith(".en.txt")]
    assert resolved and re.search(r"\b4[4-9] minutes\b", resolved[0].read_text()), resolved[0].read_text()
    # Quiet terminal: moto's own lines are in the output folder's log, not on the terminal
    assert "No Moto CloudFormation support" not in drill_output + drill_errors
    assert (out / "embedded-aws.log").is_file()
    # No broken link: every link the site or a message points to exists in the output or is an API endpoint
    broken = broken_links(out, plan, drill_cdk_out)
    assert broken == []


_URL = re.compile(r"https?://[^\s<>\"')\]]+")
#: Not links a person follows: the feed formats' namespaces and the feed generator's home page.
_FEED_VOCABULARY = {"www.w3.org", "www.rssboard.org", "purl.org", "lkiesow.github.io"}


def _api_routes(cdk_out: Path) -> list[str]:
    """Path patterns the status site's CDN sends to an API (``/api/*``, ``/f/*``): served, not files."""
    patterns: list[str] = []
    for template in cdk_out.glob("*.template.json"):
        text = template.read_text()
        patterns += re.findall(r'"PathPattern": "([^"]+)"', text)
    return [p.strip("/").rstrip("*") for p in patterns]


def _reader_texts(out: Path) -> dict[str, str]:
    """Every delivered message as its reader gets it, and every text file of the status site."""
    from outage_comms_cli.quality import delivered_text

    texts = {
        str(path.relative_to(out)): delivered_text(path.name, path.read_text(encoding="utf-8"))
        for path in sorted((out / "deliveries").rglob("*"))
        if path.is_file()
    }
    for path in sorted((out / "deliveries").rglob("*.txt")):  # an email's links (href) as well as its words
        texts[f"{path.relative_to(out)} (raw)"] = re.sub(r"=\r?\n", "", path.read_text(encoding="utf-8"))
    for path in sorted((out / "status").rglob("*")):
        if path.is_file() and path.suffix in {".html", ".json", ".xml", ".txt", ".rss", ".atom", ""}:
            texts[str(path.relative_to(out))] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def broken_links(out: Path, plan: Plan, cdk_out: Path) -> list[str]:
    """Links a person would follow that lead nowhere: a status-site path not in the published site and
    not an API route, a ``None`` in a link, or a host that is neither the plan's nor a known API."""
    from outage_comms.drill_mode import drill_site_plan

    base = plan.organization.status_page_url.rstrip("/")
    routes = _api_routes(cdk_out)
    own = {urlsplit(u).hostname for u in (plan.organization.support_url, *plan.guard.public_urls) if u}
    drill_base = drill_site_plan(plan).organization.status_page_url.rstrip("/")
    broken: list[str] = []
    for name, text in _reader_texts(out).items():
        for found in sorted(set(_URL.findall(text))):
            url = re.split(r"&lt;|&gt;|&quot;|&#|\\[nu\"]", found)[0].rstrip(".,;:!?")
            parts = urlsplit(url)
            if parts.hostname in _FEED_VOCABULARY:
                continue
            if re.search(r"(^|/)(None|null)(/|$)", parts.path):
                broken.append(f"{name}: {url} (None in the link)")
            elif url.startswith(base):
                relative = parts.path[len(urlsplit(base).path) :].strip("/")
                candidates = (
                    [relative, f"{relative}/index.html", f"{relative}.html"] if relative else ["index.html"]
                )
                if not any((out / "status" / c).is_file() for c in candidates) and not any(
                    relative.startswith(r) for r in routes if r
                ):
                    broken.append(f"{name}: {url} (not in the published site, not an API route)")
            elif (parts.hostname or "").endswith(".amazonaws.com") and ".execute-api." in (
                parts.hostname or ""
            ):
                continue  # a deployed API (review, feedback, subscribe): an endpoint, not a page
            elif parts.hostname not in own and not url.startswith(drill_base):
                broken.append(f"{name}: {url} (unknown host)")
    return broken


def test_the_slack_down_scenario_fails_slack_on_purpose_and_escalates(
    tmp_path: Path, drill_cdk_out: Path
) -> None:
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
            scenario=load_scenario(DRILLS_DIR / "slack-down.yaml", plan),
            seconds_per_minute=0.3,
        )
    finally:
        os.environ.pop("OUTAGE_COMMS_EMBEDDED_CDK_OUT", None)
    # The story ran to the end: reminder, escalation (holding update offered and approved), resolution
    assert summary["status"] == "SUCCEEDED", summary
    assert summary["reminders"] == 1 and summary["escalations"] == 1
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["escalations"] == 1 and not record["notes"], record["notes"]
    assert "holding_update" in [a["update"] for a in record["approvals"]]
    # Slack failed, on purpose; the other team chats and every customer channel went on without it
    outcomes = {c["channel"]: c for c in record["channels"]}
    assert outcomes["slack"]["outcome"] == "failed" and outcomes["slack"]["injected"] is True
    assert outcomes["teams"]["outcome"] == "delivered" and outcomes["chatbot"]["outcome"] == "delivered"
    assert all(c["outcome"] != "failed" for name, c in outcomes.items() if name != "slack")
    assert record["internal_notice_minute"] is not None
    report = (tmp_path / "report.md").read_text()
    assert "| slack (team) | failed | yes |" in report
    # The report does not count the injected failure against the channels
    assert "| Channels that did not fail (injected failures excluded) | 100 % |" in report
    # drill-mode runtime: the declared drill carries its injected failures
    assert summary["drill"] is True
    # and the status publisher wrote only the drill page, in the embedded status bucket
    site = summary["status_site"]
    assert site["drill_objects"] > 0 and site["public_objects"] == 0, site["headline"]
