"""Plays a scenario's events in order, each at its offset and once its ``after`` condition holds.

Shared by both runners: they differ in how a plan minute passes (compressed clock, or real minutes
with an optional ``--time-scale`` for the runner's own waits), how an event is performed (intake on
the embedded AWS, or the incident API) and what happens while waiting (the embedded drill's
approvers act; the deployed drill prints what humans must do). Conditions are read from the
incident's activity, the same data the report is built from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from outage_comms.workflow.channels_plan import STATUS_SURFACES, TEAM_CHANNELS
from outage_comms_cli.drills.scenario import DrillScenario, RegionOutageStep, RegionRecoveryStep

#: How long past its offset an event waits for its ``after`` condition before going ahead anyway.
PATIENCE_MINUTES = 60.0


def _customer(channel: str) -> bool:
    """Not a team channel or status surface (live registry sets: a channel registered later counts)."""
    return channel not in TEAM_CHANNELS and channel not in STATUS_SURFACES


def progress_counts(activity: dict[str, Any]) -> dict[str, int]:
    """How far the incident got: customer updates delivered, reminders, escalations."""
    delivered = {
        str(d["update_id"])
        for d in activity.get("deliveries", [])
        if d.get("status") == "delivered" and _customer(str(d.get("channel")))
    }
    kinds = [str(e.get("kind")) for e in activity.get("events", [])]
    return {
        "first_message": len(delivered),
        "previous_update_out": len(delivered),
        "reminder": kinds.count("reminder"),
        "escalation": kinds.count("escalation"),
    }


@dataclass
class Story:
    scenario: DrillScenario
    minute: Callable[[], float]
    activity: Callable[[], dict[str, Any]]
    perform: Callable[[Any], None]
    #: called on every poll while waiting (approvers act, links are printed); return nothing
    tick: Callable[[], None]
    poll_seconds: float = 0.05
    patience_minutes: float = PATIENCE_MINUTES
    notes: list[str] = field(default_factory=list)

    def run(self) -> None:
        baseline = progress_counts(self.activity())
        for index, event in enumerate(self.scenario.events):
            if index:
                self._wait(event, baseline, index)
            self.perform(event)
            if not isinstance(event, RegionOutageStep | RegionRecoveryStep):
                # A region's outage or recovery is not the story's progress: an event "after the previous
                # update went out" still means the update before it (the resolve after the person's update,
                # not after a third one the recovery would otherwise wait for).
                baseline = progress_counts(self.activity())

    def _wait(self, event: Any, baseline: dict[str, int], index: int) -> None:
        while True:
            now = self.minute()
            due = now >= event.at
            met = event.after is None or self._met(event.after, baseline)
            if due and met:
                return
            if due and now > event.at + self.patience_minutes:
                self.notes.append(
                    f"events[{index}] ({event.action}) waited {self.patience_minutes:g} plan minutes past "
                    f"{event.at:g}m for '{event.after}', which never happened; it went ahead anyway"
                )
                return
            self.tick()
            time.sleep(self.poll_seconds)

    def _met(self, after: str, baseline: dict[str, int]) -> bool:
        counts = progress_counts(self.activity())
        if after == "first_message":
            return counts["first_message"] >= 1
        return counts[after] > baseline[after]
