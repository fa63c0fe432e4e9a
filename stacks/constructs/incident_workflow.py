"""The incident-comms state machine: Step Functions Standard, JSONPath, states named after the plan.

::

    Register incident -> Another execution owns this incident? --yes--> Already handled elsewhere
      -> Render update -> Notify team first (Parallel, one branch per team chat, Retry + Catch each)
      -> Approval required?
           -> Wait for approval (.waitForTaskToken, timeout = plan)  -> Approved? -> Fan out to channels
                on timeout: Approval timed out: what does the plan say?
                   escalate               -> Escalate approval to incident manager -> Approved?
                   send_holding_statement -> Send holding statement instead -> Fan out to channels
                   hold                   -> Hold external messages
      -> Fan out to channels (Parallel, one branch per channel, Retry + Catch each)
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
from outage_comms_cdk.constructs.channel_fanout import DeliveryDeadLetters, fanout_state, team_state
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.settings import physical_name

STATE_MACHINE_NAME = "outage-comms-incident"


@dataclass(frozen=True, kw_only=True)
class WorkflowFunctions:
    register: lambda_.IFunction
    render: lambda_.IFunction
    notify_team: lambda_.IFunction
    request_approval: lambda_.IFunction
    deliver: lambda_.IFunction
    record_failure: lambda_.IFunction
    await_update: lambda_.IFunction
    notice: lambda_.IFunction
    resolve: lambda_.IFunction
    draft_summary: lambda_.IFunction
    record_postmortem: lambda_.IFunction


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
        f = functions

        def call(
            state_id: str, function: lambda_.IFunction, payload: dict[str, Any], **kwargs: Any
        ) -> tasks.LambdaInvoke:
            return tasks.LambdaInvoke(
                self,
                state_id,
                lambda_function=function,
                payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True,
                **kwargs,
            )

        def wait_for_token(
            state_id: str,
            function: lambda_.IFunction,
            payload: dict[str, Any],
            timeout_path: str,
            **kwargs: Any,
        ) -> tasks.LambdaInvoke:
            return tasks.LambdaInvoke(
                self,
                state_id,
                lambda_function=function,
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                payload=sfn.TaskInput.from_object({"token": sfn.JsonPath.task_token, **payload}),
                task_timeout=sfn.Timeout.at(timeout_path),
                **kwargs,
            )

        incident = sfn.JsonPath.string_at("$.incident_id")
        update_id = sfn.JsonPath.string_at("$.render.update_id")
        clock = sfn.JsonPath.object_at("$.clock")

        register = call(
            "Register incident",
            f.register,
            {"input": sfn.JsonPath.entire_payload, "execution_arn": sfn.JsonPath.execution_id},
            comment="Find (or, from the runbook, open) the incident; claim it: one execution per incident.",
        )
        rejected = sfn.Fail(
            self,
            "Runbook input rejected",
            error="IncidentRejected",
            cause="The input names no usable incident.",
        )
        register.add_catch(rejected, errors=["IncidentRejectedError", "IncidentNotFoundError"])
        already = sfn.Succeed(
            self, "Already handled by another execution", comment="Another running execution speaks for it."
        )
        render_payload = {
            "incident_id": incident,
            "clock": clock,
            "update": sfn.JsonPath.object_at("$.update"),
        }
        render = call(
            "Render update",
            f.render,
            render_payload,
            result_path="$.render",
            comment="Every message: scenario x channel x locale, guarded; stored for the review page.",
        )
        # Failed deliveries wait in their channel's queue for `outage-comms redrive` (never dropped).
        self.dead_letters = DeliveryDeadLetters(self, "DeliveryDeadLetters", plan=plan, key=key)
        notify = team_state(
            self,
            plan=plan,
            notify=f.notify_team,
            record_failure=f.record_failure,
            dead_letters=self.dead_letters,
        )
        approval_payload = {
            "incident_id": incident,
            "update_id": update_id,
            "clock": clock,
            "timeout_seconds": sfn.JsonPath.number_at("$.render.timing.approval_timeout_seconds"),
            # When this task's timeout started: the review link dies no later than the task.
            "entered_at": sfn.JsonPath.string_at("$$.State.EnteredTime"),
        }
        wait_for_approval = wait_for_token(
            "Wait for approval",
            f.request_approval,
            {**approval_payload, "role": "communications_manager"},
            "$.render.timing.approval_timeout_seconds",
            result_path="$.approval",
            comment="The communications manager reviews every message on a POST-only signed page.",
        )
        escalate_approval = wait_for_token(
            "Escalate approval to incident manager",
            f.request_approval,
            {**approval_payload, "role": "incident_manager"},
            "$.render.timing.approval_timeout_seconds",
            result_path="$.approval",
        )
        holding_instead = call(
            "Send holding statement instead",
            f.render,
            {
                "incident_id": incident,
                "clock": clock,
                "update": {"holding_reason": "approval_timeout", "pre_approved": True},
            },
            result_path="$.render",
            comment="The plan's pre-approved holding statement goes out when approval times out.",
        )
        hold = call(
            "Hold external messages",
            f.notice,
            {"incident_id": incident, "update_id": update_id, "kind": "held", "why": "not approved"},
            result_path=sfn.JsonPath.DISCARD,
        )
        fanout = fanout_state(
            self,
            plan=plan,
            deliver=f.deliver,
            record_failure=f.record_failure,
            dead_letters=self.dead_letters,
        )
        publish: sfn.State
        publish_failed: sfn.Pass | None = None
        if status_publisher is not None:
            # A plain Task (not LambdaInvoke) so the role may invoke exactly this function, not "<arn>:*".
            publish = sfn.CustomState(
                self,
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
                errors=[
                    "Lambda.ServiceException",
                    "Lambda.TooManyRequestsException",
                    "Lambda.SdkClientException",
                ],
                interval=Duration.seconds(2),
                max_attempts=3,
                backoff_rate=2,
                jitter_strategy=sfn.JitterType.FULL,
            )
            publish_failed = sfn.Pass(self, "Status surfaces not published", result_path=sfn.JsonPath.DISCARD)
            publish.add_catch(publish_failed, errors=[sfn.Errors.ALL], result_path="$.publish_error")
        else:
            publish = sfn.Pass(
                self, "Publish status surfaces", comment="No status publisher is attached to this deployment."
            )
        # The words that went out become the only public words (status site, feeds, banner, dashboard).
        record_published = call(
            "Record published words",
            f.record_postmortem,  # the function that already writes approved words onto the incident
            {"incident_id": incident, "update_id": update_id, "record": "published"},
            result_path=sfn.JsonPath.DISCARD,
            comment="The status page's words of this update, exactly as approved and sent.",
        )
        record_published.add_retry(
            errors=["ConcurrentUpdateError"],
            interval=Duration.seconds(1),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        record_published.add_catch(publish, errors=[sfn.Errors.ALL], result_path="$.record_published_error")
        resolved = sfn.Choice(self, "Resolved?")
        # -- after resolution: the post-incident summary, through the same render/approval/fan-out states
        is_summary = sfn.Condition.string_equals("$.render.scenario", "post_incident_summary")
        draft_summary = call(
            "Draft post-incident summary",
            f.draft_summary,
            {"incident_id": incident},
            result_path="$.update",
            comment="What happened, when, what was done, what will change: drafted from the timeline and "
            "the customers' feedback; rendered, approved and sent like any update.",
        )
        record_postmortem = call(
            "Record postmortem",
            f.record_postmortem,
            {"incident_id": incident, "update_id": update_id},
            result_path=sfn.JsonPath.DISCARD,
            comment="The approved status-page words become the incident's postmortem.",
        )
        record_postmortem.add_retry(  # intake may touch the incident at the same moment
            errors=["ConcurrentUpdateError"],
            interval=Duration.seconds(1),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        summary_not_published = sfn.Pass(
            self,
            "Post-incident summary not published",
            comment="Rejected, not approved in time, or the request failed: no public summary.",
        )
        release = call(
            "Release incident",
            f.resolve,
            {"incident_id": incident, "execution_arn": sfn.JsonPath.execution_id},
            result_path="$.summary",
            comment="Tell the team how the summary ended; give up the claim on the incident.",
        )
        closed = sfn.Succeed(self, "Incident closed")
        summary_drafted = (
            sfn.Choice(self, "Post-incident summary drafted?")
            .when(sfn.Condition.boolean_equals("$.update.post_incident_summary", True), render)
            .otherwise(release)
        )
        not_approved = (
            sfn.Choice(self, "Not approved: post-incident summary?")
            .when(is_summary, summary_not_published)
            .otherwise(hold)
        )
        update_payload = {"incident_id": incident, "update_id": update_id}
        wait_for_update = wait_for_token(
            "Wait for next update",
            f.await_update,
            update_payload,
            "$.render.timing.cadence_seconds",
            result_path="$.update",
            comment="Intake hands the next update to this task token; the timeout is the plan's cadence.",
        )
        remind = call(
            "Remind communications manager",
            f.notice,
            {"incident_id": incident, "kind": "reminder"},
            result_path=sfn.JsonPath.DISCARD,
        )
        wait_after_reminder = wait_for_token(
            "Wait for update after reminder",
            f.await_update,
            update_payload,
            "$.render.timing.reminder_grace_seconds",
            result_path="$.update",
        )
        escalate = call(
            "Escalate to incident manager",
            f.notice,
            {"incident_id": incident, "kind": "escalation"},
            result_path="$.update",
            comment="The update was missed after a reminder: the holding update is offered next.",
        )

        on_timeout = (
            sfn.Choice(self, "Approval timed out: what does the plan say?")
            .when(is_summary, summary_not_published)
            .when(
                sfn.Condition.string_equals("$.render.timing.on_approval_timeout", "escalate"),
                escalate_approval,
            )
            .when(
                sfn.Condition.string_equals("$.render.timing.on_approval_timeout", "send_holding_statement"),
                holding_instead,
            )
            .otherwise(hold)
        )
        wait_for_approval.add_catch(on_timeout, errors=[sfn.Errors.TIMEOUT], result_path="$.approval_timeout")
        wait_for_approval.add_catch(not_approved, errors=[sfn.Errors.ALL], result_path="$.approval_error")
        escalate_approval.add_catch(not_approved, errors=[sfn.Errors.ALL], result_path="$.approval_timeout")
        is_approved = sfn.Condition.string_equals("$.approval.decision", "approved")
        approved = (
            sfn.Choice(self, "Approved?")
            .when(sfn.Condition.and_(is_approved, is_summary), record_postmortem)
            .when(is_approved, fanout)
            .otherwise(not_approved)
        )
        record_postmortem.next(fanout)
        summary_not_published.next(release)
        wait_for_approval.next(approved)
        escalate_approval.next(approved)
        holding_instead.next(fanout)
        hold.next(wait_for_update)

        wait_for_update.add_catch(remind, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD)
        wait_for_update.next(render)
        remind.next(wait_after_reminder)
        wait_after_reminder.add_catch(escalate, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD)
        wait_after_reminder.next(render)
        escalate.next(render)

        needs_approval = (
            sfn.Choice(self, "Approval required?")
            .when(sfn.Condition.boolean_equals("$.render.needs_approval", True), wait_for_approval)
            .otherwise(fanout)
        )
        render.next(notify).next(needs_approval)
        fanout.next(record_published).next(publish)
        release.next(closed)
        resolved.when(is_summary, release).when(
            sfn.Condition.boolean_equals("$.render.resolved", True), draft_summary.next(summary_drafted)
        ).otherwise(wait_for_update)
        publish.next(resolved)
        if publish_failed is not None:
            publish_failed.next(resolved)

        owned = (
            sfn.Choice(self, "Another execution owns this incident?")
            .when(sfn.Condition.boolean_equals("$.duplicate", True), already)
            .otherwise(render)
        )
        definition = register.next(owned)

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
            definition_body=sfn.DefinitionBody.from_chainable(definition),
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
