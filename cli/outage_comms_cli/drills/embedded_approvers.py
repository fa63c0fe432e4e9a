"""The embedded runner's approvers and executions: links they were sent, in whichever region, and every
execution of the story's incident (a standby that took it over runs its own)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import Any

from outage_comms_cli.drills.scenario import ApprovalExpectation
from outage_comms_embedded import review, session_arn


class Approvers:
    """Mixin of the embedded runner (``aws``, ``plan``, ``scenario``, ``repository``, ``regions`` ...)."""

    aws: Any
    plan: Any
    scenario: Any
    repository: Any
    regions: Any
    spm: float
    incident_id: str
    execution: str
    approvals: int
    seen_states: set[tuple[str, int]]
    _executions_seen: tuple[float, list[tuple[str, str]]] | None

    def _wall_budget(self, expectation: ApprovalExpectation) -> float:
        """Wall seconds the approvers may take before acting anyway: the workflow's approval timeout is
        wall time in moto while the plan clock stands still during processing, so on a busy machine an
        approver waiting for plan minutes could miss it. Acting within 40 % of it keeps the story the
        scenario wrote (the score reads approval times in slots, so it does not change)."""
        severity = self.repository.get(self.incident_id).severity if self.incident_id else None
        timeout = self.plan.severity(severity or self.plan.severities[0].id).approval.timeout_minutes
        late = expectation.within is not None and expectation.within <= expectation.after
        if late or expectation.after >= 0.4 * timeout:
            return math.inf  # the scenario means the approver to be slow: the plan clock decides
        return 0.4 * timeout * self.spm

    def _review_requests(self) -> list[tuple[str, str]]:
        """(text, subject) of each review request: by email, and in the team chat (a plan without email)."""
        found = [
            (str(getattr(m, "body", "") or ""), str(getattr(m, "subject", "") or ""))
            for m in self.aws.sent_emails()
        ]
        for region in self.aws.regions:
            with contextlib.suppress(KeyError):
                topic = self.aws.output("InternalChatTopicArn", region=region)
                if topic.split(":")[3] != region:
                    continue  # that region has no chat topic of its own
                for notification in self.aws.published(topic):
                    with contextlib.suppress(ValueError, AttributeError):
                        content = json.loads(notification["message"]).get("content", {})
                        found.append((str(content.get("description", "")), str(content.get("title", ""))))
        return found

    def _approver_for(self, what: str) -> ApprovalExpectation | None:
        if what == "post_incident_summary":
            if not self.scenario.approve_post_incident_summary:
                return None
            return self.scenario.approval_for(what) or ApprovalExpectation(update=what, after=1.0)
        return self.scenario.approval_for(what)

    def _decide(
        self, reference: str, what: str, expectation: ApprovalExpectation, region: str | None = None
    ) -> None:
        from botocore.exceptions import EndpointConnectionError

        used: dict[str, int] = {}
        self.approvals += 1
        for number, role in enumerate(expectation.by):
            principals = getattr(self.plan.roles, role).approver_principals
            principal = principals[used.get(role, 0) % len(principals)]
            used[role] = used.get(role, 0) + 1
            try:
                result = review(
                    self.aws,
                    self.incident_id,
                    reference,
                    caller_arn=session_arn(principal, f"approver{number}"),
                    decision=expectation.decision,
                    edits=expectation.edits,
                    region=region,
                )
            except EndpointConnectionError:  # the link's region is down: a fresh link will come
                self.approvals -= 1
                self.step("approvers", "link down", f"{role}'s link for the {what} update did not answer")
                return
            verb = {"approve": "approved", "edit": "edited", "reject": "rejected"}[expectation.decision]
            self.step(
                "approvers",
                expectation.decision,
                f"{role} ({principal.rsplit('/', 1)[-1]}) {verb} the {what} update "
                f"(GET {result.get_status}, POST {result.post_status})",
            )

    def executions(self) -> list[tuple[str, str]]:
        """(execution ARN, status) of every execution of the story's incident, in every region, oldest
        first (a standby that took the incident over runs its own; so does the primary after failback).
        With one region, the story's one execution (status not read); listed afresh at most every 0.2 wall
        seconds."""
        if not self.regions.two_regions:
            return [(self.execution, "")] if self.execution else []
        cached = self._executions_seen
        if cached is not None and time.perf_counter() - cached[0] < 0.2:
            return cached[1]
        found: dict[str, tuple[Any, str]] = {}
        for region in self.aws.regions if self.incident_id else ():
            with contextlib.suppress(LookupError):
                machine = self.aws.state_machine_arn_in(region)
                if machine.split(":")[3] != region:
                    continue
                sfn = self.aws.client("stepfunctions", region=region)
                for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                    for item in page["executions"]:
                        if item["name"].startswith(self.incident_id):
                            found[item["executionArn"]] = (item["startDate"], str(item["status"]))
        if self.execution and self.execution not in found:
            sfn = self.aws.client("stepfunctions", region=self.execution.split(":")[3])
            described = sfn.describe_execution(executionArn=self.execution)
            found[self.execution] = (described["startDate"], str(described["status"]))
        listed = [(arn, status) for arn, (_, status) in sorted(found.items(), key=lambda item: item[1][0])]
        self._executions_seen = (time.perf_counter(), listed)
        return listed

    def _status_of(self, arn: str) -> str:
        sfn = self.aws.client("stepfunctions", region=arn.split(":")[3])
        return str(sfn.describe_execution(executionArn=arn)["status"])

    def follow(self) -> None:
        if not self.execution:
            return
        for arn, _ in self.executions():
            for event in self.aws.history(arn):
                key = (arn, event["id"])
                if key in self.seen_states or "stateEnteredEventDetails" not in event:
                    continue
                self.seen_states.add(key)
                where = f" [{arn.split(':')[3]}]" if arn != self.execution else ""
                self.note("workflow", event["stateEnteredEventDetails"]["name"] + where)

    def status(self) -> str:
        """RUNNING while any execution of the incident runs; then the last one's outcome."""
        if not self.regions.two_regions:
            return self._status_of(self.execution)
        statuses = [status for _, status in self.executions()]
        if "RUNNING" in statuses:
            return "RUNNING"
        return statuses[-1] if statuses else "UNKNOWN"

    def states(self) -> list[str]:
        """The states every execution of the incident entered (the opening one's first)."""
        return [state for arn, _ in self.executions() for state in self.aws.states_entered(arn)]
