"""The standby's reaction to a health signal: decide per open incident, move ownership, record it,
and start the execution that continues the incident in this region (``regions/resume.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outage_comms.clock import now as clock_now
from outage_comms.incident import Incident
from outage_comms.plan import Plan
from outage_comms.ports import ConcurrentUpdateError, IncidentRepository
from outage_comms.regions.executions import Executions
from outage_comms.regions.failover import (
    Action,
    HealthSignal,
    decide,
    moved_entry,
    resume_point,
    update_in_flight,
)
from outage_comms.regions.lease import (
    Ownership,
    OwnershipHeldError,
    OwnershipStore,
    StaleOwnerError,
    plan_time,
    scope_for,
)
from outage_comms.regions.resume import execution_name, resume_input
from outage_comms.workflow.store import WorkflowStore, region_of


@dataclass
class RegionEngine:
    plan: Plan
    region: str
    ownership: OwnershipStore
    repository: IncidentRepository
    store: WorkflowStore
    #: Lease time (epoch seconds); the plan clock in an embedded drill, like the lease store's.
    clock: Any = plan_time
    #: The time people read (the plan clock in an embedded drill): resume points and timeline entries.
    now: Any = field(default=clock_now)
    #: None: ownership moves but no execution is started or stopped (the caller drives the incident).
    executions: Executions | None = None

    def on_signal(self, signal: HealthSignal) -> list[dict[str, Any]]:
        """One entry per open incident (and open drill): what was decided and, for a move, where the
        new owner resumes and which execution it started."""
        if self.plan.regions is None:
            return []
        return [self._one(incident, signal) for incident in self._open()]

    def _open(self) -> list[Incident]:
        found = {i.id: i for i in [*self.repository.list_open(), *self.repository.list_open(drill=True)]}
        return sorted(found.values(), key=lambda i: (i.started_at, i.id))

    def _one(self, incident: Incident, signal: HealthSignal) -> dict[str, Any]:
        regions = self.plan.regions
        assert regions is not None
        scope = scope_for(incident.id)
        owner = self.ownership.current(scope)
        stale = self._stop_stale_primary(incident, owner, signal)
        # Read before "between updates": a render that starts after this read makes the hand-back fail.
        numbered = self.store.update_count(incident.id)
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
            **({"stopped": stale} if stale else {}),
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
                speaking = self.store.claimed_by(incident.id)  # our execution, whatever its epoch
                if not self._claim_for(incident.id, regions.primary, owner.epoch + 1, numbered):
                    return {
                        **result,
                        "action": Action.WAIT.value,
                        "reason": "an update started while handing back; hand back after it",
                        "retry_after_seconds": 60,
                    }
                owner, new = self._hand_over(owner, regions.primary, decision.reason)
                why = f"{decision.reason}; between updates (update {numbered} was the last numbered)"
            else:
                if decision.action is Action.WAIT:
                    result["retry_after_seconds"] = decision.retry_after_seconds
                elif self._taken_over(owner) and not signal.healthy:
                    # A failover retried after its move: make sure the resumed execution runs (same name).
                    assert owner is not None
                    result.update(self._resume(incident, owner, from_region=regions.primary))
                return result
        except (OwnershipHeldError, StaleOwnerError) as error:  # another move won the race
            return {**result, "action": Action.NONE.value, "reason": str(error)}
        result["epoch"] = new.epoch
        self._record(incident.id, moved_entry(owner, new, at=self.now(), alarm=signal.alarm, why=why))
        if decision.action is Action.TAKE_OVER:
            result.update(self._resume(incident, new, from_region=owner.region if owner else regions.primary))
        elif owner is not None:
            result.update(self._hand_back(incident, owner, new, speaking))
        return result

    def _stop_stale_primary(
        self, incident: Incident, owner: Ownership | None, signal: HealthSignal
    ) -> list[str]:
        """The primary is back while this region drives the incident: Step Functions is durable, so the
        primary's own execution resumed with its region. Stop it first, whether or not an update is on
        its way (its reminders, renders and approval requests would run beside ours; its renders would
        keep an update "in flight" and the hand-back waiting for ever). Idempotent."""
        regions = self.plan.regions
        if not (signal.healthy and self._taken_over(owner) and self.executions and regions):
            return []
        why = f"{self.region} drives {incident.id} since the failover"
        return [incident.id] if self.executions.stop(regions.primary, incident.id, why) else []

    def _taken_over(self, owner: Ownership | None) -> bool:
        """This region drives the incident because it took it (an incident it opened has epoch 1)."""
        return owner is not None and owner.region == self.region and owner.epoch > 1

    def _hand_over(self, owner: Ownership, to_region: str, reason: str) -> tuple[Ownership, Ownership]:
        """Give the lease to ``to_region``; a step of ours that renewed a lapsed lease meanwhile raised its
        epoch, so read it again (still ours) and retry. Returns (the lease given, the new one)."""
        for _ in range(2):
            try:
                return owner, self.ownership.hand_over(owner, to_region, reason=reason)
            except OwnershipHeldError:
                seen = self.ownership.current(owner.scope)
                if seen is None or seen.region != owner.region:
                    raise
                owner = seen
        return owner, self.ownership.hand_over(owner, to_region, reason=reason)

    def _claim_for(self, incident_id: str, region: str, epoch: int, numbered: int | None) -> bool:
        """Move the workflow's claim (and ``driven_by``) to the execution that will resume the incident
        in ``region`` at ``epoch``, first: from then on no execution of another region can number or
        store an update. With ``numbered``: only if no update was numbered since (False otherwise)."""
        name = execution_name(incident_id, epoch)
        if self.executions is None:  # ownership moves, nothing is started: the ARN only names the region
            arn = f"arn:aws:states:{region}:000000000000:execution:incident:{name}"
        else:
            arn = self.executions.arn(region, name)
        return self.store.move_claim(incident_id, arn, expect_updates=numbered)

    def _resume(self, incident: Incident, owner: Ownership, *, from_region: str) -> dict[str, Any]:
        """Start the new owner's execution at the incident's last recorded step (once per epoch)."""
        if self.executions is None:
            self._claim_for(incident.id, owner.region, owner.epoch, None)
            return {}
        payload = resume_input(
            self.plan,
            self.repository.get(incident.id),
            self.store,
            resume_point(self.plan, incident, self.store),
            now=self.now(),
            from_region=from_region,
            epoch=owner.epoch,
        )
        name = execution_name(incident.id, owner.epoch)
        # The workflow's claim follows the lease: the old owner's execution no longer speaks for the
        # incident, whether or not it still runs (a region that lost the lease is fenced out anyway).
        self._claim_for(incident.id, owner.region, owner.epoch, None)
        arn = self.executions.start(owner.region, name, payload)
        route = payload["resume"]["route"]
        self.store.add_event(
            incident.id, "region", f"{owner.region} resumed the incident ({route}): {arn.rsplit(':', 1)[-1]}"
        )
        return {"execution_arn": arn, "route": route}

    def _hand_back(
        self, incident: Incident, held: Ownership, new: Ownership, speaking: str | None
    ) -> dict[str, Any]:
        """Failback between updates: stop this region's execution (the one the claim named: a lease
        renewed after it lapsed has a higher epoch than the execution's name) and the primary's stale
        one (started before the outage), then continue in a new execution in the primary."""
        if self.executions is None:
            return {}
        why = f"ownership of {incident.id} went back to {new.region} (epoch {new.epoch})"
        ours = {(self.region, execution_name(incident.id, held.epoch))}
        if speaking and region_of(speaking) == self.region:
            ours.add((self.region, speaking.rsplit(":", 1)[-1]))
        stopped = [
            name
            for region, name in (
                *sorted(ours),
                (new.region, incident.id),  # the execution intake started (named after the incident)
            )
            if self.executions.stop(region, name, why)
        ]
        return {"stopped": stopped, **self._resume(incident, new, from_region=self.region)}

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
