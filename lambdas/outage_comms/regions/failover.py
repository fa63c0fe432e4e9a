"""When ownership moves between the primary and the standby, and where the standby picks up.

- **Failover**: a health signal (the composite alarm on the engine's own errors and the region's)
  says the primary is unhealthy. The standby takes each open incident once the primary's lease has
  run out plus the margin (``lease.py``); before that it waits (the primary may still be sending).
- **Failback**: the primary is healthy again. The standby hands an incident back only *between
  updates* — no update rendered but not yet out to customers — so an update is never half sent by
  one region and half by the other, and none is lost.
- **Resume**: the new owner continues from the incident's last recorded step: the next update is due
  one cadence after the last one that reached customers (or the first-update target after the start),
  and an update still waiting for approval is requested again with a fresh link (the old link's task
  token belongs to the other region's execution, which can no longer send).

Every move is a timeline entry on the incident (kind ``region``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.plan import Plan, Regions
from outage_comms.regions.lease import MARGIN_SECONDS, Ownership
from outage_comms.workflow.store import WorkflowStore


@dataclass(frozen=True)
class HealthSignal:
    """One region's health as its composite alarm reports it."""

    region: str
    healthy: bool
    at: datetime
    alarm: str
    reason: str = ""


def signal_from_alarm_event(event: dict[str, Any], *, region_of_alarm: dict[str, str]) -> HealthSignal | None:
    """An EventBridge ``CloudWatch Alarm State Change`` for one of the engine-health alarms (None: not one).

    ``region_of_alarm``: alarm name -> the engine region it judges (the standby's alarm on the primary
    may live in the standby region, so the event's own ``region`` is not the region judged).
    """
    if event.get("detail-type") != "CloudWatch Alarm State Change":
        return None
    detail = event.get("detail") or {}
    name = str(detail.get("alarmName", ""))
    region = region_of_alarm.get(name)
    state = (detail.get("state") or {}).get("value")
    if region is None or state not in ("ALARM", "OK"):
        return None
    at = datetime.fromisoformat(str(event.get("time", datetime.now(UTC).isoformat())).replace("Z", "+00:00"))
    reason = str((detail.get("state") or {}).get("reason", ""))[:300]
    return HealthSignal(region=region, healthy=state == "OK", at=at, alarm=name, reason=reason)


class Action(StrEnum):
    NONE = "none"
    TAKE_OVER = "take_over"  # this region (the standby) takes the incident
    HAND_BACK = "hand_back"  # this region (the standby, owner) gives it back to the primary
    WAIT = "wait"  # a move is due but not yet safe: ask again after ``retry_after_seconds``


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    retry_after_seconds: float = 0.0


def decide(
    regions: Regions,
    me: str,
    signal: HealthSignal,
    owner: Ownership | None,
    *,
    now: float,
    between_updates: bool,
    margin_seconds: float = MARGIN_SECONDS,
) -> Decision:
    """What region ``me`` does about one incident after ``signal``. Pure: no AWS."""
    if regions.standby is None:
        return Decision(Action.NONE, "one region only: nothing to fail over to")
    primary, standby = regions.primary, regions.standby
    if me != standby or signal.region != primary:
        return Decision(Action.NONE, f"{me} acts only on {primary}'s health")
    if not signal.healthy:
        if owner is not None and owner.region == me:
            return Decision(Action.NONE, f"{me} already drives it")
        if owner is not None and owner.lease_until + margin_seconds >= now:
            wait = owner.lease_until + margin_seconds - now + 1
            return Decision(Action.WAIT, f"{primary}'s lease may still be live", retry_after_seconds=wait)
        return Decision(
            Action.TAKE_OVER, f"{primary} unhealthy ({signal.alarm}): {signal.reason}".rstrip(": ")
        )
    if owner is None or owner.region != me:
        return Decision(Action.NONE, f"{primary} healthy and {me} does not drive it")
    if not between_updates:
        return Decision(Action.WAIT, "an update is on its way; hand back after it", retry_after_seconds=60)
    return Decision(Action.HAND_BACK, f"{primary} healthy again ({signal.alarm})")


def update_in_flight(store: WorkflowStore, incident_id: str) -> bool:
    """An update was rendered but has not reached customers yet (it may be waiting for approval)."""
    latest = store.latest_update(incident_id)
    if latest is None:
        return False
    sent = store.last_customer_update(incident_id)
    if sent is not None and sent.update_id == latest.get("update_id"):
        return False
    approval = latest.get("approval")
    if isinstance(approval, dict) and approval.get("decision") == "rejected" and approval.get("sent"):
        return False  # the approver's rejection reached the workflow: held, nothing is on its way
    return str(latest.get("outcome", "")) not in ("rejected", "held", "timed_out", "skipped")


@dataclass(frozen=True)
class ResumePoint:
    """Where the new owner continues an incident."""

    incident_id: str
    last_sent_update: str | None
    next_update_due: datetime
    #: The update to request approval for again (fresh link), when one was waiting.
    reapprove_update: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "last_sent_update": self.last_sent_update,
            "next_update_due": self.next_update_due.isoformat(),
            "reapprove_update": self.reapprove_update,
        }


def resume_point(plan: Plan, incident: Incident, store: WorkflowStore) -> ResumePoint:
    """The incident's last recorded step, read from the (replicated) workflow table."""
    severity = plan.severity(incident.severity)
    sent = store.last_customer_update(incident.id)
    if sent is None:
        due = incident.started_at + timedelta(minutes=severity.cadence_minutes)
    else:
        due = sent.at + timedelta(minutes=severity.cadence_minutes)
    latest = store.latest_update(incident.id)
    waiting = latest is not None and update_in_flight(store, incident.id)
    return ResumePoint(
        incident_id=incident.id,
        last_sent_update=sent.update_id if sent else None,
        next_update_due=due,
        reapprove_update=str(latest["update_id"]) if waiting and latest is not None else None,
    )


def moved_entry(
    old: Ownership | None, new: Ownership, *, at: datetime, alarm: str, why: str
) -> TimelineEntry:
    """The timeline entry for one move of ownership (internal: names regions and the alarm)."""
    frm = old.region if old is not None else "nobody"
    return TimelineEntry(
        at=at,
        kind="region",
        text=f"Ownership moved from {frm} to {new.region} (epoch {new.epoch}): {why}"[:1000],
        source=IncidentSource(type="alarm", reference=alarm or "engine-health"),
        event_id=f"region-{new.scope}-{new.epoch}",
        state=new.region,
    )
