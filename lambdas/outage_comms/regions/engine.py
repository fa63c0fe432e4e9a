"""The standby's reaction to a health signal: decide per open incident, move ownership, record it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError, IncidentRepository
from outage_comms.regions.failover import (
    Action,
    HealthSignal,
    decide,
    moved_entry,
    resume_point,
    update_in_flight,
)
from outage_comms.regions.lease import OwnershipHeldError, OwnershipStore, StaleOwnerError, scope_for
from outage_comms.workflow.store import WorkflowStore


@dataclass
class RegionEngine:
    plan: Plan
    region: str
    ownership: OwnershipStore
    repository: IncidentRepository
    store: WorkflowStore
    clock: Any = time.time
    now: Any = field(default=lambda: datetime.now(UTC))

    def on_signal(self, signal: HealthSignal) -> list[dict[str, Any]]:
        """One entry per open incident: what was decided and, for a move, where the new owner resumes."""
        regions = self.plan.regions
        if regions is None:
            return []
        results = []
        for incident in self.repository.list_open():
            scope = scope_for(incident.id)
            owner = self.ownership.current(scope)
            decision = decide(
                regions,
                self.region,
                signal,
                owner,
                now=float(self.clock()),
                between_updates=not update_in_flight(self.store, incident.id),
            )
            result: dict[str, Any] = {
                "incident_id": incident.id,
                "action": decision.action.value,
                "reason": decision.reason,
            }
            try:
                if decision.action is Action.TAKE_OVER:
                    new = self.ownership.acquire(scope, self.region, reason=decision.reason, take=True)
                    point = resume_point(self.plan, incident, self.store)
                    result["resume"] = point.as_dict()
                    why = f"{decision.reason}; next update due {point.next_update_due:%H:%M} UTC" + (
                        f"; approval of {point.reapprove_update} to be requested again"
                        if point.reapprove_update
                        else ""
                    )
                elif decision.action is Action.HAND_BACK and owner is not None:
                    new = self.ownership.hand_over(owner, regions.primary, reason=decision.reason)
                    why = f"{decision.reason}; between updates"
                else:
                    if decision.action is Action.WAIT:
                        result["retry_after_seconds"] = decision.retry_after_seconds
                    results.append(result)
                    continue
            except (OwnershipHeldError, StaleOwnerError) as error:  # another move won the race
                results.append({**result, "action": Action.NONE.value, "reason": str(error)})
                continue
            result["epoch"] = new.epoch
            self._record(incident.id, moved_entry(owner, new, at=self.now(), alarm=signal.alarm, why=why))
            results.append(result)
        return results

    def _record(self, incident_id: str, entry: Any) -> None:
        for _ in range(3):  # optimistic locking: read, add the entry, write on the version read
            incident = self.repository.get(incident_id)
            try:
                self.repository.save(incident.with_entry(entry), incident.version)
            except ConcurrentUpdateError:
                continue
            self.store.add_event(incident_id, "region", entry.text, at=entry.at)
            return
        self.store.add_event(incident_id, "region", entry.text, at=entry.at)
