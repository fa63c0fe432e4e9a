"""``Register incident``: find (or, for a runbook input, open) the incident; claim it for this execution.

Runs in the render function (``handlers/workflow_render.py``, ``{"step": "register_incident"}``), whose
environment then renders the incident's first update warm.
"""

from __future__ import annotations

from typing import Any

from outage_comms.incident import Incident
from outage_comms.intake.coalesce import decide
from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.ports import ConcurrentUpdateError
from outage_comms.workflow.services import Services
from outage_comms.workflow.timing import Clock


class IncidentRejectedError(Exception):
    """The runbook input cannot become an incident (the reason says why)."""


def register_incident(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Find (or, for a runbook input, open) the incident and claim it for this execution.

    Returns ``duplicate: true`` when another running execution already speaks for the incident.
    """
    raw = dict(event.get("input") or {})
    clock = Clock.from_input(raw.get("clock"))
    if "incident_id" in raw:
        incident = services.repository.get(str(raw["incident_id"]))
    elif "IncidentRecordArn" in raw:
        incident = _incident_from_runbook(raw, services)
    else:
        raise IncidentRejectedError("input has neither 'incident_id' nor 'IncidentRecordArn'")
    execution_arn = str(event["execution_arn"])
    owner = services.store.claim(incident.id, execution_arn, services.execution_running)
    duplicate = owner != execution_arn
    services.store.add_event(
        incident.id,
        "duplicate" if duplicate else "registered",
        f"execution {execution_arn.rsplit(':', 1)[-1]} "
        + (
            f"ends: {owner.rsplit(':', 1)[-1]} already runs for this incident"
            if duplicate
            else "owns the incident"
        ),
    )
    return {
        "incident_id": incident.id,
        "duplicate": duplicate,
        "clock": clock.model_dump(),
        "update": {"change": "opened"},
    }


def _incident_from_runbook(raw: dict[str, Any], services: Services) -> Incident:
    # Automation passes every parameter, unset ones as "": drop those before intake reads them.
    cleaned = {k: v for k, v in raw.items() if v not in ("", None, [], [""]) and k != "clock"}
    plan, repository = services.plan, services.repository
    signal = to_signal(cleaned, plan, received_at=services.now())
    if isinstance(signal, Rejection):
        raise IncidentRejectedError(f"{signal.code}: {signal.reason}")
    for _ in range(3):
        existing = repository.find_by_reference(signal.source.reference)
        if existing is not None:
            return existing
        decision = decide(signal, repository.open_by_component(signal.components), plan, services.now())
        if decision.incident is None:
            raise IncidentRejectedError(decision.reason)
        try:
            repository.save(decision.incident, decision.previous_version)
        except ConcurrentUpdateError:
            continue
        return decision.incident
    raise IncidentRejectedError("the incident kept changing while the runbook registered it; run it again")
