"""90 days of uptime per component, from the incidents themselves (Statuspage's weighting)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

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
    calm = [DayRecord(first + timedelta(days=i), ComponentStatus.OPERATIONAL, 0.0) for i in range(days)]
    return {  # a calm day is one shared record: most of 90 days x every component
        cid: [
            calm[i]
            if worst[cid][i] is ComponentStatus.OPERATIONAL and not downtime[cid][i]
            else DayRecord(calm[i].day, worst[cid][i], min(downtime[cid][i], _DAY_MINUTES))
            for i in range(days)
        ]
        for cid in downtime
    }


def uptime_percent(records: Sequence[DayRecord]) -> float:
    """Share of the period without weighted downtime, in percent, two decimals rounded *down*.

    Rounding down keeps the number and the bar's colours telling the same story: any downtime (a
    red or orange day) shows below 100 %, never rounded up to ``100.00 %`` next to a red day.
    """
    if not records:
        return 100.0
    lost = sum(r.downtime_minutes for r in records)
    total = _DAY_MINUTES * len(records)
    hundredths = math.floor((total - lost) * 10_000 / total + 1e-6)  # 1e-6: float noise, not rounding
    if lost > 0:
        hundredths = min(hundredths, 9_999)
    return hundredths / 100


def uptime_text(records: Sequence[DayRecord], locale: str, pattern: str | None = None) -> str:
    """The uptime as the locale writes a percentage (``100.00%``, ``100,00 %``), sign included.

    ``pattern`` is a Babel/CLDR number pattern from the locale's status strings (``percent_format``),
    for a locale whose house style differs from CLDR's default (Brazil: ``#,##0.00 %``).
    """
    return format_uptime(uptime_percent(records), locale, pattern)


@functools.lru_cache(maxsize=4096)
def format_uptime(percent: float, locale: str, pattern: str | None = None) -> str:
    """``percent`` (already rounded by :func:`uptime_percent`) in the locale's digits and separators."""
    if not pattern:
        from outage_comms.locale_format import format_percent

        return format_percent(percent, locale)
    return _percent_formatter(pattern, locale)(percent)


@functools.lru_cache(maxsize=32)
def _percent_formatter(pattern: str, locale: str) -> Callable[[float], str]:
    from babel.numbers import parse_pattern

    from outage_comms.locale_format import babel_locale

    parsed, cldr = parse_pattern(pattern), babel_locale(locale)
    return lambda percent: str(parsed.apply(Decimal(str(percent)) / 100, cldr))
