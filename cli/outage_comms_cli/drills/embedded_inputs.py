"""The embedded drill's inputs: the compressed clock, the alarm a drill raises, a person's request, and the
workflow gateway that starts executions with the drill's clock."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from outage_comms import clock
from outage_comms.incident import Incident
from outage_comms.intake.coalesce import Decision
from outage_comms.plan import Plan
from outage_comms.vocabulary import Scenario
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

#: 1 plan minute = 0.5 s: a 10-minute approval timeout is 5 s, a 30-minute cadence 15 s.
DRILL_SECONDS_PER_MINUTE = 0.5
CUSTOMER_HANDLER = "handlers.workflow_deliver_channel.handler"
STATUS_HANDLER = "handlers.publish_status.handler"
PROVIDER_LABELS = {"SendTextMessage": "sms", "SendVoiceMessage": "voice", "SendMessages": "push"}
#: Point at a cdk.out that ``synthesize_app`` wrote for this plan to skip synthesis (tests, benchmarks).
REUSE_CDK_OUT_ENV = "OUTAGE_COMMS_EMBEDDED_CDK_OUT"
#: The alarm tag that makes an alarm-opened incident a drill (drill mode runtime).
DRILL_ALARM_TAG = "outage-comms-drill"
DRILL_PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/OutageCommsIncidentManager/drill"
#: Web channels whose delivery runs in the fan-out (a failing Lambda), not over the sink.
_LAMBDA_FAULT_CHANNELS = {"sns", "email", "sms", "voice", "push", "chatbot"}
_REVIEW_LINK = re.compile(r"https?://\S+/incidents/(?P<incident>inc-[\w-]+)/review/(?P<reference>[\w.-]+)")
_SUBJECT = re.compile(r"Approve the (?P<what>.+?) update for")

Progress = Callable[[str], None]


class InjectedChannelFailure(Exception):
    """The drill's provider-side fault: the channel's provider is 'down' (not retried: not retryable)."""


@dataclass
class DrillGateway:
    """Intake's gateway, starting the execution with the drill's compressed clock in its input."""

    real: StepFunctionsWorkflowGateway
    seconds_per_minute: float
    started: list[str] = field(default_factory=list)

    def start(self, incident: Incident) -> str:
        arn = self.real.stepfunctions.start_execution(
            stateMachineArn=self.real.state_machine_arn,
            name=incident.id,
            input=json.dumps(
                {"incident_id": incident.id, "clock": {"seconds_per_minute": self.seconds_per_minute}}
            ),
        )["executionArn"]
        self.started.append(str(arn))
        return str(arn)

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        self.real.deliver_update(token, update)


class _Changes:
    """Intake's "incident changed" events, kept in the timeline (the bus is not part of the drill)."""

    def __init__(self, timeline: Callable[[str, str], None]) -> None:
        self._timeline = timeline

    def publish(self, incident: Incident, decision: Decision) -> None:
        self._timeline("intake", f"{decision.kind}: {incident.id} ({incident.status}, {incident.scenario})")


def alarm_event(
    plan: Plan,
    scenario: Scenario,
    *,
    component: str | None = None,
    severity: str | None = None,
    drill: bool = False,
) -> dict[str, Any]:
    """A CloudWatch alarm for an alarm-mapped component (default: the one reaching the most audiences, so
    every channel, voice's critical audience included, has someone to tell), tagged with a severity."""
    mapped = [c for c in plan.components if c.signals.alarm_name_patterns]
    chosen = next((c for c in mapped if c.id == component), None) or max(
        mapped, key=lambda c: len(c.audiences)
    )  # first of the widest, in plan order
    name = chosen.signals.alarm_name_patterns[0].replace("*", "drill-errors")
    level = (
        plan.severity(severity)
        if severity
        else next((s for s in plan.severities if s.default_scenario == scenario), plan.severities[0])
    )
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    tags = {"severity": level.id, **({DRILL_ALARM_TAG: "true"} if drill else {})}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": now,
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "drill", "timestamp": now},
            "previousState": {"value": "OK", "reason": "drill", "timestamp": now},
            "configuration": {"description": "[drill] error rate above threshold", "metrics": []},
            "alarmTags": tags,
        },
    }


def human_request(action: str, incident: Incident | None, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "request_id": uuid.uuid4().hex,
        "principal": DRILL_PRINCIPAL,
        **({"incident_id": incident.id} if incident is not None else {}),
        **{k: v for k, v in fields.items() if v not in (None, {}, [])},
    }
