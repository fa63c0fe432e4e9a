"""The incident-comms state machine: Step Functions Standard, JSONPath, states named after the plan.

::

    Resumed from another region? --yes--> Register resumed incident (see "Resumed executions" below)
    Register incident -> Another execution owns this incident? --yes--> Already handled elsewhere
      -> Render update -> Fenced out? --yes--> Another region drives this incident (issue 17: ends)
      -> Team hears first?
           approval needed -> Notify team first (Parallel, one branch per team chat, Retry + Catch each)
           no approval     -> Team hears with the customers ($.render.team_with_customers: the team
                              chats are told by their branches of the fan-out, at the customers' moment)
      -> Approval required?
           -> Wait for approval (.waitForTaskToken, timeout = plan)  -> Approved? -> Fan out to channels
                on timeout: Approval timed out: what does the plan say?
                   escalate               -> Escalate approval to incident manager -> Approved?
                   send_holding_statement -> Send holding statement instead -> Fan out to channels
                   hold                   -> Hold external messages
      -> Fan out to channels (Parallel, one branch per channel and per team chat, Retry + Catch each;
           a team chat's branch sends only with $.render.team_with_customers)
           a branch failing after its retries: Record <channel> failure -> Dead-letter <channel>
           (the channel's SQS queue, for `outage-comms redrive`)
      -> Record published words (the update's status-page words, as sent: the only public words)
      -> Publish status surfaces -> Resolved?
           the post-incident summary went out -> Release incident -> Incident closed
           resolved -> Draft post-incident summary -> Post-incident summary drafted?
                         yes (not maintenance) -> Render update (update = the draft; scenario
                             post_incident_summary) -> Notify team first -> Wait for approval
                             (always; timeout = plan.post_incident.approval_timeout_days)
                               approved -> Record postmortem -> Fan out to channels
                                           -> Publish status surfaces -> Resolved? -> Release incident
                               rejected / timed out / failed -> Post-incident summary not published
                                           -> Release incident -> Incident closed
                         no (maintenance) -> Release incident -> Incident closed
           no  -> Wait for next update (.waitForTaskToken, timeout = cadence) -> Render update
                    on timeout: Remind communications manager -> Wait for update after reminder
                       on timeout: Escalate to incident manager (offers the holding update) -> Render update

Resumed executions (issue 17): when the standby region takes an incident, its failover function
starts this state machine with ``$.resume`` (``outage_comms.regions.resume``). ``Register resumed
incident`` claims the incident for the new execution (result kept apart in ``$.registered``), then
``Where does the resumed incident continue?`` enters it at ``Wait for next update`` (the remaining
time), ``Wait for approval`` (requested again with a fresh link), ``Fan out to channels`` (an approved
update that was going out; the delivery ledger skips what already went) or ``Render update``.

The execution keeps its claim on the incident (one execution per incident) until ``Release
incident``, after the summary's approval gate.

Every duration is read from the state (``TimeoutSecondsPath``) and computed by the functions
from the plan and the execution's clock, so a drill runs this very definition on compressed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.constructs.channel_fanout import (
    TEAM_WITH_THE_CUSTOMERS,
    DeliveryDeadLetters,
    fanout_state,
    team_state,
)
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.settings import physical_name

STATE_MACHINE_NAME = "outage-comms-incident"

INCIDENT = sfn.JsonPath.string_at("$.incident_id")
UPDATE_ID = sfn.JsonPath.string_at("$.render.update_id")
CLOCK = sfn.JsonPath.object_at("$.clock")
IS_SUMMARY = sfn.Condition.string_equals("$.render.scenario", "post_incident_summary")
#: ``Register incident`` runs in the render function (one cold start fewer on the alarm's path, issue 13).
REGISTER_PAYLOAD = {
    "step": "register_incident",
    "input": sfn.JsonPath.entire_payload,
    "execution_arn": sfn.JsonPath.execution_id,
}
#: ``Render update`` (and the holding statement) of an execution fenced out by another region (issue 17,
#: regions/fence.py); the field is absent on every other render, and a Choice on a missing path fails.
FENCED = sfn.Condition.and_(
    sfn.Condition.is_present("$.render.fenced"), sfn.Condition.boolean_equals("$.render.fenced", True)
)
#: Lambda's own transient errors: the status publisher's plain Task retries them.
LAMBDA_TRANSIENT = ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"]


@dataclass(frozen=True, kw_only=True)
class WorkflowFunctions:
    #: Also ``Register incident``'s function (``{"step": "register_incident"}``): one cold start fewer.
    render: lambda_.IFunction
    notify_team: lambda_.IFunction
    request_approval: lambda_.IFunction
    deliver_channel: lambda_.IFunction
    record_failure: lambda_.IFunction
    await_update: lambda_.IFunction
    notice: lambda_.IFunction
    resolve: lambda_.IFunction
    draft_summary: lambda_.IFunction
    record_postmortem: lambda_.IFunction


def call(
    scope: Construct, state_id: str, function: lambda_.IFunction, payload: dict[str, Any], **kwargs: Any
) -> tasks.LambdaInvoke:
    """A Lambda task whose result is the function's own answer."""
    return tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        **kwargs,
    )


def wait_for_token(
    scope: Construct,
    state_id: str,
    function: lambda_.IFunction,
    payload: dict[str, Any],
    timeout_path: str,
    **kwargs: Any,
) -> tasks.LambdaInvoke:
    """A ``.waitForTaskToken`` task whose timeout is read from the state."""
    return tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload=sfn.TaskInput.from_object({"token": sfn.JsonPath.task_token, **payload}),
        task_timeout=sfn.Timeout.at(timeout_path),
        **kwargs,
    )


def retry_concurrent_update(task: tasks.LambdaInvoke) -> None:
    """Intake may touch the incident at the same moment."""
    task.add_retry(
        errors=["ConcurrentUpdateError"],
        interval=Duration.seconds(1),
        max_attempts=3,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )


def publish_state(
    scope: Construct, status_publisher: lambda_.IFunction | None
) -> tuple[sfn.Pass | sfn.CustomState, sfn.Pass | None]:
    """``Publish status surfaces`` and, with a publisher, the state its failure goes to."""
    if status_publisher is None:
        return sfn.Pass(
            scope, "Publish status surfaces", comment="No status publisher is attached to this deployment."
        ), None
    # A plain Task (not LambdaInvoke) so the role may invoke exactly this function, not "<arn>:*".
    publish = sfn.CustomState(
        scope,
        "Publish status surfaces",
        state_json={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": status_publisher.function_arn,
                "Payload": {
                    "incident_id.$": "$.incident_id",
                    "update_id.$": "$.render.update_id",
                    "scenario.$": "$.render.scenario",
                },
            },
            # Not None: a None here is dropped from the JSON, and without a ResultPath the
            # publisher's result would replace the whole state ($.render is read after it).
            "ResultPath": "$.status_publish",
        },
    )
    publish.add_retry(
        errors=LAMBDA_TRANSIENT,
        interval=Duration.seconds(2),
        max_attempts=3,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    publish_failed = sfn.Pass(scope, "Status surfaces not published", result_path=sfn.JsonPath.DISCARD)
    publish.add_catch(publish_failed, errors=[sfn.Errors.ALL], result_path="$.publish_error")
    return publish, publish_failed


class _States:
    """Every state of the definition, built in groups and wired; ``start`` is the first state."""

    def __init__(
        self,
        scope: Construct,
        *,
        plan: Plan,
        functions: WorkflowFunctions,
        key: kms.IKey,
        status_publisher: lambda_.IFunction | None,
    ) -> None:
        self.scope, self.plan, self.f = scope, plan, functions
        self._entry(key)
        self._approval()
        self._delivery(status_publisher)
        self._summary()
        self._waits()
        self._wire_approval()
        self._wire()
        self.start: sfn.IChainable = self._resume()

    def _entry(self, key: kms.IKey) -> None:
        scope, f = self.scope, self.f
        self.register = call(
            scope,
            "Register incident",
            f.render,
            REGISTER_PAYLOAD,
            comment="Find (or, from the runbook, open) the incident; claim it: one execution per incident.",
        )
        self.rejected = sfn.Fail(
            scope,
            "Runbook input rejected",
            error="IncidentRejected",
            cause="The input names no usable incident.",
        )
        self.register.add_catch(self.rejected, errors=["IncidentRejectedError", "IncidentNotFoundError"])
        self.already = sfn.Succeed(
            scope, "Already handled by another execution", comment="Another running execution speaks for it."
        )
        self.fenced_out = sfn.Succeed(
            scope,
            "Another region drives this incident",
            comment="Fenced out (regions/fence.py): this execution no longer speaks for the incident; it "
            "rendered, sent and published nothing.",
        )
        self.render = call(
            scope,
            "Render update",
            f.render,
            {"incident_id": INCIDENT, "clock": CLOCK, "update": sfn.JsonPath.object_at("$.update")},
            result_path="$.render",
            comment="Every message: scenario x channel x locale, guarded; stored for the review page.",
        )
        # Failed deliveries wait in their channel's queue for `outage-comms redrive` (never dropped).
        self.dead_letters = DeliveryDeadLetters(scope, "DeliveryDeadLetters", plan=self.plan, key=key)
        self.notify = team_state(
            scope,
            plan=self.plan,
            notify=f.notify_team,
            record_failure=f.record_failure,
            dead_letters=self.dead_letters,
        )

    def _approval(self) -> None:
        scope, f = self.scope, self.f
        approval_payload = {
            "incident_id": INCIDENT,
            "update_id": UPDATE_ID,
            "clock": CLOCK,
            "timeout_seconds": sfn.JsonPath.number_at("$.render.timing.approval_timeout_seconds"),
            # When this task's timeout started: the review link dies no later than the task.
            "entered_at": sfn.JsonPath.string_at("$$.State.EnteredTime"),
        }
        self.wait_for_approval = wait_for_token(
            scope,
            "Wait for approval",
            f.request_approval,
            {**approval_payload, "role": "communications_manager"},
            "$.render.timing.approval_timeout_seconds",
            result_path="$.approval",
            comment="The communications manager reviews every message on a POST-only signed page.",
        )
        self.escalate_approval = wait_for_token(
            scope,
            "Escalate approval to incident manager",
            f.request_approval,
            {**approval_payload, "role": "incident_manager"},
            "$.render.timing.approval_timeout_seconds",
            result_path="$.approval",
        )
        self.holding_instead = call(
            scope,
            "Send holding statement instead",
            f.render,
            {
                "incident_id": INCIDENT,
                "clock": CLOCK,
                "update": {"holding_reason": "approval_timeout", "pre_approved": True},
            },
            result_path="$.render",
            comment="The plan's pre-approved holding statement goes out when approval times out.",
        )
        self.hold = call(
            scope,
            "Hold external messages",
            f.notice,
            {"incident_id": INCIDENT, "update_id": UPDATE_ID, "kind": "held", "why": "not approved"},
            result_path=sfn.JsonPath.DISCARD,
        )

    def _delivery(self, status_publisher: lambda_.IFunction | None) -> None:
        scope, f = self.scope, self.f
        self.fanout = fanout_state(
            scope,
            plan=self.plan,
            deliver=f.deliver_channel,
            notify=f.notify_team,
            record_failure=f.record_failure,
            dead_letters=self.dead_letters,
        )
        self.publish, self.publish_failed = publish_state(scope, status_publisher)
        # The words that went out become the only public words (status site, feeds, banner, dashboard).
        self.record_published = call(
            scope,
            "Record published words",
            f.record_postmortem,  # the function that already writes approved words onto the incident
            {"incident_id": INCIDENT, "update_id": UPDATE_ID, "record": "published"},
            result_path=sfn.JsonPath.DISCARD,
            comment="The status page's words of this update, exactly as approved and sent.",
        )
        retry_concurrent_update(self.record_published)
        self.record_published.add_catch(
            self.publish, errors=[sfn.Errors.ALL], result_path="$.record_published_error"
        )
        self.resolved = sfn.Choice(scope, "Resolved?")

    def _summary(self) -> None:
        """After resolution: the post-incident summary, through the same render/approval/fan-out states."""
        scope, f = self.scope, self.f
        self.draft_summary = call(
            scope,
            "Draft post-incident summary",
            f.draft_summary,
            {"incident_id": INCIDENT},
            result_path="$.update",
            comment="What happened, when, what was done, what will change: drafted from the timeline and "
            "the customers' feedback; rendered, approved and sent like any update.",
        )
        self.record_postmortem = call(
            scope,
            "Record postmortem",
            f.record_postmortem,
            {"incident_id": INCIDENT, "update_id": UPDATE_ID},
            result_path=sfn.JsonPath.DISCARD,
            comment="The approved status-page words become the incident's postmortem.",
        )
        retry_concurrent_update(self.record_postmortem)
        self.summary_not_published = sfn.Pass(
            scope,
            "Post-incident summary not published",
            comment="Rejected, not approved in time, or the request failed: no public summary.",
        )
        self.release = call(
            scope,
            "Release incident",
            f.resolve,
            {"incident_id": INCIDENT, "execution_arn": sfn.JsonPath.execution_id},
            result_path="$.summary",
            comment="Tell the team how the summary ended; give up the claim on the incident.",
        )
        self.closed = sfn.Succeed(scope, "Incident closed")
        self.summary_drafted = (
            sfn.Choice(scope, "Post-incident summary drafted?")
            .when(sfn.Condition.boolean_equals("$.update.post_incident_summary", True), self.render)
            .otherwise(self.release)
        )
        self.not_approved = (
            sfn.Choice(scope, "Not approved: post-incident summary?")
            .when(IS_SUMMARY, self.summary_not_published)
            .otherwise(self.hold)
        )

    def _waits(self) -> None:
        scope, f = self.scope, self.f
        update_payload = {"incident_id": INCIDENT, "update_id": UPDATE_ID}
        self.wait_for_update = wait_for_token(
            scope,
            "Wait for next update",
            f.await_update,
            update_payload,
            "$.render.timing.cadence_seconds",
            result_path="$.update",
            comment="Intake hands the next update to this task token; the timeout is the plan's cadence.",
        )
        self.remind = call(
            scope,
            "Remind communications manager",
            f.notice,
            {"incident_id": INCIDENT, "kind": "reminder"},
            result_path=sfn.JsonPath.DISCARD,
        )
        self.wait_after_reminder = wait_for_token(
            scope,
            "Wait for update after reminder",
            f.await_update,
            update_payload,
            "$.render.timing.reminder_grace_seconds",
            result_path="$.update",
        )
        self.escalate = call(
            scope,
            "Escalate to incident manager",
            f.notice,
            {"incident_id": INCIDENT, "kind": "escalation"},
            result_path="$.update",
            comment="The update was missed after a reminder: the holding update is offered next.",
        )

    def _wire_approval(self) -> None:
        on_timeout = (
            sfn.Choice(self.scope, "Approval timed out: what does the plan say?")
            .when(IS_SUMMARY, self.summary_not_published)
            .when(
                sfn.Condition.string_equals("$.render.timing.on_approval_timeout", "escalate"),
                self.escalate_approval,
            )
            .when(
                sfn.Condition.string_equals("$.render.timing.on_approval_timeout", "send_holding_statement"),
                self.holding_instead,
            )
            .otherwise(self.hold)
        )
        wait, escalate = self.wait_for_approval, self.escalate_approval
        wait.add_catch(on_timeout, errors=[sfn.Errors.TIMEOUT], result_path="$.approval_timeout")
        wait.add_catch(self.not_approved, errors=[sfn.Errors.ALL], result_path="$.approval_error")
        escalate.add_catch(self.not_approved, errors=[sfn.Errors.ALL], result_path="$.approval_timeout")
        is_approved = sfn.Condition.string_equals("$.approval.decision", "approved")
        approved = (
            sfn.Choice(self.scope, "Approved?")
            .when(sfn.Condition.and_(is_approved, IS_SUMMARY), self.record_postmortem)
            .when(is_approved, self.fanout)
            .otherwise(self.not_approved)
        )
        self.record_postmortem.next(self.fanout)
        self.summary_not_published.next(self.release)
        wait.next(approved)
        escalate.next(approved)
        self.holding_instead.next(
            sfn.Choice(self.scope, "Holding statement fenced out?")
            .when(FENCED, self.fenced_out)
            .otherwise(self.fanout)
        )
        self.hold.next(self.wait_for_update)

    def _wire(self) -> None:
        self.wait_for_update.add_catch(
            self.remind, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD
        )
        self.wait_for_update.next(self.render)
        self.remind.next(self.wait_after_reminder)
        self.wait_after_reminder.add_catch(
            self.escalate, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD
        )
        self.wait_after_reminder.next(self.render)
        self.escalate.next(self.render)
        needs_approval = (
            sfn.Choice(self.scope, "Approval required?")
            .when(sfn.Condition.boolean_equals("$.render.needs_approval", True), self.wait_for_approval)
            .otherwise(self.fanout)
        )
        # Without an approval the team chats are told in the fan-out, with the customers: the first
        # customer message waits for no team chat (issue 13); with one, the team hears first.
        with_the_customers = sfn.Pass(
            self.scope,
            "Team hears with the customers",
            comment="No approval needed: the team chats are branches of the fan-out, told at its moment.",
            result=sfn.Result.from_boolean(True),
            result_path=f"$.render.{TEAM_WITH_THE_CUSTOMERS}",
        )
        team_first = (
            sfn.Choice(self.scope, "Team hears first?")
            .when(sfn.Condition.boolean_equals("$.render.needs_approval", True), self.notify)
            .otherwise(with_the_customers)
        )
        self.render.next(
            sfn.Choice(self.scope, "Fenced out?").when(FENCED, self.fenced_out).otherwise(team_first)
        )
        self.notify.next(needs_approval)
        with_the_customers.next(needs_approval)
        self.fanout.next(self.record_published).next(self.publish)
        self.release.next(self.closed)
        self.resolved.when(IS_SUMMARY, self.release).when(
            sfn.Condition.boolean_equals("$.render.resolved", True),
            self.draft_summary.next(self.summary_drafted),
        ).otherwise(self.wait_for_update)
        self.publish.next(self.resolved)
        if self.publish_failed is not None:
            self.publish_failed.next(self.resolved)
        owned = (
            sfn.Choice(self.scope, "Another execution owns this incident?")
            .when(sfn.Condition.boolean_equals("$.duplicate", True), self.already)
            .otherwise(self.render)
        )
        self.register.next(owned)

    def _resume(self) -> sfn.IChainable:
        """The standby's failover function starts an execution with ``$.resume`` (regions/resume.py)."""
        scope = self.scope
        register = call(
            scope,
            "Register resumed incident",
            self.f.render,
            REGISTER_PAYLOAD,
            result_path="$.registered",
            comment="Claim the incident for this execution: ownership of the incident moved to this region.",
        )
        register.add_catch(self.rejected, errors=["IncidentRejectedError", "IncidentNotFoundError"])
        route = sfn.JsonPath.string_at("$.resume.route")
        continues = (
            sfn.Choice(
                scope,
                "Where does the resumed incident continue?",
                comment="regions/resume.py chose it from the incident's last recorded step.",
            )
            .when(sfn.Condition.string_equals(route, "wait"), self.wait_for_update)
            .when(sfn.Condition.string_equals(route, "approve"), self.wait_for_approval)
            .when(sfn.Condition.string_equals(route, "deliver"), self.fanout)
            .otherwise(self.render)
        )
        register.next(
            sfn.Choice(scope, "Another execution owns the resumed incident?")
            .when(sfn.Condition.boolean_equals("$.registered.duplicate", True), self.already)
            .otherwise(continues)
        )
        return (
            sfn.Choice(scope, "Resumed from another region?")
            .when(sfn.Condition.is_present("$.resume"), register)
            .otherwise(self.register)
        )


class IncidentWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        functions: WorkflowFunctions,
        key: kms.IKey,
        status_publisher: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        states = _States(self, plan=plan, functions=functions, key=key, status_publisher=status_publisher)
        self.dead_letters = states.dead_letters
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}states/{physical_name(self, STATE_MACHINE_NAME)}",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=physical_name(self, STATE_MACHINE_NAME),
            state_machine_type=sfn.StateMachineType.STANDARD,
            query_language=sfn.QueryLanguage.JSON_PATH,
            definition_body=sfn.DefinitionBody.from_chainable(states.start),
            comment="Outage Comms: one incident, from first notice to post-incident summary",
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        if status_publisher is not None:
            self.state_machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[status_publisher.function_arn]
                )
            )
        self.dead_letters.acknowledge_sender(self.state_machine.role)
