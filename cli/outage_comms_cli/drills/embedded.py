"""The embedded drill: a game-day scenario played on an embedded AWS, through the real workflow.

The app ``app.py`` builds is synthesized and deployed into moto (see ``embedded_aws``). The
scenario's events happen at their offsets on a compressed clock (``seconds_per_minute`` in the
execution input, 1 plan minute = 0.5 s by default, passed to the same definition): an alarm (tagged
``outage-comms-drill: true`` in drill mode) or a declare goes through intake's domain and the real
incident store; updates and the resolution too. The synthesized state machine runs with the real
handlers; the approvers the scenario names act on the review page (GET, then POST with the CSRF
token, as their IAM role) after the delay it gives them; injected channel failures go through the
incident's ``drill_failures`` and, on the provider side, the embedded sink / fakes.

Output in ``--out``: ``report.md`` / ``report.html`` / ``timeline.svg`` / ``record.json`` (the drill
report, see :mod:`.report`), ``timeline.json``, ``summary.json`` (one row per enabled channel: what the
workflow recorded and what the provider side received), every delivered message under
``deliveries/<channel>/`` and the status site under ``status/``: the status stack is deployed into the
same embedded account, the workflow's real status publisher writes its bucket (a drill only under the
plan's ``drill.status_prefix``), and ``status/`` is that bucket's content, read back.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario
from outage_comms_cli.drills.embedded_inputs import (
    CUSTOMER_HANDLER,
    DRILL_SECONDS_PER_MINUTE,
    REUSE_CDK_OUT_ENV,
    DrillGateway,
    Progress,
    alarm_event,
    human_request,
)
from outage_comms_cli.drills.embedded_output import (
    _channel_results,
    _dashboard_body,
    _headline,
    _write_deliveries,
    _write_published_status,
    _write_quality,
)
from outage_comms_cli.drills.embedded_runner import _EmbeddedRunner
from outage_comms_cli.drills.embedded_setup import _create_drill_secrets, _seed_subscribers, _warm_up
from outage_comms_cli.drills.quiet import LOG_NAME, log_lines, quiet_output
from outage_comms_cli.drills.report import write_report
from outage_comms_cli.drills.scenario import (
    DEFAULT_SCENARIO,
    DrillScenario,
    load_scenario,
)
from outage_comms_embedded import EmbeddedAws, synthesize_app

__all__ = [
    "CUSTOMER_HANDLER",
    "DRILL_SECONDS_PER_MINUTE",
    "REUSE_CDK_OUT_ENV",
    "DrillGateway",
    "_create_drill_secrets",
    "_seed_subscribers",
    "alarm_event",
    "human_request",
    "run_embedded_drill",
]


def run_embedded_drill(
    plan: Plan,
    out_dir: Path,
    templates_dir: Path | None = None,
    *,
    plan_path: Path,
    scenario: DrillScenario | None = None,
    opening: Scenario | None = None,
    seconds_per_minute: float = DRILL_SECONDS_PER_MINUTE,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    """Play ``scenario`` (default: ``drills/default.yaml``); write everything; return a summary."""
    scenario = scenario or load_scenario(DEFAULT_SCENARIO, plan)
    if opening is not None:
        scenario = scenario.model_copy(update={"opening": opening})
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_output(out_dir) as shown:
        summary = _play(
            plan, out_dir, templates_dir, plan_path, scenario, seconds_per_minute, shown(progress)
        )
    summary["log"] = {"file": str(out_dir / LOG_NAME), "lines": log_lines(out_dir)}
    progress(f"moto's and the handlers' own output: {out_dir / LOG_NAME} ({summary['log']['lines']} lines)")
    return summary


def _play(
    plan: Plan,
    out_dir: Path,
    templates_dir: Path | None,
    plan_path: Path,
    scenario: DrillScenario,
    seconds_per_minute: float,
    progress: Progress,
) -> dict[str, Any]:
    timeline: list[dict[str, Any]] = []
    origin = time.perf_counter()

    def note(actor: str, text: str) -> None:
        entry = {"t": round(time.perf_counter() - origin, 3), "actor": actor, "text": text}
        timeline.append(entry)
        progress(f"{entry['t']:7.2f}s  {actor:<22} {text}")

    with tempfile.TemporaryDirectory(prefix="outage-comms-drill-") as scratch:
        reuse = os.environ.get(REUSE_CDK_OUT_ENV)
        note("drill", "synthesizing the app (cdk-nag gate on) and deploying it into the embedded AWS")
        cdk_out = (
            Path(reuse) if reuse else synthesize_app(Path(scratch) / "cdk.out", plan_path, templates_dir)
        )
        with EmbeddedAws(cdk_out, with_status_site=True, with_intake=True) as aws:
            note(
                "drill",
                f"deployed {', '.join(aws.stacks)}; template patches: {sum(map(len, aws.patches.values()))}",
            )
            public_dashboard = _dashboard_body(aws)
            seeded = _seed_subscribers(aws, plan)
            note("drill", f"subscribers confirmed (double opt-in done): {', '.join(seeded)}")
            _create_drill_secrets(aws, plan)
            _warm_up(aws)
            note("drill", "the approvers' review page is warm (a first request loaded its code)")
            runner = _EmbeddedRunner(aws, plan, scenario, seconds_per_minute, note)
            summary = runner.run()
            summary["moto_patches"] = aws.patches
            _write_deliveries(aws, out_dir, summary)
            summary["status_site"] = _write_published_status(
                aws, plan, out_dir / "status", summary["incident_id"], public_dashboard
            )
            summary["channels"] = _channel_results(aws, plan, summary)
            for channel, result in summary["channels"].items():
                note("channels", f"{channel}: {result['outcome']} ({result['why']})")
            record = runner.record(summary["status"])
            record.status_site = summary["status_site"]["headline"]
            note("status", f"{summary['status_site']['headline']}; copied to {out_dir / 'status'}")
    summary["timeline"] = timeline
    summary["report"] = {k: str(v) for k, v in write_report(record, out_dir).items()}
    summary["quality"] = _write_quality(out_dir, summary["delivered_files"])
    summary["record"] = _headline(record)
    (out_dir / "timeline.json").write_text(json.dumps(timeline, indent=2, ensure_ascii=False))
    (out_dir / "summary.json").write_text(
        json.dumps(
            {k: v for k, v in summary.items() if k != "timeline"}, indent=2, ensure_ascii=False, default=str
        )
    )
    return summary
