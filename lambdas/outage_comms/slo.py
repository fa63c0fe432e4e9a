"""Communication SLOs on Outage Comms itself: what is measured, under which dimensions, and when it is late.

The CloudWatch alarms in ``stacks/constructs/comms_slo.py`` read exactly the metrics named here, in
namespace ``OutageComms`` (Powertools EMF). Every SLO metric is emitted as its own EMF document
(Powertools ``single_metric``), never through the handler's shared ``metrics`` object, so the
per-invocation ``channel`` dimension of the deliver step cannot leak into it and an alarm's
dimension set is always exactly the one below:

==============================  =======  =================  =============================================
Metric                          Unit     Dimensions         Emitted
==============================  =======  =================  =============================================
``TimeToFirstExternalMessage``  Seconds  service, severity  the incident's first customer delivery
``FirstMessageTargetMissed``    None     service, severity  same moment: 1 if later than the plan's
                                                            ``first_message_minutes``, else 0
``UpdateGap``                   Seconds  service, severity  each later update's first customer delivery:
                                                            time since the previous one reached customers
``UpdateCadence``               Seconds  service, severity  same moment: the promised cadence
``UpdateGapRatio``              Percent  service, severity  same moment: gap / cadence x 100
``UpdateOverdue``               Count    service, severity  the workflow escalates a missed cadence
``ApprovalLatency``             Seconds  service, severity  an approver decides on the review page
``ChannelDeliverySuccess``      Count    service, channel   a fan-out branch delivered
``ChannelDeliveryFailure``      Count    service, channel   a fan-out branch failed after its retries
``OverdueUpdates``              Count    service            the watchdog, every 5 minutes, 0 included
==============================  =======  =================  =============================================

``service`` is always :data:`SLO_SERVICE`, whichever function emits: the alarms name one dimension
set however the functions are arranged. ``severity`` is the plan's severity id; for a gap it is the
severity of the *previous* update, whose message promised the cadence.

**Drills never feed the production SLOs.** An update of a drill incident (``Incident.drill``) or of a
run on a compressed clock is emitted with one more dimension, ``mode=drill``: a distinct CloudWatch
metric that no alarm reads, still visible on a dashboard for the game day. The watchdog skips drill
incidents. Scheduled maintenance and the post-incident summary follow their own calendars, not the
update cadence, so they are outside the update SLOs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from outage_comms.drill_mode import is_drill
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel, Scenario
from outage_comms.workflow.channels_plan import TEAM_CHANNELS
from outage_comms.workflow.store import CustomerUpdate

if TYPE_CHECKING:
    from outage_comms.workflow.steps import Services
    from outage_comms.workflow.store import WorkflowStore

#: The ``service`` dimension of every SLO metric.
SLO_SERVICE = "communication-slo"
SEVERITY = "severity"
CHANNEL = "channel"
MODE = "mode"
DRILL = "drill"

TIME_TO_FIRST_EXTERNAL_MESSAGE = "TimeToFirstExternalMessage"
FIRST_MESSAGE_TARGET_MISSED = "FirstMessageTargetMissed"
UPDATE_GAP = "UpdateGap"
UPDATE_CADENCE = "UpdateCadence"
UPDATE_GAP_RATIO = "UpdateGapRatio"
UPDATE_OVERDUE = "UpdateOverdue"
APPROVAL_LATENCY = "ApprovalLatency"
CHANNEL_DELIVERY_SUCCESS = "ChannelDeliverySuccess"
CHANNEL_DELIVERY_FAILURE = "ChannelDeliveryFailure"
OVERDUE_UPDATES = "OverdueUpdates"

#: Scenarios on their own calendar (maintenance notices, the summary after resolution).
OFF_CADENCE_SCENARIOS = frozenset(
    {
        Scenario.MAINTENANCE_SCHEDULED,
        Scenario.MAINTENANCE_IN_PROGRESS,
        Scenario.MAINTENANCE_COMPLETED,
        Scenario.POST_INCIDENT_SUMMARY,
    }
)
#: Fan-out channels that do not reach customers: the support desk's macro is for agents.
NOT_CUSTOMER_FACING = TEAM_CHANNELS | {Channel.SUPPORT}
REAL_SECONDS_PER_MINUTE = 60.0


# ---------------------------------------------------------------------------------------------
# Pure computations
# ---------------------------------------------------------------------------------------------


def on_cadence(scenario: str) -> bool:
    """Whether an update of this scenario is held to the first-message and cadence targets."""
    return scenario not in {s.value for s in OFF_CADENCE_SCENARIOS}


def customer_facing(channel: str) -> bool:
    return channel not in {c.value for c in NOT_CUSTOMER_FACING}


def update_number(update_id: str) -> int:
    """``003-identified`` -> 3."""
    head = update_id.split("-", 1)[0]
    if not head.isdigit():
        raise ValueError(f"update id '{update_id}' does not start with its number (e.g. 003-identified)")
    return int(head)


def _scaled(minutes: float, seconds_per_minute: float) -> float:
    return minutes * seconds_per_minute


@dataclass(frozen=True)
class FirstMessage:
    seconds: float
    target_seconds: float

    @property
    def missed(self) -> bool:
        return self.seconds > self.target_seconds


def first_message(
    plan: Plan, severity: str, seconds_since_start: float, seconds_per_minute: float = 60.0
) -> FirstMessage:
    """The first customer message against the severity's ``first_message_minutes``."""
    target = _scaled(plan.severity(severity).first_message_minutes, seconds_per_minute)
    return FirstMessage(seconds=max(0.0, seconds_since_start), target_seconds=target)


@dataclass(frozen=True)
class UpdateGap:
    seconds: float
    cadence_seconds: float
    tolerance_percent: int

    @property
    def ratio_percent(self) -> float:
        """The gap as a percentage of the promised cadence (100 = exactly on time)."""
        return 100.0 * self.seconds / self.cadence_seconds

    @property
    def overdue(self) -> bool:
        return self.ratio_percent > 100.0 + self.tolerance_percent


def update_gap(plan: Plan, severity: str, gap_seconds: float, seconds_per_minute: float = 60.0) -> UpdateGap:
    """The gap between two customer updates against the cadence ``severity`` promised."""
    return UpdateGap(
        seconds=max(0.0, gap_seconds),
        cadence_seconds=_scaled(plan.severity(severity).cadence_minutes, seconds_per_minute),
        tolerance_percent=plan.slo.update_gap_tolerance_percent,
    )


def overdue_after_seconds(plan: Plan, severity: str, *, first: bool) -> float:
    """How long after the last customer update (or the start, ``first``) an update counts as missed."""
    settings = plan.severity(severity)
    minutes = settings.first_message_minutes if first else settings.cadence_minutes
    return minutes * 60.0 * (1 + plan.slo.update_gap_tolerance_percent / 100)


def approval_target_seconds(plan: Plan) -> float:
    """``slo.approval_latency_minutes``, or the plan's shortest approval timeout."""
    minutes = plan.slo.approval_latency_minutes
    if minutes is None:
        timeouts = [s.approval.timeout_minutes for s in plan.severities if s.approval.required]
        minutes = min(timeouts) if timeouts else 15
    return minutes * 60.0


@dataclass(frozen=True)
class OverdueIncident:
    incident_id: str
    severity: str
    last_update_at: datetime | None
    due_at: datetime
    overdue_seconds: float


def overdue_incidents(
    incidents: Iterable[Incident],
    last_update: Callable[[str], CustomerUpdate | None],
    plan: Plan,
    now: datetime,
) -> list[OverdueIncident]:
    """Open, non-drill, non-maintenance incidents whose next customer update is past due.

    Due = the last customer update + cadence x (1 + tolerance); with no customer update yet,
    the start + ``first_message_minutes`` x (1 + tolerance). The severity is the incident's current one.
    """
    found = []
    for incident in incidents:
        if not incident.is_open or incident.drill or incident.maintenance_phase is not None:
            continue
        try:
            plan.severity(incident.severity)
        except StopIteration:
            continue  # a severity the current plan no longer has: nothing to hold it to
        last = last_update(incident.id)
        since = last.at if last is not None else incident.started_at
        due = since + timedelta(seconds=overdue_after_seconds(plan, incident.severity, first=last is None))
        if now > due:
            found.append(
                OverdueIncident(
                    incident_id=incident.id,
                    severity=incident.severity,
                    last_update_at=last.at if last else None,
                    due_at=due,
                    overdue_seconds=(now - due).total_seconds(),
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# Emission (Powertools EMF, one document per datapoint)
# ---------------------------------------------------------------------------------------------

P = ParamSpec("P")


def _never_blocks(step: Callable[P, None]) -> Callable[P, None]:
    """A measurement that fails is logged, never raised: the message it measures already went out,
    and a raised error would make Step Functions retry (and send) it again."""

    @functools.wraps(step)
    def measured(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            step(*args, **kwargs)
        except Exception:
            from outage_comms.observability import logger

            logger.exception("communication SLO not measured", measurement=step.__name__)

    return measured


def emit(
    name: str, unit: MetricUnit, value: float, dimensions: Mapping[str, str], *, drill: bool = False
) -> None:
    """One SLO datapoint with exactly ``service`` + ``dimensions`` (+ ``mode=drill``)."""
    from outage_comms.observability import metrics

    with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value=SLO_SERVICE)
        for key, dimension_value in dimensions.items():
            metric.add_dimension(name=key, value=dimension_value)
        if drill:
            metric.add_dimension(name=MODE, value=DRILL)


@_never_blocks
def record_delivery(event: Mapping[str, Any], result: Mapping[str, Any], services: Services) -> None:
    """After ``Deliver via <channel>``: the channel's outcome, then first message / gap if this was one."""
    channel = str(event.get("channel", ""))
    if not customer_facing(channel) or result.get("status") not in ("delivered", "failed"):
        return
    incident_id, update_id = str(event["incident_id"]), str(event["update_id"])
    update = services.store.get_update(incident_id, update_id)
    drill = is_drill(update)
    delivered = result["status"] == "delivered"
    emit(
        CHANNEL_DELIVERY_SUCCESS if delivered else CHANNEL_DELIVERY_FAILURE,
        MetricUnit.Count,
        1,
        {CHANNEL: channel},
        drill=drill,
    )
    if delivered and on_cadence(str(update.get("scenario", ""))):
        reached_customers(services.plan, services.store, update, services.now(), drill=drill)


def reached_customers(
    plan: Plan, store: WorkflowStore, update: Mapping[str, Any], now: datetime, *, drill: bool
) -> None:
    """The first delivery of ``update`` to customers: time to first message, or the gap since the last."""
    severity = str(update["severity"])
    incident_id, update_id = str(update["incident_id"]), str(update["update_id"])
    seconds_per_minute = float(update.get("seconds_per_minute") or REAL_SECONDS_PER_MINUTE)
    advanced, previous = store.advance_customer_update(
        incident_id, CustomerUpdate(update_number(update_id), update_id, severity, now)
    )
    if not advanced:
        return  # another channel of this update got there first, or a later update already did
    if previous is None:
        started = datetime.fromisoformat(str(update["incident_started_at"]))
        first = first_message(plan, severity, (now - started).total_seconds(), seconds_per_minute)
        dims = {SEVERITY: severity}
        emit(TIME_TO_FIRST_EXTERNAL_MESSAGE, MetricUnit.Seconds, first.seconds, dims, drill=drill)
        emit(FIRST_MESSAGE_TARGET_MISSED, MetricUnit.NoUnit, 1 if first.missed else 0, dims, drill=drill)
        return
    gap = update_gap(plan, previous.severity, (now - previous.at).total_seconds(), seconds_per_minute)
    dims = {SEVERITY: previous.severity}
    emit(UPDATE_GAP, MetricUnit.Seconds, gap.seconds, dims, drill=drill)
    emit(UPDATE_CADENCE, MetricUnit.Seconds, gap.cadence_seconds, dims, drill=drill)
    emit(UPDATE_GAP_RATIO, MetricUnit.Percent, gap.ratio_percent, dims, drill=drill)


@_never_blocks
def record_failure(event: Mapping[str, Any], services: Services) -> None:
    """After ``Record <channel> failure``: the branch failed after its retries."""
    channel = str(event.get("channel", ""))
    if not customer_facing(channel):
        return
    update = services.store.get_update(str(event["incident_id"]), str(event["update_id"]))
    emit(CHANNEL_DELIVERY_FAILURE, MetricUnit.Count, 1, {CHANNEL: channel}, drill=is_drill(update))


@_never_blocks
def record_escalation(event: Mapping[str, Any], services: Services) -> None:
    """The workflow escalated a missed cadence (``notice`` kind ``escalation``)."""
    if event.get("kind") != "escalation":
        return
    incident = services.repository.get(str(event["incident_id"]))
    latest = services.store.latest_update(incident.id) or {}
    drill = incident.drill or is_drill(latest)
    emit(UPDATE_OVERDUE, MetricUnit.Count, 1, {SEVERITY: incident.severity}, drill=drill)


@_never_blocks
def record_approval(
    latency_seconds: float, severity: str | None, scenario: str | None, *, drill: bool
) -> None:
    """An approver decided: how long after the request. The post-incident summary (days to review) and
    maintenance notices are not urgent, so they are not held to the approval target."""
    if scenario is not None and not on_cadence(scenario):
        return
    dims = {SEVERITY: severity or "unknown"}
    emit(APPROVAL_LATENCY, MetricUnit.Seconds, latency_seconds, dims, drill=drill)


def watch(
    incidents: Iterable[Incident],
    store: WorkflowStore,
    plan: Plan,
    now: datetime,
) -> list[OverdueIncident]:
    """The watchdog's round: emit ``OverdueUpdates`` (0 included, so silence means the watchdog died)."""
    overdue = overdue_incidents(incidents, store.last_customer_update, plan, now)
    emit(OVERDUE_UPDATES, MetricUnit.Count, len(overdue), {})
    return overdue
