"""The embedded runner's maintenance script: the incident API, and the schedules it creates fired when the
plan clock reaches them (as EventBridge Scheduler would)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from outage_comms import clock
from outage_comms_cli.drills.embedded_inputs import DRILL_PRINCIPAL
from outage_comms_cli.drills.scenario import MaintenanceStep


class MaintenanceScript:
    """Mixin of the embedded runner (``aws``, ``scenario``, ``windows``, ``fired``, ``gateway`` ...)."""

    aws: Any
    scenario: Any
    windows: list[str]
    fired: set[str]
    gateway: Any
    incident_id: str

    def _api(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A person's signed request to the incident API, through its real function."""
        from outage_comms_embedded import rest_event

        function = self.aws.function_name("incident_api")
        payload = {k: v for k, v in body.items() if v not in (None, {}, [])}
        answer = self.aws.invoke(function, rest_event(method, path, DRILL_PRINCIPAL, payload))
        if "statusCode" not in answer or int(answer["statusCode"]) >= 400:
            raise RuntimeError(f"the incident API refused {method} {path}: {answer}")
        return {"status": int(answer["statusCode"]), **json.loads(answer.get("body") or "{}")}

    def _schedule_window(self, event: MaintenanceStep) -> None:
        opening = not self.incident_id
        if opening:
            self.start_clock()
        starts = clock.now() + timedelta(minutes=event.starts_in)
        answer = self._api(
            "POST",
            "/maintenances",
            {
                "components": event.components or self.scenario.components,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=event.lasts)).isoformat(),
                "title": event.title or f"[drill] {self.scenario.name}",
                "note": event.note,
                "drill": self.scenario.drill or None,
            },
        )
        window = str(answer["incident_id"])
        self.windows.append(window)
        self.pump()  # the API handed the workflow's start to the intake queue
        kinds = ", ".join(f"{s['kind']} {s['at'][11:16]}" for s in answer.get("schedules", []))
        if opening:
            self.gateway.started.append(self._execution_of(window))
            self._opened({"incident_id": window}, "maintenance scheduled")
        self.step("drill script", "maintenance", f"window {window} scheduled; schedules: {kinds or 'none'}")

    def _execution_of(self, incident_id: str) -> str:
        from outage_comms.workflow_gateway import execution_arn

        return execution_arn(self.aws.state_machine_arn, incident_id)

    def pump(self) -> None:
        """What waits in the intake queue (the API's hand-offs) reaches the intake function."""
        self.aws.pump()

    def fire_schedules(self) -> None:
        """EventBridge Scheduler: each one-time schedule whose moment the plan clock reached invokes its
        target (the maintenance tick function) with its input, then goes (ActionAfterCompletion)."""
        if not self.windows:
            return
        scheduler = self.aws.client("scheduler")
        now = clock.now()
        for group in {s.get("GroupName", "default") for s in scheduler.list_schedules()["Schedules"]}:
            for listed in scheduler.list_schedules(GroupName=group)["Schedules"]:
                schedule = scheduler.get_schedule(Name=listed["Name"], GroupName=group)
                moment = re.fullmatch(r"at\((.+)\)", str(schedule.get("ScheduleExpression", "")))
                if moment is None:
                    continue
                at = datetime.fromisoformat(moment.group(1)).replace(tzinfo=UTC)
                if at > now or listed["Name"] in self.fired:
                    continue
                self.fired.add(listed["Name"])
                target = schedule["Target"]
                function = str(target["Arn"]).split(":function:", 1)[1].split(":", 1)[0]
                result = self.aws.invoke(function, json.loads(target.get("Input") or "{}"))
                scheduler.delete_schedule(Name=listed["Name"], GroupName=group)
                self.note("EventBridge Scheduler", f"{listed['Name']} fired: {result.get('kind', result)}")
        self.pump()
