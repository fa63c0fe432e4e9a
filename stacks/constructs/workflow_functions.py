"""The incident-comms workflow's step functions, by name: one table the workflow stack builds them from.

A step's name is, everywhere: the step function in ``outage_comms.workflow`` (``step_*`` modules,
re-exported by ``steps``), the handler module ``handlers.workflow_<name>``, the state machine's key
(:class:`~outage_comms_cdk.constructs.incident_workflow.WorkflowFunctions`) and the key of
``OutageCommsWorkflowStack.functions``. The construct ids stay what they were first deployed as, so no
function is replaced. ``tests/unit/handlers/test_names.py`` holds the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack

from outage_comms_cdk.constructs.incident_workflow import STATE_MACHINE_NAME, WorkflowFunctions
from outage_comms_cdk.constructs.lambda_runtime import OutageCommsFunction
from outage_comms_cdk.settings import physical_name


@dataclass(frozen=True)
class StepFunction:
    """One workflow step's function. Its name is the step (``outage_comms.workflow.steps``), the handler
    module (``handlers.workflow_<name>``), the state machine's key (:class:`WorkflowFunctions`) and the
    key of :attr:`OutageCommsWorkflowStack.functions`; ``construct_id`` stays what it was deployed as."""

    construct_id: str
    description: str

    def handler(self, name: str) -> str:
        return f"handlers.workflow_{name}.handler"


#: The state machine's step functions, by name (the review page's function is built apart: it is public).
#: ``Register incident`` has no function of its own: see :data:`STEPS_RUN_BY`.
STEP_FUNCTIONS: dict[str, StepFunction] = {
    "render": StepFunction("RenderUpdate", "Register incident, render update"),
    "notify_team": StepFunction("NotifyInternal", "Notify team first"),
    "request_approval": StepFunction("RequestApproval", "Wait for approval: send the signed review link"),
    "deliver_channel": StepFunction("DeliverChannel", "Deliver via one channel"),
    "record_failure": StepFunction("RecordDeliveryFailure", "Record a channel failure"),
    "await_update": StepFunction("AwaitUpdate", "Wait for next update"),
    "notice": StepFunction("Remind", "Remind, escalate, hold"),
    "resolve": StepFunction("Resolve", "Release incident: the summary's outcome"),
    "draft_summary": StepFunction("DraftSummary", "Draft post-incident summary"),
    "record_postmortem": StepFunction("RecordPostmortem", "Record postmortem on the incident"),
}
#: Steps run by another step's function, keyed by the step: ``Register incident`` runs in the render
#: function (its handler takes ``{"step": "register_incident"}``), so the alarm's path to the first
#: message starts one cold execution environment fewer (issue 13, docs/performance.md). The price: the
#: render function may also write the incident record and ask whether an execution still runs.
STEPS_RUN_BY: dict[str, str] = {"register_incident": "render"}
REVIEW_PAGE = StepFunction("ReviewPageFunction", "Review page: shows an update, decides on POST")

#: The incident repository's calls (outage_comms/intake/store.py), per step, on the table only: it reads
#: no index. TransactWriteItems is authorized per contained action.
_READ_WRITE = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
INCIDENT_ACCESS: dict[str, list[str]] = {
    "render": [*_READ_WRITE, "dynamodb:ConditionCheckItem"],  # and Register incident's (STEPS_RUN_BY)
    "await_update": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    "notice": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    "resolve": ["dynamodb:GetItem"],
    "draft_summary": ["dynamodb:GetItem"],
    "record_postmortem": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    "deliver_channel": ["dynamodb:PutItem"],
    "record_failure": ["dynamodb:PutItem"],
}
#: Steps that post to the team's internal chat topic.
TEAM_CHAT_PUBLISHERS = ("notify_team", "request_approval", "deliver_channel", "notice", "resolve")
#: Steps that send email themselves (approval links, reminders, the summary request).
EMAIL_SENDERS = ("request_approval", "notice", "resolve")


def workflow_functions(functions: Mapping[str, OutageCommsFunction]) -> WorkflowFunctions:
    """The state machine's functions by key (the key is the step's name)."""
    return WorkflowFunctions(**{name: built.function for name, built in functions.items()})


@dataclass(frozen=True)
class StateMachineArns:
    """ARNs of the state machine the workflow construct creates (named, so known before it exists)."""

    state_machine: str
    executions: str

    @classmethod
    def of(cls, stack: Stack) -> StateMachineArns:
        name = physical_name(stack, STATE_MACHINE_NAME)
        return cls(
            state_machine=stack.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            executions=stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
