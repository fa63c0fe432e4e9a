"""`outage-comms drill`: walk one incident through the plan, locally, and keep every word sent.

The embedded drill follows a scripted incident from first notice to post-incident summary. For
each update it renders every enabled channel in every locale with the plan's templates, runs the
same guard the workflow runs before sending, and writes what each channel would carry to
``out/drill/``. It needs no AWS account.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from outage_comms.guard import guard_message
from outage_comms.plan import Plan
from outage_comms.rendering import DEFAULT_TEMPLATES_DIR, UpdateFacts, build_context, render_message
from outage_comms.sample import SAMPLE_IMPACT, SAMPLE_NOW, SAMPLE_SUMMARY, SAMPLE_UPDATE, SAMPLE_WORKAROUND
from outage_comms.vocabulary import CHANNEL_FORMAT, SCENARIOS_WITHOUT_NEXT_UPDATE, Scenario


@dataclass(frozen=True)
class DrillStep:
    minute: int
    scenario: Scenario


EMBEDDED_SCRIPT = (
    DrillStep(0, Scenario.MAJOR_OUTAGE),
    DrillStep(20, Scenario.IDENTIFIED),
    DrillStep(50, Scenario.HOLDING_UPDATE),
    DrillStep(70, Scenario.MONITORING),
    DrillStep(95, Scenario.RESOLVED),
    DrillStep(24 * 60, Scenario.POST_INCIDENT_SUMMARY),
)


def run_embedded_drill(
    plan: Plan, out_dir: Path, templates_dir: Path = DEFAULT_TEMPLATES_DIR
) -> dict[str, Any]:
    """Render and guard every message of the embedded incident; write them; return a summary."""
    started = SAMPLE_NOW
    severity = plan.severities[0]
    components = [c.id for c in plan.components if c.group == plan.components[0].group][:2]
    steps: list[dict[str, Any]] = []
    clock = time.perf_counter()
    for step in EMBEDDED_SCRIPT:
        now = started + timedelta(minutes=step.minute)
        resolved = step.scenario in {Scenario.RESOLVED, Scenario.POST_INCIDENT_SUMMARY}
        facts = UpdateFacts(
            component_ids=components,
            severity_id=severity.id,
            impact=SAMPLE_IMPACT,
            started_at=started,
            now=now,
            incident_id="DRILL-0001",
            internal_title="[drill] web tier alarms firing",
            next_update_at=None
            if step.scenario in SCENARIOS_WITHOUT_NEXT_UPDATE
            else now + timedelta(minutes=severity.cadence_minutes),
            update=SAMPLE_UPDATE if step.scenario is not Scenario.MAJOR_OUTAGE else None,
            workaround=SAMPLE_WORKAROUND,
            resolved_at=started + timedelta(minutes=95) if resolved else None,
            summary=SAMPLE_SUMMARY if step.scenario is Scenario.POST_INCIDENT_SUMMARY else None,
        )
        step_dir = out_dir / "messages" / f"{step.minute:04d}-{step.scenario.value}"
        step_dir.mkdir(parents=True, exist_ok=True)
        deliveries = []
        for locale in plan.locale_codes:
            context = build_context(plan, facts, locale)
            for channel in plan.channels_for(step.scenario):
                message = render_message(
                    scenario=step.scenario,
                    fmt=CHANNEL_FORMAT[channel],
                    locale=locale,
                    context=context,
                    templates_dir=templates_dir,
                )
                findings = guard_message(plan, message)
                target = step_dir / f"{channel.value}.{locale}.txt"
                target.write_text("\n\n".join(f"[{k}]\n{v}" for k, v in message.fields.items()) + "\n")
                if message.html:
                    target.with_suffix(".html").write_text(message.html)
                deliveries.append(
                    {
                        "channel": channel.value,
                        "locale": locale,
                        "file": str(target),
                        "blocked": [f.message for f in findings],
                    }
                )
        steps.append({"minute": step.minute, "scenario": step.scenario.value, "deliveries": deliveries})
    elapsed_ms = (time.perf_counter() - clock) * 1000
    summary = {
        "plan": plan.organization.name,
        "steps": steps,
        "messages": sum(len(s["deliveries"]) for s in steps),
        "blocked": sum(1 for s in steps for d in s["deliveries"] if d["blocked"]),
        "render_ms": round(elapsed_ms, 1),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary
