"""90 days of uptime per component, from the incidents themselves (Statuspage's weighting)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.status.model import (
    DOWNTIME_WEIGHT,
    STATUS_METRIC_VALUE,
    ComponentStatus,
    component_status_for,
    is_maintenance,
)

UPTIME_DAYS = 90
_DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One component on one (UTC) day: its worst status and the weighted minutes of downtime."""

    day: date
    worst: ComponentStatus
    downtime_minutes: float


#: component id -> the last ``UPTIME_DAYS`` days, oldest first.
UptimeHistory = Mapping[str, Sequence[DayRecord]]


def uptime_from_incidents(
    plan: Plan, incidents: Sequence[Incident], now: datetime, days: int = UPTIME_DAYS
) -> dict[str, list[DayRecord]]:
    """Fold every incident's open interval into per-component, per-day downtime."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    window_start = datetime.combine(first, time(), tzinfo=UTC)
    downtime = {c.id: [0.0] * days for c in plan.components}
    worst = {c.id: [ComponentStatus.OPERATIONAL] * days for c in plan.components}
    for incident in incidents:
        if is_maintenance(incident):
            continue
        status = component_status_for(plan, incident)
        if status is ComponentStatus.OPERATIONAL:
            continue
        start = max(incident.started_at, window_start)
        end = min(incident.resolved_at or now, now)
        if end <= start:
            continue
        weight = DOWNTIME_WEIGHT.get(status, 0.0)
        cursor = start
        while cursor < end:
            index = (cursor.astimezone(UTC).date() - first).days
            day_end = datetime.combine(first + timedelta(days=index + 1), time(), tzinfo=UTC)
            stop = min(day_end, end)
            for component_id in incident.components:
                if component_id not in downtime:
                    continue
                downtime[component_id][index] += weight * (stop - cursor).total_seconds() / 60
                if STATUS_METRIC_VALUE[status] > STATUS_METRIC_VALUE[worst[component_id][index]]:
                    worst[component_id][index] = status
            cursor = stop
    return {
        cid: [
            DayRecord(first + timedelta(days=i), worst[cid][i], min(downtime[cid][i], _DAY_MINUTES))
            for i in range(days)
        ]
        for cid in downtime
    }


def uptime_percent(records: Sequence[DayRecord]) -> float:
    """Share of the period without weighted downtime, in percent (two decimals)."""
    if not records:
        return 100.0
    lost = sum(r.downtime_minutes for r in records)
    return round(100.0 * (1 - lost / (_DAY_MINUTES * len(records))), 2)


def uptime_text(records: Sequence[DayRecord], locale: str) -> str:
    """The uptime as the locale writes a percentage (``100.00%``, ``100,00 %``), sign included."""
    from outage_comms.locale_format import format_percent

    return format_percent(uptime_percent(records), locale)
