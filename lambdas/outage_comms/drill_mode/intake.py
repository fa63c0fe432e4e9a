"""What intake asks: does an alarm open a drill, and which channels may a drill fail on purpose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from outage_comms.channels import registry
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

#: The alarm tag that makes an alarm's incident a drill (``alarmTags`` of the state change event).
DRILL_ALARM_TAG = "outage-comms-drill"


def injectable_channels(plan: Plan) -> list[Channel]:
    """Channels a drill may fail on purpose: the enabled ones the workflow delivers (team chats first;
    never the status surfaces, which are published, not delivered)."""
    enabled = plan.channels.enabled()
    return [c for reach in ("team", "customer") for c in enabled if registry.spec(c).reach == reach]


def drill_failures_problem(
    plan: Plan, drill: bool, failures: Sequence[str], action: str = "declare"
) -> str | None:
    """Why ``drill_failures`` cannot be used, or None. Names the channels that can be."""
    if not failures:
        return None
    allowed = [c.value for c in injectable_channels(plan)]
    if not drill:
        return (
            "'drill_failures' is only for drills: failures are never injected into a real incident. Send "
            "'drill': true to declare a drill, or leave 'drill_failures' out."
        )
    if action != "declare":
        return (
            f"'drill_failures' is set when a drill is declared, not on '{action}'; leave it out (the "
            "drill keeps the failures it was declared with)."
        )
    unknown = [f for f in failures if f not in allowed]
    if unknown:
        return (
            f"'drill_failures' names {unknown}, which are not channels this plan delivers; use some of "
            f"{allowed} (status surfaces are published, not delivered, and cannot fail on purpose)."
        )
    return None


def alarm_is_drill(tags: Mapping[str, str] | None) -> bool:
    """An alarm tagged ``outage-comms-drill: "true"`` opens a drill incident."""
    return str((tags or {}).get(DRILL_ALARM_TAG, "")).strip().lower() == "true"
