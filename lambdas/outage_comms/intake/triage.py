"""What would this event become under this plan? The engine of ``outage-comms triage``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.plan import Plan


def triage(raw_event: Any, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"incident": ..., "signal": ...}`` for the incident the event would open when nothing is
    open, else ``{"rejected": {"code", "reason"}}`` (plus ``"signal"`` when the event was understood
    but, with nothing open, would change nothing: an OK, a resolution, a timeline note). Never raises.
    """
    signal = to_signal(raw_event, plan, received_at=now)
    if isinstance(signal, Rejection):
        return {"rejected": signal.as_dict()}
    try:
        decision = decide(signal, {}, plan, now or signal.occurred_at)
    except Exception as exc:  # same contract as to_signal: report, never crash
        return {
            "rejected": {
                "code": "internal_error",
                "reason": f"Intake could not decide on this event ({type(exc).__name__}); report it with "
                "the event attached.",
            }
        }
    summary = signal.model_dump(mode="json")
    article = "an" if signal.intent in ("open", "update") else "a"
    if decision.incident is None:
        return {
            "rejected": {
                "code": "no_open_incident",
                "reason": f"Understood as {article} {signal.intent} signal for {signal.source.type} "
                f"{signal.source.reference}, but {decision.reason}. It acts only on an open incident.",
            },
            "signal": summary,
        }
    return {"incident": decision.incident.model_dump(mode="json"), "signal": summary}
